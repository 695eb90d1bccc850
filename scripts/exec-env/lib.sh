# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Settings and helpers shared by setup.sh, teardown.sh and smoke.sh.
# Every setting can be overridden from the environment.

# Pinned versions. buildx v0.38.2 itself requires github.com/moby/buildkit
# v0.34.2, and both modules ask for go 1.26.8.
BUILDX_VERSION=${BUILDX_VERSION:-v0.38.2}
BUILDKIT_VERSION=${BUILDKIT_VERSION:-v0.34.2}
# trivy, as the image bkgen's scan steps name (scanner.TrivyImage); it needs
# Go's encoding/json/v2 (GOEXPERIMENT=jsonv2).
TRIVY_VERSION=${TRIVY_VERSION:-0.74.0}
# grype, as the image bkgen's scan steps name (scanner.GrypeImage).
GRYPE_VERSION=${GRYPE_VERSION:-0.121.2}
# cosign, as the image bkgen's signing steps name (spec.DefaultCosignImage).
COSIGN_VERSION=${COSIGN_VERSION:-v2.6.5}

# Where things live.
CACHE_DIR=${BKGEN_EXEC_CACHE:-/var/cache/bkgen-exec}   # built binaries, debs, Go caches: kept
WORK_DIR=${BKGEN_EXEC_WORK:-/var/lib/bkgen-exec}       # docker data root, registries, certs
RUN_DIR=${BKGEN_EXEC_RUN:-/run/bkgen-exec}             # pids, sockets, logs of this boot
LOG_DIR=$RUN_DIR/logs
ENV_FILE=$RUN_DIR/env.sh                               # what a harness sources

# The network: docker0 and two addresses on it (one per registry, both on 443).
BRIDGE_CIDR=${BKGEN_EXEC_BRIDGE_CIDR:-172.17.0.1/16}
BRIDGE_IP=${BRIDGE_CIDR%/*}
FIXED_CIDR=${BKGEN_EXEC_FIXED_CIDR:-172.17.128.0/17} # containers get addresses only here
HOSTED_IP=${BKGEN_EXEC_HOSTED_IP:-172.17.0.2}        # so this one stays free for the second registry
DOCKER_SOCK=${BKGEN_EXEC_DOCKER_SOCK:-/var/run/docker.sock}

# The registries.
PACKAGES_HOST=${BKGEN_EXEC_PACKAGES_HOST:-packages.buildkite.com}
HOSTED_HOST=${BKGEN_EXEC_HOSTED_HOST:-hosted-registry.bkgen.test}
REGISTRY_USER=${BKGEN_EXEC_REGISTRY_USER:-buildkite}
REGISTRY_PASSWORD=${BKGEN_EXEC_REGISTRY_PASSWORD:-bkgen-exec-password}

# Images this environment makes.
BUILDKIT_IMAGE=${BKGEN_EXEC_BUILDKIT_IMAGE:-bkgen/buildkit:$BUILDKIT_VERSION}
BUILDX_DEFAULT_IMAGE=moby/buildkit:buildx-stable-1
# The image bkgen's own builder names (generator/steps.go, builderImage):
# moby/buildkit cannot be pulled here, so it is this local one.
BKGEN_BUILDER_IMAGE=moby/buildkit:$BUILDKIT_VERSION
BASE_REPO=${BKGEN_EXEC_BASE_REPO:-$PACKAGES_HOST/bkgen/base/busybox-bash}
# The SBOM generator stand-in (sbom-standin): the exec scenarios name it.
SBOM_STANDIN_IMAGE=$PACKAGES_HOST/bkgen/base/sbom-standin:1.0.0
# The images a scan step runs when the agent has no trivy or grype: made here.
TRIVY_IMAGE=aquasec/trivy:$TRIVY_VERSION
GRYPE_IMAGE=anchore/grype:v$GRYPE_VERSION
# The image a signing step runs when the agent has no cosign: made here.
COSIGN_IMAGE=ghcr.io/sigstore/cosign/cosign:$COSIGN_VERSION
# The signing key the exec scenarios sign with (made here) and its password.
COSIGN_DIR=$WORK_DIR/cosign
COSIGN_PASSWORD=${BKGEN_EXEC_COSIGN_PASSWORD:-bkgen-exec-cosign}
# The same image in the packages registry, as the mirror examples/scanners
# names (scan.image): pushed, not kept locally, so a scan step pulls it.
GRYPE_MIRROR_IMAGE=$PACKAGES_HOST/acme/mirror/$GRYPE_IMAGE
# trivy's vulnerability database, made here (scripts/exec-env/trivydb):
# pushed as a mirror, and in a cache directory scan steps are given.
TRIVY_DB_REPO=${BKGEN_EXEC_TRIVY_DB_REPO:-$PACKAGES_HOST/bkgen/mirror/trivy-db:2}
# Both scanners' databases (trivy/db, grype/6), as scan steps' cache.
SCAN_CACHE=$WORK_DIR/scan-cache

CA_NAME=bkgen-exec-ca
CA_CERT=$WORK_DIR/certs/ca.crt
BUILDKITD_TOML=$WORK_DIR/buildkitd.toml
BUILDX_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-buildx
HOSTS_BEGIN='# BEGIN bkgen-exec'
HOSTS_END='# END bkgen-exec'

# The docker CLI: the machine's newer one in /usr/local/bin when present (it
# finds plugins in /usr/local/lib/docker/cli-plugins and negotiates the API
# down to dockerd 20.10), else Debian's.
if [[ -z ${DOCKER:-} ]]; then
  if [[ -x /usr/local/bin/docker ]]; then DOCKER=/usr/local/bin/docker; else DOCKER=/usr/bin/docker; fi
fi

log() { printf '%s [exec-env] %s\n' "$(date +%T)" "$*" >&2; }
# die: say what failed and exit 3; a trap that sees status 3 knows it was
# said already (a die in a subshell is reported once).
die() {
  printf '%s [exec-env] FAILED: %s\n' "$(date +%T)" "$*" >&2
  exit 3
}

# pid_alive PIDFILE EXE: prints the pid when the process in PIDFILE is alive
# and runs EXE (its /proc/PID/exe basename), so a reused pid is never taken
# for ours.
pid_alive() {
  local pidfile=$1 exe=$2 pid
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  running "$pid" || return 1
  [[ $(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)") == "$exe" ]] || return 1
  echo "$pid"
}

# started PIDFILE: the process just started into PIDFILE has not exited. Its
# executable is not checked: right after `cmd &` it may still be the shell
# that is about to exec it.
started() { running "$(<"$1")"; }

# running PID: alive and not a zombie waiting for init to reap it.
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# stop_pid PIDFILE EXE [SECONDS]: TERM, wait, then KILL the one process.
stop_pid() {
  local pidfile=$1 exe=$2 wait=${3:-20} pid i
  if pid=$(pid_alive "$pidfile" "$exe"); then
    log "stopping $exe (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < wait * 10; i++)); do
      running "$pid" || break
      sleep 0.1
    done
    if running "$pid"; then
      log "$exe (pid $pid) still running after ${wait}s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$pidfile"
}

docker_up() { "$DOCKER" -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1; }
