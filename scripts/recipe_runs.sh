#!/usr/bin/env bash
# The README's training table: the default recipe, no other flag, on MR (dev carved from train) and SST-5 (its dev),
# each test set looked at once; then the reproducibility check (two runs, same seed, same tokenizer).
#   bash scripts/recipe_runs.sh [OUT_DIR]      (needs ../shared/data; about 20 minutes on a 2-core CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
D=../shared/data
OUT=${1:-work/recipe}
run() { python -m electra_demo train "$@" --log-dir "$OUT/runs" --overwrite; }
run --train $D/mr/train.tsv --val-fraction 0.1 --output "$OUT/mr"
python -m electra_demo predict --checkpoint "$OUT/mr" --input $D/mr/test.tsv
run --train $D/sst5/train.tsv --val $D/sst5/dev.tsv --output "$OUT/sst5"
python -m electra_demo predict --checkpoint "$OUT/sst5" --input $D/sst5/test.tsv
for i in 1 2; do  # same seed, same tokenizer (the MR model's), a short run: the dev accuracies must match
  run --train $D/mr/train.tsv --val-fraction 0.1 --tokenizer "$OUT/mr" --max-steps 300 --threads 1 --output "$OUT/repro-$i"
done
python - "$OUT" <<'PY'
import sys
from electra_demo.checkpoint import load_classifier
a, b = (load_classifier(f"{sys.argv[1]}/repro-{i}").info["val_accuracy"] for i in (1, 2))
print("reproducible:", a == b, a, b)
PY
