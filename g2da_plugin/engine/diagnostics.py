"""The training diagnostics of G2DA's alignment terms, read back from runs' ``metrics.json``.

The paper leaves the scale of its terms open (the contrastive margin against the node features'
norm, how diagonal the OT plans are, whether message fusion exchanges any channel), so the models
log them (``node_feature_norm``: PosePartBaseline; ``ot_value``, ``ot_plan_diagonal``: GraphOTLoss;
``contrastive_negatives_in_margin``: PartContrastiveLoss; ``mfa_exchanged``: G2DA) and this module
tabulates them at a few iterations of each run.
"""

import json
import os

from tabulate import tabulate

from ..utils.errors import InputError, MissingInputError

#: The logged diagnostics, in table order.
DIAGNOSTICS = ("contrastive_negatives_in_margin", "node_feature_norm", "ot_value", "ot_plan_diagonal", "mfa_exchanged")


def read_metrics(output_dir):
    """``[{key: value}]``: the rows of ``output_dir/metrics.json`` (FastReID's JSONWriter, one JSON per line)."""
    path = os.path.join(output_dir, "metrics.json")
    if not os.path.isfile(path):
        raise MissingInputError(f"{path} not found: expected a training run's metrics (FastReID's JSONWriter)")
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    # a resumed run appends again from its checkpoint: the last row written for an iteration wins
    by_iteration = {row["iteration"]: row for row in rows if "iteration" in row}
    return [by_iteration[i] for i in sorted(by_iteration)]


def diagnostics_table(output_dirs, points=3):
    """Markdown: for each run, the diagnostics at ``points`` logged iterations spread from the first
    to the last (both included); "–" where a run does not log one (e.g. no OT term)."""
    rows = []
    for output_dir in output_dirs:
        logged = [row for row in read_metrics(output_dir) if any(k in row for k in DIAGNOSTICS)]
        if not logged:
            raise InputError(f"{output_dir}/metrics.json logs none of {DIAGNOSTICS}: not a pose-graph model's run")
        picks = sorted({round(i * (len(logged) - 1) / max(points - 1, 1)) for i in range(points)})
        for row in (logged[i] for i in picks):
            rows.append([os.path.basename(os.path.normpath(output_dir)), str(row["iteration"] + 1),
                         *(f"{row[k]:.4g}" if k in row else "–" for k in DIAGNOSTICS)])
    return tabulate(rows, headers=["run", "iteration", *DIAGNOSTICS], tablefmt="pipe", disable_numparse=True)
