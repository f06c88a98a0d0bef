"""Cross-modality datasets, registered in FastReID's ``DATASET_REGISTRY``.

Each item is ``(img_path, pid, camid, modality)``: FastReID's 3-tuple plus the modality
(:data:`RGB` = 0, :data:`IR` = 1), which the cross-modality sampler, the two-stream backbone and
the evaluator need.
"""

from .llcm import LLCM_CM
from .modality import IR, RGB
from .regdb import RegDB_CM
from .sysu_mm01 import SYSUMM01_CM

__all__ = ["RGB", "IR", "SYSUMM01_CM", "RegDB_CM", "LLCM_CM"]
