"""Make fastreid 1.4.0 run on Python 3.11, torch 2.x and numpy 2, on CPU and GPU.

fastreid 1.4.0 was written for Python 3.8 / torch 1.13. Every workaround the plugin needs lives
here, is applied once by :func:`apply` (called by ``import g2da_plugin`` before anything imports
fastreid), and has a test in ``tests/test_compat.py`` that fails without it.

1. ``from collections import Mapping`` (removed in Python 3.10): alias the ABCs back.
2. ``from torch._six import string_classes`` (module removed in torch 2.0): a stand-in module.
3. ``DataLoaderX`` creates a CUDA stream and calls ``torch.cuda.set_device`` even on a CPU-only
   machine: without CUDA, build a plain ``DataLoader`` instead.
4. ``ReidEvaluator`` compiles a Cython module at run time and ``sys.exit``s when that fails: skip
   the compilation; fastreid falls back to its pure-Python ranking (the plugin ranks on its own).
5. ``Baseline.preprocess_image`` normalises ``batched_inputs["images"]`` in place, so flip-test
   (which flips that same, already normalised tensor) normalises the flipped half twice.
6. (Checkpoints: the plugin loads them through its own, weights-only checkpointer,
   :class:`g2da_plugin.engine.checkpoint.SafeCheckpointer`; fastreid's is left as it is.)
7. ``build_optimizer(..., contiguous=True)`` (the default) flattens parameters into one buffer;
   on torch 2.x ``zero_grad`` sets that buffer's grad to None and ``step()`` silently never
   changes a weight. The default becomes ``contiguous=False``.
8. ``launch`` insists on CUDA and NCCL, and ``DefaultTrainer`` wraps the model in DDP with
   ``device_ids=[local_rank]``: on a CPU-only machine use the gloo backend and no device ids,
   so multi-process training (and its test) runs anywhere.
9. ``SOLVER.FREEZE_ITERS``: the optimizer that keeps ``MODEL.FREEZE_LAYERS`` still counts its
   frozen steps in a closure, which a resumed run restarts from 0 (the backbone is frozen again
   after the resume): count them in the optimizer's param groups, which its state dict (and so
   the checkpoint) keeps.
"""

import collections
import collections.abc
import logging
import math
import sys
import types

import torch

_applied = False
# What apply() replaced, by "module.attribute": kept so the tests can show each original failing.
originals = {}


def _replace(owner, name, new):
    originals[f"{owner.__name__}.{name}"] = getattr(owner, name)
    setattr(owner, name, new)


def _patch_python_and_torch_imports():
    for name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    if "torch._six" not in sys.modules:
        six = types.ModuleType("torch._six")
        six.string_classes = (str, bytes)
        six.int_classes = int
        six.inf = math.inf
        sys.modules["torch._six"] = six
        torch._six = six


def _cpu_safe_loader(local_rank, **kwargs):
    from fastreid.data.data_utils import DataLoaderX

    if torch.cuda.is_available():
        return DataLoaderX(local_rank, **kwargs)
    kwargs["pin_memory"] = False
    return torch.utils.data.DataLoader(**kwargs)


def normalize_images(images, pixel_mean, pixel_std):
    """``(images - mean) / std`` on the mean's device and dtype, as a new tensor (the batch is not
    modified); FastReID's ``Baseline`` and the plugin's models both normalise through this."""
    return (images.to(pixel_mean.device, dtype=pixel_mean.dtype) - pixel_mean) / pixel_std


def _preprocess_image_out_of_place(self, batched_inputs):
    images = batched_inputs["images"] if isinstance(batched_inputs, dict) else batched_inputs
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"batched_inputs must be a dict or a torch.Tensor, got {type(batched_inputs)}")
    return normalize_images(images, self.pixel_mean, self.pixel_std)


def _distributed_worker(local_rank, main_func, world_size, num_gpus_per_machine, machine_rank,
                        dist_url, args):
    import torch.distributed as dist
    from fastreid.utils import comm

    use_cuda = torch.cuda.is_available()
    global_rank = machine_rank * num_gpus_per_machine + local_rank
    dist.init_process_group(backend="nccl" if use_cuda else "gloo", init_method=dist_url,
                            world_size=world_size, rank=global_rank)
    if use_cuda:
        if num_gpus_per_machine > torch.cuda.device_count():
            raise RuntimeError(f"--num-gpus {num_gpus_per_machine} but only "
                               f"{torch.cuda.device_count()} CUDA devices are visible")
        torch.cuda.set_device(local_rank)
    comm.synchronize()
    num_machines = world_size // num_gpus_per_machine
    for i in range(num_machines):
        group = dist.new_group(list(range(i * num_gpus_per_machine, (i + 1) * num_gpus_per_machine)))
        if i == machine_rank:
            comm._LOCAL_PROCESS_GROUP = group
    main_func(*args)


def _optimizer_class_with_resumable_freeze(optimizer, *, freeze_iters=0):
    if freeze_iters <= 0:
        raise ValueError("No layers need to be frozen or freeze iterations is 0")

    @torch.no_grad()
    def step(self, closure=None):
        done = self.param_groups[0].get("frozen_steps", 0)
        if done >= freeze_iters:
            return optimizer.step(self, closure)
        for group in self.param_groups:
            group["frozen_steps"] = done + 1
        hidden = [(p, p.grad) for group in self.param_groups if group["freeze_status"] == "freeze"
                  for p in group["params"] if p.grad is not None]
        for p, _ in hidden:
            p.grad = None
        result = optimizer.step(self, closure)
        for p, grad in hidden:
            p.grad = grad
        return result

    return type(optimizer.__name__ + "WithFreezeLayer", (optimizer,), {"step": step})


def _ddp(model, device_ids=None, **kwargs):
    from torch.nn.parallel import DistributedDataParallel

    on_cpu = next(model.parameters()).device.type == "cpu"
    return DistributedDataParallel(model, device_ids=None if on_cpu else device_ids, **kwargs)


def apply():
    """Apply every workaround; idempotent."""
    global _applied
    if _applied:
        return
    _patch_python_and_torch_imports()

    import fastreid.data.build as data_build
    import fastreid.engine.defaults as engine_defaults
    import fastreid.solver.build as solver_build
    from fastreid.evaluation.reid_evaluation import ReidEvaluator
    from fastreid.modeling.meta_arch.baseline import Baseline

    engine_launch = sys.modules["fastreid.engine.launch"]  # the package re-exports a function of that name

    _replace(data_build, "DataLoaderX", _cpu_safe_loader)
    _replace(ReidEvaluator, "_compile_dependencies", lambda self: None)
    _replace(Baseline, "preprocess_image", _preprocess_image_out_of_place)
    _replace(solver_build.build_optimizer, "__defaults__", (False,))
    _replace(engine_launch, "_distributed_worker", _distributed_worker)
    _replace(engine_defaults, "DistributedDataParallel", _ddp)
    _replace(solver_build, "_generate_optimizer_class_with_freeze_layer", _optimizer_class_with_resumable_freeze)
    _applied = True
    logging.getLogger(__name__).debug("fastreid compatibility workarounds applied")
