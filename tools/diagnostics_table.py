#!/usr/bin/env python
"""Tabulate the alignment diagnostics that G2DA's runs log (g2da_plugin/engine/diagnostics.py).

    python tools/diagnostics_table.py logs/diagnostics/sgd_l1_1.0e-2 logs/diagnostics/sgd_l1_0.0 [--points 4]

For each run (an OUTPUT_DIR with FastReID's ``metrics.json``): the share of negative contrastive terms
inside the margin, the mean node-feature norm, the OT value, the plans' mass on the diagonal and the
number of exchanged MFA channels, at ``--points`` logged iterations from the first to the last.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes)
from g2da_plugin.engine.diagnostics import diagnostics_table  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(prog="diagnostics_table.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="DIR", help="training OUTPUT_DIRs")
    parser.add_argument("--points", type=int, default=3, help="logged iterations per run (default 3)")
    args = parser.parse_args(argv)
    if args.points < 1:
        parser.error(f"--points must be >= 1, got {args.points}")
    print(diagnostics_table(args.runs, args.points))


if __name__ == "__main__":
    main()
