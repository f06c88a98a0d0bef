#!/usr/bin/env python
"""Draw keypoints and the COCO skeleton over RGB and IR samples side by side (the paper's Fig. 3).

    python tools/draw_keypoints.py --keypoints datasets/SYSU-MM01/keypoints_hrnet.json \\
        [--dataset-dir DIR] [--num 4] [--output fig3.png] [--min-score 0.3] [--truth FILE] [--seed 0]

Picks ``--num`` identities that have both RGB and IR images in the keypoints file and draws one RGB
(top row) and one IR image (bottom row) of each, enlarged, with the skeleton: the person's left side
in orange, the right side in blue, the head and trunk in green. Keypoints whose score is below
``--min-score`` are drawn as small grey crosses and their limbs left out. ``--truth`` overlays
another keypoints file (e.g. a synthetic dataset's true ``keypoints.json``) as white dots.

Images are looked up under ``--dataset-dir`` (default: the keypoints file's folder). Modality and
identity come from the released layouts (SYSU-MM01: ``cam{3,6}`` are IR, ``cam*/<pid>/``; RegDB:
``Thermal/<pid>/`` vs ``Visible/<pid>/``); elsewhere a single-channel image counts as IR and the
parent folder names the identity.
"""

import argparse
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from g2da_plugin.data.keypoints_io import COCO_SKELETON, load_keypoints  # noqa: E402

LEFT, RIGHT, CENTRE = (255, 140, 0), (30, 144, 255), (50, 205, 50)
CELL_HEIGHT = 384
MARGIN = 8
LABEL_WIDTH = 44


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="draw_keypoints.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keypoints", required=True, metavar="FILE", help="a keypoints file")
    parser.add_argument("--dataset-dir", metavar="DIR", help="folder the image keys are relative to "
                                                             "(default: the keypoints file's folder)")
    parser.add_argument("--num", type=int, default=4, help="identities (columns) to draw (default 4)")
    parser.add_argument("--output", default="fig3.png", help="PNG to write (default fig3.png)")
    parser.add_argument("--min-score", type=float, default=0.3, help="hide keypoints scored below this")
    parser.add_argument("--truth", metavar="FILE", help="true keypoints to overlay as white dots")
    parser.add_argument("--seed", type=int, default=0, help="which identities are picked")
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error("--num must be >= 1")
    return args


def modality_and_identity(key, folder):
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] in ("cam1", "cam2", "cam3", "cam4", "cam5", "cam6"):
        return ("IR" if parts[0] in ("cam3", "cam6") else "RGB"), parts[1]
    if len(parts) >= 3 and parts[0] in ("Visible", "Thermal"):
        return ("IR" if parts[0] == "Thermal" else "RGB"), parts[1]
    with Image.open(os.path.join(folder, key)) as image:
        return ("IR" if image.mode in ("L", "I", "I;16", "F") else "RGB"), (parts[-2] if len(parts) > 1 else "")


def limb_colour(a, b):
    sides = {k: (LEFT if k in (1, 3, 5, 7, 9, 11, 13, 15) else RIGHT if k in (2, 4, 6, 8, 10, 12, 14, 16) else CENTRE)
             for k in (a, b)}
    return sides[a] if sides[a] == sides[b] else CENTRE


def draw_cell(path, keypoints, truth, min_score):
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


def main(argv=None):
    args = parse_args(argv)
    try:
        keypoints, source = load_keypoints(args.keypoints, with_source=True)
        truth = load_keypoints(args.truth) if args.truth else None
    except (OSError, ValueError) as e:
        sys.exit(f"draw_keypoints: {e}")
    folder = args.dataset_dir or os.path.dirname(os.path.abspath(args.keypoints))
    by_identity = {}
    for key in sorted(keypoints):
        if not os.path.isfile(os.path.join(folder, key)):
            continue
        modality, identity = modality_and_identity(key, folder)
        by_identity.setdefault(identity, {}).setdefault(modality, []).append(key)
    candidates = sorted(i for i, m in by_identity.items() if "RGB" in m and "IR" in m)
    if not candidates:
        sys.exit(f"draw_keypoints: no identity has both RGB and IR images in {args.keypoints} under {folder}")
    rng = random.Random(args.seed)
    chosen = sorted(rng.sample(candidates, min(args.num, len(candidates))))
    rows = {"RGB": [], "IR": []}
    for identity in chosen:
        for modality in rows:
            key = rng.choice(by_identity[identity][modality])
            rows[modality].append(draw_cell(os.path.join(folder, key), keypoints[key],
                                            truth.get(key) if truth is not None else None, args.min_score))
    font = ImageFont.load_default()
    column_widths = [max(rows["RGB"][i].width, rows["IR"][i].width) for i in range(len(chosen))]
    title_height = 22
    canvas = Image.new("RGB", (LABEL_WIDTH + sum(column_widths) + MARGIN * (len(chosen) + 1),
                               title_height + 2 * CELL_HEIGHT + 3 * MARGIN + 16), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    draw.text((MARGIN, 4), f"{os.path.basename(args.keypoints)}: {source}"[:160], fill=(0, 0, 0), font=font)
    x = LABEL_WIDTH + MARGIN
    for i, identity in enumerate(chosen):
        for r, modality in enumerate(rows):
            cell = rows[modality][i]
            y = title_height + MARGIN + r * (CELL_HEIGHT + MARGIN)
            canvas.paste(cell, (x + (column_widths[i] - cell.width) // 2, y))
        draw.text((x, title_height + 2 * (CELL_HEIGHT + MARGIN) + 2), f"id {identity}", fill=(0, 0, 0), font=font)
        x += column_widths[i] + MARGIN
    for r, modality in enumerate(rows):
        draw.text((MARGIN, title_height + MARGIN + r * (CELL_HEIGHT + MARGIN) + CELL_HEIGHT // 2), modality,
                  fill=(0, 0, 0), font=font)
    canvas.save(args.output)
    print(f"wrote {args.output}: {len(chosen)} identities, RGB (top) and IR (bottom)")


if __name__ == "__main__":
    main()
