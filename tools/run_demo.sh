#!/usr/bin/env bash
# Set up the environment if needed, generate the synthetic demo data, then train and evaluate the
# demo config (baseline B on synthetic SYSU-MM01, CPU-sized). Extra arguments are config overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
PY="${G2DA_VENV:-.venv}/bin/python"
"$PY" tools/make_synthetic_data.py --output datasets/synthetic --seed 0
exec "$PY" tools/train_net.py --config-file projects/G2DA/configs/demo.yml "$@"
