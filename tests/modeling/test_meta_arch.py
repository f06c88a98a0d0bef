"""CrossModalityBaseline built through FastReID's build_model: losses, embedding, seams."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import g2da_plugin.modeling  # noqa: F401  (applies the fastreid compat workarounds, registers)
from fastreid.config import get_cfg
from fastreid.modeling.meta_arch import build_model
from fastreid.utils.events import EventStorage
from g2da_plugin.modeling.config import add_modeling_config
from g2da_plugin.modeling.losses import G2DA_LOSS_REGISTRY, cross_modality_triplet_loss

RGB, IR = 0, 1


def make_cfg(**overrides):
    cfg = add_modeling_config(get_cfg())
    cfg.MODEL.META_ARCHITECTURE = "CrossModalityBaseline"
    cfg.MODEL.BACKBONE.NAME = "build_two_stream_resnet_backbone"
    cfg.MODEL.BACKBONE.DEPTH = "18x"
    cfg.MODEL.BACKBONE.FEAT_DIM = 512
    cfg.MODEL.BACKBONE.PRETRAIN = False
    cfg.MODEL.HEADS.NUM_CLASSES = 4
    cfg.MODEL.HEADS.WITH_BNNECK = True
    cfg.MODEL.HEADS.NECK_FEAT = "before"
    cfg.MODEL.LOSSES.NAME = ("CrossEntropyLoss", "CrossModalityTripletLoss")
    cfg.MODEL.DEVICE = "cpu"
    for key, value in overrides.items():
        node = cfg
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return cfg


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
    return build_model(make_cfg())


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
    base = build_model(make_cfg()).train()
    torch.manual_seed(0)
    scaled = build_model(make_cfg(**{"MODEL.LOSSES.CE.SCALE": 2.0, "MODEL.LOSSES.CMTRI.SCALE": 0.5})).train()
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
        build_model(make_cfg(**{"MODEL.BACKBONE.FEAT_DIM": 2048}))


def test_unknown_loss_name():
    with pytest.raises(KeyError) as err:
        build_model(make_cfg(**{"MODEL.LOSSES.NAME": ("CrossEntropyLoss", "TripletLos")}))
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
        model = build_model(make_cfg(**{"MODEL.LOSSES.NAME": ("CrossModalityTripletLoss",
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
