"""SYSU-MM01's test sets (g2da_plugin/evaluation/sysu_protocol.py): the gallery draws and the queries, on a
tiny fake SYSU-MM01 tree."""

import os
import random
from pathlib import Path

import numpy as np
import pytest

from g2da_plugin.evaluation import sysu_protocol as protocol

# Fake SYSU-MM01 layout: {camera: {pid: number of images}}. Identity 2 is not a test id;
# identity 3 has no cam2 / cam6 folder, identity 12 no cam4 / cam5 folder.
_LAYOUT = {
    1: {1: 3, 2: 2, 3: 1, 12: 4},
    2: {1: 2, 2: 3, 12: 12},
    3: {1: 2, 3: 3, 12: 1},
    4: {1: 5, 3: 5},
    5: {1: 4, 3: 2},
    6: {1: 3, 2: 2},
}
_TEST_IDS = (12, 3, 1)


@pytest.fixture
def sysu_root(tmp_path):
    root = tmp_path / "SYSU-MM01"
    for cam, identities in _LAYOUT.items():
        for pid, count in identities.items():
            folder = root / f"cam{cam}" / f"{pid:04d}"
            folder.mkdir(parents=True)
            # created in reverse order so that a missing sort would show
            for index in reversed(range(1, count + 1)):
                (folder / f"{index:04d}.jpg").touch()
    (root / "exp").mkdir()
    # the release's format: one comma-separated line (here in no particular order)
    (root / "exp" / "test_id.txt").write_text(",".join(map(str, _TEST_IDS)) + "\n")
    return str(root)


@pytest.fixture
def global_random_restored():
    """Put Python's global generator back as it was after a test that seeds it."""
    state = random.getstate()
    yield
    random.setstate(state)


def community_single_shot_gallery(root, mode, trial):
    """The community draw, with the module-level functions of ``random``: seed the global generator
    with the trial, then for each test id ascending and each RGB camera of the mode in order,
    ``random.choice`` over the sorted listing of the identity's folder when it exists."""
    random.seed(trial)
    gallery = []
    for pid in sorted(_TEST_IDS):
        for cam in {"all": (1, 2, 4, 5), "indoor": (1, 2)}[mode]:
            folder = os.path.join(root, f"cam{cam}", f"{pid:04d}")
            if os.path.isdir(folder):
                gallery.append((os.path.join(folder, random.choice(sorted(os.listdir(folder)))), pid, cam))
    return gallery


@pytest.mark.parametrize("mode", ["all", "indoor"])
def test_single_shot_gallery_is_the_community_draw_and_leaves_the_global_generator_alone(
        sysu_root, mode, global_random_restored):
    draws = []
    for trial in range(10):
        random.seed(1000 + trial)
        state = random.getstate()
        gallery = protocol.sysu_gallery(sysu_root, mode=mode, trial=trial)
        assert random.getstate() == state
        assert gallery == community_single_shot_gallery(sysu_root, mode, trial)
        draws.append(gallery)
    assert len({tuple(draw) for draw in draws}) > 1  # the trials draw different galleries


def test_gallery_cameras_and_missing_folders(sysu_root):
    gallery = protocol.sysu_gallery(sysu_root, mode="all", trial=0)
    # one image per existing (test id, RGB camera) folder, ids ascending then cameras in order
    assert [(pid, cam) for _, pid, cam in gallery] == [
        (1, 1), (1, 2), (1, 4), (1, 5), (3, 1), (3, 4), (3, 5), (12, 1), (12, 2)]
    indoor = protocol.sysu_gallery(sysu_root, mode="indoor", trial=0)
    assert [(pid, cam) for _, pid, cam in indoor] == [(1, 1), (1, 2), (3, 1), (12, 1), (12, 2)]
    for path, pid, cam in gallery:
        assert os.path.dirname(path) == os.path.join(sysu_root, f"cam{cam}", f"{pid:04d}")
        assert os.path.isfile(path)


def test_multi_shot_gallery(sysu_root):
    gallery = protocol.sysu_gallery(sysu_root, mode="all", shots=10, trial=4)
    # the plug-in's convention: same loop, rng.sample(files, min(10, len(files)))
    rng = random.Random(4)
    expected = []
    for pid in sorted(_TEST_IDS):
        for cam in (1, 2, 4, 5):
            count = _LAYOUT[cam].get(pid)
            if count is None:
                continue
            folder = os.path.join(sysu_root, f"cam{cam}", f"{pid:04d}")
            names = [f"{i:04d}.jpg" for i in range(1, count + 1)]
            expected += [(os.path.join(folder, n), pid, cam)
                         for n in rng.sample(names, min(10, count))]
    assert gallery == expected
    # folders with fewer than 10 images give all of them; the 12-image folder gives 10
    per_folder = {}
    for path, pid, cam in gallery:
        per_folder.setdefault((pid, cam), set()).add(path)
    assert {key: len(paths) for key, paths in per_folder.items()} == {
        (pid, cam): min(10, _LAYOUT[cam][pid])
        for cam in (1, 2, 4, 5) for pid in sorted(_TEST_IDS) if pid in _LAYOUT[cam]}


def test_query_is_every_ir_image_in_order(sysu_root):
    queries = protocol.sysu_query(sysu_root, mode="all")
    expected = []
    for pid in sorted(_TEST_IDS):
        for cam in (3, 6):
            for index in range(1, _LAYOUT[cam].get(pid, 0) + 1):
                path = os.path.join(sysu_root, f"cam{cam}", f"{pid:04d}", f"{index:04d}.jpg")
                expected.append((path, pid, cam))
    assert queries == expected
    assert protocol.sysu_query(sysu_root, mode="indoor") == expected


def test_test_ids_accept_whitespace_and_several_lines(sysu_root, global_random_restored):
    Path(sysu_root, "exp", "test_id.txt").write_text("3\n12 ,\n 1\n")
    assert protocol.sysu_gallery(sysu_root, trial=2) == community_single_shot_gallery(sysu_root, "all", 2)


def test_numpy_integers_are_accepted_as_trial_and_shots(sysu_root, global_random_restored):
    assert protocol.sysu_gallery(sysu_root, trial=np.int64(3)) == community_single_shot_gallery(sysu_root, "all", 3)
    multi = protocol.sysu_gallery(sysu_root, shots=np.int64(10), trial=np.int64(3))
    assert len(multi) == sum(min(10, _LAYOUT[cam][pid]) for cam in (1, 2, 4, 5) for pid in _TEST_IDS
                             if pid in _LAYOUT[cam])


def test_sysu_errors(sysu_root, tmp_path):
    missing_root = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        protocol.sysu_gallery(missing_root)
    os.remove(os.path.join(sysu_root, "exp", "test_id.txt"))
    with pytest.raises(FileNotFoundError, match=r"exp.test_id\.txt"):
        protocol.sysu_query(sysu_root)
    with pytest.raises(ValueError, match="mode"):
        protocol.sysu_gallery(sysu_root, mode="outdoor")
    with pytest.raises(ValueError, match="mode"):
        protocol.sysu_query(sysu_root, mode="outdoor")
    for shots in (0, 1.0, True, "10"):
        with pytest.raises(ValueError, match="shots"):
            protocol.sysu_gallery(sysu_root, shots=shots)


def test_empty_gallery_folder_raises(sysu_root):
    empty = Path(sysu_root, "cam4", "0012")
    empty.mkdir()
    with pytest.raises(ValueError, match=r"cam4.0012 is empty"):
        protocol.sysu_gallery(sysu_root)

