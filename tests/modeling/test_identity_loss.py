"""The sync-free cross-entropy equals FastReID's, smoothing modes included; accuracy by hand."""

import pytest
import torch
from fastreid.modeling.losses import cross_entropy_loss as fastreid_cross_entropy

from g2da_plugin.modeling.losses.identity_loss import cross_entropy_loss, top1_accuracy
from g2da_plugin.utils.dispatch_count import DispatchCounter


@pytest.mark.parametrize("eps", [0.0, 0.1, -1.0])
def test_equals_fastreids_value_and_gradient(eps):
    logits = torch.randn(12, 7, generator=torch.Generator().manual_seed(1), requires_grad=True)
    targets = torch.arange(12) % 7
    ours = cross_entropy_loss(logits, targets, eps, alpha=0.3)
    (grad_ours,) = torch.autograd.grad(ours, logits)
    theirs = fastreid_cross_entropy(logits, targets, eps, alpha=0.3)
    (grad_theirs,) = torch.autograd.grad(theirs, logits)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)
    assert torch.allclose(grad_ours, grad_theirs, atol=1e-7)


def test_counts_only_nonzero_losses_without_a_sync():
    # two samples predicted with certainty have loss 0 and are left out of the mean, as FastReID does
    logits, targets = torch.tensor([[100.0, 0.0], [0.0, 100.0], [0.0, 0.0]]), torch.tensor([0, 1, 0])
    with DispatchCounter() as counter:
        loss = cross_entropy_loss(logits, targets, 0.0)
    assert counter.syncs == 0
    assert loss.item() == pytest.approx(torch.log(torch.tensor(2.0)).item())


def test_top1_accuracy_by_hand():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0], [0.0, 1.0]])
    assert top1_accuracy(logits, torch.tensor([0, 1, 1, 0])).item() == 0.5
