"""Config keys of the dual-alignment losses (:class:`GraphOTLoss`, :class:`PartContrastiveLoss`).

``add_alignment_config(cfg)`` only ADDS keys under ``MODEL.LOSSES.OT`` and ``MODEL.LOSSES.PCL``
(existing values are kept, FastReID defaults untouched) and is idempotent.
"""

from ..config import add_missing

OT_DEFAULTS = {
    # phi of Eq. 7: weight of the node (Wasserstein) term; 1 - phi weights the edge (GW) term
    "PHI": 0.5,
    # GW edge cost L(a, b): "abs" |a - b| (the paper's) or "square" (a - b)^2
    "GW_LOSS": "abs",
    # "proximal" (the plug-in's batched solver, both losses) or "pot" (ot.solve_gromov_batch,
    # GW_LOSS "square" only; restarts each Sinkhorn from zero, so it needs far more INNER_ITER)
    "SOLVER": "proximal",
    # KL-proximal step of the solver, in cost units (costs lie in [0, 2]): smaller = longer, greedier
    # steps (faster, but more often a worse local optimum on small graphs). Not an entropic bias.
    "REG": 0.02,
    # proximal steps. Measured with python tools/benchmark_alignment.py --convergence (gap to the
    # 100-step value): "abs" converged after 5 steps on node features with per-part structure, and
    # after 20 to 3e-6 mean / 2e-4 worst pair (0 after 40) without it; "square" is slower there
    # (3e-3 mean after 20, 1e-6 after 40)
    "MAX_ITER": 20,
    # Sinkhorn sweeps per step, warm-started from the previous step: on 14-node feature-like graphs
    # 2-3 do what 10 do (tiny low-dimensional graphs reach better optima with 10)
    "INNER_ITER": 3,
    # > 0: stop once every plan moves by less than TOL (mean |dT|), tested every 10 steps (a host
    # sync); 0 runs MAX_ITER steps
    "TOL": 0.0,
    # lambda_o
    "SCALE": 1.0,
}

PCL_DEFAULTS = {
    # eps of Eq. 5
    "MARGIN": 2.0,
    # lambda_c
    "SCALE": 0.1,
    # which (RGB, IR) pairs form the N terms: "all" (every cross-modality pair, positive = same
    # identity) or "hard" (per sample, its farthest cross-modality positive and closest negative)
    "PAIRS": "all",
    # L2-normalise node features before the distance (then d <= 2: use a margin below sqrt(2))
    "NORM_FEAT": False,
}


def add_alignment_config(cfg):
    """Add ``MODEL.LOSSES.OT.*`` and ``MODEL.LOSSES.PCL.*`` to ``cfg`` (in place) and return it."""
    add_missing(cfg.MODEL.LOSSES, "OT", OT_DEFAULTS)
    add_missing(cfg.MODEL.LOSSES, "PCL", PCL_DEFAULTS)
    return cfg
