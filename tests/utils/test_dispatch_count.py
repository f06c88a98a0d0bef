"""The counter's classification of ops, against ops whose behaviour on a GPU is known."""

import torch

from g2da_plugin.utils.dispatch_count import DispatchCounter


def counted(fn):
    with DispatchCounter() as counter:
        fn()
    return counter


def test_reading_a_value_and_data_dependent_shapes_are_syncs():
    x = torch.randn(4, 5)
    assert counted(lambda: x.sum().item()).sync_ops == {"aten::_local_scalar_dense": 1}
    assert counted(lambda: bool(x.sum() > 0)).syncs == 1
    assert counted(lambda: x.nonzero()).sync_ops == {"aten::nonzero": 1}
    assert counted(lambda: x[x > 0]).sync_ops == {"aten::index": 1}  # boolean mask
    assert counted(lambda: x[:, [0, 2]]).sync_ops == {"aten::lift_fresh": 1}  # a Python list sent to the device


def test_views_are_free_and_computing_ops_are_kernels():
    x = torch.randn(4, 5)
    views = counted(lambda: (x.view(20), x.t(), x[:, 1:3], x.unsqueeze(0), x.detach()))
    assert views.kernels == 0 and views.syncs == 0
    compute = counted(lambda: (x + 1).exp().sum(dim=1))
    assert compute.kernel_ops == {"aten::add": 1, "aten::exp": 1, "aten::sum": 1} and compute.syncs == 0
    masked = counted(lambda: torch.where(x > 0, x, 0.0).sum())
    assert masked.syncs == 0 and set(masked.kernel_ops) == {"aten::gt", "aten::scalar_tensor", "aten::where", "aten::sum"}
