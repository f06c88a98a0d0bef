"""Two-stream ResNet backbone: shapes, modality routing, parameter sharing, ImageNet weight loading."""

import logging

import pytest
import torch
import torchvision

from fastreid.modeling.backbones import BACKBONE_REGISTRY, build_backbone

from g2da_plugin.data.datasets.modality import IR, RGB
from g2da_plugin.modeling.backbones.two_stream_resnet import parse_depth
from tests.helpers import tiny_model_cfg


def backbone_cfg(depth="18x", last_stride=1, pretrain=False, path=""):
    """The tiny model's config with the backbone's depth, last stride and ImageNet weights set."""
    return tiny_model_cfg({"MODEL.BACKBONE.DEPTH": depth, "MODEL.BACKBONE.LAST_STRIDE": last_stride,
                           "MODEL.BACKBONE.PRETRAIN": pretrain, "MODEL.BACKBONE.PRETRAIN_PATH": path})


def torchvision_features(net, x):
    """Reference: torchvision's ResNet forward up to layer4 (no pooling, no fc)."""
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    return net.layer4(net.layer3(net.layer2(net.layer1(x))))


def randomise_bn_stats(module, gen):
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)


def test_registered():
    assert BACKBONE_REGISTRY.get("build_two_stream_resnet_backbone") is not None


# 64x32 input: conv1 /2 -> 32x16, maxpool /2 -> 16x8, layer2 /2 -> 8x4, layer3 /2 -> 4x2,
# layer4 /1 -> 4x2 (last stride 1) or /2 -> 2x1 (last stride 2).
@pytest.mark.parametrize("depth,last_stride,expected", [
    ("18x", 1, (512, 4, 2)),
    ("18", 2, (512, 2, 1)),
    ("50x", 1, (2048, 4, 2)),
    ("50", 2, (2048, 2, 1)),
])
def test_output_shape(depth, last_stride, expected):
    backbone = build_backbone(backbone_cfg(depth, last_stride)).eval()
    assert backbone.out_channels == expected[0]
    with torch.no_grad():
        out = backbone(torch.randn(3, 3, 64, 32), torch.tensor([RGB, IR, RGB]))
    assert tuple(out.shape) == (3,) + expected


def test_paper_resolution_with_last_stride_1():
    # 288x144 -> /16 with last stride 1 -> 18x9
    backbone = build_backbone(backbone_cfg("18x", 1)).eval()
    with torch.no_grad():
        out = backbone(torch.randn(1, 3, 288, 144), torch.tensor([IR]))
    assert tuple(out.shape) == (1, 512, 18, 9)


def test_depth_parsing():
    assert parse_depth("18x") == parse_depth("18") == parse_depth(18) == 18
    assert parse_depth("101x") == 101
    with pytest.raises(ValueError, match="MODEL.BACKBONE.DEPTH"):
        parse_depth("20x")
    with pytest.raises(ValueError, match="LAST_STRIDE"):
        build_backbone(backbone_cfg("18x", 3))


def test_each_sample_goes_through_its_own_stem():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    backbone = build_backbone(backbone_cfg("18x", 1))
    # make the two stems really different (they start as copies of one initialisation)
    with torch.no_grad():
        backbone.stem_ir.conv1.weight.mul_(-0.5).add_(0.01)
    randomise_bn_stats(backbone, gen)
    backbone.eval()

    # independent reference: a torchvision ResNet-18 per modality, with that modality's stem
    refs = {}
    for modality, stem in ((RGB, backbone.stem_rgb), (IR, backbone.stem_ir)):
        net = torchvision.models.resnet18(weights=None)
        net.layer4[0].conv1.stride = (1, 1)
        net.layer4[0].downsample[0].stride = (1, 1)
        state = {f"layer{i}.{k}": v for i in range(1, 5)
                 for k, v in getattr(backbone, f"layer{i}").state_dict().items()}
        state.update({f"conv1.{k}": v for k, v in stem.conv1.state_dict().items()})
        state.update({f"bn1.{k}": v for k, v in stem.bn1.state_dict().items()})
        missing, unexpected = net.load_state_dict(state, strict=False)
        assert set(missing) == {"fc.weight", "fc.bias"} and not unexpected
        refs[modality] = net.eval()

    images = torch.randn(5, 3, 64, 32, generator=gen) * 2
    modalities = torch.tensor([IR, RGB, IR, IR, RGB])
    seen = {"rgb": [], "ir": []}
    hooks = [backbone.stem_rgb.register_forward_hook(lambda m, i, o: seen["rgb"].append(i[0].shape[0])),
             backbone.stem_ir.register_forward_hook(lambda m, i, o: seen["ir"].append(i[0].shape[0]))]
    with torch.no_grad():
        out = backbone(images, modalities)
        for i in range(5):
            alone = torchvision_features(refs[int(modalities[i])], images[i:i + 1])
            torch.testing.assert_close(out[i:i + 1], alone, atol=1e-4, rtol=1e-4)
        # the routing matters: the other stem gives something else
        wrong = torchvision_features(refs[RGB], images[0:1])
        assert (out[0:1] - wrong).abs().max() > 1e-2
    for h in hooks:
        h.remove()
    # each stem ran once, on its own samples only
    assert seen == {"rgb": [2], "ir": [3]}


def test_modalities_as_list_and_bad_values():
    backbone = build_backbone(backbone_cfg("18x", 2)).eval()
    images = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        a = backbone(images, [IR, RGB])
        b = backbone(images, torch.tensor([IR, RGB]))
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="0 \\(RGB\\) or 1 \\(IR\\)"):
        backbone(images, torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="modality labels"):
        backbone(images, torch.tensor([0]))


def test_stems_are_separate_and_layers_shared():
    backbone = build_backbone(backbone_cfg("18x", 1))
    names = dict(backbone.named_parameters())
    assert backbone.stem_rgb.conv1.weight is not backbone.stem_ir.conv1.weight
    assert backbone.stem_rgb.conv1.weight.data_ptr() != backbone.stem_ir.conv1.weight.data_ptr()
    assert {"stem_rgb.conv1.weight", "stem_ir.conv1.weight", "stem_rgb.bn1.weight",
            "stem_ir.bn1.weight"} <= set(names)
    # parameter count = one torchvision ResNet-18 without fc + one extra stem (conv1 + bn1)
    tv = torchvision.models.resnet18(weights=None)
    n_tv = sum(p.numel() for n, p in tv.named_parameters() if not n.startswith("fc."))
    n_stem = sum(p.numel() for p in tv.conv1.parameters()) + sum(p.numel() for p in tv.bn1.parameters())
    assert sum(p.numel() for p in backbone.parameters()) == n_tv + n_stem
    # an all-IR batch: the RGB stem gets no gradient, the IR stem and the shared layers do
    backbone.train()
    backbone(torch.randn(2, 3, 64, 32), torch.tensor([IR, IR])).sum().backward()
    assert backbone.stem_rgb.conv1.weight.grad is None
    assert backbone.stem_ir.conv1.weight.grad.abs().sum() > 0
    assert backbone.layer1[0].conv1.weight.grad.abs().sum() > 0


@pytest.fixture
def resnet18_file(tmp_path):
    torch.manual_seed(123)
    net = torchvision.models.resnet18(weights=None)
    randomise_bn_stats(net, torch.Generator().manual_seed(7))
    path = tmp_path / "resnet18-test.pth"
    torch.save(net.state_dict(), path)
    return path, net.state_dict()


def test_pretrained_weights_go_into_both_stems_and_shared_layers(resnet18_file, caplog):
    path, ref = resnet18_file
    with caplog.at_level(logging.WARNING):
        backbone = build_backbone(backbone_cfg("18x", 1, pretrain=True, path=str(path)))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # fc.* is silently unused
    own = backbone.state_dict()
    for stem in ("stem_rgb", "stem_ir"):
        for key in ("conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"):
            assert torch.equal(own[f"{stem}.{key}"], ref[key]), (stem, key)
    for key, value in ref.items():
        if key.startswith("layer"):
            assert torch.equal(own[key], value), key
    # the stems hold copies, not one tensor
    with torch.no_grad():
        backbone.stem_rgb.conv1.weight.zero_()
    assert torch.equal(backbone.stem_ir.conv1.weight, ref["conv1.weight"])


def test_pretrained_missing_and_unexpected_keys_are_logged(resnet18_file, tmp_path, caplog):
    _, ref = resnet18_file
    state = dict(ref)
    del state["layer1.0.conv1.weight"]
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with caplog.at_level(logging.WARNING):
        build_backbone(backbone_cfg("18x", 1, pretrain=True, path=str(path)))
    text = caplog.text
    assert "layer1.0.conv1.weight" in text and "extra.weight" in text


def test_missing_pretrain_file(tmp_path):
    missing = tmp_path / "nowhere" / "resnet50-0676ba61.pth"
    with pytest.raises(FileNotFoundError) as err:
        build_backbone(backbone_cfg("18x", 1, pretrain=True, path=str(missing)))
    msg = str(err.value)
    assert "MODEL.BACKBONE.PRETRAIN_PATH" in msg and str(missing) in msg and "PRETRAIN False" in msg
    with pytest.raises(FileNotFoundError, match="MODEL.BACKBONE.PRETRAIN_PATH"):
        build_backbone(backbone_cfg("18x", 1, pretrain=True, path=""))


def test_wrong_depth_state_dict(resnet18_file):
    path, _ = resnet18_file
    with pytest.raises(ValueError, match="does not fit a ResNet-50"):
        build_backbone(backbone_cfg("50x", 1, pretrain=True, path=str(path)))


def test_random_init_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="g2da_plugin"):
        build_backbone(backbone_cfg("18x", 1, pretrain=False))
    assert "random initialisation" in caplog.text
