#!/usr/bin/env bash
# Save after epoch 1, resume, finish: the log (loss of every step, lr, test metrics) must
# equal an uninterrupted run's exactly (the time column aside). Adam with a cosine
# schedule, so the optimizer state, Adam's step counter, the host step count and the
# loader's per-epoch shuffle all have to come back right.
#   resume_bitwise.sh DLC SOURCE_DIR [extra dlc train flags...]
set -euo pipefail
dlc=$1 src=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# dlc train keeps compiled kernels on disk: here, in this test's own directory (the
# runs after the first compile nothing).
export DLC_CACHE_DIR="$work/cache"
python3 "$src/tests/train/make_idx.py" "$work/data" 640 200
common=(train --model=mlp --data-dir="$work/data" --batch=64 --optimizer=adam --lr=2e-3 --lr-schedule=cosine
        --epochs=3 --seed=5 --threads=2 --progress=none "$@")

"$dlc" "${common[@]}" --log="$work/straight.csv"
"$dlc" "${common[@]}" --stop-after=1 --save="$work/ck.safetensors" --log="$work/resumed.csv"
"$dlc" "${common[@]}" --resume="$work/ck.safetensors" --log="$work/resumed.csv"

cut -d, -f1-7 "$work/straight.csv" > "$work/a"
cut -d, -f1-7 "$work/resumed.csv" > "$work/b"
rows=$(grep -c '^step,' "$work/a")
if [ "$rows" -ne 30 ] || [ "$(grep -c '^epoch,' "$work/a")" -ne 3 ]; then
  echo "FAIL: expected 30 step rows and 3 epoch rows, got:"; cat "$work/a"; exit 1
fi
if ! diff "$work/a" "$work/b"; then
  echo "FAIL: the resumed run's log differs from the uninterrupted run's"; exit 1
fi
# The run must have learned something, or the comparison proves little.
awk -F, '$1 == "epoch" { acc = $7 } END { if (acc < 50) { print "FAIL: test accuracy " acc " %"; exit 1 } }' "$work/a"
echo "PASS: $rows steps, resumed log equals the uninterrupted one bitwise"
