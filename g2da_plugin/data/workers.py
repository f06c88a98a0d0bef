"""How many DataLoader workers a process starts: ``DATALOADER.NUM_WORKERS``, where -1 (the configs'
value) means one per core this process may use, at most :data:`MAX_AUTO_WORKERS`."""

import os

from fastreid.utils import comm

from ..utils.errors import InputError

__all__ = ["AUTO_WORKERS", "MAX_AUTO_WORKERS", "loader_workers"]

#: ``DATALOADER.NUM_WORKERS`` value that asks for a count from the cores.
AUTO_WORKERS = -1
#: 16 workers at the uncached path's ~4 ms an image (tools/benchmark_data.py) give one GPU ~4,000 images/s.
MAX_AUTO_WORKERS = 16


def _usable_cores():
    if hasattr(os, "sched_getaffinity"):  # the cores this process may run on (taskset, cgroups' cpusets)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def loader_workers(num_workers):
    """``DATALOADER.NUM_WORKERS`` resolved: a count >= 0 as given; -1: the usable cores shared among
    this machine's training processes (one per GPU), between 1 and :data:`MAX_AUTO_WORKERS`."""
    if num_workers == AUTO_WORKERS:
        per_process = _usable_cores() // max(1, comm.get_local_size())
        return max(1, min(per_process, MAX_AUTO_WORKERS))
    if not isinstance(num_workers, int) or num_workers < 0:
        raise InputError(f"DATALOADER.NUM_WORKERS must be -1 (from the cores) or a count >= 0, got {num_workers!r}")
    return num_workers
