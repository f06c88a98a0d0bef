"""Two-stream ResNet: one stem per modality, shared residual stages (the G2DA baseline "B").

The stem (``conv1``, ``bn1``, ``relu``, ``maxpool``) is separate for RGB (modality 0) and IR
(modality 1); ``layer1`` .. ``layer4`` are shared. The network is built from torchvision's ResNet so
torchvision's ImageNet state dicts load as they are (the stem weights go into both stems).

Registered in FastReID's ``BACKBONE_REGISTRY`` as ``build_two_stream_resnet_backbone``. Config keys
(all FastReID's own): ``MODEL.BACKBONE.DEPTH`` ("18x"/"34x"/"50x"/"101x"/"152x" or the plain number),
``LAST_STRIDE`` (1 or 2), ``NORM`` (FastReID's ``get_norm`` name, "BN" by default), ``PRETRAIN``,
``PRETRAIN_PATH`` (a local torchvision ResNet state-dict file; nothing is ever downloaded).

The head that follows is built from ``MODEL.BACKBONE.FEAT_DIM`` (FastReID's EmbeddingHead reads its
input width from there, not from the backbone): it must equal :attr:`TwoStreamResNet.out_channels`,
512 for depth 18/34 and 2048 for 50/101/152. ``CrossModalityBaseline`` checks this.
"""

import copy
import logging
from collections import OrderedDict

import torch
import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from fastreid.layers import get_norm
from fastreid.modeling.backbones.build import BACKBONE_REGISTRY

from ...data.batch_layout import COUNTS, INVERSE, ORDER, SELECT_STEMS, modality_routing
from ...data.datasets.modality import IR, RGB
from ...utils.errors import InputError
from .pretrain import require_pretrain_file

logger = logging.getLogger(__name__)

_TORCHVISION_RESNETS = {
    18: torchvision.models.resnet18,
    34: torchvision.models.resnet34,
    50: torchvision.models.resnet50,
    101: torchvision.models.resnet101,
    152: torchvision.models.resnet152,
}


def parse_depth(depth) -> int:
    """``"50x"``, ``"50"`` or ``50`` -> ``50``; anything else raises ValueError."""
    text = str(depth).strip().lower()
    if text.endswith("x"):
        text = text[:-1]
    try:
        value = int(text)
    except ValueError:
        value = None
    if value not in _TORCHVISION_RESNETS:
        valid = ", ".join(f'"{d}x"' for d in _TORCHVISION_RESNETS)
        raise InputError(f"MODEL.BACKBONE.DEPTH={depth!r} is not supported by the two-stream ResNet; "
                         f"use one of {valid}")
    return value


def set_last_stride(resnet: nn.Module, last_stride: int) -> None:
    """Set the stride of ``layer4``'s first block (torchvision puts it on ``conv2`` of a
    Bottleneck, on ``conv1`` of a BasicBlock, and on the shortcut's ``downsample[0]``)."""
    if last_stride not in (1, 2):
        raise InputError(f"MODEL.BACKBONE.LAST_STRIDE must be 1 or 2, got {last_stride!r}")
    block = resnet.layer4[0]
    if isinstance(block, Bottleneck):
        block.conv2.stride = (last_stride, last_stride)
    elif isinstance(block, BasicBlock):
        block.conv1.stride = (last_stride, last_stride)
    else:  # pragma: no cover - torchvision only has these two
        raise TypeError(f"unexpected ResNet block type {type(block).__name__}")
    if block.downsample is not None:
        block.downsample[0].stride = (last_stride, last_stride)


def load_imagenet_weights(resnet: nn.Module, path: str, depth: int) -> None:
    """Load a torchvision ResNet state dict from the file ``path`` into ``resnet`` (before it is split).

    Raises ValueError when its tensors do not fit the ResNet-``depth`` architecture. Missing and
    unexpected keys other than ``fc.*`` are logged as warnings.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(f"MODEL.BACKBONE.PRETRAIN_PATH={path!r} does not hold a state dict "
                         f"(got {type(state).__name__})")
    state = OrderedDict((k[len("module."):] if k.startswith("module.") else k, v) for k, v in state.items())

    own = resnet.state_dict()
    mismatched = [f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
                  for k, v in state.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if mismatched:
        raise InputError(
            f"MODEL.BACKBONE.PRETRAIN_PATH={path!r} does not fit a ResNet-{depth} "
            f"(MODEL.BACKBONE.DEPTH): {len(mismatched)} tensor(s) have the wrong shape, e.g. "
            f"{'; '.join(mismatched[:3])}. Is the file for another depth?")
    if not any(k in own for k in state):
        raise InputError(f"MODEL.BACKBONE.PRETRAIN_PATH={path!r} shares no key with a torchvision "
                         f"ResNet-{depth}; it is not a torchvision ResNet state dict")

    result = resnet.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith("fc.")]
    unexpected = [k for k in result.unexpected_keys if not k.startswith("fc.")]
    if missing:
        logger.warning("ImageNet weights %s: %d backbone key(s) missing, left randomly initialised: %s",
                       path, len(missing), ", ".join(missing))
    if unexpected:
        logger.warning("ImageNet weights %s: %d unexpected key(s) ignored: %s",
                       path, len(unexpected), ", ".join(unexpected))
    logger.info("Loaded ImageNet ResNet-%d weights from %s into both stems and the shared layers",
                depth, path)


class TwoStreamResNet(nn.Module):
    """Modality-specific stems + shared ``layer1..layer4``.

    ``forward(images, modalities, routing=None)``: ``images`` (B, 3, H, W), already normalised;
    ``modalities`` (B,) with 0 = RGB/visible, 1 = IR/thermal (tensor or sequence, any device).
    Each sample goes through its own modality's stem only; the results are put back in the input
    order and run through the shared layers. Returns the feature map (B, out_channels, h, w).
    """

    def __init__(self, resnet: nn.Module):
        super().__init__()
        stem = nn.Sequential(OrderedDict([
            ("conv1", resnet.conv1), ("bn1", resnet.bn1), ("relu", resnet.relu), ("maxpool", resnet.maxpool),
        ]))
        self.stem_rgb = stem
        self.stem_ir = copy.deepcopy(stem)
        self.layer1 = resnet.layer1
        self.layer2 = resnet.layer2
        self.layer3 = resnet.layer3
        self.layer4 = resnet.layer4
        self.out_channels = resnet.fc.in_features

    @property
    def stems(self):
        return (self.stem_rgb, self.stem_ir)

    def forward_stems(self, images: torch.Tensor, modalities, routing=None) -> torch.Tensor:
        """Each image through its modality's stem, in the input order. ``routing``: the batch's
        :func:`~g2da_plugin.data.batch_layout.modality_routing` (its loader's, so no host sync),
        computed from ``modalities`` when None; ``{SELECT_STEMS: True}``: both stems on every image,
        each keeping its modality's (IR where the label is 1, else RGB), with shapes that do not
        depend on the labels (for export)."""
        modalities = torch.as_tensor(modalities, device=images.device).long().view(-1)
        if modalities.numel() != images.size(0):
            raise ValueError(f"got {images.size(0)} images but {modalities.numel()} modality labels")
        if routing is not None and routing.get(SELECT_STEMS):
            is_ir = (modalities == IR).view(-1, 1, 1, 1)
            return torch.where(is_ir, self.stem_ir(images), self.stem_rgb(images))
        if routing is None:
            routing = modality_routing(modalities)
        counts = routing[COUNTS]
        if 0 in counts:  # one modality only: no reordering
            return self.stems[RGB if counts[IR] == 0 else IR](images)
        rgb, ir = images.index_select(0, routing[ORDER]).split(list(counts))
        return torch.cat([self.stem_rgb(rgb), self.stem_ir(ir)]).index_select(0, routing[INVERSE])

    def forward_shared(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)

    def forward(self, images: torch.Tensor, modalities, routing=None) -> torch.Tensor:
        return self.forward_shared(self.forward_stems(images, modalities, routing))


@BACKBONE_REGISTRY.register()
def build_two_stream_resnet_backbone(cfg):
    """Build a :class:`TwoStreamResNet` from ``cfg.MODEL.BACKBONE``."""
    bb = cfg.MODEL.BACKBONE
    depth = parse_depth(bb.DEPTH)
    for key in ("WITH_IBN", "WITH_SE", "WITH_NL"):
        if bb.get(key, False):
            raise InputError(f"MODEL.BACKBONE.{key} is not supported by build_two_stream_resnet_backbone")
    norm = bb.get("NORM", "BN")
    resnet = _TORCHVISION_RESNETS[depth](weights=None, norm_layer=lambda channels: get_norm(norm, channels))
    path = require_pretrain_file(cfg)
    if path is not None:
        load_imagenet_weights(resnet, path, depth)
    else:
        logger.info("Two-stream ResNet-%d: random initialisation (MODEL.BACKBONE.PRETRAIN False)", depth)
    set_last_stride(resnet, int(bb.LAST_STRIDE))
    return TwoStreamResNet(resnet)
