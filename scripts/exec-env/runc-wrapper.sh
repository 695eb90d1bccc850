#!/bin/sh
# dockerd's default runtime in the exec environment (installed by setup.sh as
# WORK_DIR/bin/bkgen-runc): Debian's runc, after removing CAP_SYS_RESOURCE
# from the OCI bundle (create/run) and from process files (exec).
#
# Why: the sandbox's root lacks CAP_SYS_RESOURCE in its bounding set, so any
# --privileged container (every docker-container BuildKit builder, and the
# `docker exec` buildx talks to it through) fails with "unable to apply caps:
# operation not permitted". Real agents do not need this.
set -eu

runc=${BKGEN_EXEC_RUNC:-/usr/sbin/runc}

strip_caps() {
  # $1: a JSON file; $2: the jq path of its capabilities object.
  [ -f "$1" ] || return 0
  grep -q CAP_SYS_RESOURCE "$1" || return 0
  tmp="$1.bkgen-exec.$$"
  jq -c "if $2 then $2 |= with_entries(.value |= if type == \"array\" then map(select(. != \"CAP_SYS_RESOURCE\")) else . end) else . end" "$1" >"$tmp"
  mv "$tmp" "$1"
}

prev=
for arg in "$@"; do
  case $prev in
  --bundle | -b) strip_caps "$arg/config.json" .process.capabilities ;;
  --process | -p) strip_caps "$arg" .capabilities ;;
  esac
  case $arg in
  --bundle=*) strip_caps "${arg#--bundle=}/config.json" .process.capabilities ;;
  --process=*) strip_caps "${arg#--process=}" .capabilities ;;
  esac
  prev=$arg
done
exec "$runc" "$@"
