"""CrossModalityIdentitySampler: batch composition, determinism, sharding across processes."""

import itertools

import pytest

import g2da_plugin  # noqa: F401
from g2da_plugin.data import samplers
from g2da_plugin.data.datasets import IR, RGB
from g2da_plugin.data.samplers import CrossModalityIdentitySampler
from g2da_plugin.utils.errors import InputError


def make_items(num_ids=10, rgb=6, ir=3):
    """Identity p has `rgb` RGB and `ir` IR images; identity 99 has RGB only (must never be drawn)."""
    items = []
    for pid in list(range(num_ids)) + [99]:
        items += [(f"{pid}_rgb{i}", pid, 1, RGB) for i in range(rgb)]
        if pid != 99:
            items += [(f"{pid}_ir{i}", pid, 3, IR) for i in range(ir)]
    return items


def draws(sampler, batch_size, count):
    """``count`` batches of (dataset index, sample seed)."""
    stream = iter(sampler)
    return [list(itertools.islice(stream, batch_size)) for _ in range(count)]


def batches(sampler, batch_size, count):
    """``count`` batches of dataset indices."""
    return [[index for index, _ in batch] for batch in draws(sampler, batch_size, count)]


def test_batches_hold_p_identities_with_k_rgb_and_k_ir():
    items = make_items()
    sampler = CrossModalityIdentitySampler(items, mini_batch_size=16, num_instances=2, seed=0)
    for batch in batches(sampler, 16, 20):
        pids = [items[i][1] for i in batch]
        assert len(set(pids)) == 4 and 99 not in pids
        for p in range(4):  # per identity: K RGB then K IR
            chunk = batch[4 * p:4 * p + 4]
            assert [items[i][3] for i in chunk] == [RGB, RGB, IR, IR]
            assert len({items[i][1] for i in chunk}) == 1
            assert len(set(chunk[:2])) == 2  # 6 RGB images >= K: drawn without replacement


def test_with_replacement_only_when_an_identity_lacks_images():
    items = make_items(ir=1)
    sampler = CrossModalityIdentitySampler(items, mini_batch_size=8, num_instances=2, seed=0)
    batch = batches(sampler, 8, 1)[0]
    assert batch[2] == batch[3]  # the identity's single IR image, twice
    assert batch[0] != batch[1]


def test_same_seed_same_stream_and_epochs_restart_exactly():
    items = make_items()
    a = batches(CrossModalityIdentitySampler(items, 8, 2, seed=3, iters_per_epoch=5), 8, 15)
    b = batches(CrossModalityIdentitySampler(items, 8, 2, seed=3, iters_per_epoch=5), 8, 15)
    c = batches(CrossModalityIdentitySampler(items, 8, 2, seed=4, iters_per_epoch=5), 8, 15)
    assert a == b and a != c
    resumed = CrossModalityIdentitySampler(items, 8, 2, seed=3, iters_per_epoch=5)
    resumed.set_epoch(2)
    assert batches(resumed, 8, 5) == a[10:15]


def test_sample_seeds_are_a_function_of_seed_epoch_and_position():
    items = make_items()
    stream = draws(CrossModalityIdentitySampler(items, 8, 2, seed=3, iters_per_epoch=5), 8, 15)
    seeds = [seed for batch in stream for _, seed in batch]
    assert len(set(seeds)) == len(seeds)  # every draw of the run augments differently
    assert all(isinstance(seed, int) and 0 <= seed < 2 ** 32 for seed in seeds)
    resumed = CrossModalityIdentitySampler(items, 8, 2, seed=3, iters_per_epoch=5)
    resumed.set_epoch(2)
    assert draws(resumed, 8, 5) == stream[10:15]  # indices and seeds alike
    other = draws(CrossModalityIdentitySampler(items, 8, 2, seed=4, iters_per_epoch=5), 8, 1)
    assert {s for _, s in other[0]}.isdisjoint(seeds[:8])


def per_rank(monkeypatch, items, count):
    """{rank: ``count`` batches of draws} of the samplers of two processes."""
    out = {}
    for rank in range(2):
        monkeypatch.setattr(samplers.comm, "get_rank", lambda r=rank: r)
        monkeypatch.setattr(samplers.comm, "get_world_size", lambda: 2)
        out[rank] = draws(CrossModalityIdentitySampler(items, 8, 2, seed=1), 8, count)
    return out


def test_a_process_seeds_its_own_positions(monkeypatch):
    seeds = {rank: [s for batch in stream for _, s in batch]
             for rank, stream in per_rank(monkeypatch, make_items(num_ids=16), 3).items()}
    assert set(seeds[0]).isdisjoint(seeds[1])


def test_every_identity_once_per_pass():
    items = make_items(num_ids=12)
    sampler = CrossModalityIdentitySampler(items, 8, 2, seed=0)  # 2 ids per batch, 6 batches per pass
    first_pass = batches(sampler, 8, 6)
    seen = [items[i][1] for batch in first_pass for i in batch[::4]]
    assert sorted(seen) == list(range(12))


def test_processes_get_disjoint_complete_identities(monkeypatch):
    items = make_items(num_ids=16)
    indices = {rank: [[index for index, _ in batch] for batch in stream]
               for rank, stream in per_rank(monkeypatch, items, 8).items()}
    for b0, b1 in zip(indices[0], indices[1]):
        ids0, ids1 = {items[i][1] for i in b0}, {items[i][1] for i in b1}
        assert len(ids0) == len(ids1) == 2 and not ids0 & ids1
    # 16 ids / 4 per global batch: every identity once across both processes per pass.
    first_pass = [items[i][1] for r in (0, 1) for batch in indices[r][:4] for i in batch[::4]]
    assert sorted(first_pass) == list(range(16))


def test_bad_batch_shapes_are_refused():
    with pytest.raises(InputError, match="NUM_INSTANCE"):
        CrossModalityIdentitySampler(make_items(), 10, 4)
    with pytest.raises(InputError, match="identities"):
        CrossModalityIdentitySampler(make_items(num_ids=3), 32, 2)
