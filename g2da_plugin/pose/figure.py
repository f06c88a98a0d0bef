"""Keypoints drawn over RGB and IR samples side by side (the paper's Fig. 3).

:func:`keypoints_figure` picks identities that have both RGB and IR images in a keypoints file and
draws one RGB (top row) and one IR image (bottom row) of each, enlarged, with the COCO skeleton:
the person's left side in orange, the right side in blue, the head and trunk in green. Keypoints
scored below ``min_score`` are small grey crosses and their limbs are left out; true keypoints
(e.g. a synthetic dataset's ``keypoints.json``) can be overlaid as white dots.

Modality: in a dataset folder of the plug-in (``SYSU-MM01``, ``RegDB``) the dataset's own loader
says it (:func:`~g2da_plugin.data.images.datasets_of`); any other image counts as IR when
it has a single channel. Identity: the image's parent folder, as in both released layouts
(``cam<c>/<pid>/``, ``Visible/<pid>/``).
"""

import os
import random

from PIL import Image, ImageDraw, ImageFont

from ..data.datasets import IR, RGB, RegDB_CM, SYSUMM01_CM
from ..data.datasets.modality import NAMES
from ..data.keypoint_geometry import COCO_KEYPOINT_NAMES, COCO_SKELETON
from ..data.images import datasets_of
from ..data.keypoints_io import load_keypoints
from ..utils.errors import InputError

__all__ = ["CELL_HEIGHT", "keypoints_figure", "draw_cell", "modality_and_identity", "folder_modalities"]

LEFT, RIGHT, CENTRE = (255, 140, 0), (30, 144, 255), (50, 205, 50)
_SIDE = {k: {"left": LEFT, "right": RIGHT}[name.split("_")[0]] for k, name in enumerate(COCO_KEYPOINT_NAMES)
         if name.startswith(("left_", "right_"))}
CELL_HEIGHT = 384
MARGIN = 8
LABEL_WIDTH = 44
TITLE_HEIGHT = 22
_SINGLE_CHANNEL_MODES = ("L", "I", "I;16", "F")
_DATASET_OF_FOLDER = {cls.dataset_dir: cls.__name__ for cls in (SYSUMM01_CM, RegDB_CM)}


def folder_modalities(folder):
    """{key: modality} of every image of the plug-in's dataset in ``folder`` (empty for other folders)."""
    name = _DATASET_OF_FOLDER.get(os.path.basename(os.path.abspath(folder)))
    if name is None:
        return {}
    (dataset,) = datasets_of(name=name, root=os.path.dirname(os.path.abspath(folder)))
    return {key: modality for key, (_, modality) in dataset.images.items()}


def modality_and_identity(key, folder, modalities):
    """(RGB or IR, identity) of image ``key`` under ``folder``; ``modalities`` from :func:`folder_modalities`."""
    parts = key.split("/")
    identity = parts[-2] if len(parts) > 1 else ""
    if key in modalities:
        return modalities[key], identity
    with Image.open(os.path.join(folder, key)) as image:
        return (IR if image.mode in _SINGLE_CHANNEL_MODES else RGB), identity


def limb_colour(a, b):
    """The colour of the limb between keypoints ``a`` and ``b`` (of keypoint ``a`` when ``a == b``)."""
    side_a, side_b = _SIDE.get(a, CENTRE), _SIDE.get(b, CENTRE)
    return side_a if side_a == side_b else CENTRE


def draw_cell(path, keypoints, truth, min_score):
    """The image at ``path`` scaled to :data:`CELL_HEIGHT`, with its (17, 3) ``keypoints`` and the
    ``truth`` ((17, 3) or None) drawn on it."""
    image = Image.open(path).convert("RGB")
    scale = CELL_HEIGHT / image.height
    image = image.resize((round(image.width * scale), CELL_HEIGHT), Image.BILINEAR)
    draw = ImageDraw.Draw(image)
    width = max(2, round(scale))
    points = [(x * scale, y * scale, s) for x, y, s in keypoints.tolist()]
    for a, b in COCO_SKELETON:
        if points[a][2] >= min_score and points[b][2] >= min_score:
            draw.line([points[a][:2], points[b][:2]], fill=limb_colour(a, b), width=width)
    radius = width + 1
    for k, (x, y, s) in enumerate(points):
        if s >= min_score:
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=limb_colour(k, k),
                         outline=(0, 0, 0))
        else:
            draw.line([x - radius, y - radius, x + radius, y + radius], fill=(128, 128, 128), width=1)
            draw.line([x - radius, y + radius, x + radius, y - radius], fill=(128, 128, 128), width=1)
    if truth is not None:
        for x, y, v in truth.tolist():
            if v > 0.5:
                draw.ellipse([x * scale - 2, y * scale - 2, x * scale + 2, y * scale + 2], fill=(255, 255, 255))
    return image


def keypoints_figure(keypoints_file, dataset_dir=None, num=4, min_score=0.3, truth_file=None, seed=0):
    """The figure of ``num`` identities (``seed`` picks them) and the identities drawn.

    Image keys are relative to ``dataset_dir`` (default: the keypoints file's folder). Raises
    ValueError when no identity has both an RGB and an IR image there, or a file is not valid.
    """
    keypoints, source = load_keypoints(keypoints_file, with_source=True)
    truth = load_keypoints(truth_file) if truth_file else None
    folder = dataset_dir or os.path.dirname(os.path.abspath(keypoints_file))
    modalities = folder_modalities(folder)
    by_identity = {}
    for key in sorted(keypoints):
        if not os.path.isfile(os.path.join(folder, key)):
            continue
        modality, identity = modality_and_identity(key, folder, modalities)
        by_identity.setdefault(identity, {}).setdefault(modality, []).append(key)
    candidates = sorted(i for i, m in by_identity.items() if RGB in m and IR in m)
    if not candidates:
        raise InputError(f"no identity has both RGB and IR images in {keypoints_file} under {folder}")
    rng = random.Random(seed)
    chosen = sorted(rng.sample(candidates, min(num, len(candidates))))
    rows = {RGB: [], IR: []}
    for identity in chosen:
        for modality in rows:
            key = rng.choice(by_identity[identity][modality])
            rows[modality].append(draw_cell(os.path.join(folder, key), keypoints[key],
                                            truth.get(key) if truth is not None else None, min_score))
    font = ImageFont.load_default()
    column_widths = [max(rows[RGB][i].width, rows[IR][i].width) for i in range(len(chosen))]
    canvas = Image.new("RGB", (LABEL_WIDTH + sum(column_widths) + MARGIN * (len(chosen) + 1),
                               TITLE_HEIGHT + 2 * CELL_HEIGHT + 3 * MARGIN + 16), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    draw.text((MARGIN, 4), f"{os.path.basename(keypoints_file)}: {source}"[:160], fill=(0, 0, 0), font=font)
    x = LABEL_WIDTH + MARGIN
    for i, identity in enumerate(chosen):
        for r, modality in enumerate(rows):
            cell = rows[modality][i]
            y = TITLE_HEIGHT + MARGIN + r * (CELL_HEIGHT + MARGIN)
            canvas.paste(cell, (x + (column_widths[i] - cell.width) // 2, y))
        draw.text((x, TITLE_HEIGHT + 2 * (CELL_HEIGHT + MARGIN) + 2), f"id {identity}", fill=(0, 0, 0), font=font)
        x += column_widths[i] + MARGIN
    for r, modality in enumerate(rows):
        draw.text((MARGIN, TITLE_HEIGHT + MARGIN + r * (CELL_HEIGHT + MARGIN) + CELL_HEIGHT // 2),
                  NAMES[modality].upper(), fill=(0, 0, 0), font=font)
    return canvas, chosen
