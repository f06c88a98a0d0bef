"""FastReID's checkpointer made crash-safe: a kill at any moment leaves the last checkpoint whole."""

import os

import torch

from fastreid.utils.checkpoint import Checkpointer

from ..utils.file_io import atomic_write


class AtomicCheckpointer(Checkpointer):
    """Writes each checkpoint and the ``last_checkpoint`` tag to a temporary file, then renames it,
    so ``--resume`` never meets a half-written file (FastReID writes both in place)."""

    def save(self, name, **kwargs):
        if not self.save_dir or not self.save_to_disk:
            return
        data = {"model": self.model.state_dict()}
        data.update({key: obj.state_dict() for key, obj in self.checkpointables.items()})
        data.update(kwargs)
        basename = f"{name}.pth"
        self.logger.info("Saving checkpoint to %s", os.path.join(self.save_dir, basename))
        atomic_write(os.path.join(self.save_dir, basename), lambda f: torch.save(data, f))
        self.tag_last_checkpoint(basename)

    def tag_last_checkpoint(self, last_filename_basename):
        atomic_write(os.path.join(self.save_dir, "last_checkpoint"),
                      lambda f: f.write(last_filename_basename.encode()))
