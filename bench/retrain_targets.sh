#!/bin/sh
# Reproduces the best retraining runs recorded in bench/RESULTS.md (Retraining): LeNet-300-100 and
# LeNet-5 on Fashion-MNIST (train on the 60k, accuracy on the 10k test set), each with retraining
# and, for comparison, the same settings without it (accuracy by `deepcomp eval` on the .dcz).
#
#   bench/retrain_targets.sh [BUILD_DIR] [OUT_DIR]      (defaults: build, /tmp/deepcomp-retrain)
#
# Prints one line per run: ratio (paper accounting), accuracy at each phase, retraining time.
# Threads: OMP_NUM_THREADS (the recorded runs used 1 or 2 on a shared 2-core VM).
set -eu
BUILD=${1:-build}
OUT=${2:-/tmp/deepcomp-retrain}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DC="$BUILD/deepcomp"
mkdir -p "$OUT"
TRAIN="--train-images $DATA/train-images-idx3-ubyte.gz --train-labels $DATA/train-labels-idx1-ubyte.gz"
VAL="--val-images $DATA/t10k-images-idx3-ubyte.gz --val-labels $DATA/t10k-labels-idx1-ubyte.gz"

summary() {  # NAME: ratio and accuracies from the report JSON
  /usr/bin/python3 - "$OUT/$1.json" "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
a = r.get("accuracy", {})
phases = " ".join(f"{k} {100 * v:.2f}%" for k, v in a.items())
extra = f", retraining {r['retrain_seconds']:.0f} s" if "retrain_seconds" in r else ""
print(f"{sys.argv[2]}: ratio {r['total']['ratio']:.2f}x {phases}{extra}")
EOF
}

run() {  # NAME MODEL ARGS...: compress with retraining
  name=$1 model=$2
  shift 2
  # shellcheck disable=SC2086
  "$DC" compress "$ROOT/models/$model.onnx" -o "$OUT/$name.dcz" --force -q --no-energy \
    --report-json "$OUT/$name.json" --retrain $TRAIN $VAL "$@"
  summary "$name"
}

plain() {  # NAME MODEL ARGS...: the same settings without retraining
  name=$1 model=$2
  shift 2
  "$DC" compress "$ROOT/models/$model.onnx" -o "$OUT/$name.dcz" --force -q --no-energy \
    --report-json "$OUT/$name.json" "$@"
  summary "$name"
  "$DC" eval "$OUT/$name.dcz" --images "$DATA/t10k-images-idx3-ubyte.gz" \
    --labels "$DATA/t10k-labels-idx1-ubyte.gz" --json |
    /usr/bin/python3 -c "import json, sys; print('  test top-1 without retraining: %.2f%%' % (100 * json.load(sys.stdin)['top1']))"
}

LENET300="--layer fc1.weight=prune:0.92 --layer fc2.weight=prune:0.85 --layer fc3.weight=prune:0.5 --bits-fc 4"
LENET5="--layer conv1.weight=prune:0.3 --layer conv2.weight=prune:0.87 --layer fc1.weight=prune:0.92 --layer fc2.weight=prune:0.8 --bits-conv 5 --bits-fc 4"
ADAM="--optimizer adam --lr-schedule cosine --share-lr-scale 0.1"

# shellcheck disable=SC2086
run lenet-300-100-retrained lenet-300-100 $LENET300 $ADAM --lr 1e-3 --prune-schedule geometric \
  --prune-steps 8 --epochs-prune 4 --epochs-share 4
# The highest ratio found at a loss of at most 0.1 points (lighter pruning, 5-bit sharing).
# shellcheck disable=SC2086
run lenet-300-100-lossless lenet-300-100 --layer fc1.weight=prune:0.87 --layer fc2.weight=prune:0.8 \
  --layer fc3.weight=prune:0.5 --bits-fc 5 $ADAM --lr 1e-3 --prune-schedule geometric \
  --prune-steps 6 --epochs-prune 4 --epochs-share 4
# shellcheck disable=SC2086
plain lenet-300-100-plain lenet-300-100 $LENET300
# shellcheck disable=SC2086
run lenet-5-retrained lenet-5 $LENET5 $ADAM --lr 5e-4 --prune-schedule geometric \
  --prune-steps 3 --epochs-prune 3 --epochs-share 2
# shellcheck disable=SC2086
plain lenet-5-plain lenet-5 $LENET5
