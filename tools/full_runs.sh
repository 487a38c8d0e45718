#!/usr/bin/env bash
# The model zoo's full FER2013 runs, one after another, each resumed where it stopped: run it
# again in every session until it says "all done". A run is done when its folder holds
# report.json (the trainer writes it when the run ends); one with a checkpoint is resumed; any
# other is started from configs/<name>.json. Runs at the lowest CPU priority, so that builds
# and benchmarks in the same session take precedence.
#
#   cargo build --release -p mien-train
#   nohup tools/full_runs.sh ../shared/fer2013 >> runs/full_runs.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:?usage: tools/full_runs.sh FER2013_DIR [NAME ...]}"
shift
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  # Cheapest first, so that the most runs finish per session.
  names=(baseline_cnn_fer2013 attention_cnn_fer2013 mini_xception_fer2013 region_ensemble_fer2013
         hybrid_transformer_fer2013 multi_scale_fer2013 efficientnet_b0_fer2013 vit_tiny_fer2013
         resnet18_fer2013 resnet50_fer2013)
fi
train="${TRAIN:-target/release/train}"
for name in "${names[@]}"; do
  out="runs/$name"
  if [ -f "$out/report.json" ]; then
    echo "== $name: done"
    continue
  fi
  if [ -f "$out/checkpoint/state.json" ] || [ -f "$out/checkpoint.old/state.json" ]; then
    echo "== $name: resuming ($(date -u +%FT%TZ))"
    nice -n 19 "$train" --out "$out" --resume --data "$data" >> "runs/$name.log" 2>&1
  else
    echo "== $name: starting ($(date -u +%FT%TZ))"
    nice -n 19 "$train" --config "configs/$name.json" --out "$out" --data "$data" >> "runs/$name.log" 2>&1
  fi
  echo "== $name: finished ($(date -u +%FT%TZ))"
done
echo "all done"
