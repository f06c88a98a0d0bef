"""Message Fusion Attention (Sec. III-C): the adjacency, the graph attention against hand computations,
the theta exchange, the sparsity penalty, the aggregation, and the head built from the config or
from keyword arguments. (The G2DA meta-architecture that carries the head: test_meta_arch.py.)"""

import math

import pytest
import torch

from g2da_plugin.modeling.heads.mfa import (GraphAggregation, MessageFusion, MessageFusionAttention,
                                            MultiHeadGraphAttention, skeleton_adjacency)
from g2da_plugin.modeling.skeleton_graph import GRAPH_NODE_NAMES, NUM_NODES
from tests.helpers import make_cfg

# ------------------------------------------------------------------ adjacency

# the paper's natural links, listed by hand (not taken from SKELETON_EDGES)
NATURAL_LINKS = [
    ("head", "left_shoulder"), ("head", "right_shoulder"), ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"),
    ("right_elbow", "right_wrist"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"), ("left_hip", "left_knee"), ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
]


def test_skeleton_adjacency_by_hand():
    adjacency = skeleton_adjacency(NUM_NODES)
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


def test_adjacency_of_given_edges():
    # 4 nodes, one edge 2-3 given: node 0 (global) links to all, self loops, 2 <-> 3; 1-2, 1-3 missing
    expected = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 1, 1], [1, 0, 1, 1]], dtype=torch.bool)
    assert torch.equal(skeleton_adjacency(4, edges=((2, 3),)), expected)


# ------------------------------------------------------------------ attention

def test_a_node_sees_exactly_its_neighbours():
    torch.manual_seed(0)
    adjacency = skeleton_adjacency(NUM_NODES)
    attention = MultiHeadGraphAttention(8, num_heads=2, head_dim=3, adjacency=adjacency, activation="elu")
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
    adjacency = skeleton_adjacency(NUM_NODES)
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


def test_graph_attention_on_a_three_node_graph_by_hand():
    # Nodes v0 = (1, 0), v1 = (0, 1), v2 = (1, 1); the edge 1-2 is missing (node 0 sees all, 1 sees 0 and
    # itself, 2 sees 0 and itself). Two heads of width 2: W_0 = I, W_1 swaps the two coordinates.
    # e_ij = LeakyReLU_0.2(a_target . W v_i + a_neighbour . W v_j), alpha_i = softmax of e_i. over i's
    # neighbours, out_i = sum_j alpha_ij W v_j (activation "none").
    adjacency = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 1]], dtype=torch.bool)
    attention = MultiHeadGraphAttention(2, num_heads=2, head_dim=2, adjacency=adjacency, activation="none")
    with torch.no_grad():
        attention.project.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0],     # head 0: W_0 = I
                                                     [0.0, 1.0], [1.0, 0.0]]))   # head 1: (x, y) -> (y, x)
        attention.attn_target.copy_(torch.tensor([[1.0, -1.0], [1.0, 0.0]]))
        attention.attn_neighbour.copy_(torch.tensor([[2.0, 0.0], [0.0, -1.0]]))
        out = attention(torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]]))
    e = math.exp
    # head 0: W v = (1, 0), (0, 1), (1, 1); target (1, -1) . W v_i = 1, -1, 0; neighbour (2, 0) . W v_j = 2, 0, 2
    #   node 0: e = 3, 1, 3          -> ((1, 0) e^3 + (0, 1) e^1 + (1, 1) e^3) / (2 e^3 + e^1)
    #   node 1: e = 1, LReLU(-1) = -0.2 (node 2 masked) -> ((1, 0) e^1 + (0, 1) e^-0.2) / (e^1 + e^-0.2)
    #   node 2: e = 2, (masked), 2   -> the mean of (1, 0) and (1, 1)
    head0 = [[2 * e(3) / (2 * e(3) + e(1)), (e(1) + e(3)) / (2 * e(3) + e(1))],
             [e(1) / (e(1) + e(-0.2)), e(-0.2) / (e(1) + e(-0.2))],
             [1.0, 0.5]]
    # head 1: W v = (0, 1), (1, 0), (1, 1); target (1, 0) . W v_i = 0, 1, 1; neighbour (0, -1) . W v_j = -1, 0, -1
    #   node 0: e = LReLU(-1), 0, LReLU(-1) = -0.2, 0, -0.2 -> ((0, 1) e^-0.2 + (1, 0) + (1, 1) e^-0.2) / (1 + 2 e^-0.2)
    #   node 1: e = 0, 1             -> ((0, 1) + (1, 0) e^1) / (1 + e^1)
    #   node 2: e = 0, (masked), 0   -> the mean of (0, 1) and (1, 1)
    head1 = [[(1 + e(-0.2)) / (1 + 2 * e(-0.2)), 2 * e(-0.2) / (1 + 2 * e(-0.2))],
             [e(1) / (1 + e(1)), 1 / (1 + e(1))],
             [0.5, 1.0]]
    expected = torch.tensor([head0, head1]).transpose(0, 1)[None]  # (B=1, N=3, L=2, c=2)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


def test_adjacency_without_self_loops_is_refused():
    with pytest.raises(ValueError, match="self loops"):
        MultiHeadGraphAttention(2, 1, 2, torch.ones(3, 3, dtype=torch.bool).fill_diagonal_(False), "none")


# ------------------------------------------------------------------ message fusion

def fusion_with(gamma, beta, theta, exchange=True):
    """A MessageFusion over one node whose eval-mode BN is ``gamma * x + beta`` to 1e-12 (no penalty)."""
    num_heads, head_dim = gamma.shape
    fusion = MessageFusion(num_heads, head_dim, num_nodes=1, theta=theta, exchange=exchange, per_node=True,
                           l1_weight=0.0, l1_share=1.0)
    with torch.no_grad():
        fusion.norm.weight.copy_(gamma.flatten())
        fusion.norm.bias.copy_(beta.flatten())
    fusion.norm.eps = 1e-12  # torch >= 2.11 refuses eps = 0
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
    fusion = MessageFusion(2, 3, num_nodes=4, theta=0.02, exchange=True, per_node=per_node, l1_weight=0.0,
                           l1_share=0.5).train()
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
    def fusion(l1_weight):
        return MessageFusion(2, 4, num_nodes=1, theta=0.02, exchange=True, per_node=False, l1_weight=l1_weight,
                             l1_share=0.5)

    penalised = fusion(0.1)
    with torch.no_grad():
        penalised.norm.weight.copy_(torch.tensor([1.0, -2.0, 3.0, 4.0, 5.0, 6.0, -7.0, 8.0]))
    assert penalised.sparsity_penalty().item() == pytest.approx(0.1 * (1 + 2 + 7 + 8))
    penalised.sparsity_penalty().backward()
    assert torch.allclose(penalised.norm.weight.grad, 0.1 * torch.tensor([1.0, -1.0, 0, 0, 0, 0, -1.0, 1.0]))
    assert fusion(0.0).sparsity_penalty() is None  # weight 0: off


@pytest.mark.parametrize("weighting", ["softmax", "free"])
def test_aggregation_by_hand(weighting):
    aggregation = GraphAggregation(2, num_nodes=3, node_weights=weighting).eval()  # BN: identity
    refined = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]]])
    with torch.no_grad():
        assert torch.allclose(aggregation(torch.tensor([[1.0, -1.0]]), refined), torch.tensor([[8 / 3, 1.0]]))
        aggregation.node_params.copy_(torch.tensor([0.0, math.log(2.0), math.log(5.0)]))
        w = torch.tensor([1 / 8, 2 / 8, 5 / 8] if weighting == "softmax" else [0.0, math.log(2), math.log(5)])
        assert torch.allclose(aggregation(torch.zeros(1, 2), refined), w @ refined[0])


@pytest.mark.parametrize("weighting", ["softmax", "free"])
def test_aggregation_leaves_unsupported_nodes_out(weighting):
    aggregation = GraphAggregation(2, num_nodes=3, node_weights=weighting).eval()
    refined = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]]] * 2)
    support = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
    with torch.no_grad():
        aggregation.node_params.copy_(torch.tensor([0.0, math.log(2.0), math.log(5.0)]))
        out = aggregation(torch.zeros(2, 2), refined, support)
        # softmax over the kept logits: (1, 5) / 6; free: the kept weights as they are
        w = [[1 / 8, 2 / 8, 5 / 8], [1 / 6, 0.0, 5 / 6]] if weighting == "softmax" else \
            [[0.0, math.log(2), math.log(5)], [0.0, 0.0, math.log(5)]]
        assert torch.allclose(out, torch.einsum("bk,bkc->bc", torch.tensor(w), refined))


# ------------------------------------------------------------------ the head: config, penalty, statistics

#: Every keyword argument of MessageFusionAttention, at small sizes: d = 8, 2 heads of 4 channels.
MFA_KWARGS = {"feat_dim": 8, "num_classes": 3, "num_heads": 2, "theta": 0.02, "exchange": True, "activation": "elu",
              "bn_per_node": True, "l1_weight": 1e-3, "l1_share": 0.5, "node_weights": "softmax"}


def small_mfa(**changes):
    return MessageFusionAttention(**{**MFA_KWARGS, **changes})


def test_head_built_from_the_config():
    cfg = make_cfg(overrides={"MODEL.BACKBONE.FEAT_DIM": 12, "MODEL.HEADS.NUM_CLASSES": 5, "MODEL.MFA.NUM_HEADS": 3,
                              "MODEL.MFA.THETA": 0.05, "MODEL.MFA.EXCHANGE": False, "MODEL.MFA.ACTIVATION": "relu",
                              "MODEL.MFA.BN_PER_NODE": False, "MODEL.MFA.NODE_WEIGHTS": "free",
                              "MODEL.MFA.GAMMA_L1.WEIGHT": 0.5, "MODEL.MFA.GAMMA_L1.SHARE": 0.5})
    mfa = MessageFusionAttention(cfg)
    assert (mfa.attention.num_heads, mfa.attention.head_dim) == (3, 4)
    assert isinstance(mfa.attention.activation, torch.nn.ReLU)
    assert mfa.fusion.theta == 0.05 and not mfa.fusion.exchange and mfa.fusion.gamma.shape == (3, 4)
    assert mfa.aggregation.node_weights.tolist() == pytest.approx([1 / 14] * 14)  # "free" starts at 1 / (K+1)
    assert not mfa.aggregation.softmax
    assert tuple(mfa.classifier.weight.shape) == (5, 12)
    # gammas all 1: weight 0.5 x (3 heads x 2 penalised channels of 4)
    assert mfa.penalty().item() == pytest.approx(0.5 * 3 * 2)


def test_head_forward_shapes():
    torch.manual_seed(0)
    out = small_mfa().train()(torch.randn(4, NUM_NODES, 8), torch.randn(4, 8))
    assert out["refined_nodes"].shape == (4, NUM_NODES, 8) and out["graph_feature"].shape == (4, 8)


def test_penalty_and_statistics_by_hand():
    mfa = small_mfa()  # gamma (14 nodes, 2 heads, 4 channels), all 1; head 0 penalises channels 0-1, head 1 2-3
    with torch.no_grad():
        gamma = mfa.fusion.gamma
        gamma[3, 1, :2] = 0.001
        gamma[5, 0, 3] = -0.01
        gamma[6, 0, 0] = 0.03       # above theta: kept
        gamma[7, 1, 2] = -4.0       # penalised channel of head 1
    assert {k: int(v) for k, v in mfa.statistics().items()} == \
        {"mfa_exchanged": 3, "mfa_exchanged_head0": 1, "mfa_exchanged_head1": 2}
    # penalised |gamma|: 14 nodes x 4 penalised channels, all 1 but gamma[6, 0, 0] = 0.03, gamma[7, 1, 2] = -4
    assert mfa.penalty().item() == pytest.approx(1e-3 * (14 * 4 - 2 + 0.03 + 4.0))
    assert small_mfa(l1_weight=0.0).penalty() is None
    shared = small_mfa(bn_per_node=False)  # gamma (2 heads, 4 channels), shared by the nodes
    with torch.no_grad():
        shared.fusion.gamma[1, 3] = 0.0
    assert {k: int(v) for k, v in shared.statistics().items()} == \
        {"mfa_exchanged": 1, "mfa_exchanged_head0": 0, "mfa_exchanged_head1": 1}


def test_statistics_without_exchange_count_nothing():
    mfa = small_mfa(exchange=False, bn_per_node=False)
    with torch.no_grad():
        mfa.fusion.gamma.zero_()
    assert all(int(count) == 0 for count in mfa.statistics().values()) and len(mfa.statistics()) == 3


def test_bad_settings_name_the_key():
    with pytest.raises(ValueError, match="MODEL.MFA.NUM_HEADS"):
        small_mfa(feat_dim=10, num_heads=4)
    with pytest.raises(ValueError, match="MODEL.MFA.EXCHANGE"):
        small_mfa(num_heads=1)
    with pytest.raises(ValueError, match="MODEL.MFA.ACTIVATION"):
        small_mfa(activation="tanh")
    with pytest.raises(ValueError, match="MODEL.MFA.NODE_WEIGHTS"):
        small_mfa(node_weights="uniform")
    with pytest.raises(TypeError, match="node_weights"):
        MessageFusionAttention(**{k: v for k, v in MFA_KWARGS.items() if k != "node_weights"})
