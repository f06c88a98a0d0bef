"""Message Fusion Attention (Sec. III-C, Eq. 8-12): the skeleton graph's nodes -> refined nodes ->
the graph embedding V_G.

1. Refined adjacency A (:func:`skeleton_adjacency`): the body's natural links
   (:data:`~g2da_plugin.modeling.skeleton_graph.SKELETON_EDGES`), the global node linked to every part, self loops.
2. L-head graph attention (:class:`MultiHeadGraphAttention`, Eq. 8-9): head l projects every node
   with W_l (d -> d/L), scores ``e_ij = LeakyReLU(a_l . [W_l v_i || W_l v_j])``, normalises them
   with a softmax over the neighbours j of i (A_ij = 1) and outputs ``sigma(sum_j alpha_ij W_l v_j)``.
3. Self-adaptive message fusion (:class:`MessageFusion`, Eq. 10-11): a BatchNorm per head (scale
   gamma, shift beta); channel c of head l is replaced by the mean of the other heads' BN'd channel c
   where |gamma_{l,c}| < theta; the heads are concatenated: each refined node has L x d/L = d
   channels, so Eq. 12 adds it to the d-dimensional global feature without a projection.
4. Aggregation (:class:`GraphAggregation`, Eq. 12): ``V_G = BN(GAP(F)) + sum_k w_k v'_k`` over the
   K+1 refined nodes, w learnable (by default a softmax of learnt logits).

:class:`MessageFusionAttention` chains them, owns the classifier of L_g and reports its sparsity penalty
and exchange statistics. Config: ``MODEL.MFA.*``.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from fastreid.config import configurable

from ...utils.errors import InputError
from ..skeleton_graph import NUM_NODES, SKELETON_EDGES

__all__ = ["ACTIVATIONS", "NODE_WEIGHTINGS", "skeleton_adjacency", "MultiHeadGraphAttention", "MessageFusion",
           "GraphAggregation", "MessageFusionAttention"]

# GAT's slope (Velickovic et al., the paper's ref [80]); the paper names only "LeakyReLU"
LEAKY_SLOPE = 0.2
#: Eq. 9's sigma (``MODEL.MFA.ACTIVATION``); GAT uses ELU after its hidden attention layers
ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU, "none": nn.Identity}
NODE_WEIGHTINGS = ("softmax", "free")


def skeleton_adjacency(num_nodes, edges=SKELETON_EDGES):
    """(num_nodes, num_nodes) boolean, symmetric adjacency: ``edges`` both ways, node 0 (the global
    node) linked to every node, and self loops."""
    adjacency = torch.eye(num_nodes, dtype=torch.bool)
    adjacency[0, :] = True
    adjacency[:, 0] = True
    for i, j in edges:
        adjacency[i, j] = adjacency[j, i] = True
    return adjacency


class MultiHeadGraphAttention(nn.Module):
    """Eq. 8-9: ``(B, N, in_dim)`` nodes -> ``(B, N, num_heads, head_dim)`` per-head node outputs.

    Each head has its own projection W_l, used both in the attention scores and in the messages
    (Eq. 8 writes a shared W and Eq. 9 a per-head W_l; GAT, which the paper follows, uses W_l in
    both). A node attends only over its neighbours in ``adjacency``.
    """

    def __init__(self, in_dim, num_heads, head_dim, adjacency, activation):
        super().__init__()
        if adjacency.dim() != 2 or adjacency.shape[0] != adjacency.shape[1] or not adjacency.diagonal().all():
            raise ValueError("adjacency must be a square boolean matrix with self loops (every node needs a "
                             f"neighbour to attend to), got shape {tuple(adjacency.shape)}")
        self.num_heads, self.head_dim = num_heads, head_dim
        self.project = nn.Linear(in_dim, num_heads * head_dim, bias=False)
        # a_l = [a_l_target || a_l_neighbour], split so e_ij = LeakyReLU(target_i + neighbour_j)
        self.attn_target = nn.Parameter(torch.empty(num_heads, head_dim))
        self.attn_neighbour = nn.Parameter(torch.empty(num_heads, head_dim))
        self.activation = ACTIVATIONS[activation]()
        self.register_buffer("adjacency", adjacency.clone().bool(), persistent=False)
        for weight in (self.project.weight, self.attn_target, self.attn_neighbour):
            nn.init.xavier_uniform_(weight)

    def forward(self, nodes):
        b, n, _ = nodes.shape
        if n != self.adjacency.shape[0]:
            raise ValueError(f"{n} nodes per graph for a {self.adjacency.shape[0]}-node adjacency")
        wv = self.project(nodes).view(b, n, self.num_heads, self.head_dim)
        target = (wv * self.attn_target).sum(-1)  # (B, N, L)
        neighbour = (wv * self.attn_neighbour).sum(-1)
        scores = F.leaky_relu(target[:, :, None, :] + neighbour[:, None, :, :], LEAKY_SLOPE)  # (B, i, j, L)
        scores = scores.masked_fill(~self.adjacency[None, :, :, None], float("-inf"))
        alpha = scores.softmax(dim=2)
        return self.activation(torch.einsum("bijl,bjlc->bilc", alpha, wv))


class MessageFusion(nn.Module):
    """Eq. 10-11: per-head BatchNorm, then the theta exchange; ``(B, N, L, c)`` -> ``(B, N, L * c)``.

    BN statistics and the affine (gamma, beta) are per channel of each head, and per node too when
    ``per_node`` (Eq. 10's gamma_{i,l,c}: parts differ in their statistics). Where |gamma_{l,c}| <
    ``theta`` (strict: theta = 0 exchanges nothing, as the paper's sweep says) and ``exchange`` is on,
    channel c of head l takes ``1/(L-1) sum_{l' != l}`` of the other heads' BN'd channel c (their
    BN'd values, whether or not they are themselves exchanged).

    ``l1_weight`` > 0 turns on the channel-exchanging (CEN) sparsity penalty
    ``l1_weight * sum |gamma|`` over a slice of each head's channels, disjoint across heads when
    ``l1_share`` <= 1/L (:meth:`sparsity_penalty`).
    """

    def __init__(self, num_heads, head_dim, num_nodes, theta, exchange, per_node, l1_weight, l1_share):
        super().__init__()
        if exchange and num_heads < 2:
            raise InputError(f"MODEL.MFA.EXCHANGE needs MODEL.MFA.NUM_HEADS >= 2, got {num_heads}")
        if theta < 0 or l1_weight < 0 or not 0 < l1_share <= 1:
            raise InputError(f"MODEL.MFA needs THETA >= 0, GAMMA_L1.WEIGHT >= 0 and 0 < GAMMA_L1.SHARE <= 1, "
                             f"got {theta}, {l1_weight}, {l1_share}")
        self.stat_shape = (num_nodes, num_heads, head_dim) if per_node else (num_heads, head_dim)
        self.norm = nn.BatchNorm1d(math.prod(self.stat_shape))
        self.theta, self.exchange, self.l1_weight = float(theta), bool(exchange), float(l1_weight)
        # head l's penalised channels start at l * head_dim / L: with l1_share = 1/L the heads' slices
        # are disjoint, so a channel silenced in one head has live counterparts to take from (CEN)
        length = max(1, round(l1_share * head_dim))
        penalised = torch.zeros(num_heads, head_dim, dtype=torch.bool)
        for head in range(num_heads):
            penalised[head, (head * head_dim // num_heads + torch.arange(length)) % head_dim] = True
        self.register_buffer("penalised", penalised.expand(self.stat_shape).clone(), persistent=False)

    @property
    def gamma(self):
        """BN scales, shaped ``stat_shape``: (N, L, c) per node, else (L, c)."""
        return self.norm.weight.view(self.stat_shape)

    def exchange_mask(self):
        """Boolean ``stat_shape``: True where the channel is replaced (all False with exchange off)."""
        if not self.exchange:
            return torch.zeros(self.stat_shape, dtype=torch.bool, device=self.norm.weight.device)
        return self.gamma.detach().abs() < self.theta

    def forward(self, heads):
        b, n, num_heads, _ = heads.shape
        flat = heads.reshape(-1, self.norm.num_features)
        normed = self.norm(flat).view(heads.shape)
        if self.exchange:
            others = (normed.sum(dim=2, keepdim=True) - normed) / (num_heads - 1)
            normed = torch.where(self.exchange_mask(), others, normed)
        return normed.reshape(b, n, -1)

    def sparsity_penalty(self):
        """``l1_weight * sum |gamma|`` over the penalised slices (a scalar), or None when off."""
        if self.l1_weight == 0:
            return None
        return self.l1_weight * (self.gamma.abs() * self.penalised).sum()  # a mask product: no host sync


class GraphAggregation(nn.Module):
    """Eq. 12: ``V_G = BN(global_feature) + sum_k w_k refined_k`` over all K+1 refined nodes.

    ``node_weights`` "softmax": w = softmax(learnable logits), non-negative and summing to 1, so the
    node term stays a weighted mean on the scale of the BN'd global term while unhelpful nodes can
    fade; "free": w itself is learnt (from 1/(K+1)), the literal reading, which lets a scalar that
    scales a whole d-dim vector grow fast. The BN is the aggregation's own (the baseline head's
    BNNeck keeps serving L_b). Nodes without support (``support`` 0) get no weight: "softmax" takes
    the softmax over the supported nodes' logits only (the weights still sum to 1), "free" zeroes theirs.
    """

    def __init__(self, feat_dim, num_nodes, node_weights):
        super().__init__()
        if node_weights not in NODE_WEIGHTINGS:
            raise InputError(f"MODEL.MFA.NODE_WEIGHTS must be one of {NODE_WEIGHTINGS}, got {node_weights!r}")
        self.norm = nn.BatchNorm1d(feat_dim)
        self.softmax = node_weights == "softmax"
        # both start at w_k = 1/(K+1): the node term starts as the refined nodes' mean
        initial = torch.zeros(num_nodes) if self.softmax else torch.full((num_nodes,), 1.0 / num_nodes)
        self.node_params = nn.Parameter(initial)  # the logits of w, or w itself

    @property
    def node_weights(self):
        return self.node_params.softmax(dim=0) if self.softmax else self.node_params

    def sample_weights(self, support):
        """(B, K+1) each sample's node weights given its (B, K+1) ``support`` (1 / 0)."""
        keep = support > 0
        if self.softmax:
            return self.node_params.masked_fill(~keep, float("-inf")).softmax(dim=1)
        return self.node_params * keep.to(self.node_params.dtype)

    def forward(self, global_feature, refined_nodes, support=None):
        if support is None:
            node_term = torch.einsum("k,bkc->bc", self.node_weights, refined_nodes)
        else:
            node_term = torch.einsum("bk,bkc->bc", self.sample_weights(support).to(refined_nodes.dtype), refined_nodes)
        return self.norm(global_feature) + node_term


class MessageFusionAttention(nn.Module):
    """Skeleton-graph nodes (B, K+1, d) + the pre-BN global feature (B, d) -> ``{"refined_nodes":
    (B, K+1, d), "graph_feature": V_G (B, d)}``; ``classifier`` gives the logits of L_g,
    :meth:`penalty` the gamma sparsity term and :meth:`statistics` the exchanged channels."""

    @configurable
    def __init__(self, *, feat_dim, num_classes, num_heads, theta, exchange, activation, bn_per_node, l1_weight,
                 l1_share, node_weights, num_nodes=NUM_NODES):
        """
        NOTE: this interface is experimental.

        Args:
            feat_dim: d, the node and global feature width (divisible by ``num_heads``).
            num_classes: identities of L_g's classifier.
            num_heads, theta, exchange, activation, bn_per_node, l1_weight, l1_share, node_weights:
                ``MODEL.MFA.*``.
            num_nodes: K + 1.
        """
        super().__init__()
        if num_heads < 1 or feat_dim % num_heads:
            raise InputError(f"MODEL.MFA.NUM_HEADS={num_heads} must be >= 1 and divide the feature width "
                             f"MODEL.BACKBONE.FEAT_DIM={feat_dim} (the concatenated heads give back d channels)")
        if activation not in ACTIVATIONS:
            raise InputError(f"MODEL.MFA.ACTIVATION must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
        head_dim = feat_dim // num_heads
        self.attention = MultiHeadGraphAttention(feat_dim, num_heads, head_dim, skeleton_adjacency(num_nodes),
                                                 activation)
        self.fusion = MessageFusion(num_heads, head_dim, num_nodes, theta, exchange, bn_per_node, l1_weight,
                                    l1_share)
        self.aggregation = GraphAggregation(feat_dim, num_nodes, node_weights)
        self.classifier = nn.Linear(feat_dim, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.01)  # as FastReID's EmbeddingHead

    @classmethod
    def from_config(cls, cfg):
        mfa = cfg.MODEL.MFA
        return {"feat_dim": cfg.MODEL.BACKBONE.FEAT_DIM, "num_classes": cfg.MODEL.HEADS.NUM_CLASSES,
                "num_heads": mfa.NUM_HEADS, "theta": mfa.THETA, "exchange": mfa.EXCHANGE,
                "activation": mfa.ACTIVATION, "bn_per_node": mfa.BN_PER_NODE,
                "l1_weight": mfa.GAMMA_L1.WEIGHT, "l1_share": mfa.GAMMA_L1.SHARE, "node_weights": mfa.NODE_WEIGHTS}

    def forward(self, nodes, global_feature, support=None):
        """``support`` (B, K+1): the nodes V_G may weigh (None: all)."""
        refined = self.fusion(self.attention(nodes))
        return {"refined_nodes": refined, "graph_feature": self.aggregation(global_feature, refined, support)}

    def penalty(self):
        """The gamma sparsity penalty (a scalar tensor), or None when ``MODEL.MFA.GAMMA_L1.WEIGHT`` is 0."""
        return self.fusion.sparsity_penalty()

    def statistics(self):
        """``{"mfa_exchanged": n, "mfa_exchanged_head<l>": n_l}``: BN channels exchanged now, all heads
        and per head (over every node), as tensors."""
        exchanged = self.fusion.exchange_mask()  # (K+1, L, c), or (L, c) with shared BN
        per_head = exchanged.reshape(-1, *exchanged.shape[-2:]).sum(dim=(0, 2))
        stats = {"mfa_exchanged": per_head.sum()}
        stats.update({f"mfa_exchanged_head{head}": count for head, count in enumerate(per_head.unbind())})
        return stats
