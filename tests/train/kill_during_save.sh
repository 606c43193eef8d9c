#!/usr/bin/env bash
# Killing `dlc train` during a save never leaves a corrupt checkpoint: the file on disk
# is always a complete checkpoint (the previous one or the new one) that loads and
# validates. Two parts:
#  1. deterministic: the DLC_TEST_KILL_SAVE hook SIGKILLs the process in the middle of
#     writing the 2nd save and, in another run, between the complete temporary file and
#     the rename; the checkpoint of epoch 1 must remain and load.
#  2. random: SIGKILL at a random moment while it saves after every step (6 runs).
#   kill_during_save.sh DLC SOURCE_DIR
set -uo pipefail
dlc=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# dlc train keeps compiled kernels on disk: here, in this test's own directory (the
# runs after the first compile nothing).
export DLC_CACHE_DIR="$work/cache"
python3 "$src/tests/train/make_idx.py" "$work/data" 256 64 || exit 1
ck="$work/ck.safetensors"
common=(train --model=mlp --data-dir="$work/data" --batch=64 --max-steps=1 --test-limit=64 --threads=1
        --progress=none --save="$ck")
fail() { echo "FAIL: $*"; exit 1; }

# Loads and validates the checkpoint (names, shapes, metadata) and prints its epoch.
check() {
  local out
  out=$("$dlc" train --model=mlp --data-dir="$work/data" --batch=64 --epochs=0 --resume="$ck" --progress=none 2>&1) ||
    fail "checkpoint does not load after $1: $out"
  echo "$out" | grep -q "nothing to train" || fail "unexpected output after $1: $out"
  echo "$out" | sed -n 's/.*after epoch \([0-9]*\).*/\1/p'
}

for where in write rename; do
  rm -f "$ck" "$ck".tmp.*
  DLC_TEST_KILL_SAVE="2:$where" "$dlc" "${common[@]}" --epochs=5 > "$work/log" 2>&1
  rc=$?
  [ $rc -eq 137 ] || fail "expected the hook to SIGKILL dlc train (exit 137), got $rc: $(cat "$work/log")"
  epoch=$(check "a kill at save 2 ($where)")
  [ "$epoch" = 1 ] || fail "after a kill at save 2 ($where) the checkpoint is of epoch '$epoch', expected 1"
  echo "kill at save 2 ($where): the epoch-1 checkpoint survives intact"
done

loaded=0
for i in $(seq 1 6); do
  rm -f "$ck" "$ck".tmp.*
  "$dlc" "${common[@]}" --epochs=100000 > /dev/null 2>&1 &
  pid=$!
  # Wait for the first checkpoint (the first run compiles, the others load the kernels
  # from the disk cache), then kill at a random moment of the save-after-every-step loop.
  for _ in $(seq 1 600); do [ -e "$ck" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  [ -e "$ck" ] || fail "no checkpoint appeared in 60 s (run $i)"
  sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.3f", rand() }')"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  epoch=$(check "random kill $i")
  loaded=$((loaded + 1))
  echo "random kill $i: checkpoint of epoch $epoch loads ($(ls "$work" | grep -c '\.tmp\.') temporary file left)"
done
echo "PASS: every checkpoint left by a kill loads and validates ($loaded random kills, 2 hooked)"
