"""A batch's routing and pairs, by hand; carried by the collate step; recomputed when absent."""

import pytest
import torch

from g2da_plugin.data.batch_layout import (COUNTS, INVERSE, ORDER, PAIR_IR, PAIR_RGB, collate_with_layout,
                                           cross_modality_pairs, modality_routing, pairs_of, routing_of)
from g2da_plugin.utils.errors import InputError


def test_routing_by_hand():
    routing = modality_routing(torch.tensor([1, 0, 1, 0, 0]))
    assert routing[ORDER].tolist() == [1, 3, 4, 0, 2] and routing[COUNTS] == (3, 2)
    assert routing[INVERSE].tolist() == [3, 0, 4, 1, 2]  # ORDER[INVERSE] is the identity
    with pytest.raises(InputError, match=r"0 \(RGB\) or 1 \(IR\), got \[2\]"):
        modality_routing(torch.tensor([0, 2]))


def test_pairs_by_hand():
    # ids 7, 7, 8, 7, 8 with modalities RGB, IR, IR, IR, RGB: (0, 1), (0, 3), (4, 2)
    pairs = cross_modality_pairs(torch.tensor([7, 7, 8, 7, 8]), torch.tensor([0, 1, 1, 1, 0]))
    assert list(zip(pairs[PAIR_RGB].tolist(), pairs[PAIR_IR].tolist())) == [(0, 1), (0, 3), (4, 2)]


def test_collate_carries_the_layout_and_the_model_side_reads_it():
    items = [{"images": torch.zeros(3, 2, 2, dtype=torch.uint8), "targets": t, "modalities": m}
             for t, m in ((5, 1), (5, 0), (6, 0), (6, 1))]
    batch = collate_with_layout(items)
    assert batch[COUNTS] == (2, 2) and batch[ORDER].tolist() == [1, 2, 0, 3]
    assert list(zip(batch[PAIR_RGB].tolist(), batch[PAIR_IR].tolist())) == [(1, 0), (2, 3)]
    carried = dict(batch, **{ORDER: torch.tensor([9, 9, 9, 9])})  # a marker: read, not recomputed
    assert routing_of(carried, batch["modalities"])[ORDER].tolist() == [9, 9, 9, 9]
    bare = {key: batch[key] for key in ("images", "targets", "modalities")}
    assert routing_of(bare, batch["modalities"])[ORDER].tolist() == [1, 2, 0, 3]
    assert pairs_of(bare, batch["targets"], batch["modalities"])[PAIR_IR].tolist() == [0, 3]
