"""Backbones registered in FastReID's ``BACKBONE_REGISTRY``."""

from .two_stream_resnet import TwoStreamResNet, build_two_stream_resnet_backbone

__all__ = ["TwoStreamResNet", "build_two_stream_resnet_backbone"]
