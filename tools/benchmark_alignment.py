#!/usr/bin/env python
"""Cost of the dual-alignment losses in a training step (g2da_plugin/engine/benchmark_alignment.py).

    python tools/benchmark_alignment.py                                  # CPU, ResNet-50 288x144 step
    python tools/benchmark_alignment.py --threads 1 --convergence --no-model
    python tools/benchmark_alignment.py --device cuda --iters 20 --convergence
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes, registries)
from g2da_plugin.engine import benchmark_alignment  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description=benchmark_alignment.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--dims", type=int, nargs="+", default=(2048, 512), help="node feature dimensions")
    parser.add_argument("--iters", type=int, default=3, help="timed runs of the losses and solvers")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--convergence", action="store_true", help="also measure the solver's convergence")
    parser.add_argument("--no-model", action="store_true", help="skip the baseline training step (c)")
    parser.add_argument("--data-root", default="datasets/synthetic", help="synthetic data for --convergence's network features")
    parser.add_argument("--network-config", default="projects/G2DA/configs/sysu_G2DA.yml",
                        help="the randomly initialised network of --convergence")
    parser.add_argument("--trained", default=None, help="a checkpoint whose backbone gives --convergence trained features")
    parser.add_argument("--trained-config", default="projects/G2DA/configs/demo_G2DA.yml",
                        help="the config --trained's backbone fits")
    parser.add_argument("--depth", default="50x", help="baseline ResNet depth for (c)")
    parser.add_argument("--size", type=int, nargs=2, default=(288, 144), metavar=("H", "W"))
    parser.add_argument("--model-iters", type=int, default=1, help="timed baseline steps (after 1 warm-up)")
    args = parser.parse_args(argv)
    benchmark_alignment.run_benchmark(args)


if __name__ == "__main__":
    main()
