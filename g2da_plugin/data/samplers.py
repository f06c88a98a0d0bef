"""Identity sampler that puts both modalities of every identity in every batch."""

import itertools
from collections import defaultdict

import numpy as np
from torch.utils.data.sampler import Sampler

from fastreid.utils import comm

from ..utils.errors import InputError
from .datasets.modality import IR, RGB


class CrossModalityIdentitySampler(Sampler):
    """Infinite stream of batches of P identities x (K RGB + K IR) images.

    Each process draws the same global sequence of identities from ``seed`` and takes its own
    slice: with world size W and ``mini_batch_size = P * 2K`` per process, global batch b holds
    ``P * W`` identities and process r gets identities ``[r*P, (r+1)*P)`` of it, so every process
    sees complete identities (both modalities) and no identity is on two processes at once.
    Within a batch the layout is, per identity, its K RGB then its K IR samples. An identity's
    images of one modality are drawn without replacement when it has at least K of them.
    Epoch ``e`` of the identity order depends only on ``(seed, e)``, so a resumed run can restart
    at its epoch (:meth:`set_epoch`).

    Each element is ``(dataset index, sample seed)``: the seed of that draw's augmentation
    (:class:`~g2da_plugin.data.dataset.CrossModalityDataset` runs its transforms seeded with it), a
    pure function of ``(seed, epoch, position in the epoch)``, so every image is augmented the same way
    whatever the loader workers, the process count or an interruption did before.
    """

    def __init__(self, data_source, mini_batch_size, num_instances, seed=0, iters_per_epoch=None):
        if mini_batch_size % (2 * num_instances):
            raise InputError(f"batch size per process {mini_batch_size} is not a multiple of "
                             f"2 x DATALOADER.NUM_INSTANCE = {2 * num_instances}")
        self.num_instances = num_instances
        self.pids_per_batch = mini_batch_size // (2 * num_instances)
        self.seed = int(seed)
        self.rank = comm.get_rank()
        self.world_size = comm.get_world_size()

        by_pid = defaultdict(lambda: {RGB: [], IR: []})
        for index, item in enumerate(data_source):
            by_pid[item[1]][item[3]].append(index)
        self.pid_indices = {pid: m for pid, m in sorted(by_pid.items()) if m[RGB] and m[IR]}
        self.pids = list(self.pid_indices)
        pids_per_global_batch = self.pids_per_batch * self.world_size
        if len(self.pids) < pids_per_global_batch:
            raise InputError(f"a batch needs {pids_per_global_batch} identities with both RGB and IR "
                             f"images, the training set has {len(self.pids)}")
        self.batches_per_pass = len(self.pids) // pids_per_global_batch
        self.iters_per_epoch = iters_per_epoch
        self.start_epoch = 0

    def set_epoch(self, epoch):
        """Start the stream at ``epoch`` (call before iterating), e.g. when resuming."""
        self.start_epoch = int(epoch)

    def __iter__(self):
        yield from itertools.chain.from_iterable(self._epoch_indices(e) for e in itertools.count(self.start_epoch))

    def _epoch_indices(self, epoch):
        rng = np.random.default_rng([self.seed, epoch])
        num_batches = self.iters_per_epoch or self.batches_per_pass
        order = []
        while len(order) < num_batches * self.pids_per_batch * self.world_size:
            order.extend(rng.permutation(len(self.pids))[: self.batches_per_pass * self.pids_per_batch * self.world_size])
        batch_size = self.pids_per_batch * 2 * self.num_instances
        for b in range(num_batches):
            start = (b * self.world_size + self.rank) * self.pids_per_batch
            indices = []
            for k in order[start:start + self.pids_per_batch]:
                pools = self.pid_indices[self.pids[k]]
                for modality in (RGB, IR):
                    pool = pools[modality]
                    indices += rng.choice(pool, self.num_instances, replace=len(pool) < self.num_instances).tolist()
            first = (b * self.world_size + self.rank) * batch_size
            seeds = np.random.SeedSequence([self.seed, epoch, first]).generate_state(batch_size)
            yield from zip(indices, seeds.tolist())
