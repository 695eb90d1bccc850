#!/usr/bin/env bash
# Run the execution harness: bring up the environment (scripts/exec-env),
# run every example and extra scenario for real under both builder
# profiles, print the scenario table, and stop the environment again.
#
#   scripts/exec-test.sh                 # everything
#   scripts/exec-test.sh --keep          # leave the environment running afterwards
#   BKGEN_EXEC_SCENARIOS='^base-app$' BKGEN_EXEC_PROFILES=container scripts/exec-test.sh --keep
#
# Needs root on Debian 12 (see scripts/exec-env/README.md). The table, the
# rows as JSON and every job's log go to $BKGEN_EXEC_RESULTS (default: a new
# directory under /tmp/bkgen-exec-results). An environment that was already
# running when this started is left running: it may be someone else's.
# Scenarios run BKGEN_EXEC_PARALLEL at once (default 4: their jobs wait on
# registries and builders as much as on the CPU), their jobs BKGEN_EXEC_JOBS
# at once (default 4).
# Exit status: the test's (1 when any scenario FAILs; NOT EXECUTABLE is no failure).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
keep=
for arg in "$@"; do
  case $arg in
  --keep) keep=1 ;;
  *) echo "usage: scripts/exec-test.sh [--keep]" >&2; exit 2 ;;
  esac
done

# shellcheck source-path=SCRIPTDIR source=exec-env/lib.sh
. "$repo/scripts/exec-env/lib.sh"
was_running=
[[ -r $ENV_FILE ]] && docker_up && was_running=1

t0=$SECONDS
"$repo/scripts/exec-env/setup.sh" || exit 1
echo "--- environment up in $((SECONDS - t0))s"

export BKGEN_EXEC=1 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export BKGEN_EXEC_RESULTS=${BKGEN_EXEC_RESULTS:-/tmp/bkgen-exec-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$BKGEN_EXEC_RESULTS"
t1=$SECONDS
(cd "$repo" && go test ./exectest -run '^(TestExecution|TestConsumerCancel)$' -count=1 -v -timeout 45m -parallel "${BKGEN_EXEC_PARALLEL:-4}") >"$BKGEN_EXEC_RESULTS/go-test.log" 2>&1
status=$?
echo "--- harness: $((SECONDS - t1))s (go test exit $status; its output: $BKGEN_EXEC_RESULTS/go-test.log)"
if [[ -s $BKGEN_EXEC_RESULTS/table.txt ]]; then
  cat "$BKGEN_EXEC_RESULTS/table.txt"
else
  tail -40 "$BKGEN_EXEC_RESULTS/go-test.log"
fi

if [[ -n $keep ]]; then
  echo "--- the environment keeps running (scripts/exec-env/teardown.sh stops it)"
elif [[ -n $was_running ]]; then
  echo "--- the environment was running before this script: left running (scripts/exec-env/teardown.sh stops it)"
else
  "$repo/scripts/exec-env/teardown.sh"
fi
echo "--- total: $((SECONDS - t0))s"
exit "$status"
