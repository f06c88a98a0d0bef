#!/usr/bin/env bash
# Set up the environment (and the optional pose extra, which its tests exercise) if
# needed, then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
bash tools/install_pose_extra.sh
exec "${G2DA_VENV:-.venv}/bin/python" -m pytest -q "$@"
