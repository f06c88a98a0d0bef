#!/usr/bin/env bash
# Create or update the project's virtual environment (.venv, or $G2DA_VENV): the plug-in with its
# test and onnx extras (the onnx extra is some 40 MB; its tests and tools/export_onnx.py need it).
# Idempotent: a stamp of the install inputs makes a re-run with nothing changed take a second.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${G2DA_VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

stamp_of_inputs() { cat setup.cfg pyproject.toml constraints.txt tools/setup_env.sh | sha256sum | cut -d' ' -f1; }

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
if [ "$(cat "$VENV/.g2da-setup-stamp" 2>/dev/null)" = "$(stamp_of_inputs)" ]; then
  exit 0
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${PIP[@]}" --upgrade pip
# The tested versions (constraints.txt) within setup.cfg's ranges; torch first, so that nothing
# below pulls another build of it.
"${PIP[@]}" -c constraints.txt torch torchvision
# fastreid 1.4.0 pins torch 1.13.1 (no Python 3.11 build): install it alone; its real runtime
# needs are g2da_plugin's install_requires (setup.cfg), and g2da_plugin.compat makes it run.
"${PIP[@]}" -c constraints.txt --no-deps fastreid
"${PIP[@]}" -c constraints.txt -e ".[test,onnx]"
stamp_of_inputs > "$VENV/.g2da-setup-stamp"
echo "environment ready: $VENV"
