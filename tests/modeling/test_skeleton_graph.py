"""Part features (Eq. 2): 17 keypoints -> 13 nodes, heatmaps at the feature map's resolution, pooling,
and PosePartBaseline's 14-node graphs on a loader batch (cached and online keypoints)."""

import math

import pytest
import torch

import g2da_plugin  # noqa: F401
from fastreid.config import get_cfg
from fastreid.modeling.meta_arch import build_model

from g2da_plugin.config import add_g2da_config
from g2da_plugin.data.build import build_cross_modality_train_loader
from g2da_plugin.modeling.heads.pose_parts import (
    GRAPH_NODE_NAMES, NODE_NAMES, SKELETON_EDGES, keypoints_to_nodes13, pool_parts, render_heatmaps,
)
from g2da_plugin.modeling.pose_config import add_pose_config
from g2da_plugin.modeling.pose_estimator import (
    POSE_ESTIMATOR_REGISTRY, MeanPose, build_online_pose_estimator, heatmaps_to_keypoints,
)


def test_node_layout():
    assert len(NODE_NAMES) == 13 and GRAPH_NODE_NAMES[0] == "global" and len(GRAPH_NODE_NAMES) == 14
    assert all(0 < a < 14 and 0 < b < 14 for a, b in SKELETON_EDGES) and len(SKELETON_EDGES) == 14


def test_keypoints_to_nodes13():
    kps = torch.zeros(2, 17, 3)
    kps[..., 0] = torch.arange(17.0)
    kps[..., 1] = 100 + torch.arange(17.0)
    kps[..., 2] = 1.0
    kps[0, :5, 2] = torch.tensor([0.0, 0.0, 0.5, 1.0, 0.5])   # seen from behind: nose and left eye hidden
    kps[1, :5, 2] = 0.0                                          # no face point seen
    nodes = keypoints_to_nodes13(kps, head="mean")
    assert nodes.shape == (2, 13, 3)
    # score-weighted mean position of the face points, their largest score
    assert torch.allclose(nodes[0, 0], torch.tensor([(2 * 0.5 + 3 + 4 * 0.5) / 2, 100 + 3.0, 1.0]))
    assert torch.allclose(nodes[1, 0], torch.tensor([2.0, 102.0, 0.0]))   # plain mean, score 0
    assert torch.equal(nodes[:, 1:], kps[:, 5:])                          # COCO 5..16 unchanged
    assert torch.equal(keypoints_to_nodes13(kps, head="nose")[:, 0], kps[:, 0])
    with pytest.raises(ValueError, match="MODEL.POSE.HEAD"):
        keypoints_to_nodes13(kps, head="ears")


def test_heatmap_sums_and_score_weights():
    input_size, feature_size = (288, 144), (18, 9)
    kps = torch.tensor([[[72.0, 144.0, 1.0], [10.0, 20.0, 0.6], [140.0, 280.0, 0.3], [-3.0, 50.0, 1.0]]])
    mean = render_heatmaps(kps, input_size, feature_size, sigma=1.0, norm="mean")
    total = render_heatmaps(kps, input_size, feature_size, sigma=1.0, norm="sum")
    raw = render_heatmaps(kps, input_size, feature_size, sigma=1.0, norm="none")
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
    unweighted = render_heatmaps(kps, input_size, feature_size, norm="mean", use_scores=False)
    assert torch.allclose(unweighted.mean(dim=(2, 3))[0], torch.tensor([1.0, 1.0, 1.0, 0.0]), atol=1e-6)
    # sigma is in feature cells: the same keypoint at twice the input size gives the same map
    assert torch.allclose(render_heatmaps(kps * torch.tensor([2.0, 2.0, 1.0]), (576, 288), feature_size), mean)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_heatmap_peaks_on_the_keypoints_cell(sigma):
    torch.manual_seed(0)
    kps = torch.rand(3, 13, 3) * torch.tensor([128.0, 256.0, 1.0])
    heatmaps = render_heatmaps(kps, (256, 128), (16, 8), sigma=sigma)
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
    maps = render_heatmaps(kps, (256, 128), (16, 8), norm="mean")
    constant = torch.full((1, 5, 16, 8), 3.0)
    assert torch.allclose(pool_parts(constant, maps), torch.tensor([0.7 * 3.0, 3.0]).view(1, 2, 1).expand(1, 2, 5))


# ------------------------------------------------------------------ the meta-architecture

def make_cfg(root, *opts):
    cfg = get_cfg()
    add_g2da_config(cfg)
    add_pose_config(cfg)
    cfg.merge_from_list([
        "MODEL.META_ARCHITECTURE", "PosePartBaseline", "MODEL.DEVICE", "cpu",
        "MODEL.BACKBONE.NAME", "build_two_stream_resnet_backbone", "MODEL.BACKBONE.DEPTH", "18x",
        "MODEL.BACKBONE.FEAT_DIM", "512", "MODEL.BACKBONE.PRETRAIN", "False", "MODEL.BACKBONE.LAST_STRIDE", "1",
        "MODEL.HEADS.NAME", "EmbeddingHead", "MODEL.HEADS.WITH_BNNECK", "True", "MODEL.HEADS.NECK_FEAT", "before",
        "MODEL.HEADS.NUM_CLASSES", "4", "MODEL.HEADS.EMBEDDING_DIM", "0",
        "MODEL.LOSSES.NAME", '("CrossEntropyLoss", "CrossModalityTripletLoss")',
        "DATASETS.ROOT", root, "DATASETS.NAMES", '("SYSUMM01_CM",)', "SEED", "0",
        "INPUT.SIZE_TRAIN", "[64,32]", "INPUT.SIZE_TEST", "[64,32]", "INPUT.PADDING.ENABLED", "True",
        "INPUT.PADDING.SIZE", "5", "INPUT.FLIP.ENABLED", "True", "INPUT.KEYPOINTS.ENABLED", "True",
        "SOLVER.IMS_PER_BATCH", "8", "DATALOADER.NUM_INSTANCE", "2", "DATALOADER.NUM_WORKERS", "0", *opts,
    ])
    return cfg


@pytest.fixture(scope="module")
def batch(synthetic_root):
    loader = build_cross_modality_train_loader(make_cfg(synthetic_root))
    return next(iter(loader))


def test_pose_part_baseline_gives_14_nodes_on_a_loader_batch(synthetic_root, batch):
    torch.manual_seed(0)
    model = build_model(make_cfg(synthetic_root))
    model.train()
    assert batch["keypoints"].shape == (8, 17, 3)
    outputs = model.extract(batch)
    nodes, heatmaps, feature_map = outputs["nodes"], outputs["heatmaps"], outputs["feature_map"]
    assert nodes.shape == (8, 14, 512) and heatmaps.shape == (8, 13, 4, 2) and feature_map.shape == (8, 512, 4, 2)
    assert torch.equal(nodes[:, 0], outputs["global_feature"])
    expected = torch.einsum("bchw,bkhw->bkc", feature_map, heatmaps) / 8
    assert torch.allclose(nodes[:, 1:], expected, atol=1e-5)
    assert outputs["node_scores"].shape == (8, 14) and torch.all(outputs["node_scores"][:, 0] == 1)
    # parts are on the global feature's scale ("mean" heatmaps), gradients reach the backbone
    visible = outputs["node_scores"][:, 1:] > 0.99
    ratio = nodes[:, 1:].norm(dim=-1)[visible] / nodes[:, 0].norm(dim=-1, keepdim=True).expand(-1, 13)[visible]
    assert 0.3 < float(ratio.median().detach()) < 3
    nodes[:, 1:].sum().backward()
    assert model.backbone.layer1[0].conv1.weight.grad.abs().sum() > 0
    model.zero_grad()
    losses = model(batch)
    assert set(losses) == {"loss_cls", "loss_cm_triplet"}
    # the test embedding stays the baseline's unless configured
    model.eval()
    with torch.no_grad():
        assert model(batch).shape == (8, 512)
        model.test_feat = "nodes"
        assert model(batch).shape == (8, 14 * 512)


def test_cached_mode_needs_keypoints_in_the_batch(synthetic_root, batch):
    model = build_model(make_cfg(synthetic_root))
    without = {k: v for k, v in batch.items() if k != "keypoints"}
    with pytest.raises(KeyError, match="INPUT.KEYPOINTS.ENABLED"):
        model.extract(without)


def test_online_mode_shares_the_renderer_with_cached_mode(synthetic_root, batch):
    torch.manual_seed(0)
    cached = build_model(make_cfg(synthetic_root))
    online = build_model(make_cfg(synthetic_root, "MODEL.POSE.MODE", "online", "MODEL.POSE.ESTIMATOR.NAME", "MeanPose"))
    online.load_state_dict(cached.state_dict())
    assert isinstance(online.pose_estimator, MeanPose)
    assert not any("pose_estimator" in k for k in online.state_dict())
    cached.eval(), online.eval()
    with torch.no_grad():
        from_estimator = online.extract({k: v for k, v in batch.items() if k != "keypoints"})
        same_keypoints = dict(batch, keypoints=MeanPose()(batch["images"]))
        from_batch = cached.extract(same_keypoints)
    assert torch.equal(from_estimator["heatmaps"], from_batch["heatmaps"])
    assert torch.allclose(from_estimator["nodes"], from_batch["nodes"])


def test_estimator_registry():
    assert {"HRNet", "MeanPose"} <= set(POSE_ESTIMATOR_REGISTRY._obj_map)
    cfg = get_cfg()
    add_pose_config(cfg)
    cfg.MODEL.POSE.ESTIMATOR.NAME = "OpenPose"
    with pytest.raises(KeyError, match="MeanPose"):
        build_online_pose_estimator(cfg)
    keypoints = MeanPose(score=0.5)(torch.zeros(2, 3, 64, 32))
    assert keypoints.shape == (2, 17, 3) and torch.all(keypoints[..., 2] == 0.5)
    assert torch.all((keypoints[..., 0] > 0) & (keypoints[..., 0] < 32) & (keypoints[..., 1] < 64))


def test_online_heatmaps_map_back_to_the_batchs_pixels():
    heatmaps = torch.zeros(1, 17, 16, 8)          # estimator input 64 x 32: stride 4
    heatmaps[0, 5, 5, 3] = 0.8                    # symmetric neighbours: no sub-cell step
    heatmaps[0, 6, 5, 3], heatmaps[0, 6, 5, 4] = 1.5, 0.2   # right neighbour higher: +0.25 cell
    keypoints = heatmaps_to_keypoints(heatmaps, (64, 32), (72, 36))
    # cell j -> estimator pixel 4 j + 0.5 (pixel-centre convention) -> x 36 / 32, y 72 / 64
    assert torch.allclose(keypoints[0, 5], torch.tensor([(4 * 3 + 0.5) * 36 / 32, (4 * 5 + 0.5) * 72 / 64, 0.8]))
    assert torch.allclose(keypoints[0, 6], torch.tensor([(4 * 3.25 + 0.5) * 36 / 32, (4 * 5 + 0.5) * 72 / 64, 1.0]))


def test_hrnet_online_estimator_with_random_weights():
    # Needs the pose extra (tools/install_pose_extra.sh, which the test command runs).
    from g2da_plugin.modeling.pose_estimator import HRNet

    estimator = HRNet(weights="", input_size=(64, 32), device="cpu")    # random weights: shapes only
    images = torch.rand(2, 3, 72, 36) * 255
    keypoints = estimator(images)
    assert keypoints.shape == (2, 17, 3) and not keypoints.is_inference()
    assert torch.all((keypoints[..., 0] >= 0) & (keypoints[..., 0] <= 36) & (keypoints[..., 1] <= 72))
