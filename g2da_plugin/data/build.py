"""Train and test loaders: the plugin's datasets and sampler driven through FastReID's builders."""

from fastreid.data import build_reid_test_loader, build_reid_train_loader
from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.data.transforms import build_transforms
from fastreid.utils import comm

from .common import CrossModalityDataset
from .samplers import CrossModalityIdentitySampler


def load_dataset(cfg, name):
    """Instantiate a registered dataset under ``DATASETS.ROOT``."""
    kwargs = {"root": cfg.DATASETS.ROOT}
    if name == "RegDB_CM":
        kwargs["trial"] = cfg.DATASETS.REGDB_TRIAL
    return DATASET_REGISTRY.get(name)(**kwargs)


def iters_per_epoch(cfg, train_set):
    """FastReID's definition, which its trainer and scheduler use: training images / batch size."""
    return len(train_set) // cfg.SOLVER.IMS_PER_BATCH


def build_cross_modality_train_loader(cfg):
    items = []
    for name in cfg.DATASETS.NAMES:
        data = load_dataset(cfg, name)
        if comm.is_main_process():
            data.show_train()
        items.extend(data.train)
    train_set = CrossModalityDataset(items, build_transforms(cfg, is_train=True), relabel=True)
    sampler = CrossModalityIdentitySampler(
        train_set.img_items,
        cfg.SOLVER.IMS_PER_BATCH // comm.get_world_size(),
        cfg.DATALOADER.NUM_INSTANCE,
        seed=cfg.SEED,
        iters_per_epoch=iters_per_epoch(cfg, train_set),
    )
    return build_reid_train_loader(train_set, sampler=sampler, total_batch_size=cfg.SOLVER.IMS_PER_BATCH,
                                   num_workers=cfg.DATALOADER.NUM_WORKERS)


def build_cross_modality_test_loader(cfg, dataset_name):
    """Loader over the dataset's queries then gallery; returns ``(loader, num_query, dataset)``."""
    data = load_dataset(cfg, dataset_name)
    if comm.is_main_process():
        data.show_test()
    test_set = CrossModalityDataset(data.query + data.gallery, build_transforms(cfg, is_train=False), relabel=False)
    loader, num_query = build_reid_test_loader(test_set=test_set, test_batch_size=cfg.TEST.IMS_PER_BATCH,
                                               num_query=len(data.query), num_workers=cfg.DATALOADER.NUM_WORKERS)
    return loader, num_query, data
