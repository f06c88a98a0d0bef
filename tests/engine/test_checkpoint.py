"""SafeCheckpointer: atomic, strict (every parameter and buffer, or one line naming what is wrong),
safe (weights-only unpickling, full unpickling only when trusted), the previous good checkpoint when
the newest cannot be read, the random generators' states kept with every checkpoint, and only the
newest SOLVER.CHECKPOINT_KEEP periodic checkpoints kept."""

import os
import random

import numpy as np
import pytest
import torch
from torch import nn

from g2da_plugin.engine import G2DATrainer
from g2da_plugin.engine.checkpoint import SafeCheckpointer
from g2da_plugin.utils.errors import InputError, MissingInputError

from ..helpers import make_cfg


def small_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


class WritesAFile:
    """Unpickling this runs code: it would create ``path`` (with ``open``, or a shell command)."""

    def __init__(self, path, shell=False):
        self.path, self.shell = path, shell

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",)) if self.shell else (open, (self.path, "w"))


def test_round_trip_loads_every_weight(tmp_path):
    source, target = small_model(0), small_model(1)
    SafeCheckpointer(source, str(tmp_path)).save("model_0000")
    SafeCheckpointer(target).load(str(tmp_path / "model_0000.pth"), checkpointables=[])
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    assert (tmp_path / "last_checkpoint").read_text() == "model_0000.pth"
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []


def test_an_empty_checkpoint_is_refused_naming_what_is_missing(tmp_path):
    path = tmp_path / "empty.pth"
    torch.save({"model": {}}, path)
    target = small_model(1)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(InputError, match=r"7 missing \(e\.g\. 0\.bias, 0\.weight, 1\.bias\)"):
        SafeCheckpointer(target).load(str(path), checkpointables=[])
    assert all(torch.equal(target.state_dict()[k], v) for k, v in before.items())  # nothing was loaded


def test_unexpected_and_misshapen_weights_are_refused(tmp_path):
    state = small_model(0).state_dict()
    state["extra.weight"] = torch.zeros(1)
    state["0.weight"] = torch.zeros(2, 3)
    path = tmp_path / "other.pth"
    torch.save({"model": state}, path)
    with pytest.raises(InputError) as error:
        SafeCheckpointer(small_model(1)).load(str(path), checkpointables=[])
    assert "1 unexpected (e.g. extra.weight)" in str(error.value)
    assert "1 of the wrong shape (e.g. 0.weight)" in str(error.value)
    assert "MODEL.WEIGHTS_STRICT False" in str(error.value)


def test_a_partial_load_is_allowed_when_not_strict(tmp_path):
    source, target = small_model(0), small_model(1)
    state = {k: v for k, v in source.state_dict().items() if k.startswith("0.")}
    path = tmp_path / "partial.pth"
    torch.save({"model": state}, path)
    SafeCheckpointer(target, strict=False).load(str(path), checkpointables=[])
    assert torch.equal(target[0].weight, source[0].weight)
    assert not torch.equal(target[1].running_var, source[1].running_var + 1)  # left as it was


def test_a_bare_state_dict_loads(tmp_path):
    source, target = small_model(0), small_model(1)
    path = tmp_path / "export.pth"
    torch.save(source.state_dict(), path)
    SafeCheckpointer(target).load(str(path), checkpointables=[])
    assert torch.equal(target[0].weight, source[0].weight)


@pytest.mark.parametrize("shell", [False, True], ids=["open", "os.system"])
def test_a_hostile_pickle_is_refused_and_runs_nothing(tmp_path, shell):
    victim = tmp_path / "written_by_the_pickle"
    path = tmp_path / "hostile.pth"
    torch.save({"model": small_model(0).state_dict(), "payload": WritesAFile(str(victim), shell)}, path)
    with pytest.raises(InputError, match=r"holds more than weights: unpickling it would run (io\.open|posix\.system) "
                                         r"from the file.*MODEL\.WEIGHTS_TRUSTED True"):
        SafeCheckpointer(small_model(1)).load(str(path), checkpointables=[])
    assert not victim.exists()
    # A user who trusts the file may have it unpickled in full (and so the pickle runs).
    SafeCheckpointer(small_model(1), trusted=True).load(str(path), checkpointables=[])
    assert victim.exists()


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04 truncated zip"])
def test_a_file_that_is_no_checkpoint_is_one_clear_error(tmp_path, content):
    path = tmp_path / "model_final.pth"
    path.write_bytes(content)
    with pytest.raises(InputError, match=f"{path} cannot be read as a checkpoint"):
        SafeCheckpointer(small_model(1)).load(str(path), checkpointables=[])
    with pytest.raises(MissingInputError, match="checkpoint not found"):
        SafeCheckpointer(small_model(1)).load(str(tmp_path / "nowhere.pth"))


def test_resume_skips_an_unreadable_newest_checkpoint(tmp_path, caplog):
    first, second = small_model(0), small_model(2)
    SafeCheckpointer(first, str(tmp_path)).save("model_0000")
    SafeCheckpointer(second, str(tmp_path)).save("model_0001")
    newest = tmp_path / "model_0001.pth"
    newest.write_bytes(newest.read_bytes()[:100])  # a copy cut short
    target = small_model(1)
    SafeCheckpointer(target, str(tmp_path)).resume_or_load("", resume=True)
    assert torch.equal(target[0].weight, first[0].weight)
    assert f"Skipping checkpoint {newest}" in caplog.text
    (tmp_path / "model_0000.pth").write_bytes(b"")
    with pytest.raises(InputError, match="no readable checkpoint"):
        SafeCheckpointer(target, str(tmp_path)).resume_or_load("", resume=True)


def test_resuming_restores_the_random_generators(tmp_path):
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    SafeCheckpointer(small_model(0), str(tmp_path)).save("model_0000")
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    SafeCheckpointer(small_model(0), str(tmp_path)).resume_or_load("", resume=True)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_resume_reads_the_checkpoint_once(tmp_path, monkeypatch):
    from g2da_plugin.engine import checkpoint as module

    SafeCheckpointer(small_model(0), str(tmp_path)).save("model_0000")
    reads = []
    real = module.load_checkpoint_file
    monkeypatch.setattr(module, "load_checkpoint_file", lambda f, **kw: reads.append(f) or real(f, **kw))
    SafeCheckpointer(small_model(1), str(tmp_path)).resume_or_load("", resume=True)
    assert reads == [str(tmp_path / "model_0000.pth")]


def test_a_ddp_model_is_saved_and_loaded_without_the_wrapper(tmp_path):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        wrapped = torch.nn.parallel.DistributedDataParallel(small_model(0))
        SafeCheckpointer(wrapped, str(tmp_path)).save("model_0000")
        saved = torch.load(tmp_path / "model_0000.pth", weights_only=True)["model"]
        assert sorted(saved) == sorted(small_model(0).state_dict())  # no "module." prefix
        again = torch.nn.parallel.DistributedDataParallel(small_model(1))
        SafeCheckpointer(again, str(tmp_path)).resume_or_load("", resume=True)
        assert torch.equal(again.module[0].weight, wrapped.module[0].weight)
    finally:
        dist.destroy_process_group()


def test_only_the_newest_periodic_checkpoints_are_kept(tmp_path):
    checkpointer = SafeCheckpointer(small_model(0), str(tmp_path), keep=2)
    checkpointer.save("model_best")
    for epoch in range(4):
        checkpointer.save(f"model_{epoch:04d}")
        assert (tmp_path / f"model_{epoch:04d}.pth").exists()
    checkpointer.save("model_final")
    assert sorted(p.name for p in tmp_path.glob("*.pth")) == ["model_0002.pth", "model_0003.pth", "model_best.pth",
                                                                "model_final.pth"]
    assert (tmp_path / "last_checkpoint").read_text() == "model_final.pth"
    SafeCheckpointer(small_model(1), str(tmp_path), keep=0).save("model_0004")
    assert len(list(tmp_path.glob("model_000*.pth"))) == 3  # keep=0: none deleted


@pytest.mark.parametrize("keep", [-1, 1.5, "2"])
def test_a_bad_checkpoint_keep_is_one_line(keep):
    cfg = make_cfg("demo.yml", {"SOLVER.CHECKPOINT_KEEP": keep})
    with pytest.raises(InputError, match=r"SOLVER.CHECKPOINT_KEEP must be an integer >= 0"):
        G2DATrainer.build_checkpointer(cfg, small_model(0))
