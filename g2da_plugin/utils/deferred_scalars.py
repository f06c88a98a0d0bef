"""Training scalars logged from device tensors without a host sync per iteration.

FastReID's ``EventStorage.put_scalar`` calls ``float(value)``: on a GPU, each call waits for the
step's queue to drain. A training loop that owns a :class:`DeferredScalars` attaches it to its
storage (:func:`attach`); :func:`put_tensor_scalars` then only keeps the detached tensors, and the
loop's :meth:`DeferredScalars.flush` copies them to the host in one transfer, before the writers
run, and puts each value at the iteration it belongs to: the printed and written scalars are the
ones a per-iteration ``put_scalar`` would have given. Without an attached buffer (any other trainer)
:func:`put_tensor_scalars` puts them at once.
"""

import torch

from fastreid.utils import events

_ATTRIBUTE = "g2da_deferred_scalars"


class DeferredScalars:
    """Device scalars by iteration, copied to the host only by :meth:`flush`."""

    def __init__(self):
        self._pending = []  # (iteration, names, (n,) float32 tensor)

    def put(self, iteration, tensors):
        """Keep ``{name: scalar tensor}`` of ``iteration`` (one ``stack``, no sync)."""
        if tensors:
            values = torch.stack([value.detach().reshape(()).float() for value in tensors.values()])
            self._pending.append((int(iteration), tuple(tensors), values))

    def flush(self):
        """``{iteration: {name: float}}`` of everything kept so far, in iteration order, with one host copy."""
        if not self._pending:
            return {}
        host = torch.cat([values for _, _, values in self._pending]).cpu().tolist()
        out, start = {}, 0
        for iteration, names, values in self._pending:
            out.setdefault(iteration, {}).update(zip(names, host[start:start + len(names)]))
            start += len(names)
        self._pending = []
        return out


def attach(storage, deferred):
    """Route :func:`put_tensor_scalars` of code running under ``storage`` into ``deferred``."""
    setattr(storage, _ATTRIBUTE, deferred)


def put_tensor_scalars(**tensors):
    """Log scalar tensors to the current ``EventStorage`` (if any) at its current iteration:
    deferred when a training loop attached a buffer, otherwise put now (a host sync each)."""
    if not events._CURRENT_STORAGE_STACK:
        return
    storage = events.get_event_storage()
    deferred = getattr(storage, _ATTRIBUTE, None)
    if deferred is not None:
        deferred.put(storage.iter, tensors)
    else:
        storage.put_scalars(**{name: float(value) for name, value in tensors.items()})
