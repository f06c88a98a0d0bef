#!/usr/bin/env python
"""Print one finished run's results beside a seeds table's mean ± std over seeds.

    python tools/compare_run.py --run logs/demo/g2da_full \\
        --seeds-table projects/G2DA/benchmarks/synthetic_seeds.json [--methods B "B+O+CL+G+MF (G2DA)"]

``--run`` is a training's OUTPUT_DIR (its ``results.json``); ``--seeds-table`` the JSON that
``tools/results_table.py --seeds`` writes beside its markdown. The demo uses it to show its run
beside the seeded runs of the same configs.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes)
from g2da_plugin.engine.experiments import compare_with_seeds  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(prog="compare_run.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, metavar="DIR", help="a finished run's OUTPUT_DIR")
    parser.add_argument("--seeds-table", required=True, metavar="JSON", help="results_table.py --seeds' JSON")
    parser.add_argument("--methods", nargs="+", metavar="NAME", help="the seeds table's methods to show (default all)")
    args = parser.parse_args(argv)
    print(compare_with_seeds(args.run, args.seeds_table, args.methods))


if __name__ == "__main__":
    main()
