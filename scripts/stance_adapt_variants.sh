#!/usr/bin/env bash
# Label-free stance adaptation variants (adapt_stance), each judged like the trained model:
# its stance run (stance=trained, the adapted weights) and a margin sweep on the dev gold's
# TUNE half (scripts/stance_margin_sweep.py; test printed, never used).
# Usage: scripts/stance_adapt_variants.sh OUT_DIR 'NAME:ADAPT_OVERRIDES' ...
#   'base:' runs the unadapted trained model (no adapt_stance) as the reference.
set -euo pipefail
OUT=${1:?usage: scripts/stance_adapt_variants.sh OUT_DIR 'NAME:OVERRIDES' ...}; shift
PY=${PYTHON:-python}
mkdir -p "$OUT/inputs"
for f in data/predictions/topics.parquet data/processed/articles.parquet data/processed/removed.parquet \
         data/interim/quarantine.parquet data/interim/sentences.parquet; do
  ln -sf "$PWD/$f" "$OUT/inputs/"
done
for spec in "$@"; do
  name=${spec%%:*}; overrides=${spec#*:}
  d="$OUT/$name"; mkdir -p "$d"
  model=models/stance-minilm
  if [ "$name" != base ]; then
    model="$d/model"
    # shellcheck disable=SC2086  # overrides are separate words on purpose
    $PY -m zeroshot_news -q adapt_stance --articles data/processed/articles.parquet --report "$d/adapt.json" \
        --no-progress stance=trained "stance_adaptation.output_dir=$model" $overrides
  fi
  bash scripts/stance_variants.sh "$d/run" "trained:stance=trained stance.model.name_or_path=$model" >/dev/null
  $PY scripts/stance_margin_sweep.py "$d/run/trained/stance.parquet" "$d/run/trained/params.yaml" "$OUT/inputs" \
      "$d/margins" | tail -1 | sed "s/^/$name /"
done
