"""What a written dataset holds, read back from disk as a loader would: ids and images per split."""

import os

from .cameras import REGDB_CAMERAS, SYSU_CAMERAS
from .writers import REGDB_TRIALS


def _count_files(folder):
    return len(os.listdir(folder)) if os.path.isdir(folder) else 0


def describe_sysu(path):
    """Images per split and modality, read back from disk as a loader would."""
    lines = []
    for split in ("train", "val", "test"):
        with open(os.path.join(path, "exp", f"{split}_id.txt")) as f:
            ids = [int(token) for token in f.read().split(",")]
        counts = {"rgb": 0, "ir": 0}
        for camera in SYSU_CAMERAS.values():
            counts[camera.modality] += sum(_count_files(os.path.join(path, camera.name, f"{pid:04d}")) for pid in ids)
        lines.append(f"  {split}: {len(ids)} ids, {counts['rgb']} RGB + {counts['ir']} IR images")
    return lines


def describe_regdb(path):
    """Ids and images per modality, and the ids of trial 1's splits, read back from disk."""
    lines = []
    for modality in REGDB_CAMERAS:
        folder = os.path.join(path, modality)
        ids = os.listdir(folder)
        lines.append(f"  {modality}: {len(ids)} ids, {sum(_count_files(os.path.join(folder, i)) for i in ids)} images")
    trial = REGDB_TRIALS[0]
    for split in ("train", "test"):
        with open(os.path.join(path, "idx", f"{split}_visible_{trial}.txt")) as f:
            labels = {line.split()[1] for line in f if line.strip()}
        lines.append(f"  trial {trial} {split}: {len(labels)} ids (trials {REGDB_TRIALS[0]}..{REGDB_TRIALS[-1]})")
    return lines
