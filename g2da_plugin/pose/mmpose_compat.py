"""Run mmpose 1.3 (HRNet) on this stack: mmcv-lite instead of mmcv, torch 2.x, numpy 2.

Only the pose tools import this module; the core plugin never imports mmpose (an optional extra,
installed by ``tools/install_pose_extra.sh``).

1. ``mmcv.ops``. mmpose imports ``mmcv.ops`` at start-up (``from mmcv.ops import
   MultiScaleDeformableAttention`` in its transformer heads, ``DeformConv2d`` ...). mmcv-lite ships
   the Python side of ``mmcv.ops`` but not its compiled ``mmcv._ext``, so that import fails.
   HRNet + HeatmapHead use none of those operators. :func:`install_mmcv_ops_standin` puts a
   stand-in package ``mmcv.ops`` (and any ``mmcv.ops.<sub>``) in ``sys.modules``: every name
   imported from it is a placeholder class that can be imported and subclassed, and raises
   :class:`MissingMmcvOpError` naming the operator when used. Nothing is replaced when the real,
   compiled mmcv is installed.
2. Checkpoints. torch >= 2.6 loads with ``weights_only=True`` by default; OpenMMLab checkpoints keep
   numpy arrays (and numpy scalars) in their ``meta`` (dataset_meta's sigmas, flip indices ...), which
   that loader refuses. :func:`load_openmmlab_checkpoint` loads with
   :func:`g2da_plugin.utils.safe_load.load_checkpoint_file` (numpy's reconstructors allowed); if the
   file needs more than that (e.g. mmengine's message-hub objects in a training-state checkpoint)
   and ``allow_pickle`` is true, it is unpickled in full, with a warning. Full unpickling runs
   arbitrary code: only pass checkpoints you trust (the official OpenMMLab releases, your own).
3. Configs come from the copy bundled inside the installed mmpose package (``mmpose/.mim/configs``);
   the backbone's ``init_cfg`` (an ImageNet download) is removed before building, and
   ``init_weights`` is never called: the weights come from the checkpoint.
"""

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
import types
import warnings

import torch

from ..utils.errors import InputError, MissingInputError
from ..utils.safe_load import load_checkpoint_file

logger = logging.getLogger(__name__)

__all__ = [
    "HRNET_W32_COCO_CONFIG",
    "MissingMmcvOpError",
    "install_mmcv_ops_standin",
    "import_mmpose",
    "mmpose_config_path",
    "load_openmmlab_checkpoint",
    "build_pose_model",
]

#: HRNet-w32, top-down heatmap, COCO, 256x192: the paper's estimator (inside mmpose's bundled configs).
HRNET_W32_COCO_CONFIG = "body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py"

_STANDIN_ATTRIBUTE = "__g2da_standin__"


class MissingMmcvOpError(RuntimeError):
    """An ``mmcv.ops`` operator was used, but only mmcv-lite (no compiled operators) is installed."""


def _placeholder(module_name, name):
    def fail(*args, **kwargs):
        raise MissingMmcvOpError(
            f"{module_name}.{name} needs mmcv's compiled operators (mmcv._ext), which mmcv-lite does not "
            f"have; g2da_plugin.pose.mmpose_compat stands in for mmcv.ops so that HRNet, which needs none, "
            f"can run. Install the full mmcv to use models that need {name}.")

    # A class, so that it can be subclassed at import time; using it in any way fails.
    return type(name, (), {"__new__": lambda cls, *a, **k: fail(), "__call__": fail,
                           "__module__": module_name, _STANDIN_ATTRIBUTE: True})


class _StandinModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = _placeholder(self.__name__, name)
        setattr(self, name, value)
        return value


class _StandinFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers imports of ``mmcv.ops`` and ``mmcv.ops.*`` with stand-in modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "mmcv.ops" or fullname.startswith("mmcv.ops."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StandinModule(spec.name)
        module.__path__ = []
        setattr(module, _STANDIN_ATTRIBUTE, True)
        return module

    def exec_module(self, module):
        pass


def _has_compiled_mmcv():
    try:
        return importlib.util.find_spec("mmcv._ext") is not None
    except ModuleNotFoundError:   # no mmcv at all
        return False


def install_mmcv_ops_standin():
    """Make ``import mmcv.ops`` work without mmcv's compiled operators. True if the stand-in is in use.

    Does nothing (returns False) when the compiled ``mmcv._ext`` exists. Idempotent.
    """
    if any(isinstance(finder, _StandinFinder) for finder in sys.meta_path):
        return True
    if _has_compiled_mmcv():
        return False
    for name in [n for n in sys.modules if n == "mmcv.ops" or n.startswith("mmcv.ops.")]:
        del sys.modules[name]   # a failed import of the real one may have left pieces behind
    sys.meta_path.insert(0, _StandinFinder())
    return True


_EXTRA_HINT = "install the pose extra: bash tools/install_pose_extra.sh (G2DA_VENV=<venv>, default .venv)"


@contextlib.contextmanager
def _quiet_pkg_resources():
    """mmengine looks packages up with pkg_resources, which warns that it is deprecated: not news."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        yield


def import_mmpose():
    """Import mmpose with the ``mmcv.ops`` stand-in and register its modules; returns the package."""
    install_mmcv_ops_standin()
    with _quiet_pkg_resources():
        try:
            import mmpose
            from mmpose.utils import register_all_modules
        except ImportError as e:
            raise ImportError(f"mmpose could not be imported ({e}); {_EXTRA_HINT}") from e
        register_all_modules(init_default_scope=True)
    return mmpose


def mmpose_config_path(config=HRNET_W32_COCO_CONFIG):
    """``config`` if it is a file, else that path inside mmpose's bundled configs (``.mim/configs``)."""
    if os.path.isfile(config):
        return os.path.abspath(config)
    mmpose = import_mmpose()
    root = os.path.join(os.path.dirname(mmpose.__file__), ".mim", "configs")
    path = os.path.join(root, config)
    if not os.path.isfile(path):
        raise MissingInputError(f"mmpose config {config!r} is neither a file nor one of mmpose's bundled configs "
                                f"(looked for {path})")
    return path


def load_openmmlab_checkpoint(path, allow_pickle=True):
    """The ``state_dict`` of an OpenMMLab (or plain) checkpoint file, as {name: tensor}.

    See the module docstring (2.) for how torch's ``weights_only`` loading is handled. With
    ``allow_pickle=False`` a checkpoint that needs more than tensors and numpy data is refused.
    """
    path = os.fspath(path)
    checkpoint = load_checkpoint_file(path, trusted=allow_pickle, trust_hint="pass allow_pickle=True")
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        state_dict = checkpoint["state_dict"]
    elif isinstance(checkpoint, dict) and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        state_dict = checkpoint
    else:
        raise InputError(f"{path}: not a checkpoint (expected a state_dict, or a dict with a 'state_dict' entry)")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state_dict.items()}


def build_pose_model(config=HRNET_W32_COCO_CONFIG, checkpoint=None, device="cpu", allow_pickle=True):
    """(model in eval mode on ``device``, mmengine Config) from an mmpose config.

    ``checkpoint``: a checkpoint file, loaded strictly (a checkpoint of another architecture fails
    with the missing/unexpected keys); ``None`` keeps PyTorch's default initialisation (tests).
    """
    import_mmpose()
    from mmengine.config import Config
    from mmpose.registry import MODELS

    with _quiet_pkg_resources():
        cfg = Config.fromfile(mmpose_config_path(config))
        cfg.model.pop("init_cfg", None)
        for part in ("backbone", "neck", "head"):
            if part in cfg.model and isinstance(cfg.model[part], dict):
                cfg.model[part].pop("init_cfg", None)
        model = MODELS.build(cfg.model)
    if checkpoint is not None:
        state_dict = load_openmmlab_checkpoint(checkpoint, allow_pickle=allow_pickle)
        try:
            result = model.load_state_dict(state_dict, strict=False)
        except RuntimeError as e:   # shape mismatches
            raise InputError(f"checkpoint {checkpoint} does not fit {os.path.basename(cfg.filename)}: "
                             f"{str(e).strip().splitlines()[-1].strip()}") from None
        missing = [k for k in result.missing_keys if not k.startswith("data_preprocessor.")]
        if missing or result.unexpected_keys:
            raise InputError(
                f"checkpoint {checkpoint} does not fit {os.path.basename(cfg.filename)}: "
                f"{len(missing)} missing keys (e.g. {missing[:3]}), {len(result.unexpected_keys)} unexpected "
                f"keys (e.g. {result.unexpected_keys[:3]})")
    return model.to(device).eval(), cfg
