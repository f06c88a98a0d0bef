"""The meta-architectures, built through FastReID's build_model: CrossModalityBaseline (losses,
embedding, seams), PosePartBaseline (the 14-node skeleton graphs from cached or online keypoints, the
node test embedding) and G2DA (the MFA head, L_g, its penalty and logging, V_G)."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fastreid.modeling.meta_arch import build_model
from fastreid.solver.build import get_default_optimizer_params
from fastreid.utils.events import EventStorage

from g2da_plugin.data.build import build_cross_modality_train_loader
from g2da_plugin.data.datasets.modality import IR, RGB
from g2da_plugin.modeling.losses import G2DA_LOSS_REGISTRY, cross_modality_triplet_loss
from g2da_plugin.pose.online import MeanPose
from g2da_plugin.utils.errors import InputError
from tests.helpers import TINY_TRAINING, tiny_model_cfg

# ================================================================== CrossModalityBaseline


def make_batch(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {
        "images": torch.rand(8, 3, 64, 32, generator=gen) * 255,
        "targets": torch.tensor([0, 0, 1, 1, 0, 0, 1, 1]),
        "camids": torch.tensor([0, 1, 0, 1, 2, 2, 5, 5]),
        "modalities": torch.tensor([RGB, RGB, RGB, RGB, IR, IR, IR, IR]),
        "img_paths": [f"img{i}.jpg" for i in range(8)],
    }


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(tiny_model_cfg())


def test_training_returns_named_losses(model):
    model.train()
    batch = make_batch()
    losses = model(batch)
    assert set(losses) == {"loss_cls", "loss_cm_triplet"}
    for value in losses.values():
        assert value.dim() == 0 and torch.isfinite(value) and value.item() > 0
    # independent recomputation from the model's own features (train-mode BN output does not
    # depend on running stats, so a second pass sees the same features)
    with torch.no_grad():
        out = model.extract(batch)
        head = model.heads(out["feature_map"], batch["targets"])
    assert torch.allclose(head["features"], out["global_feature"])  # NECK_FEAT "before": pre-BN GAP
    expected_ce = F.cross_entropy(head["cls_outputs"], batch["targets"])  # EPSILON 0: plain CE
    expected_tri = cross_modality_triplet_loss(out["global_feature"], batch["targets"], batch["modalities"], 0.3)
    assert losses["loss_cls"].item() == pytest.approx(expected_ce.item(), rel=1e-4)
    assert losses["loss_cm_triplet"].item() == pytest.approx(expected_tri.item(), rel=1e-4)
    # near-uniform logits at initialisation: CE close to log(NUM_CLASSES)
    assert abs(losses["loss_cls"].item() - math.log(4)) < 0.2
    # the losses reach both stems and the classifier
    model.zero_grad(set_to_none=True)
    sum(losses.values()).backward()
    for p in (model.backbone.stem_rgb.conv1.weight, model.backbone.stem_ir.conv1.weight, model.heads.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_scales_weight_the_losses():
    torch.manual_seed(0)
    base = build_model(tiny_model_cfg()).train()
    torch.manual_seed(0)
    scaled = build_model(tiny_model_cfg({"MODEL.LOSSES.CE.SCALE": 2.0, "MODEL.LOSSES.CM_TRIPLET.SCALE": 0.5})).train()
    a, b = base(make_batch()), scaled(make_batch())
    assert b["loss_cls"].item() == pytest.approx(2.0 * a["loss_cls"].item(), rel=1e-4)
    assert b["loss_cm_triplet"].item() == pytest.approx(0.5 * a["loss_cm_triplet"].item(), rel=1e-4)


def test_eval_returns_bnneck_embedding(model):
    model.eval()
    batch = make_batch()
    with torch.no_grad():
        emb = model(batch)
        pooled = model.extract(batch)["global_feature"]
    assert isinstance(emb, torch.Tensor) and emb.shape == (8, 512)
    bn = model.heads.bottleneck[0]
    expected = (pooled - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    torch.testing.assert_close(emb, expected, atol=1e-4, rtol=1e-4)


def test_inputs_not_modified_in_place(model):
    batch = make_batch()
    original = batch["images"].clone()
    model.eval()
    with torch.no_grad():
        first = model(batch)
        second = model(batch)
    assert torch.equal(batch["images"], original)
    torch.testing.assert_close(first, second)
    model.train()
    model(batch)
    assert torch.equal(batch["images"], original)


def test_accuracy_logged_in_event_storage(model):
    model.train()
    batch = make_batch()
    with EventStorage(0) as storage:
        model(batch)
        acc = storage.latest()["cls_accuracy"]
    value = acc[0] if isinstance(acc, tuple) else acc
    value = float(value)
    assert 0.0 <= value <= 1.0 and value * 8 == pytest.approx(round(value * 8))


def test_feat_dim_mismatch_is_explained():
    with pytest.raises(ValueError, match=r"MODEL\.BACKBONE\.FEAT_DIM=2048.*512"):
        build_model(tiny_model_cfg({"MODEL.BACKBONE.FEAT_DIM": 2048}))


def test_unknown_loss_name():
    with pytest.raises(InputError) as err:
        build_model(tiny_model_cfg({"MODEL.LOSSES.NAME": ("CrossEntropyLoss", "TripletLos")}))
    msg = str(err.value)
    assert "TripletLos" in msg and "CrossEntropyLoss" in msg and "CrossModalityTripletLoss" in msg
    assert "MODEL.LOSSES.NAME" in msg


def test_missing_modalities(model):
    batch = make_batch()
    del batch["modalities"]
    model.eval()
    with pytest.raises(KeyError, match="modalities"):
        model(batch)


def test_custom_registered_loss_is_picked_up_from_config():
    seen = {}

    class G2DATestFeatureNormLoss(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.scale = cfg.MODEL.LOSSES.CE.SCALE * 10

        def forward(self, outputs, batched_inputs):
            seen["outputs"] = set(outputs)
            seen["paths"] = batched_inputs["img_paths"]
            return {"loss_feat_norm": outputs["global_feature"].pow(2).mean() * self.scale}

    G2DA_LOSS_REGISTRY.register(G2DATestFeatureNormLoss)
    try:
        torch.manual_seed(0)
        model = build_model(tiny_model_cfg({"MODEL.LOSSES.NAME": ("CrossModalityTripletLoss",
                                                                  "G2DATestFeatureNormLoss")})).train()
        batch = make_batch()
        losses = model(batch)
    finally:
        G2DA_LOSS_REGISTRY._obj_map.pop("G2DATestFeatureNormLoss")
    assert list(losses) == ["loss_cm_triplet", "loss_feat_norm"]
    assert {"feature_map", "global_feature", "modalities", "targets", "cls_outputs",
            "pred_class_logits", "features"} <= seen["outputs"]
    assert seen["paths"] == batch["img_paths"]
    with torch.no_grad():
        expected = model.extract(batch)["global_feature"].pow(2).mean() * 10
    assert losses["loss_feat_norm"].item() == pytest.approx(expected.item(), rel=1e-4)


# ================================================================== PosePartBaseline

def pose_cfg(root, meta_architecture="PosePartBaseline", overrides=None):
    """The tiny model as ``meta_architecture`` on the synthetic SYSU-MM01 at ``root``: loader batches of
    8 images with their keypoints, padded, cropped and flipped."""
    return tiny_model_cfg({**TINY_TRAINING, "MODEL.META_ARCHITECTURE": meta_architecture, "DATASETS.ROOT": root,
                           "DATASETS.NAMES": ("SYSUMM01_CM",), "INPUT.KEYPOINTS.ENABLED": True,
                           "INPUT.PADDING.ENABLED": True, "INPUT.PADDING.SIZE": 5, "INPUT.FLIP.ENABLED": True,
                           **(overrides or {})})


@pytest.mark.parametrize("enabled, min_score, expected", [
    (True, 0.3, [1, 1, 0, 0, 0, 0, 1]),
    (True, 0.0, [1, 1, 0, 0, 1, 1, 1]),
    (False, 0.3, [1, 1, 1, 1, 1, 1, 1]),  # the paper's literal reading: every node counts
])
def test_node_support_by_hand(synthetic_root, enabled, min_score, expected):
    model = build_model(pose_cfg(synthetic_root, overrides={"MODEL.POSE.SUPPORT.ENABLED": enabled,
                                                            "MODEL.POSE.SUPPORT.MIN_SCORE": min_score}))
    # the global node, then six parts of a 64 (H) x 32 (W) image: inside, outside left, outside
    # below, score 0.3 (not above 0.3), score 0.1, on the bottom-right corner (inside)
    parts = torch.tensor([[[10.0, 10.0, 0.9], [-1.0, 10.0, 0.9], [10.0, 64.5, 0.9], [5.0, 5.0, 0.3],
                           [5.0, 5.0, 0.1], [32.0, 64.0, 0.31]]])
    assert model.node_support(parts, (64, 32)).tolist() == [[float(v) for v in expected]]


@pytest.fixture(scope="module")
def batch(synthetic_root):
    """One training batch of the loader: 2 ids x (2 RGB + 2 IR) with keypoints."""
    return next(iter(build_cross_modality_train_loader(pose_cfg(synthetic_root))))


def test_pose_part_baseline_gives_14_nodes_on_a_loader_batch(synthetic_root, batch):
    torch.manual_seed(0)
    model = build_model(pose_cfg(synthetic_root))
    model.train()
    assert batch["keypoints"].shape == (8, 17, 3)
    outputs = model.extract(batch)
    nodes, heatmaps, feature_map = outputs["nodes"], outputs["heatmaps"], outputs["feature_map"]
    assert nodes.shape == (8, 14, 512) and heatmaps.shape == (8, 13, 4, 2) and feature_map.shape == (8, 512, 4, 2)
    assert torch.equal(nodes[:, 0], outputs["global_feature"])
    expected = torch.einsum("bchw,bkhw->bkc", feature_map, heatmaps) / 8
    assert torch.allclose(nodes[:, 1:], expected, atol=1e-5)
    assert outputs["node_support"].shape == (8, 14) and torch.all(outputs["node_support"][:, 0] == 1)
    # parts are on the global feature's scale ("mean" heatmaps), gradients reach the backbone
    visible = outputs["node_support"][:, 1:] > 0.99
    ratio = nodes[:, 1:].norm(dim=-1)[visible] / nodes[:, 0].norm(dim=-1, keepdim=True).expand(-1, 13)[visible]
    assert 0.3 < float(ratio.median().detach()) < 3
    nodes[:, 1:].sum().backward()
    assert model.backbone.layer1[0].conv1.weight.grad.abs().sum() > 0
    model.zero_grad()
    losses = model(batch)
    assert set(losses) == {"loss_cls", "loss_cm_triplet"}
    # the test embedding stays the baseline's (the BNNeck feature) unless configured
    model.eval()
    with torch.no_grad():
        embedding = model(batch)
        assert torch.equal(embedding, model.heads(model.extract(batch)["feature_map"]))


def test_node_test_embedding_is_the_14_unit_node_features(synthetic_root, batch):
    torch.manual_seed(0)
    model = build_model(pose_cfg(synthetic_root, overrides={"MODEL.POSE.TEST_FEAT": "nodes"})).eval()
    # mean-pose keypoints (inside the image, score 1): every node is a non-zero feature
    batch = dict(batch, keypoints=MeanPose()(batch["images"]))
    with torch.no_grad():
        embedding = model(batch)
        nodes = model.extract(batch)["nodes"]
    assert embedding.shape == (8, 14 * 512)
    blocks = embedding.view(8, 14, 512)  # block k = node k (0 = global, 1..13 the parts)
    torch.testing.assert_close(blocks.norm(dim=-1), torch.ones(8, 14))
    torch.testing.assert_close(blocks, nodes / nodes.norm(dim=-1, keepdim=True))
    assert (nodes.norm(dim=-1) - 1).abs().min() > 0.1  # the raw nodes are far from unit length


def test_cached_mode_needs_keypoints_in_the_batch(synthetic_root, batch):
    model = build_model(pose_cfg(synthetic_root))
    without = {k: v for k, v in batch.items() if k != "keypoints"}
    with pytest.raises(InputError, match="INPUT.KEYPOINTS.ENABLED"):
        model.extract(without)


def test_online_mode_shares_the_renderer_with_cached_mode(synthetic_root, batch):
    torch.manual_seed(0)
    cached = build_model(pose_cfg(synthetic_root))
    online = build_model(pose_cfg(synthetic_root, overrides={"MODEL.POSE.MODE": "online",
                                                             "MODEL.POSE.ESTIMATOR.NAME": "MeanPose"}))
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


@pytest.mark.parametrize("key, value", [("MODEL.POSE.HEAD", "ears"), ("MODEL.POSE.HEATMAP_NORM", "max"),
                                        ("MODEL.POSE.TEST_FEAT", "parts"), ("MODEL.POSE.SIGMA", 0.0)])
def test_bad_pose_settings_name_the_key(synthetic_root, key, value):
    with pytest.raises(ValueError, match=key):
        build_model(pose_cfg(synthetic_root, overrides={key: value}))


# ================================================================== G2DA

G2DA_LOSSES = {"MODEL.LOSSES.NAME": ("CrossEntropyLoss", "CrossModalityTripletLoss", "GraphCrossEntropyLoss")}


@pytest.fixture(scope="module")
def g2da(synthetic_root):
    torch.manual_seed(0)
    return build_model(pose_cfg(synthetic_root, "G2DA", G2DA_LOSSES))


def test_g2da_outputs_losses_and_gradients(g2da, batch):
    g2da.train()
    outputs = g2da.extract(batch)
    assert outputs["nodes"].shape == outputs["refined_nodes"].shape == (8, 14, 512)
    assert outputs["graph_feature"].shape == (8, 512) and outputs["graph_cls_outputs"].shape == (8, 4)
    assert outputs["refined_nodes"].dtype == outputs["graph_feature"].dtype == torch.float32
    # V_G = BN(GAP(F)) + sum_k w_k v'_k, recomputed from the parts (train-mode BN: batch statistics)
    mfa = g2da.mfa
    bn = F.batch_norm(outputs["global_feature"], None, None, mfa.aggregation.norm.weight,
                      mfa.aggregation.norm.bias, training=True)
    # w starts uniform: the node term is the mean of the supported nodes' refined features
    support = outputs["node_support"]
    assert 0 < support[:, 1:].sum() < support[:, 1:].numel()  # the batch has parts without support
    expected = bn + (outputs["refined_nodes"] * support[..., None]).sum(dim=1) / support.sum(dim=1, keepdim=True)
    assert torch.allclose(outputs["graph_feature"], expected, atol=1e-4)

    with EventStorage():
        losses = g2da(batch)
    assert set(losses) == {"loss_cls", "loss_cm_triplet", "loss_graph_cls", "loss_mfa_gamma_l1"}
    targets = torch.as_tensor(batch["targets"]).long()
    expected_lg = F.cross_entropy(g2da.mfa.classifier(g2da.extract(batch)["graph_feature"]), targets)
    assert losses["loss_graph_cls"].item() == pytest.approx(expected_lg.item(), rel=1e-4)
    # every gamma starts at 1; a quarter of 14 nodes x 4 heads x 128 channels is penalised
    assert losses["loss_mfa_gamma_l1"].item() == pytest.approx(1e-4 * 14 * 4 * 128 / 4)

    g2da.zero_grad(set_to_none=True)
    losses["loss_graph_cls"].backward()
    for p in (g2da.backbone.layer1[0].conv1.weight, mfa.attention.project.weight, mfa.attention.attn_target,
              mfa.fusion.norm.weight, mfa.aggregation.node_params, mfa.classifier.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_exchanged_channels_are_logged(g2da, batch):
    g2da.train()
    gamma = g2da.mfa.fusion.gamma  # (14 nodes, 4 heads, 128 channels)
    saved = gamma.detach().clone()
    try:
        with torch.no_grad():
            gamma[3, 1, :5] = 0.001
            gamma[7, 2, 10] = -0.01
            gamma[0, 2, 0] = 0.03  # above theta
        with EventStorage() as storage:
            g2da(batch)
            logged = {k: v.latest() for k, v in storage.histories().items() if k.startswith("mfa_exchanged")}
    finally:
        with torch.no_grad():
            gamma.copy_(saved)
    assert logged == {"mfa_exchanged": 6, "mfa_exchanged_head0": 0, "mfa_exchanged_head1": 5,
                      "mfa_exchanged_head2": 1, "mfa_exchanged_head3": 0}


def test_inference_returns_v_g(g2da, batch):
    g2da.eval()
    with torch.no_grad():
        embedding = g2da(batch)
        outputs = g2da.extract(batch)
    assert "graph_cls_outputs" not in outputs
    assert embedding.shape == (8, 512) and torch.equal(embedding, outputs["graph_feature"])
    # ... which is not the baseline's BNNeck embedding
    assert not torch.allclose(embedding, g2da.heads(outputs["feature_map"]))


def test_mfa_learns_at_the_heads_rate(g2da):
    groups = get_default_optimizer_params(g2da, base_lr=0.01, heads_lr_factor=10.0)
    rates = {id(g["params"][0]): g["lr"] for g in groups}
    assert rates[id(g2da.mfa.attention.project.weight)] == pytest.approx(0.1)
    assert rates[id(g2da.backbone.layer1[0].conv1.weight)] == pytest.approx(0.01)


def test_g2da_refuses_a_node_test_embedding(synthetic_root):
    with pytest.raises(ValueError, match="MODEL.POSE.TEST_FEAT"):
        build_model(pose_cfg(synthetic_root, "G2DA", {**G2DA_LOSSES, "MODEL.POSE.TEST_FEAT": "nodes"}))
