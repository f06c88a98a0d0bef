"""Part contrastive loss (Eq. 5) on hand-worked examples and a naive loop; the PartContrastiveLoss module."""

import pytest
import torch

from g2da_plugin.data.datasets.modality import IR, RGB
from g2da_plugin.modeling.losses import G2DA_LOSS_REGISTRY
from g2da_plugin.modeling.losses.part_contrastive import PartContrastiveLoss, part_contrastive_loss
from tests.helpers import make_cfg

F64 = torch.float64

# Example 1: K+1 = 2 nodes in 2-d, margin 2, pairs "all". Samples (node 0, node 1):
#   A RGB id0 ((0,0), (1,0))     B IR id0 ((3,4), (1,1))
#   D RGB id1 ((0,3), (4,0))     C IR id1 ((0,1), (1,0.5))
#   (A,B) positive: d = 5, 1             -> d^2: 25 + 1                        = 26
#   (A,C) negative: d = 1, 0.5           -> (2-1)^2 + (2-0.5)^2 = 1 + 2.25     = 3.25
#   (D,B) negative: d = sqrt10, sqrt10   -> both beyond the margin             = 0
#   (D,C) positive: d^2 = 0+4, 9+0.25    -> 4 + 9.25                           = 13.25
#   L = 42.5 / (2 N (K+1)) = 42.5 / (2 * 4 * 2) = 2.65625
EX1_NODES = [[[0, 0], [1, 0]], [[3, 4], [1, 1]], [[0, 3], [4, 0]], [[0, 1], [1, 0.5]]]
EX1_IDS, EX1_MODS, EX1_LOSS = [0, 0, 1, 1], [RGB, IR, RGB, IR], 2.65625

# Example 2: one node, scalars, margin 2.
#   RGB: a1 id0 at 0, a2 id0 at 3, a3 id1 at 10        IR: b1 id0 at 1, b2 id1 at 4, b3 id1 at 11
#   |a - b|:  a1: b1 1 (pos), b2 4, b3 11      a2: b1 2 (pos), b2 1, b3 8      a3: b1 9, b2 6 (pos), b3 1 (pos)
#   "all": positives d^2 = 1 + 4 + 36 + 1 = 42; negatives inside the margin: only (a2,b2) d=1 -> 1;
#          N = 9 pairs -> L = 43 / (2 * 9) = 43/18
#   "hard": anchor -> (farthest positive, closest negative):
#          a1 -> (b1, b2)  a2 -> (b1, b2)  a3 -> (b2, b1)  b1 -> (a2, a3)  b2 -> (a3, a2)  b3 -> (a3, a2)
#          pair counts: (a1,b1) 1 pos d^2 1; (a2,b1) 2 pos d^2 4; (a3,b2) 2 pos d^2 36; (a3,b3) 1 pos d^2 1;
#                       (a1,b2) 1 neg d=4 -> 0; (a2,b2) 2 neg d=1 -> 1; (a3,b1) 2 neg d=9 -> 0; (a2,b3) 1 neg d=8 -> 0
#          sum = 1 + 8 + 72 + 1 + 2 = 84 over N = 12 pairs -> L = 84 / (2 * 12) = 3.5
EX2_NODES = [[[0.0]], [[3.0]], [[10.0]], [[1.0]], [[4.0]], [[11.0]]]
EX2_IDS, EX2_MODS = [0, 0, 1, 0, 1, 1], [RGB, RGB, RGB, IR, IR, IR]


def tensors(nodes, ids, mods):
    return torch.tensor(nodes, dtype=F64), torch.tensor(ids), torch.tensor(mods)


def test_hand_worked_all_pairs_over_nodes():
    loss = part_contrastive_loss(*tensors(EX1_NODES, EX1_IDS, EX1_MODS), margin=2.0, pairs="all")
    assert loss.item() == pytest.approx(EX1_LOSS, abs=1e-12)


@pytest.mark.parametrize("pairs, expected", [("all", 43 / 18), ("hard", 3.5)])
def test_hand_worked_pair_selection(pairs, expected):
    loss = part_contrastive_loss(*tensors(EX2_NODES, EX2_IDS, EX2_MODS), margin=2.0, pairs=pairs)
    assert loss.item() == pytest.approx(expected, abs=1e-12)


def test_hand_worked_support():
    # Example 1's samples with node 1 of sample 1 (IR id0) unsupported: the terms (0,1,k=1) and
    # (2,1,k=1) go. Kept terms, by the same arithmetic as Example 1:
    #   (0,1) id0 pos: node 0 d^2 = 25            (0,3) neg: node 0 d=1 -> 1; node 1 d=0.5 -> 2.25
    #   (2,1) neg: node 0 d=3 -> 0                 (2,3) id1 pos: node 0 d^2 = 4; node 1 d^2 = 9.25
    # sum = 41.5 over 6 terms -> L = 41.5 / (2 * 6)
    support = torch.tensor([[1, 1], [1, 0], [1, 1], [1, 1]], dtype=F64)
    loss = part_contrastive_loss(*tensors(EX1_NODES, EX1_IDS, EX1_MODS), margin=2.0, support=support)
    assert loss.item() == pytest.approx(41.5 / 12, abs=1e-12)
    everything = part_contrastive_loss(*tensors(EX1_NODES, EX1_IDS, EX1_MODS), margin=2.0, support=torch.ones(4, 2))
    assert everything.item() == pytest.approx(EX1_LOSS, abs=1e-12)


def test_share_of_negatives_inside_the_margin_by_hand():
    # Example 2, "all": the negative pairs' distances are 4, 11, 1, 8, 9; only d = 1 is inside margin 2
    loss, share = part_contrastive_loss(*tensors(EX2_NODES, EX2_IDS, EX2_MODS), margin=2.0, return_share=True)
    assert loss.item() == pytest.approx(43 / 18, abs=1e-12) and share.item() == pytest.approx(1 / 5, abs=1e-12)
    _, share = part_contrastive_loss(*tensors(EX2_NODES, EX2_IDS, EX2_MODS), margin=8.5, return_share=True)
    assert share.item() == pytest.approx(3 / 5, abs=1e-12)  # 4, 1 and 8


def test_hard_mining_distance_skips_unsupported_nodes():
    # RGB a (id0) at nodes (0, 0); IR b (id0) at (1, 100), IR c (id0) at (2, 0): with every node, c's
    # 2 < b's 100 makes b the farthest positive; with node 1 of b unsupported b is at distance 1 < 2,
    # so c is picked by a. The anchors b and c each pick a. Terms: (a,b) node 0 only, (a,c) both nodes.
    nodes, ids, mods = tensors([[[0.0], [0.0]], [[1.0], [100.0]], [[2.0], [0.0]]], [0, 0, 0], [RGB, IR, IR])
    support = torch.tensor([[1, 1], [1, 0], [1, 1]], dtype=F64)
    # counts: (a,b) 1 (by b), (a,c) 2 (by a and c) -> (1 * 1 + 2 * (4 + 0)) / (2 * (1 * 1 + 2 * 2))
    loss = part_contrastive_loss(nodes, ids, mods, margin=2.0, pairs="hard", support=support)
    assert loss.item() == pytest.approx(9 / 10, abs=1e-12)


def test_norm_feat_uses_unit_vectors():
    # A RGB id0 (2,0) -> (1,0); B IR id0 (0,5) -> (0,1); C IR id1 (3,0) -> (1,0)
    #   normalised: (A,B) positive d^2 = 2; (A,C) negative d = 0 -> (2 - 0)^2 = 4;  L = 6 / (2*2) = 1.5
    #   raw:        (A,B) d^2 = 4 + 25 = 29; (A,C) d = 1 -> 1;                      L = 30 / 4 = 7.5
    nodes, ids, mods = tensors([[[2, 0]], [[0, 5]], [[3, 0]]], [0, 0, 1], [RGB, IR, IR])
    nodes.requires_grad_(True)
    normed = part_contrastive_loss(nodes, ids, mods, margin=2.0, norm_feat=True)
    # d = sqrt(max(d^2, 1e-12)) (FastReID's floor) makes the zero distance 1e-6: hinge 4 - 4e-6
    assert normed.item() == pytest.approx(1.5, abs=2e-6)
    assert part_contrastive_loss(nodes, ids, mods, margin=2.0).item() == pytest.approx(7.5, abs=1e-12)
    normed.backward()  # a negative pair at distance 0: the hinge's sqrt must not give NaN
    assert torch.isfinite(nodes.grad).all()


def naive_all_pairs_loss(nodes, ids, mods, margin):
    """Eq. 5 with explicit loops over cross-modality pairs and nodes, distances from differences."""
    total, n_pairs = 0.0, 0
    for i in range(len(ids)):
        for j in range(len(ids)):
            if mods[i] != RGB or mods[j] != IR:
                continue
            n_pairs += 1
            for k in range(nodes.shape[1]):
                d = torch.linalg.norm(nodes[i, k] - nodes[j, k]).item()
                total += d ** 2 if ids[i] == ids[j] else max(margin - d, 0.0) ** 2
    return total / (2 * n_pairs * nodes.shape[1])


def shuffled_batch(ids=4, per_modality=3, nodes=5, dim=6, seed=0, scale=0.4):
    gen = torch.Generator().manual_seed(seed)
    targets = torch.arange(ids).repeat_interleave(2 * per_modality)
    modalities = torch.tensor(([RGB] * per_modality + [IR] * per_modality) * ids)
    order = torch.randperm(len(targets), generator=gen)
    # small features: many negative pairs inside the margin, so both terms are exercised
    feats = scale * torch.randn(len(targets), nodes, dim, generator=gen, dtype=F64)
    return feats, targets[order], modalities[order]


def test_all_pairs_matches_naive_loop():
    nodes, ids, mods = shuffled_batch()
    expected = naive_all_pairs_loss(nodes, ids.tolist(), mods.tolist(), 2.0)
    value = part_contrastive_loss(nodes, ids, mods, margin=2.0, pairs="all")
    assert value.item() == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("pairs", ["all", "hard"])
def test_gradcheck(pairs):
    nodes, ids, mods = shuffled_batch(ids=2, per_modality=2, nodes=3, dim=4, seed=1)
    nodes.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: part_contrastive_loss(x, ids, mods, 2.0, pairs=pairs), (nodes,))


def test_float32_under_autocast():
    nodes, ids, mods = shuffled_batch(seed=2)
    reference = part_contrastive_loss(nodes.float(), ids, mods, margin=2.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = part_contrastive_loss(nodes.float(), ids, mods, margin=2.0)
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, reference)


# ------------------------------------------------------------------ module and config
def pcl_cfg(**keys):
    """The plugin's config with ``MODEL.LOSSES.PART_CONTRASTIVE.<key>`` set from ``keys``."""
    return make_cfg(overrides={f"MODEL.LOSSES.PART_CONTRASTIVE.{key}": value for key, value in keys.items()})


def outputs_of(nodes, ids, mods):
    return {"nodes": nodes, "targets": ids, "modalities": mods}


def test_module_is_lambda_c_times_eq5():
    loss = G2DA_LOSS_REGISTRY.get("PartContrastiveLoss")(pcl_cfg(SCALE=0.25, MARGIN=2.0, PAIRS="all"))
    result = loss(outputs_of(*tensors(EX1_NODES, EX1_IDS, EX1_MODS)))
    assert set(result) == {"loss_part_contrastive"}
    assert result["loss_part_contrastive"].item() == pytest.approx(0.25 * EX1_LOSS, abs=1e-12)
    hard = PartContrastiveLoss(pcl_cfg(PAIRS="hard", SCALE=1.0, MARGIN=2.0))
    assert hard(outputs_of(*tensors(EX2_NODES, EX2_IDS, EX2_MODS)))["loss_part_contrastive"].item() \
        == pytest.approx(3.5, abs=1e-12)


def test_module_norm_feat_from_config():
    # the unit-vector example of test_norm_feat_uses_unit_vectors: 1.5 normalised, 7.5 raw
    outputs = outputs_of(*tensors([[[2, 0]], [[0, 5]], [[3, 0]]], [0, 0, 1], [RGB, IR, IR]))
    normed = PartContrastiveLoss(pcl_cfg(NORM_FEAT=True, MARGIN=2.0, SCALE=1.0))(outputs)["loss_part_contrastive"]
    raw = PartContrastiveLoss(pcl_cfg(NORM_FEAT=False, MARGIN=2.0, SCALE=1.0))(outputs)["loss_part_contrastive"]
    assert normed.item() == pytest.approx(1.5, abs=2e-6) and raw.item() == pytest.approx(7.5, abs=1e-12)


def test_constructor_has_no_defaults_for_config_values():
    with pytest.raises(TypeError, match="norm_feat"):
        PartContrastiveLoss(margin=2.0, scale=1.0, pairs="all")
    with pytest.raises(TypeError, match="margin"):
        part_contrastive_loss(*tensors(EX1_NODES, EX1_IDS, EX1_MODS))
    module = PartContrastiveLoss(margin=2.0, scale=0.5, pairs="all", norm_feat=False)
    assert module(outputs_of(*tensors(EX1_NODES, EX1_IDS, EX1_MODS)))["loss_part_contrastive"].item() \
        == pytest.approx(0.5 * EX1_LOSS, abs=1e-12)


def test_module_margin_from_config():
    # example 1 with margin 1: (A,C) keeps only node 1: (1 - 0.5)^2 = 0.25; L = (26 + 0.25 + 13.25) / 16
    loss = PartContrastiveLoss(pcl_cfg(MARGIN=1.0, SCALE=1.0))
    value = loss(outputs_of(*tensors(EX1_NODES, EX1_IDS, EX1_MODS)))["loss_part_contrastive"]
    assert value.item() == pytest.approx(39.5 / 16, abs=1e-12)


def test_module_without_cross_modality_pair_returns_connected_zero():
    nodes, ids, _ = tensors(EX1_NODES, EX1_IDS, EX1_MODS)
    nodes.requires_grad_(True)
    value = PartContrastiveLoss(pcl_cfg())(outputs_of(nodes, ids, torch.full((4,), IR)))["loss_part_contrastive"]
    value.backward()
    assert value.item() == 0.0 and torch.equal(nodes.grad, torch.zeros_like(nodes))


def test_module_needs_nodes():
    with pytest.raises(KeyError, match="PartContrastiveLoss needs skeleton-graph node features"):
        PartContrastiveLoss(pcl_cfg())({"targets": torch.zeros(2), "modalities": torch.zeros(2)})
    with pytest.raises(ValueError, match="nodes must be"):
        PartContrastiveLoss(pcl_cfg())(outputs_of(torch.zeros(3, 4), torch.zeros(3), torch.zeros(3)))


def test_module_rejects_unknown_pairs():
    with pytest.raises(ValueError, match="PAIRS"):
        PartContrastiveLoss(pcl_cfg(PAIRS="semi-hard"))
