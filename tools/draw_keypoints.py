#!/usr/bin/env python
"""Draw keypoints and the COCO skeleton over RGB and IR samples side by side (the paper's Fig. 3).

    python tools/draw_keypoints.py --keypoints datasets/SYSU-MM01/keypoints_hrnet.json \\
        [--dataset-dir DIR] [--num 4] [--output fig3.png] [--min-score 0.3] [--truth FILE] [--seed 0]

Picks ``--num`` identities that have both RGB and IR images in the keypoints file and draws one RGB
(top row) and one IR image (bottom row) of each, enlarged, with the skeleton: the person's left side
in orange, the right side in blue, the head and trunk in green. Keypoints whose score is below
``--min-score`` are drawn as small grey crosses and their limbs left out. ``--truth`` overlays
another keypoints file (e.g. a synthetic dataset's true ``keypoints.json``) as white dots.

Images are looked up under ``--dataset-dir`` (default: the keypoints file's folder). In a
SYSU-MM01 or RegDB folder the dataset's loader gives each image's modality; elsewhere a
single-channel image counts as IR. The parent folder names the identity (both released layouts:
``cam<c>/<pid>/``, ``Visible/<pid>/``). The picture is made by :mod:`g2da_plugin.pose.figure`.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes, dataset registration)
from g2da_plugin.pose.figure import keypoints_figure  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


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


@exit_on_input_error
def main(argv=None):
    args = parse_args(argv)
    figure, chosen = keypoints_figure(args.keypoints, args.dataset_dir, num=args.num, min_score=args.min_score,
                                      truth_file=args.truth, seed=args.seed)
    figure.save(args.output)
    print(f"wrote {args.output}: {len(chosen)} identities, RGB (top) and IR (bottom)")


if __name__ == "__main__":
    main()
