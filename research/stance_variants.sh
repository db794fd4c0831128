#!/usr/bin/env bash
# Stance variants on the dev gold: the stance and evaluate stages per variant, then a table of
# tune / test macro-F1 per target (the tune half chooses; the test half is reported only).
# Usage: research/stance_variants.sh OUT_DIR 'NAME:OVERRIDE OVERRIDE ...' ['NAME:...' ...]
#   e.g. research/stance_variants.sh /tmp/sv 'alias:' 'and_0.5:stance.none_rule=alias_and_relevance'
# Overrides are split like a shell command line (shlex), so a value with spaces is quoted:
#   'desc:stance.targets.taliban.description="the Taliban movement"'
# Inputs are this checkout's pipeline outputs (run `dvc repro topic stance_gold topic_short` first);
# the stance-gold and short-gold sections of each variant's evaluation are the pipeline's, not the variant's.
set -euo pipefail
OUT=${1:?usage: research/stance_variants.sh OUT_DIR 'NAME:OVERRIDES' ...}; shift
PY=${PYTHON:-python}
mkdir -p "$OUT"
for spec in "$@"; do
  name=${spec%%:*}; overrides=${spec#*:}
  d="$OUT/$name"; mkdir -p "$d"
  mapfile -d '' args < <($PY -c 'import shlex, sys; sys.stdout.write("".join(a + "\0" for a in shlex.split(sys.argv[1])))' "$overrides")
  $PY -m zeroshot_news compose "${args[@]}" -o "$d/params.yaml"
  $PY -m zeroshot_news -q stance --articles data/processed/articles.parquet --topics data/predictions/topics.parquet \
      --stance "$d/stance.parquet" --report "$d/stance_report.json" --params "$d/params.yaml"
  $PY -m zeroshot_news -q evaluate --topics data/predictions/topics.parquet --stance "$d/stance.parquet" \
      --articles data/processed/articles.parquet --removed data/processed/removed.parquet \
      --quarantine data/interim/quarantine.parquet --sentences data/interim/sentences.parquet \
      --metrics "$d/headline.json" --details "$d/evaluation.json" --plots-dir "$d/plots" \
      --crowd-out "$d/crowd_stance.parquet" --params "$d/params.yaml" \
      --stance-gold data/gold/stance_gold.csv --stance-gold-predictions data/predictions/stance_gold.parquet \
      --short-gold data/gold/short_gold.csv --short-gold-predictions data/predictions/topic_short.parquet
done
$PY - "$OUT" "$@" <<'PY'
import json, sys
out, specs = sys.argv[1], sys.argv[2:]
govs = ["russian_government", "ukrainian_government", "western_governments"]
print("| variant | overrides | " + " | ".join(f"{g} tune / test" for g in govs) + " | mean tune (3 gov.) |")
print("|---|---|" + "---|" * (len(govs) + 1))
for spec in specs:
    name, overrides = spec.split(":", 1)
    stance = json.load(open(f"{out}/{name}/evaluation.json"))["stance"]
    cells = [f"{stance[g]['halves']['tune']['macro_f1']:.3f} / {stance[g]['halves']['test']['macro_f1']:.3f}" for g in govs]
    mean = sum(stance[g]["halves"]["tune"]["macro_f1"] for g in govs) / len(govs)
    print(f"| {name} | `{overrides or '(default)'}` | " + " | ".join(cells) + f" | {mean:.4f} |")
PY
