"""Cross-modality batch-hard triplet loss, checked against hand-worked examples."""

import math

import pytest
import torch

from fastreid.modeling.losses import triplet_loss

from g2da_plugin.data.datasets.modality import IR, RGB
from g2da_plugin.modeling.losses import (G2DA_LOSS_REGISTRY, CrossModalityTripletLoss,
                                         cross_modality_triplet_loss)
from g2da_plugin.utils.errors import InputError
from tests.helpers import make_cfg

# Example 1, margin 0.3. Samples (point, id, modality):
#   A (0,0) id0 RGB    B (3,4) id0 IR    C (0,3) id1 IR    D (3,0) id1 RGB
# Cross-modality distances: A-B 5 (pos), A-C 3 (neg), D-B 4 (neg), D-C sqrt(18) = 3*sqrt(2) (pos)
#   anchor A: d_ap 5,       d_an 3 -> 5 - 3 + 0.3             = 2.3
#   anchor B: d_ap 5,       d_an 4 -> 5 - 4 + 0.3             = 1.3
#   anchor C: d_ap 3*sqrt2, d_an 3 -> 3*sqrt2 - 3 + 0.3       = 3*sqrt2 - 2.7
#   anchor D: d_ap 3*sqrt2, d_an 4 -> 3*sqrt2 - 4 + 0.3       = 3*sqrt2 - 3.7
#   mean = (3.6 + 6*sqrt2 - 6.4) / 4 = (6*sqrt2 - 2.8) / 4
EX1_FEATS = [[0.0, 0.0], [3.0, 4.0], [0.0, 3.0], [3.0, 0.0]]
EX1_IDS = [0, 0, 1, 1]
EX1_MODS = [RGB, IR, IR, RGB]
EX1_LOSS = (6 * math.sqrt(2) - 2.8) / 4
# (d_an - d_ap) per anchor, for the soft margin
EX1_GAPS = [3 - 5, 4 - 5, 3 - 3 * math.sqrt(2), 4 - 3 * math.sqrt(2)]

# Example 2, margin 0.3: every anchor has a same-modality sample that standard batch-hard mining
# would pick, and IR anchors have two cross-modality positives/negatives to choose from.
#   RGB: A (0,0) id0, D (5,0) id1, E (0,1) id1, F (-6,0) id0      IR: B (4,0) id0, C (1,0) id1
#   anchor A (RGB id0): cross pos {B 4},            cross neg {C 1}           -> 4 - 1 + .3 = 3.3
#                      (standard: pos max(B 4, F 6) = 6, neg min(C 1, D 5, E 1) = 1 -> 5.3)
#   anchor D (RGB id1): cross pos {C 4},            cross neg {B 1}           -> 3.3
#   anchor E (RGB id1): cross pos {C sqrt2},        cross neg {B sqrt17}      -> hinge 0
#   anchor F (RGB id0): cross pos {B 10},           cross neg {C 7}           -> 10 - 7 + .3 = 3.3
#   anchor B (IR id0):  cross pos {A 4, F 10} -> 10, cross neg {D 1, E sqrt17} -> 1 -> 9.3
#   anchor C (IR id1):  cross pos {D 4, E sqrt2} -> 4, cross neg {A 1, F 7} -> 1   -> 3.3
#   mean = (3.3 + 3.3 + 0 + 3.3 + 9.3 + 3.3) / 6 = 22.5 / 6 = 3.75
EX2_FEATS = [[0.0, 0.0], [5.0, 0.0], [0.0, 1.0], [-6.0, 0.0], [4.0, 0.0], [1.0, 0.0]]
EX2_IDS = [0, 1, 1, 0, 0, 1]
EX2_MODS = [RGB, RGB, RGB, RGB, IR, IR]
EX2_LOSS = 3.75


def _t(feats, ids, mods, dtype=torch.float64):
    return torch.tensor(feats, dtype=dtype), torch.tensor(ids), torch.tensor(mods)


def test_hand_worked_example():
    f, t, m = _t(EX1_FEATS, EX1_IDS, EX1_MODS)
    loss = cross_modality_triplet_loss(f, t, m, margin=0.3)
    assert loss.item() == pytest.approx(EX1_LOSS, abs=1e-6)


def test_hardest_cross_modality_pairs_and_same_modality_ignored():
    f, t, m = _t(EX2_FEATS, EX2_IDS, EX2_MODS)
    loss = cross_modality_triplet_loss(f, t, m, margin=0.3)
    assert loss.item() == pytest.approx(EX2_LOSS, abs=1e-6)
    # standard batch-hard (fastreid's, mining over all samples) gives a different value here
    standard = triplet_loss(f, t, 0.3, norm_feat=False, hard_mining=True)
    assert abs(standard.item() - EX2_LOSS) > 0.5


def test_order_of_samples_does_not_matter():
    f, t, m = _t(EX2_FEATS, EX2_IDS, EX2_MODS)
    perm = torch.tensor([4, 2, 0, 5, 1, 3])
    loss = cross_modality_triplet_loss(f[perm], t[perm], m[perm], margin=0.3)
    assert loss.item() == pytest.approx(EX2_LOSS, abs=1e-6)


def test_soft_margin_when_margin_is_zero():
    f, t, m = _t(EX1_FEATS, EX1_IDS, EX1_MODS)
    expected = sum(math.log1p(math.exp(-g)) for g in EX1_GAPS) / 4
    loss = cross_modality_triplet_loss(f, t, m, margin=0.0)
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_norm_feat_uses_unit_vectors():
    f, t, m = _t(EX2_FEATS, EX2_IDS, EX2_MODS)
    f = f + torch.tensor([0.5, 0.25], dtype=f.dtype)  # no zero vector
    unit = f / f.norm(dim=1, keepdim=True)
    expected = cross_modality_triplet_loss(unit, t, m, margin=0.3)
    scaled = cross_modality_triplet_loss(f * torch.tensor([[3.0], [0.5], [2.0], [7.0], [1.0], [4.0]],
                                                          dtype=f.dtype), t, m, margin=0.3, norm_feat=True)
    assert scaled.item() == pytest.approx(expected.item(), abs=1e-6)
    assert expected.item() != pytest.approx(cross_modality_triplet_loss(f, t, m, 0.3).item(), abs=1e-3)


def test_anchors_without_cross_modality_positive_or_negative_are_skipped():
    f, t, m = _t(EX1_FEATS, EX1_IDS, EX1_MODS)
    # G: id 5, RGB, far away -> no cross-modality positive, skipped as an anchor; as a negative of the
    # IR anchors it is farther than their current hardest negatives, so the mean stays EX1_LOSS
    # (were G counted as an anchor, with d_ap = -inf or 0, the mean would change).
    f2 = torch.cat([f, torch.tensor([[100.0, 100.0]], dtype=f.dtype)])
    t2 = torch.cat([t, torch.tensor([5])])
    m2 = torch.cat([m, torch.tensor([RGB])])
    loss = cross_modality_triplet_loss(f2, t2, m2, margin=0.3)
    assert loss.item() == pytest.approx(EX1_LOSS, abs=1e-6)
    # an identity present in both modalities but with no cross-modality negative: two samples only
    f3, t3, m3 = _t([[0.0, 0.0], [1.0, 0.0]], [0, 0], [RGB, IR])
    f3.requires_grad_(True)
    zero = cross_modality_triplet_loss(f3, t3, m3, margin=0.3)
    assert zero.item() == 0.0 and zero.requires_grad and zero.grad_fn is not None


def test_all_anchors_skipped_gives_zero_loss_with_grad():
    f, t, _ = _t(EX1_FEATS, EX1_IDS, EX1_MODS)
    f.requires_grad_(True)
    loss = cross_modality_triplet_loss(f, t, torch.zeros(4, dtype=torch.long), margin=0.3)  # all RGB
    assert loss.item() == 0.0
    assert loss.grad_fn is not None
    loss.backward()
    assert torch.equal(f.grad, torch.zeros_like(f))


def test_gradient_flows_and_matches_finite_differences():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(8, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    ids = torch.tensor([0, 0, 1, 1, 0, 0, 1, 1])
    mods = torch.tensor([RGB, RGB, RGB, RGB, IR, IR, IR, IR])
    for margin in (0.3, 0.0):
        assert torch.autograd.gradcheck(lambda x: cross_modality_triplet_loss(x, ids, mods, margin), (feats,))
    loss = cross_modality_triplet_loss(feats, ids, mods, 0.3)
    loss.backward()
    assert torch.isfinite(feats.grad).all() and feats.grad.abs().sum() > 0


def test_example1_gradient_by_hand():
    # anchor A's term is d(A,B) - d(A,C) + 0.3 (active); A appears in terms A (as anchor), B (as
    # positive: d(B,A)) and C (as negative: -d(C,A)). dL/dA = 1/4 * [ (A-B)/5 - (A-C)/3 + (A-B)/5 - (A-C)/3 ]
    f, t, m = _t(EX1_FEATS, EX1_IDS, EX1_MODS)
    f.requires_grad_(True)
    cross_modality_triplet_loss(f, t, m, margin=0.3).backward()
    a, b, c = torch.tensor([0.0, 0.0]), torch.tensor([3.0, 4.0]), torch.tensor([0.0, 3.0])
    expected = 0.25 * 2 * ((a - b) / 5 - (a - c) / 3)
    torch.testing.assert_close(f.grad[0].float(), expected, atol=1e-6, rtol=0)


def test_registered_module_reads_scale_and_feature_key_from_config():
    assert G2DA_LOSS_REGISTRY.get("CrossModalityTripletLoss") is CrossModalityTripletLoss
    f, t, m = _t(EX1_FEATS, EX1_IDS, EX1_MODS)
    outputs = {"features": f, "global_feature": f * 100, "targets": t, "modalities": m}
    module = CrossModalityTripletLoss(make_cfg(MODEL__LOSSES__CM_TRIPLET__SCALE=2.0))
    out = module(outputs, {})
    assert list(out) == ["loss_cm_triplet"]
    assert out["loss_cm_triplet"].item() == pytest.approx(2.0 * EX1_LOSS, abs=1e-6)
    # FEAT_KEY global_feature reads the other output: every distance x 100, margin unchanged; the
    # four hinges of example 1 stay active: mean of 100 (d_ap - d_an) + 0.3 = 100 (6 sqrt2 - 4) / 4 + 0.3
    on_global = CrossModalityTripletLoss(make_cfg(MODEL__LOSSES__CM_TRIPLET__FEAT_KEY="global_feature"))
    expected = 100 * (6 * math.sqrt(2) - 4) / 4 + 0.3
    assert on_global(outputs, {})["loss_cm_triplet"].item() == pytest.approx(expected, rel=1e-9)
    with pytest.raises(InputError, match="FEAT_KEY"):
        CrossModalityTripletLoss(make_cfg(MODEL__LOSSES__CM_TRIPLET__FEAT_KEY="nope"))(outputs, {})


def test_margin_and_norm_feat_from_config_reach_the_loss():
    f, t, m = _t(EX2_FEATS, EX2_IDS, EX2_MODS)
    f = f + torch.tensor([0.5, 0.25], dtype=f.dtype)  # no zero vector; distances unchanged
    outputs = {"features": f, "targets": t, "modalities": m}
    hinge = CrossModalityTripletLoss(make_cfg(MODEL__LOSSES__CM_TRIPLET__MARGIN=0.3))(outputs)["loss_cm_triplet"]
    assert hinge.item() == pytest.approx(EX2_LOSS, abs=1e-12)
    soft = CrossModalityTripletLoss(make_cfg(MODEL__LOSSES__CM_TRIPLET__MARGIN=0.0))(outputs)["loss_cm_triplet"]
    normed = CrossModalityTripletLoss(make_cfg(MODEL__LOSSES__CM_TRIPLET__NORM_FEAT=True,
                                               MODEL__LOSSES__CM_TRIPLET__MARGIN=0.3))(outputs)["loss_cm_triplet"]
    assert soft.item() == pytest.approx(cross_modality_triplet_loss(f, t, m, margin=0.0).item(), abs=1e-12)
    assert abs(soft.item() - EX2_LOSS) > 0.1 and abs(normed.item() - EX2_LOSS) > 0.1
    unit = f / f.norm(dim=1, keepdim=True)
    assert normed.item() == pytest.approx(cross_modality_triplet_loss(unit, t, m, margin=0.3).item(), abs=1e-12)


def test_constructor_has_no_defaults_for_config_values():
    with pytest.raises(TypeError, match="feat_key"):
        CrossModalityTripletLoss(margin=0.3, scale=1.0, norm_feat=False)
    module = CrossModalityTripletLoss(margin=0.3, scale=0.5, norm_feat=False, feat_key="features")
    f, t, m = _t(EX1_FEATS, EX1_IDS, EX1_MODS)
    assert module({"features": f, "targets": t, "modalities": m})["loss_cm_triplet"].item() \
        == pytest.approx(0.5 * EX1_LOSS, abs=1e-6)
