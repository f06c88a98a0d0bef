"""Wall-clock timing for the benchmarks: functions that take turns, each timed to its median."""

import statistics
import time

import torch


def synchronize(device):
    """Wait for ``device``'s queued work (a no-op on the CPU), so a timed region ends when its work does."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fns, device, iters, warmup):
    """Median seconds per call of each function in ``fns`` (a dict); they take turns call by call,
    so that a shared machine's drifting load slows them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(iters):
        for name, fn in fns.items():
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}
