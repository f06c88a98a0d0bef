"""Message Fusion Attention (Sec. III-C): adjacency, attention masking, the theta exchange against hand
computations, the sparsity penalty, and the G2DA meta-architecture on a loader batch."""

import math

import pytest
import torch
import torch.nn.functional as F

import g2da_plugin  # noqa: F401
from fastreid.config import get_cfg
from fastreid.modeling.meta_arch import build_model
from fastreid.solver.build import get_default_optimizer_params
from fastreid.utils.events import EventStorage

from g2da_plugin.config import add_g2da_config
from g2da_plugin.data.build import build_cross_modality_train_loader
from g2da_plugin.modeling.heads.mfa import (GraphAggregation, MessageFusion, MessageFusionAttention,
                                            MultiHeadGraphAttention, skeleton_adjacency)
from g2da_plugin.modeling.heads.pose_parts import GRAPH_NODE_NAMES

# ------------------------------------------------------------------ adjacency

# the paper's natural links, listed by hand (not taken from SKELETON_EDGES)
NATURAL_LINKS = [
    ("head", "left_shoulder"), ("head", "right_shoulder"), ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"),
    ("right_elbow", "right_wrist"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"), ("left_hip", "left_knee"), ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
]


def test_adjacency_by_hand():
    adjacency = skeleton_adjacency()
    index = {name: i for i, name in enumerate(GRAPH_NODE_NAMES)}
    expected = torch.eye(14, dtype=torch.bool)
    expected[0, :] = expected[:, 0] = True  # global <-> every part
    for a, b in NATURAL_LINKS:
        expected[index[a], index[b]] = expected[index[b], index[a]] = True
    assert adjacency.dtype == torch.bool and torch.equal(adjacency, expected)
    # 14 natural links + 13 global links, both directions, + 14 self loops
    assert int(adjacency.sum()) == 2 * (14 + 13) + 14
    wrist = index["left_wrist"]
    assert sorted(adjacency[wrist].nonzero().flatten().tolist()) == [0, index["left_elbow"], wrist]


# ------------------------------------------------------------------ attention

def test_a_node_sees_exactly_its_neighbours():
    torch.manual_seed(0)
    adjacency = skeleton_adjacency()
    attention = MultiHeadGraphAttention(8, num_heads=2, head_dim=3, adjacency=adjacency)
    nodes = torch.randn(2, 14, 8)
    with torch.no_grad():
        out = attention(nodes)
        assert out.shape == (2, 14, 2, 3)
        for j in range(14):
            moved = nodes.clone()
            moved[:, j] += torch.randn(2, 8)
            changed = (attention(moved) - out).abs().amax(dim=(0, 2, 3)) > 0
            # node i's output changes iff j is one of its neighbours; the rest is bit-identical
            assert torch.equal(changed, adjacency[:, j]), GRAPH_NODE_NAMES[j]


def test_zero_attention_vectors_average_the_neighbours():
    torch.manual_seed(0)
    adjacency = skeleton_adjacency()
    attention = MultiHeadGraphAttention(6, num_heads=2, head_dim=3, adjacency=adjacency, activation="none")
    with torch.no_grad():
        attention.attn_target.zero_()
        attention.attn_neighbour.zero_()
        nodes = torch.randn(3, 14, 6)
        out = attention(nodes)
        projected = nodes @ attention.project.weight.t()  # (B, N, L * c), head l = columns l*c..
        mean = adjacency.float() / adjacency.sum(dim=1, keepdim=True)
        expected = torch.einsum("ij,bjc->bic", mean, projected).view(3, 14, 2, 3)
    assert torch.allclose(out, expected, atol=1e-6)


# ------------------------------------------------------------------ message fusion

def fusion_with(gamma, beta, **kwargs):
    """A MessageFusion over one node whose eval-mode BN is exactly ``gamma * x + beta``."""
    num_heads, head_dim = gamma.shape
    fusion = MessageFusion(num_heads, head_dim, num_nodes=1, **kwargs)
    with torch.no_grad():
        fusion.norm.weight.copy_(gamma.flatten())
        fusion.norm.bias.copy_(beta.flatten())
    fusion.norm.eps = 0.0
    return fusion.eval()  # running mean 0, variance 1


GAMMA = torch.tensor([[1.0, 0.01], [-0.5, 1.0], [-0.01, 2.0]])  # (3 heads, 2 channels)
BETA = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.5, 0.0]])
HEADS = torch.tensor([[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]]])  # (B=1, N=1, L=3, c=2)


def test_exchange_rule_by_hand():
    fusion = fusion_with(GAMMA, BETA, theta=0.02)
    # BN'd: head0 [1, 0.02], head1 [-1.5, 4], head2 [-0.05 + 0.5, 12] = [0.45, 12].
    # |gamma| < 0.02 at (head0, ch1) and (head2, ch0) (not at gamma = -0.5): they take the other
    # two heads' mean.
    expected = torch.tensor([1.0, (4 + 12) / 2, -1.5, 4.0, (1 - 1.5) / 2, 12.0])
    assert torch.equal(fusion.exchange_mask()[0], torch.tensor([[False, True], [False, False], [True, False]]))
    assert torch.allclose(fusion(HEADS).flatten(), expected)


@pytest.mark.parametrize("kwargs", [{"theta": 0.02, "exchange": False}, {"theta": 0.0}])
def test_nothing_is_exchanged_without_exchange_or_with_theta_zero(kwargs):
    fusion = fusion_with(GAMMA, BETA, **kwargs)
    assert not fusion.exchange_mask().any()
    assert torch.allclose(fusion(HEADS).flatten(), torch.tensor([1.0, 0.02, -1.5, 4.0, 0.45, 12.0]))


@pytest.mark.parametrize("per_node", [True, False])
def test_training_statistics_per_node_or_shared(per_node):
    torch.manual_seed(0)
    fusion = MessageFusion(2, 3, num_nodes=4, per_node=per_node).train()
    # nodes with very different scales: per-node BN standardises each node, shared BN does not
    heads = torch.randn(16, 4, 2, 3) * torch.tensor([1.0, 5.0, 0.2, 3.0]).view(1, 4, 1, 1)
    out = fusion(heads).view(16, 4, 2, 3)
    assert fusion.gamma.shape == ((4, 2, 3) if per_node else (2, 3))
    per_node_std = out.std(dim=0, unbiased=False)
    if per_node:
        assert torch.allclose(per_node_std, torch.ones_like(per_node_std), atol=1e-3)
    else:
        shared_std = out.transpose(0, 1).reshape(4, -1).std(dim=1)
        assert shared_std[1] > 5 * shared_std[2]
        assert torch.allclose(out.reshape(-1, 2, 3).std(dim=0, unbiased=False), torch.ones(2, 3), atol=1e-3)


def test_sparsity_penalty_by_hand():
    # 2 heads x 4 channels, share 0.5: head 0 penalises channels 0, 1; head 1 starts at 4 // 2 = 2
    fusion = MessageFusion(2, 4, num_nodes=1, l1_weight=0.1, l1_share=0.5, per_node=False)
    with torch.no_grad():
        fusion.norm.weight.copy_(torch.tensor([1.0, -2.0, 3.0, 4.0, 5.0, 6.0, -7.0, 8.0]))
    assert fusion.sparsity_penalty().item() == pytest.approx(0.1 * (1 + 2 + 7 + 8))
    fusion.sparsity_penalty().backward()
    assert torch.allclose(fusion.norm.weight.grad, 0.1 * torch.tensor([1.0, -1.0, 0, 0, 0, 0, -1.0, 1.0]))
    assert MessageFusion(2, 4, num_nodes=1).sparsity_penalty() is None  # weight 0: off


@pytest.mark.parametrize("weighting", ["softmax", "free"])
def test_aggregation_by_hand(weighting):
    aggregation = GraphAggregation(2, num_nodes=3, node_weights=weighting).eval()  # BN: identity
    refined = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]]])
    with torch.no_grad():
        assert torch.allclose(aggregation(torch.tensor([[1.0, -1.0]]), refined), torch.tensor([[8 / 3, 1.0]]))
        aggregation.node_params.copy_(torch.tensor([0.0, math.log(2.0), math.log(5.0)]))
        w = torch.tensor([1 / 8, 2 / 8, 5 / 8]) if weighting == "softmax" else torch.tensor([0.0, math.log(2), math.log(5)])
        assert torch.allclose(aggregation(torch.zeros(1, 2), refined), w @ refined[0])


def test_bad_settings_name_the_key():
    with pytest.raises(ValueError, match="MODEL.MFA.NUM_HEADS"):
        MessageFusionAttention(feat_dim=10, num_classes=3, num_heads=4)
    with pytest.raises(ValueError, match="MODEL.MFA.EXCHANGE"):
        MessageFusionAttention(feat_dim=8, num_classes=3, num_heads=1)
    with pytest.raises(ValueError, match="MODEL.MFA.ACTIVATION"):
        MessageFusionAttention(feat_dim=8, num_classes=3, activation="tanh")
    with pytest.raises(ValueError, match="MODEL.MFA.NODE_WEIGHTS"):
        MessageFusionAttention(feat_dim=8, num_classes=3, node_weights="uniform")


# ------------------------------------------------------------------ the G2DA meta-architecture

def make_cfg(root, *opts):
    cfg = add_g2da_config(get_cfg())
    cfg.merge_from_list([
        "MODEL.META_ARCHITECTURE", "G2DA", "MODEL.DEVICE", "cpu",
        "MODEL.BACKBONE.NAME", "build_two_stream_resnet_backbone", "MODEL.BACKBONE.DEPTH", "18x",
        "MODEL.BACKBONE.FEAT_DIM", "512", "MODEL.BACKBONE.PRETRAIN", "False",
        "MODEL.HEADS.WITH_BNNECK", "True", "MODEL.HEADS.NECK_FEAT", "before", "MODEL.HEADS.NUM_CLASSES", "4",
        "MODEL.LOSSES.NAME", '("CrossEntropyLoss", "CrossModalityTripletLoss", "GraphCrossEntropyLoss")',
        "DATASETS.ROOT", root, "DATASETS.NAMES", '("SYSUMM01_CM",)', "SEED", "0",
        "INPUT.SIZE_TRAIN", "[64,32]", "INPUT.SIZE_TEST", "[64,32]", "INPUT.KEYPOINTS.ENABLED", "True",
        "SOLVER.IMS_PER_BATCH", "8", "DATALOADER.NUM_INSTANCE", "2", "DATALOADER.NUM_WORKERS", "0", *opts,
    ])
    return cfg


@pytest.fixture(scope="module")
def batch(synthetic_root):
    return next(iter(build_cross_modality_train_loader(make_cfg(synthetic_root))))


@pytest.fixture(scope="module")
def model(synthetic_root):
    torch.manual_seed(0)
    return build_model(make_cfg(synthetic_root))


def test_g2da_outputs_losses_and_gradients(model, batch):
    model.train()
    outputs = model.extract(batch)
    assert outputs["nodes"].shape == outputs["refined_nodes"].shape == (8, 14, 512)
    assert outputs["graph_feature"].shape == (8, 512) and outputs["graph_cls_outputs"].shape == (8, 4)
    assert outputs["refined_nodes"].dtype == outputs["graph_feature"].dtype == torch.float32
    # V_G = BN(GAP(F)) + sum_k w_k v'_k, recomputed from the parts (train-mode BN: batch statistics)
    mfa = model.mfa
    bn = F.batch_norm(outputs["global_feature"], None, None, mfa.aggregation.norm.weight,
                      mfa.aggregation.norm.bias, training=True)
    expected = bn + (outputs["refined_nodes"] / 14).sum(dim=1)  # w starts at 1 / (K+1)
    assert torch.allclose(outputs["graph_feature"], expected, atol=1e-4)

    with EventStorage():
        losses = model(batch)
    assert set(losses) == {"loss_cls", "loss_cm_triplet", "loss_graph_cls", "loss_mfa_gamma_l1"}
    targets = torch.as_tensor(batch["targets"]).long()
    expected_lg = F.cross_entropy(model.mfa.classifier(model.extract(batch)["graph_feature"]), targets)
    assert losses["loss_graph_cls"].item() == pytest.approx(expected_lg.item(), rel=1e-4)
    # every gamma starts at 1; a quarter of 14 nodes x 4 heads x 128 channels is penalised
    assert losses["loss_mfa_gamma_l1"].item() == pytest.approx(1e-4 * 14 * 4 * 128 / 4)

    model.zero_grad(set_to_none=True)
    losses["loss_graph_cls"].backward()
    for p in (model.backbone.layer1[0].conv1.weight, mfa.attention.project.weight, mfa.attention.attn_target,
              mfa.fusion.norm.weight, mfa.aggregation.node_params, mfa.classifier.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_exchanged_channels_are_logged(model, batch):
    model.train()
    gamma = model.mfa.fusion.gamma  # (14 nodes, 4 heads, 128 channels)
    saved = gamma.detach().clone()
    try:
        with torch.no_grad():
            gamma[3, 1, :5] = 0.001
            gamma[7, 2, 10] = -0.01
            gamma[0, 2, 0] = 0.03  # above theta
        with EventStorage() as storage:
            model(batch)
            logged = {k: v.latest() for k, v in storage.histories().items() if k.startswith("mfa_exchanged")}
    finally:
        with torch.no_grad():
            gamma.copy_(saved)
    assert logged == {"mfa_exchanged": 6, "mfa_exchanged_head0": 0, "mfa_exchanged_head1": 5,
                      "mfa_exchanged_head2": 1, "mfa_exchanged_head3": 0}


def test_inference_returns_v_g(model, batch):
    model.eval()
    with torch.no_grad():
        embedding = model(batch)
        outputs = model.extract(batch)
    assert "graph_cls_outputs" not in outputs
    assert embedding.shape == (8, 512) and torch.equal(embedding, outputs["graph_feature"])
    # ... which is not the baseline's BNNeck embedding
    assert not torch.allclose(embedding, model.heads(outputs["feature_map"]))


def test_mfa_learns_at_the_heads_rate(model):
    groups = get_default_optimizer_params(model, base_lr=0.01, heads_lr_factor=10.0)
    rates = {id(g["params"][0]): g["lr"] for g in groups}
    assert rates[id(model.mfa.attention.project.weight)] == pytest.approx(0.1)
    assert rates[id(model.backbone.layer1[0].conv1.weight)] == pytest.approx(0.01)


def test_g2da_refuses_a_node_test_embedding(synthetic_root):
    with pytest.raises(ValueError, match="MODEL.POSE.TEST_FEAT"):
        build_model(make_cfg(synthetic_root, "MODEL.POSE.TEST_FEAT", "nodes"))
