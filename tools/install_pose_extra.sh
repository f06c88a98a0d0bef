#!/usr/bin/env bash
# Install the optional pose extra (mmpose HRNet + mediapipe BlazePose) into the project's venv
# ($G2DA_VENV, default .venv), for tools/extract_keypoints.py and its tests. The core plug-in never
# imports any of it.
#
# Idempotent: a stamp in the venv keyed on this script's hash makes a re-run return at once; edit
# the script (or delete "$VENV/.g2da-pose-extra-stamp") to install again. Concurrent runs wait on
# a lock. A fresh install takes about a minute here (downloads ~45 MB; builds xtcocotools).
#
# Why it is not a plain "pip install mmpose mediapipe": their declared pins do not fit this stack
# (torch 2.x, numpy 2, Python 3.11, protobuf 6+ for tensorboard), so the packages go in with
# --no-deps and their real run-time needs are listed here:
#   * mmengine 0.10.7, mmcv-lite 2.1.0 (no compiled ops; g2da_plugin.pose.mmpose_compat stands in
#     for mmcv.ops), mmdet 3.2.0, mmpose 1.3.2: --no-deps (they ask for opencv-python, whose GUI
#     build would clash with opencv-python-headless; chumpy, only for SMPL; mmcv<2.2 ...).
#   * their imports need: addict yapf rich termcolor json-tricks munkres matplotlib scipy six tqdm
#     shapely terminaltables pycocotools, and pkg_resources (mmengine's config loader calls it):
#     setuptools<81 (81 removed pkg_resources; >=70.1 has bdist_wheel built in for the build below).
#   * xtcocotools 1.14.3: its PyPI wheels are built against numpy 1; rebuilt from source against
#     the venv's numpy 2 (--no-build-isolation, with cython and that setuptools in the venv).
#   * mediapipe 0.10.21 (the last wheel that ships BlazePose's weights): --no-deps (it pins
#     numpy<2, protobuf<5 and pulls jax, opencv-contrib, sounddevice, sentencepiece, none of which
#     the pose solution needs) + absl-py, flatbuffers, attrs, protobuf>=6.31.1,<7. protobuf<5 as
#     declared would break tensorboard (which needs >=6.31.1) and 7.x removed
#     FieldDescriptor.label, which mediapipe 0.10.21 uses; 6.33 works for both.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${G2DA_VENV:-.venv}
PY="$VENV/bin/python"
STAMP="$VENV/.g2da-pose-extra-stamp"

if [ ! -x "$PY" ]; then
  echo "install_pose_extra: no Python at $PY (create the venv first: bash tools/setup_env.sh)" >&2
  exit 1
fi
hash_of_inputs() { sha256sum tools/install_pose_extra.sh | cut -d' ' -f1; }
[ "$(cat "$STAMP" 2>/dev/null)" = "$(hash_of_inputs)" ] && exit 0

exec 9>"$VENV/.g2da-pose-extra.lock"
flock 9
[ "$(cat "$STAMP" 2>/dev/null)" = "$(hash_of_inputs)" ] && exit 0   # another run just finished

start=$(date +%s)
echo "installing the pose extra into $VENV; pip's 'dependency conflicts' notes about mmengine, mmcv-lite," \
  "mmpose and mediapipe (opencv-python, chumpy, jax, numpy<2, protobuf<5 ...) are expected: see the header"
PIP=("$PY" -m pip install --disable-pip-version-check -q)
"${PIP[@]}" "setuptools>=70.1,<81" "cython>=3,<4"
"${PIP[@]}" --no-deps mmengine==0.10.7 mmcv-lite==2.1.0 mmdet==3.2.0 mmpose==1.3.2
"${PIP[@]}" addict yapf rich termcolor json-tricks munkres matplotlib scipy six tqdm shapely terminaltables \
  pycocotools
"${PIP[@]}" --no-deps --no-build-isolation --no-binary xtcocotools xtcocotools==1.14.3
"${PIP[@]}" --no-deps mediapipe==0.10.21
"${PIP[@]}" absl-py flatbuffers attrs "protobuf>=6.31.1,<7"

# Check that everything imports (mmpose with the mmcv.ops stand-in) before writing the stamp.
"$PY" - <<'EOF'
import warnings
warnings.simplefilter("ignore")
from g2da_plugin.pose.mmpose_compat import import_mmpose, mmpose_config_path
import xtcocotools._mask  # noqa: F401  (the numpy-2 build)
import_mmpose()
mmpose_config_path()
from g2da_plugin.pose.mediapipe_pose import MediaPipeEstimator
MediaPipeEstimator().close()
EOF
hash_of_inputs > "$STAMP"
echo "pose extra ready in $VENV ($(( $(date +%s) - start )) s)"
