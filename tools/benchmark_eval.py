#!/usr/bin/env python
"""Cost of SYSU-MM01's 40-scoring evaluation at its full size (g2da_plugin/engine/benchmark_eval.py).

    python tools/benchmark_eval.py                       # CPU
    python tools/benchmark_eval.py --threads 1           # a CPU other jobs share: no thread waits on them
    python tools/benchmark_eval.py --faiss --iters 1
    python tools/benchmark_eval.py --device cuda --iters 5
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes, registries)
from g2da_plugin.engine import benchmark_eval  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description=benchmark_eval.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--metric", default="cosine", choices=("cosine", "euclidean"), help="TEST.METRIC")
    parser.add_argument("--trials", type=int, default=10, help="gallery draws per setting (TEST.SYSU.TRIALS)")
    parser.add_argument("--iters", type=int, default=3, help="timed runs of each stage")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random features and folder sizes")
    parser.add_argument("--faiss", action="store_true", help="also time faiss's exact search for the distances")
    args = parser.parse_args(argv)
    benchmark_eval.run_benchmark(args)


if __name__ == "__main__":
    main()
