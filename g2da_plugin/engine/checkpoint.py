"""FastReID's checkpointer made crash-safe, strict and safe.

- Crash-safe: each checkpoint and the ``last_checkpoint`` tag are written atomically, so a kill at any
  moment leaves the last checkpoint whole (older periodic ones beyond ``keep`` are deleted only after
  that); with every checkpoint go the random number generators'
  states (Python, numpy, torch), restored on resume. On ``--resume`` a newest checkpoint that cannot
  be read (a disk or a copy broke it) is skipped, with a warning naming it, for the newest good one.
- Strict: the model's every parameter and buffer must come from the file, or loading stops with one
  line naming what is missing, unexpected or of the wrong shape (``MODEL.WEIGHTS_STRICT False``
  allows a partial load for fine-tuning, with a warning).
- Safe: files load with weights-only unpickling (:mod:`g2da_plugin.utils.safe_load`), which refuses
  to run code from a pickle; a file that needs full unpickling is refused unless
  ``MODEL.WEIGHTS_TRUSTED True`` says it is trusted.
"""

import os
import re

import torch
from torch.nn.parallel import DistributedDataParallel

from fastreid.utils.checkpoint import Checkpointer

from ..utils.errors import InputError, MissingInputError
from ..utils.file_io import atomic_write, atomic_write_text
from ..utils.rng import restore_rng_states, rng_states
from ..utils.safe_load import load_checkpoint_file

__all__ = ["SafeCheckpointer"]

RNG_KEY = "rng_states"
PERIODIC = re.compile(r"model_(\d+)\.pth")  # the per-epoch checkpoints of FastReID's PeriodicCheckpointer


class SafeCheckpointer(Checkpointer):
    """:class:`fastreid.utils.checkpoint.Checkpointer` with the behaviour of the module docstring.

    Args:
        strict: refuse a checkpoint that lacks or adds parameters or buffers of the model.
        trusted: unpickle a file in full when weights_only loading refuses it.
        keep: periodic checkpoints (``model_<epoch>.pth``) kept, the newest; 0 keeps all.
    """

    def __init__(self, model, save_dir="", *, strict=True, trusted=False, keep=0, **kwargs):
        # the wrapped module under DDP: checkpoints hold its keys, without DDP's "module." prefix,
        # and load back into one process or several alike
        super().__init__(model.module if isinstance(model, DistributedDataParallel) else model, save_dir, **kwargs)
        self.strict = strict
        self.trusted = trusted
        self.keep = keep
        self._kept = None  # (path, checkpoint) read ahead by :meth:`read`, for the next load of path

    # ---------------------------------------------------------------------------------- saving
    def save(self, name, **kwargs):
        if not self.save_dir or not self.save_to_disk:
            return
        data = {"model": self.model.state_dict(), RNG_KEY: rng_states()}
        data.update({key: obj.state_dict() for key, obj in self.checkpointables.items()})
        data.update(kwargs)
        basename = f"{name}.pth"
        self.logger.info("Saving checkpoint to %s", os.path.join(self.save_dir, basename))
        atomic_write(os.path.join(self.save_dir, basename), lambda f: torch.save(data, f))
        self.tag_last_checkpoint(basename)
        if self.keep and PERIODIC.fullmatch(basename):
            for _, old in self.periodic_checkpoints()[:-self.keep]:
                os.remove(os.path.join(self.save_dir, old))

    def periodic_checkpoints(self):
        """``[(epoch, basename)]`` of the ``model_<epoch>.pth`` files in the save folder, oldest first."""
        return sorted((int(m.group(1)), name) for name in os.listdir(self.save_dir)
                      if (m := PERIODIC.fullmatch(name)))

    def tag_last_checkpoint(self, last_filename_basename):
        atomic_write_text(os.path.join(self.save_dir, "last_checkpoint"), last_filename_basename)

    # --------------------------------------------------------------------------------- loading
    def load(self, path, checkpointables=None):
        if path and not os.path.isfile(path):
            raise MissingInputError(f"checkpoint not found: {path}")
        checkpoint = super().load(path, checkpointables)
        if checkpointables is None and RNG_KEY in checkpoint:  # resuming: the run goes on where it was
            restore_rng_states(checkpoint.pop(RNG_KEY))
        return checkpoint

    def resume_or_load(self, path, *, resume=True):
        if resume and self.has_checkpoint():
            return self.load(self.newest_readable_checkpoint())
        return self.load(path, checkpointables=[])

    def newest_readable_checkpoint(self):
        """The tagged checkpoint, or, when it cannot be read, the newest ``model_<epoch>.pth`` that can."""
        tagged = self.get_checkpoint_file()
        newest_first = [os.path.join(self.save_dir, name) for _, name in reversed(self.periodic_checkpoints())]
        candidates = [tagged] + [path for path in newest_first if path != tagged]
        for path in candidates:
            try:
                self.read(path)
                return path
            except InputError as e:
                self.logger.warning("Skipping checkpoint %s: %s", path, e)
        raise InputError(f"--resume: no readable checkpoint in {self.save_dir} (tried {', '.join(candidates)})")

    def read(self, path):
        """The checkpoint in ``path``, checked; kept, so that loading ``path`` next reads it no more."""
        self._kept = (path, self._load_file(path))
        return self._kept[1]

    def _load_file(self, f):
        if self._kept is not None and self._kept[0] == f:
            checkpoint, self._kept = self._kept[1], None
            return checkpoint
        checkpoint = load_checkpoint_file(f, trusted=self.trusted, trust_hint="set MODEL.WEIGHTS_TRUSTED True")
        if isinstance(checkpoint, dict) and "model" not in checkpoint and checkpoint \
                and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
            checkpoint = {"model": checkpoint}  # a bare state dict, e.g. an exported model
        if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("model"), dict):
            raise InputError(f"{f} holds no model state dict (expected a dict with a 'model' entry)")
        return checkpoint

    def _load_model(self, checkpoint):
        state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in checkpoint["model"].items()}
        own = self.model.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        wrong_shape = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
        problems = [f"{len(keys)} {what} (e.g. {', '.join(keys[:3])})"
                    for what, keys in (("missing", missing), ("unexpected", unexpected),
                                       ("of the wrong shape", wrong_shape)) if keys]
        if problems and self.strict:
            raise InputError(f"the checkpoint does not fit the model ({self.model.__class__.__name__}, "
                             f"{len(own)} parameters and buffers): {'; '.join(problems)} parameters or "
                             f"buffers; is it another config's checkpoint? MODEL.WEIGHTS_STRICT False "
                             f"allows a partial load for fine-tuning")
        return super()._load_model(checkpoint)
