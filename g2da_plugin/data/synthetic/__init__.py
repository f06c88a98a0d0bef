"""Small, deterministic, synthetic look-alikes of SYSU-MM01, RegDB and LLCM.

They exist to check that the pipeline *functions* end to end (loaders, sampler, keypoints,
training, evaluation) on a machine without the real data. Scores on them say nothing about
scores on the real benchmarks.

Layout (that of the released datasets, so the real loaders read it unchanged)::

    SYSU-MM01/cam{1..6}/{pid:04d}/{img:04d}.jpg   RGB cameras cam1 cam2 cam4 cam5 (RGB JPEG),
                                                  near-IR cameras cam3 cam6 (single-channel JPEG)
    SYSU-MM01/exp/{train,val,test}_id.txt         one line of comma-separated ids (1-based)
    SYSU-MM01/exp/rand_perm_cam.mat               the release's fixed gallery draws: for each camera and id,
                                                  10 seeded permutations of its image numbers
    RegDB/Visible/{pid}/v_{pid:04d}_{k:02d}.bmp   RGB BMP
    RegDB/Thermal/{pid}/t_{pid:04d}_{k:02d}.bmp   single-channel BMP
    RegDB/idx/{train,test}_{visible,thermal}_{trial}.txt   trials 1..10, lines
                                                  "Visible/12/v_0012_03.bmp 12" (path, identity id)
    LLCM/{vis,nir}/, LLCM/test_{vis,nir}/cam{c}/{pid:04d}/, LLCM/idx/   see llcm.py
    <dataset>/keypoints.json                      ground-truth keypoints of every image
    <dataset>/.synthetic.json                     generator parameters (see "Idempotence")

Every SYSU identity appears in at least one of cam1/cam2, one of cam4/cam5 and one IR camera,
plus a random subset of the others. RegDB's k-th visible and k-th thermal image of an identity
share one pose (the real dataset films both at once); each trial trains a different random half
of the ids and tests the other half.

Keypoints (``keypoints.json``, read/written by :mod:`~g2da_plugin.data.keypoints_io`'s
:func:`load_keypoints` / :func:`save_keypoints`):
17 COCO keypoints per image, ``[x, y, v]``. x grows rightwards and y downwards, in pixels of that
image: pixel (0, 0) covers [0, 1) x [0, 1), so the centre of the top-left pixel is (0.5, 0.5).
"left" is the person's left, on the image's right when the person faces the camera.
v = 1 for a visible keypoint, 0 for one outside the image, behind an occluder, or a face point on
the far side of the head (nose and eyes seen from behind, the far eye and ear seen from the side);
x and y are true even then. Limbs crossing the body and carried items do not hide keypoints.
The renderer draws the body from these keypoints, so the file is exact (to 0.001 px).

Content. Identity lives in body shape (height, head size, shoulder/hip width, limb lengths and
thickness), sleeve and trouser length, clothing patterns (solid, horizontal or vertical stripes,
checks; stripe period), colours (RGB only, from a small wardrobe that many people share, so
colour narrows the candidates but does not identify), a per-material infrared grey level (never the hue:
a quarter the fabric's own material term, three quarters its visible brightness, as dyed fabrics partly reflect
near-IR like visible light), hair, and a carried item (none, backpack, handbag, hat). Per
camera: a viewpoint mix (front/back/side), walking amplitude, background, occluder rate and image
size; per image: yaw, walking phase, scale, position, lighting, optional occluder, sensor noise.
IR images carry no hue: bright skin, clothing at its own grey level, weaker pattern contrast,
dark low-texture background, blur and noise.

Determinism: every random draw comes from a generator seeded by (seed, dataset, what, ids...),
so an image does not depend on the order of generation; the same seed and parameters give
byte-identical files with the same numpy/Pillow build.

Idempotence: a dataset folder holds ``.synthetic.json`` (parameters, seed, GENERATOR_VERSION).
Asking again for the same dataset returns at once; anything else rebuilds it from scratch in a
temporary folder that then replaces the old one. A folder without that marker (the real data,
say) is never deleted: the generator refuses with FileExistsError.

Modules: random_streams (the seeded generators), materials (label map), colours (wardrobe,
palettes), identities, cameras (cameras and their scenes), figures (pose, skeleton, projection),
canvas, person (painting a person), rendering (one image), writers (the dataset layouts and the
marker), summary (counts read back from disk), llcm (the LLCM look-alike: its cameras, layout and counts).
"""

from .cameras import REGDB_CAMERAS, SYSU_CAMERAS
from .llcm import LLCM_CAMERAS, describe_llcm, llcm_cameras_of, make_synthetic_llcm, render_llcm_sample
from .rendering import Sample, render_regdb_sample, render_sample, render_sysu_sample
from .summary import describe_regdb, describe_sysu
from .writers import (
    GENERATOR_VERSION, MARKER_FILENAME, REGDB_TRIALS, SYNTHETIC_SOURCE, make_synthetic_datasets, make_synthetic_regdb,
    make_synthetic_sysu, regdb_trial_ids, sysu_cameras_of,
)

__all__ = [
    "GENERATOR_VERSION",
    "SYNTHETIC_SOURCE",
    "MARKER_FILENAME",
    "SYSU_CAMERAS",
    "REGDB_CAMERAS",
    "LLCM_CAMERAS",
    "REGDB_TRIALS",
    "Sample",
    "render_sample",
    "render_sysu_sample",
    "render_regdb_sample",
    "render_llcm_sample",
    "sysu_cameras_of",
    "regdb_trial_ids",
    "llcm_cameras_of",
    "make_synthetic_sysu",
    "make_synthetic_regdb",
    "make_synthetic_llcm",
    "make_synthetic_datasets",
    "describe_sysu",
    "describe_regdb",
    "describe_llcm",
]
