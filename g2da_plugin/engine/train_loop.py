"""The training step: FastReID's ``SimpleTrainer`` / ``AMPTrainer`` as one class, with mixed precision
chosen per device and the step's scalars logged without a host sync per iteration."""

import time

import numpy as np
import torch
from fastreid.engine.train_loop import SimpleTrainer
from fastreid.utils import comm
from fastreid.utils.events import get_event_storage

from ..utils.deferred_scalars import DeferredScalars, attach
from ..utils.errors import InputError

#: Values of ``SOLVER.AMP.DTYPE``.
AMP_DTYPES = ("auto", "bfloat16", "float16")


def autocast_dtype(cfg, device):
    """The autocast dtype of a training step on ``device`` (None: float32). ``SOLVER.AMP.ENABLED``
    with ``SOLVER.AMP.DTYPE`` "auto": bfloat16 on a GPU that has it (no loss scaling needed),
    float16 on an older GPU, float32 on a CPU (its bfloat16 kernels are slower than float32's)."""
    amp = cfg.SOLVER.AMP
    if amp.DTYPE not in AMP_DTYPES:
        raise InputError(f"SOLVER.AMP.DTYPE must be one of {AMP_DTYPES}, got {amp.DTYPE!r}")
    if not amp.ENABLED:
        return None
    if amp.DTYPE != "auto":
        return getattr(torch, amp.DTYPE)
    if torch.device(device).type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


class CrossModalityStepTrainer(SimpleTrainer):
    """One training step as FastReID's trainers take it, with three changes:

    - the forward runs under ``autocast(dtype)`` (``dtype`` None: float32), with a GradScaler only
      for float16 (``grad_scaler``, saved in checkpoints);
    - the losses and every scalar the model logs through
      :func:`~g2da_plugin.utils.deferred_scalars.put_tensor_scalars` stay on the device and are copied
      to the host every ``flush_period`` iterations and at each epoch's end, in one transfer, then put
      at their own iterations: FastReID's printer, JSON and TensorBoard writers (which write every
      ``flush_period`` iterations and after each epoch) show the same values; a non-finite loss
      stops training at that flush, naming its iteration, instead of at once;
    - ``zero_grad`` sets gradients to None (no zero-filling kernels).
    """

    def __init__(self, model, data_loader, optimizer, param_wrapper, *, dtype, flush_period, iters_per_epoch):
        super().__init__(model, data_loader, optimizer, param_wrapper)
        self.dtype = dtype
        self.device_type = next(model.parameters()).device.type
        self.grad_scaler = torch.amp.GradScaler(self.device_type) if dtype == torch.float16 else None
        self.flush_period = int(flush_period)
        self.iters_per_epoch = int(iters_per_epoch)
        self.deferred = DeferredScalars()
        self._data_times = []
        self.loss_names = set()

    def run_step(self):
        assert self.model.training, "[CrossModalityStepTrainer] model was changed to eval mode!"
        storage = get_event_storage()
        attach(storage, self.deferred)
        start = time.perf_counter()
        data = next(self._data_loader_iter)
        data_time = time.perf_counter() - start

        with torch.autocast(self.device_type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None):
            loss_dict = self.model(data)
            losses = sum(loss_dict.values())
        self.optimizer.zero_grad(set_to_none=True)
        if self.grad_scaler is None:
            losses.backward()
        else:
            self.grad_scaler.scale(losses).backward()

        self.loss_names.update(loss_dict)
        self.deferred.put(self.iter, loss_dict)
        self._data_times.append((self.iter, data_time))
        if (self.iter + 1) % self.flush_period == 0 or (self.iter + 1) % self.iters_per_epoch == 0:
            self.flush_metrics(storage)

        if self.grad_scaler is None:
            self.optimizer.step()
        else:
            self.grad_scaler.step(self.optimizer)
            self.grad_scaler.update()

    def flush_metrics(self, storage):
        """Put every deferred scalar at its iteration, as FastReID's ``_write_metrics`` would have
        (data time: the slowest process's; the rest: the processes' mean)."""
        now = storage.iter
        records, data_times = self.deferred.flush(), dict(self._data_times)
        self._data_times = []
        gathered = comm.gather((records, data_times))
        if not comm.is_main_process():
            return
        try:
            for iteration in records:
                scalars = {name: float(np.mean([r[iteration][name] for r, _ in gathered]))
                           for name in records[iteration]}
                losses = {name: scalars.pop(name) for name in self.loss_names if name in scalars}
                storage.iter = iteration
                storage.put_scalar("data_time", max(times[iteration] for _, times in gathered))
                total = sum(losses.values())
                if not np.isfinite(total):
                    raise FloatingPointError(f"Loss became infinite or NaN at iteration={iteration}!\n"
                                             f"loss_dict = {losses}")
                storage.put_scalar("total_loss", total)
                if len(losses) > 1:
                    storage.put_scalars(**losses)
                storage.put_scalars(**scalars)
        finally:
            storage.iter = now
