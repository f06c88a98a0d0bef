"""Cross-modality evaluation: protocol-exact metrics, SYSU-MM01 and LLCM gallery draws, the FastReID evaluator."""

from .evaluator import (CrossModalityEvaluator, ExtractedFeatures, protocol_table, rank_sysu_candidates,
                        sysu_gallery_columns, sysu_protocol_results, sysu_trial_scores)
from .llcm_protocol import LLCM_SETTINGS, draw_llcm_gallery, llcm_excluded, llcm_gallery_folders, llcm_trial_scores
from .metrics import distance_matrix, eval_regdb, eval_sysu, pairwise_distance, sysu_excluded
from .ranking import SysuRanking
from .sysu_protocol import draw_sysu_gallery, sysu_gallery, sysu_gallery_folders, sysu_query

__all__ = [
    "eval_sysu",
    "eval_regdb",
    "distance_matrix",
    "pairwise_distance",
    "sysu_excluded",
    "SysuRanking",
    "sysu_gallery",
    "sysu_gallery_folders",
    "draw_sysu_gallery",
    "sysu_query",
    "LLCM_SETTINGS",
    "llcm_gallery_folders",
    "draw_llcm_gallery",
    "llcm_excluded",
    "llcm_trial_scores",
    "CrossModalityEvaluator",
    "protocol_table",
    "ExtractedFeatures",
    "rank_sysu_candidates",
    "sysu_gallery_columns",
    "sysu_protocol_results",
    "sysu_trial_scores",
]
