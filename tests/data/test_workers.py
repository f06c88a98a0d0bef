"""DATALOADER.NUM_WORKERS (g2da_plugin/data/workers.py): -1 counts workers from the usable cores shared
by the machine's processes, a count given wins, the configs ask for -1."""

import os

import pytest

from g2da_plugin.data import workers
from g2da_plugin.data.workers import loader_workers
from g2da_plugin.utils.errors import InputError
from tests.helpers import ROOT, make_cfg


@pytest.mark.parametrize("cores, processes, expected", [(2, 1, 2), (16, 1, 16), (64, 1, 16), (16, 4, 4),
                                                        (16, 8, 2), (3, 8, 1)])
def test_auto_is_the_cores_per_process_between_1_and_16(monkeypatch, cores, processes, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr(workers.comm, "get_local_size", lambda: processes)
    assert loader_workers(-1) == expected


def test_a_given_count_wins_and_other_negatives_are_refused():
    assert loader_workers(0) == 0 and loader_workers(12) == 12
    with pytest.raises(InputError, match=r"DATALOADER\.NUM_WORKERS must be -1 .* got -2"):
        loader_workers(-2)


@pytest.mark.parametrize("config", ["projects/G2DA/configs/sysu_G2DA.yml", "projects/G2DA/configs/demo.yml",
                                    "configs/SYSU-MM01/bagtricks_R50.yml", "configs/Synthetic/sbs_R18.yml"])
def test_the_configs_count_workers_from_the_cores(config):
    assert make_cfg(os.path.join(ROOT, config)).DATALOADER.NUM_WORKERS == -1
