#!/usr/bin/env bash
# The prepared device run for a session that is lent a GPU machine (device tool, ~15 min budget):
#   run(command="bash bench/gpu_check.sh", timeout_s=540)
# Installs nothing: the device image has torch, transformers, numpy, pandas, scipy and scikit-learn.
# Writes its figures under $OUT (BENCHMARKS.md is updated here, from those files, afterwards).
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD"
OUT="${OUT:-bench/out/gpu}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print(torch.__version__, transformers.__version__, torch.cuda.is_available())" \
  | tee -a "$OUT/gpu.txt"
# 1M next-item events (20k users x 50, 10k items, full softmax): plain loop vs the product trainer,
# at the plain loop's batch and at a large batch; DR-JL on a Yahoo!R3-sized matrix
timeout 200 python3 bench/bench_train.py --device cuda --events 1000000 --epochs 4 --batch 256 \
  --json-out "$OUT/train_b256.json" 2>&1 | tee "$OUT/train_b256.md"
timeout 120 python3 bench/bench_train.py --device cuda --events 1000000 --epochs 4 --batch 2048 --skip-drjl \
  --json-out "$OUT/train_b2048.json" 2>&1 | tee "$OUT/train_b2048.md"
# the same machine's CPU (16 cores), one epoch less
timeout 150 python3 bench/bench_train.py --device cpu --events 1000000 --epochs 2 --batch 256 --skip-drjl \
  --json-out "$OUT/train_cpu.json" 2>&1 | tee "$OUT/train_cpu.md"
