#!/usr/bin/env bash
# Benchmarks contentkey on a generated repository of 100,000 files and 300
# images (about 330 files each), committed and cleanly checked out in a
# temporary directory: keys through git's index (the fast path) against
# hashing every file from disk. Prints both times per Compute and their
# ratio, and the time of listing and statting every file alone: the floor
# under any fast path that trusts no file it has not looked at.
# BENCHTIME sets the runs of each (default 5x).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test ./contentkey/ -run '^$' -bench '^BenchmarkCompute$' \
	-benchtime "${BENCHTIME:-5x}" -count 1 -timeout 30m -v
