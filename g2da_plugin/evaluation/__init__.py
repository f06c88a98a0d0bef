"""Cross-modality evaluation: protocol-exact metrics, SYSU-MM01 gallery draws, the FastReID evaluator."""

from .evaluator import CrossModalityEvaluator, results_table
from .metrics import eval_regdb, eval_sysu, pairwise_distance
from .sysu_protocol import sysu_gallery, sysu_query

__all__ = [
    "eval_sysu",
    "eval_regdb",
    "pairwise_distance",
    "sysu_gallery",
    "sysu_query",
    "CrossModalityEvaluator",
    "results_table",
]
