#!/usr/bin/env bash
# Dev-gold and VAST numbers of the stance variants (docs/research/stance.md), outputs in a scratch folder.
# Usage: research/stance_eval.sh OUT_DIR [INPUT_DIR]
#   INPUT_DIR holds the pipeline's articles, removed, quarantine, sentences and topics
#   parquet files (default: this checkout's data/ folders, as dvc.yaml lays them out).
set -euo pipefail
OUT=${1:?usage: research/stance_eval.sh OUT_DIR [INPUT_DIR]}
IN=${2:-}
PY=${PYTHON:-python}
art=${IN:+$IN/articles.parquet}; art=${art:-data/processed/articles.parquet}
rem=${IN:+$IN/removed.parquet}; rem=${rem:-data/processed/removed.parquet}
qua=${IN:+$IN/quarantine.parquet}; qua=${qua:-data/interim/quarantine.parquet}
sen=${IN:+$IN/sentences.parquet}; sen=${sen:-data/interim/sentences.parquet}
top=${IN:+$IN/topics.parquet}; top=${top:-data/predictions/topics.parquet}
mkdir -p "$OUT"
for variant in default trained; do
  d="$OUT/$variant"; mkdir -p "$d"
  $PY -m zeroshot_news compose "stance=$variant" -o "$d/params.yaml"
  $PY -m zeroshot_news stance --articles "$art" --topics "$top" --stance "$d/stance.parquet" \
      --report "$d/stance_report.json" --params "$d/params.yaml"
  $PY -m zeroshot_news evaluate --topics "$top" --stance "$d/stance.parquet" --articles "$art" \
      --removed "$rem" --quarantine "$qua" --sentences "$sen" --metrics "$d/headline.json" \
      --details "$d/evaluation.json" --plots-dir "$d/plots" --crowd-out "$d/crowd_stance.parquet" --params "$d/params.yaml" \
    --stance-gold data/gold/stance_gold.csv --stance-gold-predictions data/predictions/stance_gold.parquet \
    --short-gold data/gold/short_gold.csv --short-gold-predictions data/predictions/topic_short.parquet
done
# VAST test with the trained model (zero-shot topics reported as macro_f1_zero_shot).
d="$OUT/vast_trained"; mkdir -p "$d"
$PY -m zeroshot_news compose stance=trained benchmark@benchmarks.vast=vast_trained -o "$d/params.yaml"
$PY -m zeroshot_news benchmark --name vast --metrics "$d/headline.json" --details "$d/benchmark.json" \
    --predictions "$d/predictions.parquet" \
    --plots-dir "$d/plots" --params "$d/params.yaml"
