"""Host syncs and kernel launches of one training step, counted as a GPU would make them.

The counts do not depend on the input or batch size, so a ResNet-50 step on 16 images at 32x16
counts what a 288x144 batch of 64 makes. Limits: at most 2 host syncs in every ablation config's step, at most 1,500 kernel ops in the
full G2DA model's (forward, backward and optimizer)."""

import pytest
import torch

from g2da_plugin.data.batch_layout import collate_with_layout
from g2da_plugin.data.datasets.modality import IR, RGB
from g2da_plugin.engine.benchmark_train import count_step

from ..helpers import make_cfg

MAX_SYNCS, MAX_KERNELS = 2, 1500


def sampler_batch(cfg, height=32, width=16):
    """A batch as the loader gives it: P ids x (K RGB + K IR), uint8 images, keypoints, the layout."""
    g = torch.Generator().manual_seed(0)
    k = cfg.DATALOADER.NUM_INSTANCE
    items = []
    for pid in range(cfg.SOLVER.IMS_PER_BATCH // (2 * k)):
        for modality in [RGB] * k + [IR] * k:
            keypoints = torch.rand(17, 3, generator=g) * torch.tensor([width, height, 1.0])
            items.append({"images": torch.randint(0, 256, (3, height, width), generator=g, dtype=torch.uint8),
                          "targets": pid, "modalities": modality, "keypoints": keypoints})
    return collate_with_layout(items)


def step_cfg(config, **keys):
    # 2 ids x (4 + 4): the counts depend on the shapes' layout, not on the batch size
    return make_cfg(config, {"MODEL.DEVICE": "cpu", "MODEL.BACKBONE.PRETRAIN": False, "MODEL.HEADS.NUM_CLASSES": 8,
                             "SOLVER.IMS_PER_BATCH": 16, **keys})


def test_full_g2da_step_within_the_sync_and_kernel_limits():
    cfg = step_cfg("sysu_G2DA.yml")
    counter = count_step(cfg, sampler_batch(cfg))
    assert counter.syncs <= MAX_SYNCS, dict(counter.sync_ops)
    assert counter.kernels <= MAX_KERNELS, counter.kernel_ops.most_common(10)


@pytest.mark.parametrize("config", ["sysu.yml", "sysu_BO.yml", "sysu_BOCL.yml", "sysu_BOCLG.yml"])
def test_every_ablation_step_within_the_sync_limit(config):
    # ResNet-18: the sync count does not depend on the depth
    cfg = step_cfg(config, **{"MODEL.BACKBONE.DEPTH": "18x", "MODEL.BACKBONE.FEAT_DIM": 512})
    counter = count_step(cfg, sampler_batch(cfg))
    assert counter.syncs <= MAX_SYNCS, dict(counter.sync_ops)
