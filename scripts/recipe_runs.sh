#!/usr/bin/env bash
# The README's training table: the CLI defaults, no other flag, on MR and TREC (validation carved from train: they have
# no dev split) and SST-5 (its dev), each run timed; then each test set looked at once with `predict`.
#   bash scripts/recipe_runs.sh [OUT_DIR]      (needs ../shared/data; about 30 minutes on a 2-core CPU)
# With requirements-train.txt installed the default start is the pretrained encoder; without it, from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
D=../shared/data
OUT=${1:-work/recipe}
mkdir -p "$OUT"
run() { local name=$1; shift; /usr/bin/time -f "$name: %e s wall" python -m electra_demo train "$@" --log-dir "$OUT/runs" --overwrite --output "$OUT/$name" > "$OUT/$name.log" 2>&1; tail -n 1 "$OUT/$name.log"; grep -h "^val accuracy" "$OUT/$name.log"; }
run mr --train $D/mr/train.tsv --val-fraction 0.1
run trec --train $D/trec/train.tsv --val-fraction 0.1
run sst5 --train $D/sst5/train.tsv --val $D/sst5/dev.tsv
for name in mr trec sst5; do
  echo "== $name test"
  python -m electra_demo predict --checkpoint "$OUT/$name" --input $D/$name/test.tsv | tail -n 1
done
for i in 1 2; do  # reproducibility: same seed, same tokenizer (the MR model's), a short run from scratch
  python -m electra_demo train --train $D/mr/train.tsv --val-fraction 0.1 --tokenizer "$OUT/mr" --max-steps 300 --threads 1 \
    --log-dir "$OUT/runs" --overwrite --output "$OUT/repro-$i" > "$OUT/repro-$i.log" 2>&1
done
python - "$OUT" <<'PY'
import sys
from electra_demo.checkpoint import load_classifier
a, b = (load_classifier(f"{sys.argv[1]}/repro-{i}").info["val_accuracy"] for i in (1, 2))
print("reproducible:", a == b, a, b)
PY
