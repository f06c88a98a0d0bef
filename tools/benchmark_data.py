#!/usr/bin/env python
"""Per-image CPU cost of the training data path, float vs uint8 vs uint8 + cache
(g2da_plugin/engine/benchmark_data.py).

    python tools/benchmark_data.py
    python tools/benchmark_data.py --images 1024 --opts INPUT.REA.ENABLED True
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes, registries)
from g2da_plugin.engine import benchmark_data  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402

DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "projects", "G2DA", "configs",
                              "sysu_G2DA.yml")


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description=benchmark_data.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", default=DEFAULT_CONFIG, help="the training config (its INPUT keys)")
    parser.add_argument("--images", type=int, default=512, help="samples timed per pass and path")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes (after one warm-up)")
    parser.add_argument("--upscale", type=float, default=2.5, help="synthetic images scaled by this (real-ish sizes)")
    parser.add_argument("--ids", type=int, default=16, help="synthetic training identities")
    parser.add_argument("--work-dir", default="", help="folder for the data and cache (default: a temporary one)")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[], help="KEY VALUE config overrides")
    args = parser.parse_args(argv)
    benchmark_data.run_benchmark(args)


if __name__ == "__main__":
    main()
