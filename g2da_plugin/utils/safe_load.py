"""Loading checkpoint files without running code: ``torch.load(weights_only=True)`` with an allow-list
of the few non-tensor types checkpoints hold, and full unpickling only for a file the user trusts."""

import collections
import logging
import pickle
import re

import numpy as np
import torch

from .errors import InputError

__all__ = ["SAFE_GLOBALS", "load_checkpoint_file"]

logger = logging.getLogger(__name__)


def _numpy_globals():
    """What unpickling numpy arrays, dtypes and scalars needs, under numpy 2's and numpy 1's names."""
    from numpy._core import multiarray

    allowed = [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar,
               (multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
               (multiarray.scalar, "numpy.core.multiarray.scalar")]
    # Every dtype class (Float64DType, Int64DType, ...): a dtype pickles as its class in numpy 2.
    return allowed + [getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith("DType")]


#: FastReID's and OpenMMLab's checkpoints hold, besides tensors: MultiStepLR's milestones (a Counter),
#: numpy arrays and scalars (metrics, mmengine's history).
SAFE_GLOBALS = [collections.Counter] + _numpy_globals()


def load_checkpoint_file(path, *, trusted, trust_hint):
    """The object in ``path``, loaded on the CPU with weights-only unpickling.

    A file that needs more (it would run code when unpickled) is an :class:`InputError` naming it
    and ``trust_hint`` (how the user says the file is trusted), unless ``trusted``: then it is
    unpickled in full, with a warning. A file that is not a torch checkpoint at all is an
    :class:`InputError` too.
    """
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        refused = re.search(r"GLOBAL (\S+)", str(e))  # torch names the global it refused (wordings vary)
        if refused is None:  # not a pickle that torch wrote
            detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", str(e))
            raise InputError(f"{path} cannot be read as a checkpoint (UnpicklingError: "
                             f"{detail.group(1) if detail else str(e).splitlines()[0]})") from None
        if not trusted:
            raise InputError(f"{path} holds more than weights: unpickling it would run {refused.group(1)} "
                             f"from the file; only if you trust it, {trust_hint}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else ""
        raise InputError(f"{path} cannot be read as a checkpoint ({type(e).__name__}: {first})") from None
    logger.warning("%s holds more than weights: unpickling it in full, as it is trusted", path)
    return torch.load(path, map_location="cpu", weights_only=False)
