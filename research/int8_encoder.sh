#!/usr/bin/env bash
# The encoder in int8 (ONNX Runtime dynamic quantisation, `model.precision=int8`) against the
# default fp32, every topic and stance output that the embedding encoder makes: the pipeline's
# self_train, topic, topic_short, stance, stance_gold and evaluate stages and the AG News
# benchmark, run with the composed params of each precision, outputs in a scratch folder
# (docs/research/performance.md, issue 28). Inputs: this checkout's data/ (`dvc repro clean`).
# Usage: research/int8_encoder.sh OUT_DIR [PRECISION ...]   (default: fp32 int8)
#   HEAD=models/topic_head.json research/int8_encoder.sh OUT_DIR int8: the committed (fp32-fitted)
#   head on int8 vectors, as `classify model.precision=int8` runs, instead of a head fitted on them.
set -euo pipefail
OUT=${1:?usage: research/int8_encoder.sh OUT_DIR [PRECISION ...]}
shift
PY=${PYTHON:-python}
art=data/processed/articles.parquet
precisions=("$@"); [ ${#precisions[@]} -gt 0 ] || precisions=(fp32 int8)
for p in "${precisions[@]}"; do
    d="$OUT/$p"; mkdir -p "$d"
    $PY -m zeroshot_news compose "model.precision=$p" -o "$d/params.yaml"
    t0=$(date +%s)
    if [ -n "${HEAD:-}" ]; then
      cp "$HEAD" "$d/topic_head.json"
    else
      $PY -m zeroshot_news self_train --articles "$art" --shipped-head models/topic_head_shipped.json \
          --head "$d/topic_head.json" --report "$d/self_train.json" --params "$d/params.yaml"
    fi
    $PY -m zeroshot_news topic --articles "$art" --topics "$d/topics.parquet" --passages "$d/topic_passages.parquet" \
        --report "$d/topic.json" --head "$d/topic_head.json" --params "$d/params.yaml"
    $PY -m zeroshot_news topic_short --gold data/gold/short_gold.csv --head "$d/topic_head.json" \
        --predictions "$d/topic_short.parquet" --report "$d/topic_short.json" --params "$d/params.yaml"
    $PY -m zeroshot_news stance --articles "$art" --topics "$d/topics.parquet" --stance "$d/stance.parquet" \
        --report "$d/stance.json" --params "$d/params.yaml"
    $PY -m zeroshot_news stance_gold --gold data/gold/stance_gold.csv --items data/gold/stance/items.csv \
        --targets data/gold/stance/targets.yaml --predictions "$d/stance_gold.parquet" \
        --report "$d/stance_gold.json" --params "$d/params.yaml"
    $PY -m zeroshot_news evaluate --topics "$d/topics.parquet" --stance "$d/stance.parquet" --articles "$art" \
        --removed data/processed/removed.parquet --quarantine data/interim/quarantine.parquet \
        --sentences data/interim/sentences.parquet --metrics "$d/headline.json" --details "$d/evaluation.json" \
        --plots-dir "$d/plots" --crowd-out "$d/crowd_stance.parquet" \
        --stance-gold data/gold/stance_gold.csv --stance-gold-predictions "$d/stance_gold.parquet" \
        --short-gold data/gold/short_gold.csv --short-gold-predictions "$d/topic_short.parquet" --params "$d/params.yaml"
    t1=$(date +%s)
    $PY -m zeroshot_news benchmark --name agnews --metrics "$d/agnews.json" --details "$d/agnews_details.json" \
        --predictions "$d/agnews.parquet" --plots-dir "$d/agnews_plots" --params "$d/params.yaml"
    t2=$(date +%s)
    echo "$p: pipeline stages $((t1 - t0)) s, AG News $((t2 - t1)) s (score cache as found)" | tee "$d/timing.txt"
done
