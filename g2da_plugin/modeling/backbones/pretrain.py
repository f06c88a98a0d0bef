"""The one check that ImageNet weights come from a local file: nothing is ever downloaded."""

import os
from ...utils.errors import MissingInputError


def require_pretrain_file(cfg):
    """The file ``MODEL.BACKBONE.PRETRAIN_PATH`` when ``MODEL.BACKBONE.PRETRAIN`` is on, else None.

    FastReID's own backbones download ImageNet weights when the path is empty and fail with a bare
    "No such file" when it is wrong: this names the key and the path instead, for every backbone.
    """
    bb = cfg.MODEL.BACKBONE
    if not bb.PRETRAIN:
        return None
    if not bb.PRETRAIN_PATH or not os.path.isfile(bb.PRETRAIN_PATH):
        raise MissingInputError(
            f"MODEL.BACKBONE.PRETRAIN is True but MODEL.BACKBONE.PRETRAIN_PATH={bb.PRETRAIN_PATH!r} is not a "
            f"file (looked for {os.path.abspath(bb.PRETRAIN_PATH)}): expected the ImageNet weights of "
            f"{bb.NAME} (MODEL.BACKBONE.DEPTH {bb.DEPTH}) there; nothing is downloaded. Set "
            f"MODEL.BACKBONE.PRETRAIN_PATH to the file, or MODEL.BACKBONE.PRETRAIN False for random init")
    return bb.PRETRAIN_PATH
