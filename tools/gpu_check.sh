#!/usr/bin/env bash
# The GPU check, one script of at most 6 minutes: the demo trained and evaluated on the GPU, the GPU
# tests (a training step makes no synchronizing CUDA call; ranking on the device), then
# tools/benchmark_train.py (B, full G2DA, FastReID's bagtricks; ResNet-50 288x144, batch 64) and
# tools/benchmark_eval.py on it. Prepare the wheels here first (bash tools/prepare_gpu_wheels.sh), then
# on the GPU machine, from the repository root, with .whl/ carried:
#   bash tools/gpu_check.sh [OUT_DIR]
# Everything printed goes to OUT_DIR/gpu_check.log ($OUT, else gpu_check_out/).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu_check_out}}"
mkdir -p "$out"
exec > >(tee "$out/gpu_check.log") 2>&1
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
date -u
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(), 'bf16', torch.cuda.is_bf16_supported())"
step() {
    local name=$1 start=$SECONDS; shift
    echo; echo "== $name ($(date -u +%T))"
    timeout "$@"; echo "exit $? after $((SECONDS - start)) s"
}
step "synthetic data" 45 python3 tools/make_synthetic_data.py --output datasets/synthetic --seed 0
step "demo (projects/G2DA/configs/demo.yml) on the GPU" 90 python3 tools/train_net.py \
    --config-file projects/G2DA/configs/demo.yml MODEL.DEVICE cuda DATALOADER.NUM_WORKERS 8 OUTPUT_DIR /tmp/g2da_demo
cp /tmp/g2da_demo/results.json "$out/demo_results.json" 2>/dev/null
step "GPU tests: no synchronizing call in a step, device ranking" 40 python3 -m pytest -q -p no:cacheprovider \
    tests/engine/test_cuda_step.py tests/evaluation/test_ranking.py
step "training benchmark" 150 python3 tools/benchmark_train.py --device cuda --iters 30 --warmup 10 \
    --parts-iters 5 --workers 12
step "evaluation benchmark" 25 python3 tools/benchmark_eval.py --device cuda
date -u
