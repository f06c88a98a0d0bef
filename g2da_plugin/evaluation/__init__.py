"""Cross-modality evaluation: protocol-exact metrics, SYSU-MM01 gallery draws, the FastReID evaluator."""

from .evaluator import (CrossModalityEvaluator, ExtractedFeatures, protocol_table, sysu_gallery_columns,
                        sysu_trial_scores)
from .metrics import eval_regdb, eval_sysu, pairwise_distance, sysu_excluded
from .sysu_protocol import sysu_gallery, sysu_query

__all__ = [
    "eval_sysu",
    "eval_regdb",
    "pairwise_distance",
    "sysu_excluded",
    "sysu_gallery",
    "sysu_query",
    "CrossModalityEvaluator",
    "protocol_table",
    "ExtractedFeatures",
    "sysu_gallery_columns",
    "sysu_trial_scores",
]
