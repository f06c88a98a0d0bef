#!/usr/bin/env bash
# Set up the environment if needed, generate the synthetic demo data, then train and evaluate the
# full G2DA model (keypoints, OT, contrastive, MFA) on synthetic SYSU-MM01, CPU-sized, and print its
# numbers beside those of baseline B and the full model over several seeds (the committed seeds
# table). Extra arguments are config overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
PY="${G2DA_VENV:-.venv}/bin/python"
OUTPUT_DIR=logs/demo/g2da_full
"$PY" tools/make_synthetic_data.py --output datasets/synthetic --seed 0
"$PY" tools/train_net.py --config-file projects/G2DA/configs/demo_G2DA.yml "$@" OUTPUT_DIR "$OUTPUT_DIR"
echo
echo "This run beside the seeded runs of projects/G2DA/benchmarks/synthetic_seeds.md (1 thread each):"
exec "$PY" tools/compare_run.py --run "$OUTPUT_DIR" --seeds-table projects/G2DA/benchmarks/synthetic_seeds.json \
    --methods "B" "B+O+CL+G+MF (G2DA)"
