#!/usr/bin/env python
"""Training throughput of B, G2DA and bagtricks on the synthetic data (g2da_plugin/engine/benchmark_train.py).

    python tools/benchmark_train.py                         # this machine's CPU
    python tools/benchmark_train.py --device cuda --iters 50 --warmup 10
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes, registries)
from g2da_plugin.engine import benchmark_train  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description=benchmark_train.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=benchmark_train.DEFAULT_CONFIGS, help="config files to train")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--size", type=int, nargs=2, default=(288, 144), metavar=("H", "W"))
    parser.add_argument("--batch", type=int, default=64, help="images per step (P identities x (K RGB + K IR))")
    parser.add_argument("--iters", type=int, default=3, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--parts-iters", type=int, default=1, help="timed runs of each part of the breakdown")
    parser.add_argument("--workers", type=int, default=2, help="DATALOADER.NUM_WORKERS")
    parser.add_argument("--data-root", default="datasets/synthetic", help="DATASETS.ROOT (tools/make_synthetic_data.py)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, default=[], help="KEY VALUE config overrides for every config")
    args = parser.parse_args(argv)
    benchmark_train.run_benchmark(args)


if __name__ == "__main__":
    main()
