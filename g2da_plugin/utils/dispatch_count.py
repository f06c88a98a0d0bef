"""Count, on any device, the kernel launches and host syncs a piece of torch code would make on a GPU.

:class:`DispatchCounter` is a ``TorchDispatchMode``: every ATen op the code dispatches passes through
it. On a GPU each op that computes is a kernel launch (5-10 us of CPU time each) and each op that
needs a value back on the host drains the queue, so both counts bound a step's speed there; on a
CPU they are the same counts, which is why the tests hold them on CPU.

- A **kernel op** is any dispatched op except views and metadata (``is_view`` ops, ``detach``,
  allocation without a fill).
- A **host sync** is an op whose result the host must wait for: reading a value
  (``_local_scalar_dense``: ``item()``, ``bool()``, ``int()``, ``if tensor``), an output whose
  shape depends on the data (``nonzero``, ``masked_select``, boolean-mask indexing, ``unique``, ...),
  or a tensor made from Python data inside the step (``lift_fresh``: on a GPU, a blocking host to
  device copy). ``tolist()`` reads memory without dispatching and is not seen: keep it out of hot code.
"""

from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_NOT_KERNELS = {"aten::detach", "aten::empty", "aten::empty_strided", "aten::empty_like", "aten::set_",
                "aten::_has_compatible_shallow_copy_type", "aten::alias"}
_SYNCS = {"aten::_local_scalar_dense", "aten::nonzero", "aten::masked_select", "aten::unique_dim",
          "aten::_unique", "aten::_unique2", "aten::unique_consecutive", "aten::argwhere", "aten::lift_fresh",
          "aten::lift_fresh_copy", "aten::is_nonzero", "aten::equal", "aten::masked_scatter"}
_INDEX_OPS = {"aten::index", "aten::index_put", "aten::index_put_", "aten::_index_put_impl_"}


def _has_bool_index(args):
    indices = args[1] if len(args) > 1 and isinstance(args[1], (list, tuple)) else ()
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices)


def classify(func, args, kwargs) -> str:
    """"sync", "kernel" or "free" for one dispatched op."""
    name = func._schema.name
    if name in _SYNCS or (name in _INDEX_OPS and _has_bool_index(args)):
        return "sync"
    if name == "aten::repeat_interleave" and kwargs.get("output_size") is None and len(args) < 4:
        return "sync"
    if func.is_view or name in _NOT_KERNELS:
        return "free"
    return "kernel"


class DispatchCounter(TorchDispatchMode):
    """``with DispatchCounter() as counter: step()`` then ``counter.kernels``, ``counter.syncs``;
    ``counter.sync_ops`` and ``counter.kernel_ops`` count them by op name."""

    def __init__(self):
        super().__init__()
        self.kernel_ops = Counter()
        self.sync_ops = Counter()

    @property
    def kernels(self) -> int:
        return sum(self.kernel_ops.values())

    @property
    def syncs(self) -> int:
        return sum(self.sync_ops.values())

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        kind = classify(func, args, kwargs)
        if kind == "sync":
            self.sync_ops[func._schema.name] += 1
        elif kind == "kernel":
            self.kernel_ops[func._schema.name] += 1
        return func(*args, **kwargs)
