#!/usr/bin/env bash
# The stance model's base and learning rate on VAST train read right (topic_str), compared on
# held-out VAST *train* topics (never VAST test, never the stance gold): 6,000 items, 1 epoch.
# Usage: research/stance_training_variants.sh OUT_DIR NAME 'OVERRIDES' [NAME 'OVERRIDES' ...]
#   e.g. research/stance_training_variants.sh /tmp/stv nli_1e-4 'stance_training.learning_rate=1e-4'
# Prints each variant's held-out macro-F1 and per-class F1 (OUT_DIR/NAME/metrics.json).
set -euo pipefail
OUT=${1:?usage: research/stance_training_variants.sh OUT_DIR NAME OVERRIDES ...}; shift
while [ $# -ge 2 ]; do
  name=$1; read -r -a overrides <<< "$2"; shift 2
  mkdir -p "$OUT/$name"
  python -m zeroshot_news train_stance --metrics "$OUT/$name/metrics.json" --plots-dir "$OUT/$name/plots" \
    --no-progress stance_training.max_train_items=6000 stance_training.epochs=1 \
    stance_training.output_dir="$OUT/$name/model" "${overrides[@]}" > "$OUT/$name/log.txt" 2>&1
  python - "$OUT/$name/metrics.json" "$name" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); v = m["validation"]
print(f"{sys.argv[2]:<16} held-out macro-F1 {v['macro_f1']:.4f} (before {m['validation_before_training']['macro_f1']:.4f})"
      f" per class {v['per_class_f1']} loss {m['final_train_loss']} {m['train_seconds']}s")
PY
done
