#!/usr/bin/env bash
# Times the whole `bkgen generate` on the if_changed workload: 500 images,
# each with a consumer whose if_changed has two patterns, against a
# 50,000-path change list, for three pattern shapes. Target: under 0.2 s each.
#
#   scripts/bench-ifchanged.sh [RUNS]     (default 10 runs per shape)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/bkgen" ./cmd/bkgen
echo "bkgen generate, 500 images x 2 patterns vs 50,000 changed paths; best and median of $runs runs"
for shape in prefix anywhere braces; do
  repo="$work/$shape"
  go run ./internal/benchgen -shape "$shape" -dir "$repo"
  "$work/bkgen" generate -C "$repo" --changed-files changed.txt --max-jobs 100000 -q >/dev/null 2>&1 # warm the file cache
  times=()
  for ((i = 0; i < runs; i++)); do
    start=$(date +%s%N)
    # One step per image and consumer is more than one upload takes; the
    # time is what is measured here.
    "$work/bkgen" generate -C "$repo" --changed-files changed.txt --max-jobs 100000 -q >"$work/out.yml" 2>/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  best=$(head -n1 <<<"$sorted")
  median=$(sed -n "$(( (runs + 1) / 2 ))p" <<<"$sorted")
  steps=$(grep -c '^  - key:' "$work/out.yml")
  skipped=$(grep -c '^    skip:' "$work/out.yml" || true)
  printf '%-9s best %4d ms  median %4d ms  (%d steps, %d skipped)\n' "$shape" "$best" "$median" "$steps" "$skipped"
done
