#!/usr/bin/env bash
# Reduced-budget variant sweep for the NLI cross-encoder (issue 4), one run at a time.
# Each variant = conf/nli_training/default.yaml + a baseline sweep budget + its own Hydra
# overrides; outputs go to $OUT/<variant>/ (model, metrics.json, plots), never to models/.
# Usage: research/nli_variants.sh [variant ...]   (default: all); summary: research/nli_variants.sh --table
#
# Runs behind the issue-4 table (2 shared CPU cores, so only part of the list was run):
#   research/nli_variants.sh baseline smooth0.1 lr1e-4 synthetic0 rte      # 10k pairs, 1 epoch each
#   PAIRS=3000 research/nli_variants.sh hyp_only                           # premise blanked
#   research/nli_variants.sh --table
# (len96 was not trained: 0% of xnli_en_test pairs and 1.4% of all pairs exceed 96 tokens, so it
#  cannot change XNLI and only truncates ~30% of ANLI premises; cosine / lr2e-5 / synthetic0.3
#  were not run for lack of CPU time.)
# Final model (the recipe in conf/nli_training/default.yaml, writes models/nli-minilm):
#   dvc repro train_nli --force   (python -m zeroshot_news train_nli --metrics ... --plots-dir ...)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-/tmp/nli}
PAIRS=${PAIRS:-10000}

# The sweep baseline: the pre-sweep recipe (lr 5e-5 linear, no smoothing, synthetic weight 1,
# max_length 128), 1 epoch over $PAIRS pairs, held out: XNLI-en test + ANLI r1-r3 dev.
BASE=(nli_training.max_train_pairs=$PAIRS nli_training.epochs=1 nli_training.learning_rate=5e-5
      nli_training.lr_schedule=linear nli_training.label_smoothing=0.0 nli_training.synthetic_weight=1.0 nli_training.max_length=128 nli_training.use_rte=false)

declare -A VARIANTS=(
  [baseline]=""
  [smooth0.1]="nli_training.label_smoothing=0.1"
  [synthetic0]="nli_training.synthetic_weight=0"
  [synthetic0.3]="nli_training.synthetic_weight=0.3"
  [len96]="nli_training.max_length=96"
  [rte]="nli_training.use_rte=true"
  [lr1e-4]="nli_training.learning_rate=1e-4"
  [lr2e-5]="nli_training.learning_rate=2e-5"
  [cosine]="nli_training.lr_schedule=cosine"
  [hyp_only]="--hypothesis-only"
)
ORDER=(baseline smooth0.1 synthetic0 len96 rte lr1e-4 cosine hyp_only synthetic0.3 lr2e-5)

if [[ "${1:-}" == "--table" ]]; then
  "$PY" - "$OUT" <<'PYEOF'
import json, sys, pathlib
rows = []
for m in sorted(pathlib.Path(sys.argv[1]).glob("*/metrics.json")):
    d = json.loads(m.read_text()); h = d["heldout"]; a = h["accuracy_by_source"]
    rows.append((m.parent.name, d["train_pairs"], d["epochs"], a.get("xnli_en_test"), a.get("ANLI_r1_dev"),
                 a.get("ANLI_r2_dev"), a.get("ANLI_r3_dev"), h["accuracy"], h["macro_f1"],
                 d["final_train_loss"], d["train_pairs_per_second"]))
print("| variant | train pairs | epochs | xnli_en_test | ANLI r1 | ANLI r2 | ANLI r3 | all held-out | macro-F1 | final loss | pairs/s |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(str(x) for x in r) + " |")
PYEOF
  exit 0
fi

for v in "${@:-${ORDER[@]}}"; do
  [[ -v "VARIANTS[$v]" ]] || { echo "unknown variant $v" >&2; exit 2; }
  echo "== $v $(date +%T)" >&2
  # shellcheck disable=SC2086
  nice -n 19 "$PY" -m zeroshot_news train_nli "${BASE[@]}" ${VARIANTS[$v]} \
    nli_training.output_dir="$OUT/$v/model" --metrics "$OUT/$v/metrics.json" --plots-dir "$OUT/$v" --no-progress
done
