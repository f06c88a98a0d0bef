"""A batch's modality routing and cross-modality pairs, computed on the host where the labels are.

The two-stream backbone sends each image through its modality's stem, and the OT loss solves one
problem per same-identity (RGB, IR) pair: both need index lists whose length depends on the labels.
Found on a GPU, each would be a host sync (``nonzero``, ``item``); the loaders compute them here
instead, in their collate step on the CPU, and the batch carries them to the device with its images
(:func:`collate_with_layout`). A batch without them (built by hand) gets them computed on whatever
device its labels are (:func:`routing_of`, :func:`pairs_of`).

A batch may instead carry ``SELECT_STEMS: True``: every image then runs through both stems and keeps
its modality's output. Twice the stem's work, but no index list whose length depends on the labels:
the graph an ONNX export traces (:mod:`g2da_plugin.engine.onnx_export`) holds for any batch.
"""

import torch

from fastreid.data.build import fast_batch_collator

from ..utils.errors import InputError
from .datasets.modality import IR, RGB

# Separate tensors, not tuples: FastReID's GPU loader moves a batch's top-level tensors only.
ORDER, INVERSE, COUNTS = "modality_order", "modality_inverse", "modality_counts"
PAIR_RGB, PAIR_IR = "pair_rgb_index", "pair_ir_index"
ROUTING_KEYS, PAIR_KEYS = (ORDER, INVERSE, COUNTS), (PAIR_RGB, PAIR_IR)
SELECT_STEMS = "modality_select_stems"


def modality_routing(modalities) -> dict:
    """``{ORDER: the RGB then the IR positions (stable), INVERSE: its inverse, COUNTS: (n_rgb, n_ir)
    as ints}``; modalities other than RGB (0) and IR (1) raise InputError."""
    modalities = torch.as_tensor(modalities).long().view(-1)
    is_rgb, is_ir = modalities == RGB, modalities == IR
    if not bool((is_rgb | is_ir).all()):
        bad = sorted(set(modalities[~(is_rgb | is_ir)].tolist()))
        raise InputError(f"modalities must be 0 (RGB) or 1 (IR), got {bad}")
    order = torch.argsort(is_ir.to(torch.uint8), stable=True)
    n_rgb = int(is_rgb.sum())
    return {ORDER: order, INVERSE: torch.argsort(order), COUNTS: (n_rgb, modalities.numel() - n_rgb)}


def cross_modality_pairs(targets, modalities) -> dict:
    """``{PAIR_RGB, PAIR_IR}``: the RGB and the IR position of every same-identity (RGB, IR) pair."""
    modalities = torch.as_tensor(modalities).view(-1)
    targets = torch.as_tensor(targets, device=modalities.device).view(-1)
    mask = (targets[:, None] == targets[None, :]) & (modalities == RGB)[:, None] & (modalities == IR)[None, :]
    pair_rgb, pair_ir = mask.nonzero(as_tuple=True)
    return {PAIR_RGB: pair_rgb, PAIR_IR: pair_ir}


def _carried(batched_inputs, keys, compute, device):
    if isinstance(batched_inputs, dict) and all(key in batched_inputs for key in keys):
        found = {key: batched_inputs[key] for key in keys}
    else:
        found = compute()
    return {key: value.to(device, non_blocking=True) if torch.is_tensor(value) else value
            for key, value in found.items()}


def routing_of(batched_inputs, modalities) -> dict:
    """:func:`modality_routing` on ``modalities``' device: the loader's, else computed now; ``{SELECT_STEMS:
    True}`` for a batch that asks for both stems (the module docstring)."""
    if isinstance(batched_inputs, dict) and batched_inputs.get(SELECT_STEMS):
        return {SELECT_STEMS: True}
    return _carried(batched_inputs, ROUTING_KEYS, lambda: modality_routing(modalities), modalities.device)


def pairs_of(batched_inputs, targets, modalities) -> dict:
    """:func:`cross_modality_pairs` on ``modalities``' device: the loader's, else computed now."""
    return _carried(batched_inputs, PAIR_KEYS, lambda: cross_modality_pairs(targets, modalities), modalities.device)


def collate_with_layout(items):
    """FastReID's ``fast_batch_collator``, plus the routing (when the items have modalities) and the
    pairs (when they also have integer targets: a training split read without relabelling keeps its
    datasets' string identities, and only the training loss, which relabels, needs pairs)."""
    batch = fast_batch_collator(items)
    if isinstance(batch, dict) and "modalities" in batch:
        batch.update(modality_routing(batch["modalities"]))
        if torch.is_tensor(batch.get("targets")):
            batch.update(cross_modality_pairs(batch["targets"], batch["modalities"]))
    return batch
