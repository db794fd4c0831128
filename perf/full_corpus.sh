#!/usr/bin/env bash
# The default pipeline on the whole BBC corpus (corpus=bbc_full), stage by stage, in a scratch
# clone of this repository: cold (empty score cache, no ONNX export yet), then warm (every
# stage forced again with the cache kept). Prints one line per stage: wall seconds, peak RSS.
# Usage: perf/full_corpus.sh [WORK_DIR]     (issue 15, goal 2; the training stages are skipped)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$(mktemp -d)}
git clone -q "$REPO" "$WORK/clone"
cd "$WORK/clone"
ln -s "$REPO/.venv" .venv
export PATH="$PWD/.venv/bin:$PATH"
python -m zeroshot_news compose corpus=bbc_full -o params.yaml
STAGES="ingest clean self_train topic stance evaluate"
for pass in cold warm; do
  total=0
  for stage in $STAGES; do
    flag=""; [ "$pass" = warm ] && flag="--force"
    /usr/bin/time -f "%e %M" -o "$WORK/t" dvc repro $flag --single-item "$stage" > "$WORK/$pass-$stage.log" 2>&1
    read -r secs kb < "$WORK/t"
    printf '%-5s %-11s %8.1f s  %6d MB\n' "$pass" "$stage" "$secs" "$((kb / 1024))"
    total=$(python -c "print(round($total + $secs, 1))")
  done
  echo "$pass total $total s"
done
grep -h "INFO zeroshot_news.\(ingest\|clean\|topic\|stance\|self_train\): " "$WORK"/cold-*.log | cut -c1-200
