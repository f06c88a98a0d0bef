"""g2da_plugin: Geometry-Guided Dual-Alignment cross-modality re-identification for FastReID.

Importing the package first makes fastreid 1.4.0 work on this stack (see :mod:`g2da_plugin.compat`),
then registers the plugin's datasets, backbones, meta-architectures and losses in FastReID's registries.
"""

from . import compat

compat.apply()

from . import data, evaluation, modeling  # noqa: E402  (registration needs the fixes above)
from .config import add_g2da_config  # noqa: E402

__version__ = "0.1.0"
__all__ = ["add_g2da_config", "data", "evaluation", "modeling"]
