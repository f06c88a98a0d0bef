"""Keypoints files: round trip, determinism, validation errors, atomic writes, and the resumable writer
that the keypoint extraction uses."""

import json
import os

import numpy as np
import pytest

from g2da_plugin.data import keypoints_io
from g2da_plugin.data.keypoints_io import KeypointsWriter, load_keypoints, read_keypoints_source, save_keypoints

# Written out here rather than imported, so a wrong order in the module is caught.
COCO_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
              "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
              "left_knee", "right_knee", "left_ankle", "right_ankle"]


def random_keypoints(rng, n=3):
    keys = [f"cam{c}/{p:04d}/0001.jpg" for c, p in zip(rng.integers(1, 7, n), rng.integers(1, 500, n))]
    return {key: np.concatenate([rng.uniform(0, 128, (17, 2)), rng.uniform(0, 1, (17, 1))], axis=1) for key in keys}


def leftovers(folder):
    return [name for name in os.listdir(folder) if name.startswith(".tmp-")]


def test_round_trip_and_determinism(tmp_path):
    keypoints = random_keypoints(np.random.default_rng(0), 5)
    path = tmp_path / "kp.json"
    save_keypoints(path, keypoints, "unit-test")
    loaded, source = load_keypoints(path, with_source=True)
    assert source == "unit-test" == read_keypoints_source(path)
    assert sorted(loaded) == sorted(keypoints)
    for key, value in keypoints.items():
        assert loaded[key].dtype == np.float32 and loaded[key].shape == (17, 3)
        np.testing.assert_allclose(loaded[key], value, atol=5e-4)
    first = path.read_bytes()
    save_keypoints(path, dict(reversed(list(keypoints.items()))), "unit-test")   # other insertion order
    assert path.read_bytes() == first
    document = json.loads(first)
    assert list(document["images"]) == sorted(keypoints)
    assert document["keypoint_names"] == COCO_NAMES and document["format"] == "g2da-keypoints"
    assert first.count(b"\n") == len(keypoints) + 2   # one image a line
    assert leftovers(tmp_path) == []


def test_empty_file_round_trip(tmp_path):
    save_keypoints(tmp_path / "kp.json", {}, "nothing")
    assert load_keypoints(tmp_path / "kp.json") == {}


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(format="other"), '"format"'),
    (lambda d: d.update(version=2), '"version"'),
    (lambda d: d.pop("source"), '"source"'),
    (lambda d: d.update(keypoint_names=COCO_NAMES[::-1]), '"keypoint_names"'),
    (lambda d: d.update(images=[]), '"images"'),
    (lambda d: d["images"].update({"/abs/path.jpg": d["images"]["a.jpg"]}), "relative POSIX path"),
    (lambda d: d["images"].update({"a\\b.jpg": d["images"]["a.jpg"]}), "relative POSIX path"),
    (lambda d: d["images"]["a.jpg"].pop(), "expected 17 rows"),
    (lambda d: d["images"]["a.jpg"][3].pop(), "unequal length"),
    (lambda d: d["images"]["a.jpg"][3].__setitem__(2, 1.5), "v must lie in [0, 1]"),
    (lambda d: d["images"]["a.jpg"][3].__setitem__(0, "x"), "not all numbers"),
])
def test_invalid_files_are_refused(tmp_path, mutate, message):
    path = tmp_path / "kp.json"
    save_keypoints(path, {"a.jpg": np.full((17, 3), 0.5)}, "unit-test")
    document = json.loads(path.read_text())
    mutate(document)
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError) as error:
        load_keypoints(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_truncated_and_non_finite_files_are_refused(tmp_path):
    path = tmp_path / "kp.json"
    save_keypoints(path, random_keypoints(np.random.default_rng(1)), "unit-test")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])   # what a non-atomic writer killed half-way would leave
    with pytest.raises(ValueError, match="not valid JSON"):
        load_keypoints(path)
    document = json.loads(text)
    first = next(iter(document["images"]))
    document["images"][first][0][0] = float("nan")   # json writes NaN, which Python's json reads
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="finite"):
        load_keypoints(path)
    bad = {"a.jpg": np.full((17, 3), 0.5)}
    bad["a.jpg"][0, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        save_keypoints(path, bad, "unit-test")


def test_writes_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "kp.json"
    good = random_keypoints(np.random.default_rng(2))
    save_keypoints(path, good, "unit-test")
    before = path.read_bytes()

    # An invalid entry: nothing is written at all.
    invalid = dict(good, **{"b.jpg": np.zeros((16, 3))})
    with pytest.raises(ValueError, match="expected 17 rows"):
        save_keypoints(path, invalid, "unit-test")
    assert path.read_bytes() == before

    # A failure (disk full, kill) after the temporary file is written but before it replaces the
    # target: the old file stays whole and the temporary file is removed.
    def failing_replace(src, dst):
        raise OSError("simulated crash")

    monkeypatch.setattr(keypoints_io.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated crash"):
        save_keypoints(path, random_keypoints(np.random.default_rng(3)), "unit-test")
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_writer_saves_resumes_and_refuses_other_sources(tmp_path):
    path = tmp_path / "kp.json"
    rows = random_keypoints(np.random.default_rng(5), 5)
    keys = sorted(rows)
    with KeypointsWriter(path, "model-a", save_every=2, save_interval=None) as writer:
        assert writer.resumed == 0 and not path.exists()
        assert writer.add(keys[0], rows[keys[0]]) is False
        assert not path.exists()
        assert writer.add(keys[1], rows[keys[1]]) is True   # saved after 2
        assert sorted(load_keypoints(path)) == keys[:2]
        writer.add(keys[2], rows[keys[2]])
        assert sorted(load_keypoints(path)) == keys[:2] and writer.pending == 1
    assert sorted(load_keypoints(path)) == keys[:3]   # closing saves the pending one

    writer = KeypointsWriter(path, "model-a", save_every=10)
    assert writer.resumed == 3 and set(writer.done) == set(keys[:3]) and keys[0] in writer
    writer.add(keys[3], rows[keys[3]])
    writer.close()
    loaded = load_keypoints(path)
    assert sorted(loaded) == keys[:4]
    np.testing.assert_allclose(loaded[keys[0]], rows[keys[0]], atol=5e-4)

    with pytest.raises(ValueError, match="was made by 'model-a', not 'model-b'"):
        KeypointsWriter(path, "model-b")
    with KeypointsWriter(path, "model-b", overwrite=True):
        pass
    assert load_keypoints(path, with_source=True) == ({}, "model-b")


def test_writer_saves_on_exceptions_and_by_time(tmp_path, monkeypatch):
    path = tmp_path / "kp.json"
    rows = random_keypoints(np.random.default_rng(6), 3)
    keys = sorted(rows)
    with pytest.raises(KeyboardInterrupt):
        with KeypointsWriter(path, "m", save_every=100) as writer:
            writer.add(keys[0], rows[keys[0]])
            raise KeyboardInterrupt
    assert sorted(load_keypoints(path)) == keys[:1]

    now = [1000.0]
    monkeypatch.setattr(keypoints_io.time, "monotonic", lambda: now[0])
    writer = KeypointsWriter(path, "m", save_every=100, save_interval=30)
    assert writer.add(keys[1], rows[keys[1]]) is False
    now[0] += 31
    assert writer.add(keys[2], rows[keys[2]]) is True
    assert sorted(load_keypoints(path)) == keys
    with pytest.raises(ValueError, match="relative POSIX path"):
        writer.add("/abs.jpg", rows[keys[0]])
    with pytest.raises(ValueError, match="v must lie"):
        writer.add("x.jpg", np.full((17, 3), 2.0))
