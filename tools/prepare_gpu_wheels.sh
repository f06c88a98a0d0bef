#!/usr/bin/env bash
# Download, here, the cp312 wheels a bare GPU machine (Python 3.12 with torch, no package index) lacks,
# into .whl/ (ignored by git): the packages tools/gpu_check.sh installs there, at the tested versions
# (constraints.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${G2DA_VENV:-.venv}/bin/python"
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl \
    $(grep -E '^(fastreid|POT|faiss-cpu|yacs|termcolor)==' constraints.txt)
ls -l .whl
