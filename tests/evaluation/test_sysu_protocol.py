"""SYSU-MM01's test sets (g2da_plugin/evaluation/sysu_protocol.py): the gallery draws and the queries, on a
tiny fake SYSU-MM01 tree."""

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.io import loadmat, savemat

from g2da_plugin.data.datasets.modality import IR, RGB
from g2da_plugin.evaluation import CrossModalityEvaluator, eval_sysu
from g2da_plugin.evaluation import sysu_protocol as protocol
from tests.helpers import make_cfg

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


# --------------------------------------------------------------------------------------------
# The release's gallery draws (exp/rand_perm_cam.mat)
# --------------------------------------------------------------------------------------------
# Hand-written rows of rand_perm_cam for trials 0 and 1, {(camera, pid): [trial 0 row, trial 1 row]}, for
# every folder of _LAYOUT (identity 2 is no test id, cam3 / cam6 hold queries: the draws never read those).
_RELEASE_ROWS = {
    (1, 1): [[3, 1, 2], [2, 3, 1]], (1, 2): [[2, 1], [1, 2]], (1, 3): [[1], [1]],
    (1, 12): [[4, 2, 1, 3], [1, 4, 3, 2]],
    (2, 1): [[2, 1], [1, 2]], (2, 2): [[3, 1, 2], [1, 2, 3]],
    (2, 12): [[12, 5, 7, 1, 2, 3, 4, 6, 8, 9, 10, 11], [3, 12, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11]],
    (3, 1): [[1, 2], [2, 1]], (3, 3): [[2, 3, 1], [3, 1, 2]], (3, 12): [[1], [1]],
    (4, 1): [[5, 4, 3, 2, 1], [2, 1, 3, 4, 5]], (4, 3): [[3, 1, 2, 5, 4], [4, 5, 1, 2, 3]],
    (5, 1): [[4, 3, 2, 1], [1, 3, 2, 4]], (5, 3): [[2, 1], [1, 2]],
    (6, 1): [[3, 1, 2], [1, 3, 2]], (6, 2): [[1, 2], [2, 1]],
}
#: What the release's rows give, worked out by hand: (camera, pid, image numbers), identities ascending,
#: then the mode's cameras in order.
_RELEASE_ALL_SINGLE_TRIAL_0 = [(1, 1, [3]), (2, 1, [2]), (4, 1, [5]), (5, 1, [4]), (1, 3, [1]), (4, 3, [3]),
                               (5, 3, [2]), (1, 12, [4]), (2, 12, [12])]
_RELEASE_ALL_SINGLE_TRIAL_1 = [(1, 1, [2]), (2, 1, [1]), (4, 1, [2]), (5, 1, [1]), (1, 3, [1]), (4, 3, [4]),
                               (5, 3, [1]), (1, 12, [1]), (2, 12, [3])]
_RELEASE_INDOOR_SINGLE_TRIAL_1 = [(1, 1, [2]), (2, 1, [1]), (1, 3, [1]), (1, 12, [1]), (2, 12, [3])]
_RELEASE_ALL_THREE_SHOTS_TRIAL_0 = [(1, 1, [3, 1, 2]), (2, 1, [2, 1]), (4, 1, [5, 4, 3]), (5, 1, [4, 3, 2]),
                                    (1, 3, [1]), (4, 3, [3, 1, 2]), (5, 3, [2, 1]), (1, 12, [4, 2, 1]),
                                    (2, 12, [12, 5, 7])]


def write_release_table(root, rows=_RELEASE_ROWS, layout="column"):
    """``exp/rand_perm_cam.mat`` as the release's MATLAB code indexes it, ``rand_perm_cam{c}{p}(t, :)``: a 6 x 1
    cell of per-camera cells of identities 1..12, each a (trials x images) matrix of doubles, empty (2 x 0)
    where the camera does not see the identity. ``layout``: "column" (12 x 1 camera cells), "row" (1 x 12),
    or "vectors" (each identity a 1 x 2 cell of its trials' rows, as N x 1 vectors)."""
    cameras = np.empty((6, 1), dtype=object)
    for cam in range(1, 7):
        identities = np.empty((12, 1) if layout == "column" else (1, 12), dtype=object)
        for pid in range(1, 13):
            trials = rows.get((cam, pid), [[], []])
            if layout == "vectors":
                entry = np.empty((1, len(trials)), dtype=object)
                for trial, row in enumerate(trials):
                    entry[0, trial] = np.array(row, dtype=np.float64).reshape(-1, 1)
            else:
                entry = np.array(trials, dtype=np.float64)
            identities.flat[pid - 1] = entry
        cameras[cam - 1, 0] = identities
    savemat(os.path.join(root, "exp", "rand_perm_cam.mat"), {"rand_perm_cam": cameras})


def release_gallery(root, expected):
    """(path, pid, camid) of a hand-worked (camera, pid, image numbers) list."""
    return [(os.path.join(root, f"cam{cam}", f"{pid:04d}", f"{n:04d}.jpg"), pid, cam)
            for cam, pid, numbers in expected for n in numbers]


@pytest.mark.parametrize("layout", ["column", "row", "vectors"])
def test_release_gallery_takes_the_first_shots_of_the_trial_row(sysu_root, layout):
    write_release_table(sysu_root, layout=layout)
    for mode, shots, trial, expected in [("all", 1, 0, _RELEASE_ALL_SINGLE_TRIAL_0),
                                         ("all", 1, 1, _RELEASE_ALL_SINGLE_TRIAL_1),
                                         ("indoor", 1, 1, _RELEASE_INDOOR_SINGLE_TRIAL_1),
                                         ("all", 3, 0, _RELEASE_ALL_THREE_SHOTS_TRIAL_0)]:
        gallery = protocol.sysu_gallery(sysu_root, mode=mode, shots=shots, trial=trial, source="release")
        assert gallery == release_gallery(sysu_root, expected), (mode, shots, trial)


def test_release_multi_shot_gives_the_whole_row_when_it_is_shorter(sysu_root):
    write_release_table(sysu_root)
    gallery = protocol.sysu_gallery(sysu_root, mode="indoor", shots=10, trial=1, source="release")
    # cam2 of identity 12 has 12 images: its first 10; the other folders have fewer than 10: all of them
    assert gallery == release_gallery(sysu_root, [(1, 1, [2, 3, 1]), (2, 1, [1, 2]), (1, 3, [1]),
                                                  (1, 12, [1, 4, 3, 2]), (2, 12, [3, 12, 1, 2, 4, 5, 6, 7, 8, 9])])


def test_community_is_the_default_and_ignores_the_release_file(sysu_root, global_random_restored):
    write_release_table(sysu_root)
    expected = community_single_shot_gallery(sysu_root, "all", 1)
    assert protocol.sysu_gallery(sysu_root, trial=1) == expected
    assert protocol.sysu_gallery(sysu_root, trial=1, source="community") == expected
    assert expected != release_gallery(sysu_root, _RELEASE_ALL_SINGLE_TRIAL_1)  # the two conventions differ here


def one_line(error):
    assert "\n" not in str(error.value)
    return str(error.value)


def test_release_without_its_file_names_it(sysu_root):
    with pytest.raises(FileNotFoundError) as error:
        protocol.sysu_gallery(sysu_root, source="release")
    message = one_line(error)
    assert os.path.join(sysu_root, "exp", "rand_perm_cam.mat") in message
    assert "TEST.SYSU.GALLERY community does not need it" in message
    assert protocol.sysu_gallery(sysu_root) == protocol.sysu_gallery(sysu_root, source="community")


def test_release_image_that_does_not_exist_is_named(sysu_root):
    rows = dict(_RELEASE_ROWS)
    rows[4, 3] = [[3, 1, 2, 5, 4], [6, 5, 1, 2, 3]]  # cam4/0003 has 5 images
    write_release_table(sysu_root, rows)
    assert len(protocol.sysu_gallery(sysu_root, trial=0, source="release")) == 9
    with pytest.raises(FileNotFoundError) as error:
        protocol.sysu_gallery(sysu_root, trial=1, source="release")
    assert os.path.join(sysu_root, "cam4", "0003", "0006.jpg") in one_line(error)


def test_release_trial_beyond_the_file_and_unknown_source_raise(sysu_root):
    write_release_table(sysu_root)  # trials 0 and 1 only
    with pytest.raises(ValueError, match="no trial 2 for cam1 identity 1") as error:
        protocol.sysu_gallery(sysu_root, trial=2, source="release")
    one_line(error)
    for source in ("Release", "matlab", None):
        with pytest.raises(ValueError) as error:
            protocol.sysu_gallery(sysu_root, source=source)
        message = one_line(error)
        assert "TEST.SYSU.GALLERY" in message and "'community'" in message and "'release'" in message


@pytest.mark.parametrize("content", [{"something_else": np.zeros(3)}, {"rand_perm_cam": np.zeros((6, 1))}, b"garbage"])
def test_release_file_of_another_layout_is_refused(sysu_root, content):
    path = os.path.join(sysu_root, "exp", "rand_perm_cam.mat")
    if isinstance(content, bytes):
        Path(path).write_bytes(content)
    else:
        savemat(path, content)
    with pytest.raises(ValueError, match=r"rand_perm_cam\.mat: expected the release's rand_perm_cam") as error:
        protocol.sysu_gallery(sysu_root, source="release")
    one_line(error)


def feed_sysu_evaluator(cfg, root, rng):
    """A CrossModalityEvaluator for ``root`` fed every test image of _LAYOUT (IR queries, every RGB image)
    with random features; returns (results, features by path)."""
    items = []
    for pid in sorted(_TEST_IDS):
        for cam, identities in _LAYOUT.items():
            for index in range(1, identities.get(pid, 0) + 1):
                path = os.path.join(root, f"cam{cam}", f"{pid:04d}", f"{index:04d}.jpg")
                items.append((path, pid, cam, IR if cam in (3, 6) else RGB))
    features = rng.normal(size=(len(items), 6)).astype(np.float32)
    evaluator = CrossModalityEvaluator(cfg, "sysu", root)
    evaluator.reset()
    evaluator.process({"targets": torch.tensor([pid for _, pid, _, _ in items]),
                       "camids": torch.tensor([cam for _, _, cam, _ in items]),
                       "modalities": torch.tensor([m for *_, m in items]),
                       "img_paths": [p for p, *_ in items]}, torch.as_tensor(features))
    return evaluator.evaluate(), {path: f for (path, *_), f in zip(items, features)}


def expected_scores(root, galleries, feature_of):
    """Mean over ``galleries`` ([(path, pid, camid)] each) of eval_sysu's R1 and mAP, in percent (L2 distance)."""
    queries = protocol.sysu_query(root)
    q_feats = np.array([feature_of[p] for p, _, _ in queries], dtype=np.float64)
    runs = []
    for gallery in galleries:
        g_feats = np.array([feature_of[p] for p, _, _ in gallery], dtype=np.float64)
        cmc, mAP, _ = eval_sysu(np.linalg.norm(q_feats[:, None] - g_feats[None], axis=2),
                                np.array([pid for _, pid, _ in queries]), np.array([pid for _, pid, _ in gallery]),
                                np.array([cam for _, _, cam in queries]), np.array([cam for _, _, cam in gallery]))
        runs.append((100 * cmc[0], 100 * mAP))
    return np.mean(runs, axis=0)


def test_evaluator_draws_the_galleries_of_test_sysu_gallery_and_reads_the_file_once(sysu_root, monkeypatch,
                                                                                      global_random_restored):
    write_release_table(sysu_root)
    loads = []
    monkeypatch.setattr(protocol, "loadmat", lambda *args, **kwargs: loads.append(args) or loadmat(*args, **kwargs))
    keys = dict(TEST__METRIC="euclidean", TEST__SYSU__MODES=("all", "indoor"), TEST__SYSU__SHOTS=(1,),
                TEST__SYSU__TRIALS=2)
    release, feature_of = feed_sysu_evaluator(make_cfg(TEST__SYSU__GALLERY="release", **keys), sysu_root,
                                              np.random.default_rng(5))
    assert len(loads) == 1  # one read for the 2 modes x 2 trials
    r1, mAP = expected_scores(sysu_root, [release_gallery(sysu_root, _RELEASE_ALL_SINGLE_TRIAL_0),
                                          release_gallery(sysu_root, _RELEASE_ALL_SINGLE_TRIAL_1)], feature_of)
    assert (release["all-single/R1"], release["all-single/mAP"]) == pytest.approx((r1, mAP), abs=1e-4)

    community, _ = feed_sysu_evaluator(make_cfg(**keys), sysu_root, np.random.default_rng(5))
    assert len(loads) == 1  # the community draw reads no file
    r1, mAP = expected_scores(sysu_root, [community_single_shot_gallery(sysu_root, "all", t) for t in (0, 1)],
                              feature_of)
    assert (community["all-single/R1"], community["all-single/mAP"]) == pytest.approx((r1, mAP), abs=1e-4)
    assert community["all-single/mAP"] != pytest.approx(release["all-single/mAP"], abs=1e-3)


def test_evaluator_refuses_a_release_gallery_without_its_file_before_any_feature(sysu_root):
    with pytest.raises(FileNotFoundError, match=r"rand_perm_cam\.mat"):
        CrossModalityEvaluator(make_cfg(TEST__SYSU__GALLERY="release"), "sysu", sysu_root)
    with pytest.raises(ValueError, match="TEST.SYSU.GALLERY"):
        CrossModalityEvaluator(make_cfg(TEST__SYSU__GALLERY="rand_perm"), "sysu", sysu_root)
