"""On a GPU (skipped elsewhere): a full G2DA training step in the paper configs' precision makes no
synchronizing CUDA call, as torch's sync debug mode sees it."""

import itertools

import pytest
import torch
from fastreid.utils.events import EventStorage

from g2da_plugin.engine.benchmark_train import build_step, on_device

from .test_step_counts import sampler_batch, step_cfg

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("config", ["sysu.yml", "sysu_G2DA.yml"])
def test_a_step_makes_no_synchronizing_cuda_call(config):
    if not torch.cuda.is_bf16_supported():
        pytest.skip("float16's loss scaler reads its overflow flag every step")
    cfg = step_cfg(config, **{"MODEL.DEVICE": "cuda"})
    batch = on_device(sampler_batch(cfg, 288, 144), torch.device("cuda"))
    _, step = build_step(cfg, itertools.repeat(batch))
    with EventStorage(0) as storage:
        step.iter = 0
        step.run_step()  # optimizer state, cuDNN autotuning
        torch.cuda.synchronize()
        storage.iter = step.iter = 1
        torch.cuda.set_sync_debug_mode("error")
        try:
            step.run_step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert step.dtype == torch.bfloat16
