#!/usr/bin/env bash
# One prepared GPU run (issue 15): stages on the corpus x10 and the NLI scorer at 128 / 512
# tokens in bf16, with GPU utilisation. Needs the project's venv (make install) and a CUDA
# torch build on that machine; prints JSON rows and writes perf/results/gpu-<date>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
"$PY" perf/gpu.py --device cuda --factor 10 --pairs 20000 --batch-size 256 \
    --json "perf/results/gpu-$(date +%Y%m%d).json" "$@"
