"""The skeleton graph (Eq. 2): 17 keypoints -> 13 part nodes, heatmaps at the feature map's resolution,
pooling, the node names and edges. (PosePartBaseline, which builds the graphs: test_meta_arch.py; the
online estimators: tests/pose/test_online.py.)"""

import math

import pytest
import torch

from g2da_plugin.modeling.skeleton_graph import (
    GRAPH_NODE_NAMES, HEAD_MODES, HEATMAP_NORMS, NODE_NAMES, SKELETON_EDGES, keypoints_to_part_nodes, pool_parts,
    render_heatmaps,
)


def test_node_layout():
    assert len(NODE_NAMES) == 13 and GRAPH_NODE_NAMES[0] == "global" and len(GRAPH_NODE_NAMES) == 14
    assert all(0 < a < 14 and 0 < b < 14 for a, b in SKELETON_EDGES) and len(SKELETON_EDGES) == 14


def test_keypoints_to_part_nodes():
    kps = torch.zeros(2, 17, 3)
    kps[..., 0] = torch.arange(17.0)
    kps[..., 1] = 100 + torch.arange(17.0)
    kps[..., 2] = 1.0
    kps[0, :5, 2] = torch.tensor([0.0, 0.0, 0.5, 1.0, 0.5])   # seen from behind: nose and left eye hidden
    kps[1, :5, 2] = 0.0                                          # no face point seen
    nodes = keypoints_to_part_nodes(kps, head="mean")
    assert nodes.shape == (2, 13, 3)
    # score-weighted mean position of the face points, their largest score
    assert torch.allclose(nodes[0, 0], torch.tensor([(2 * 0.5 + 3 + 4 * 0.5) / 2, 100 + 3.0, 1.0]))
    assert torch.allclose(nodes[1, 0], torch.tensor([2.0, 102.0, 0.0]))   # plain mean, score 0
    assert torch.equal(nodes[:, 1:], kps[:, 5:])                          # COCO 5..16 unchanged
    assert torch.equal(keypoints_to_part_nodes(kps, head="nose")[:, 0], kps[:, 0])
    with pytest.raises(ValueError, match="MODEL.POSE.HEAD"):
        keypoints_to_part_nodes(kps, head="ears")


def test_heatmap_sums_and_score_weights():
    input_size, feature_size = (288, 144), (18, 9)
    kps = torch.tensor([[[72.0, 144.0, 1.0], [10.0, 20.0, 0.6], [140.0, 280.0, 0.3], [-3.0, 50.0, 1.0]]])
    mean = render_heatmaps(kps, input_size, feature_size, sigma=1.0, norm="mean", use_scores=True)
    total = render_heatmaps(kps, input_size, feature_size, sigma=1.0, norm="sum", use_scores=True)
    raw = render_heatmaps(kps, input_size, feature_size, sigma=1.0, norm="none", use_scores=True)
    scores = torch.tensor([1.0, 0.6, 0.3, 0.0])                 # the last one is outside the image
    assert mean.shape == (1, 4, 18, 9)
    assert torch.allclose(total.sum(dim=(2, 3))[0], scores, atol=1e-6)
    assert torch.allclose(mean.mean(dim=(2, 3))[0], scores, atol=1e-6)
    assert torch.equal(mean[0, 3], torch.zeros(18, 9))
    # raw: a Gaussian of peak 1 (sigma in feature cells) times the score; keypoint 0 is at cell
    # coordinates (4.5, 9.0): on the centre of column 4, on the border of rows 8 and 9
    assert raw[0, 0].max() == pytest.approx(math.exp(-0.5 ** 2 / 2), rel=1e-6)
    assert raw[0, 0, 8, 4] == pytest.approx(math.exp(-0.5 ** 2 / 2)) and raw[0, 0, 9, 4] == raw[0, 0, 8, 4]
    assert raw[0, 0, 8, 2] == pytest.approx(math.exp(-(2 ** 2 + 0.5 ** 2) / 2), rel=1e-5)
    assert raw[0, 1].max() <= 0.6
    # without scores every keypoint inside the image weighs 1
    unweighted = render_heatmaps(kps, input_size, feature_size, sigma=1.0, norm="mean", use_scores=False)
    assert torch.allclose(unweighted.mean(dim=(2, 3))[0], torch.tensor([1.0, 1.0, 1.0, 0.0]), atol=1e-6)
    # sigma is in feature cells: the same keypoint at twice the input size gives the same map
    doubled = render_heatmaps(kps * torch.tensor([2.0, 2.0, 1.0]), (576, 288), feature_size, sigma=1.0, norm="mean",
                              use_scores=True)
    assert torch.allclose(doubled, mean)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_heatmap_peaks_on_the_keypoints_cell(sigma):
    torch.manual_seed(0)
    kps = torch.rand(3, 13, 3) * torch.tensor([128.0, 256.0, 1.0])
    heatmaps = render_heatmaps(kps, (256, 128), (16, 8), sigma=sigma, norm="mean", use_scores=True)
    flat = heatmaps.flatten(2).argmax(-1)
    rows, cols = flat // 8, flat % 8
    assert torch.equal(rows, (kps[..., 1] / 16).floor().long())
    assert torch.equal(cols, (kps[..., 0] / 16).floor().long())


def test_part_features_by_hand():
    torch.manual_seed(1)
    feature_map = torch.randn(2, 3, 2, 3)
    heatmaps = torch.rand(2, 4, 2, 3)
    parts = pool_parts(feature_map, heatmaps)
    assert parts.shape == (2, 4, 3)
    for b in range(2):
        for k in range(4):
            for c in range(3):
                by_hand = sum(feature_map[b, c, i, j] * heatmaps[b, k, i, j] for i in range(2) for j in range(3)) / 6
                assert parts[b, k, c] == pytest.approx(float(by_hand), abs=1e-6)
    # "mean" maps make v_k score x a weighted average of F: a constant feature map gives score x constant
    kps = torch.tensor([[[40.0, 60.0, 0.7], [100.0, 200.0, 1.0]]])
    maps = render_heatmaps(kps, (256, 128), (16, 8), sigma=1.0, norm="mean", use_scores=True)
    constant = torch.full((1, 5, 16, 8), 3.0)
    assert torch.allclose(pool_parts(constant, maps), torch.tensor([0.7 * 3.0, 3.0]).view(1, 2, 1).expand(1, 2, 5))


def test_the_listed_modes_are_the_accepted_ones():
    kps = torch.rand(1, 17, 3, generator=torch.Generator().manual_seed(2)) * torch.tensor([32.0, 64.0, 1.0])
    for head in HEAD_MODES:
        assert keypoints_to_part_nodes(kps, head=head).shape == (1, 13, 3)
    parts = keypoints_to_part_nodes(kps, head="mean")
    for norm in HEATMAP_NORMS:
        assert render_heatmaps(parts, (64, 32), (8, 4), sigma=1.0, norm=norm, use_scores=True).shape == (1, 13, 8, 4)
    with pytest.raises(ValueError, match="MODEL.POSE.HEATMAP_NORM"):
        render_heatmaps(parts, (64, 32), (8, 4), sigma=1.0, norm="max", use_scores=True)
    with pytest.raises(ValueError, match="MODEL.POSE.SIGMA"):
        render_heatmaps(parts, (64, 32), (8, 4), sigma=0.0, norm="mean", use_scores=True)
