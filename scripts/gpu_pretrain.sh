#!/usr/bin/env bash
# ELECTRA pretraining on one GPU (issue 5), the repo's own command. Reproduce or extend with a GPU:
#   1. here (CPU), build the tokenizer + packed data once (about a minute, ~18 MB, git-ignored):
#        python -m electra_demo pretrain --corpus ../shared/data/corpus/train --extra-text ../shared/data/sst2/train.tsv \
#          --extra-repeat 3 --max-chars 30000000 --cache-dir work/pretrain-cache --prepare-only
#   2. on the GPU machine, from the repo root, with work/pretrain-cache carried along:
#        OUT=/some/dir MINUTES=8 bash scripts/gpu_pretrain.sh
#   3. here: python -m electra_demo train --backbone "$OUT/pretrained-gpu" ... (the fine-tuning recipe in checkpoints/electra-sst2/README.md)
# CPU dry run of this exact script (a few steps, no compile):
#   OUT=/tmp/dry ACCEL=cpu PRECISION=32-true COMPILE= STEPS=3 BATCH=8 WORKERS=0 bash scripts/gpu_pretrain.sh
# bf16 autocast, large batches, fused AdamW and torch.compile keep the small model busy; the
# discriminator comes back as bf16 safetensors (~10 MB) to fit the device tool's return limits.
set -euo pipefail
OUT=${OUT:-work}
MINUTES=${MINUTES:-8}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python -m electra_demo pretrain --cache-dir work/pretrain-cache --preset mini --seq-len 64 \
  --batch-size "${BATCH:-512}" --lr "${LR:-2e-3}" --warmup-steps "${WARMUP:-1000}" --max-steps "${STEPS:-20000}" \
  --max-time "00:00:$(printf %02d "$MINUTES"):00" --precision "${PRECISION:-bf16-mixed}" --accelerator "${ACCEL:-gpu}" \
  --devices 1 ${COMPILE---compile} --num-workers "${WORKERS:-4}" --save-every 2000 --save-dtype bfloat16 --log-dir "$OUT/runs" --output "$OUT/pretrained-gpu" \
  2>&1 | tee "$OUT/pretrain-gpu.log"
