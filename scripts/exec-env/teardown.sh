#!/usr/bin/env bash
# Stop everything setup.sh started, each by its process id, and undo what
# only makes sense while it runs (docker0, the /etc/hosts names).
#
#   scripts/exec-env/teardown.sh           # stop; keep data, certificates, caches
#   scripts/exec-env/teardown.sh --purge   # also delete the work dir (docker data
#                                          # root, registries, CA) and the CA's trust
#   scripts/exec-env/teardown.sh --purge-cache   # --purge, and the built binaries
#
# Installed packages, the buildx plugin and binfmt entries stay.
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

purge='' purge_cache=''
rc=0
trap 'rc=$?; ((rc == 3)) && exit 3; die "teardown failed (status $rc) at line $LINENO: $BASH_COMMAND"' ERR
for arg in "$@"; do
  case $arg in
  --purge) purge=1 ;;
  --purge-cache) purge=1 purge_cache=1 ;;
  *) die "usage: teardown.sh [--purge | --purge-cache]" ;;
  esac
done
[[ $(id -u) == 0 ]] || die "run as root"

# dockerd first: it stops its containers (builders included) and its containerd.
stop_pid "$RUN_DIR/dockerd.pid" dockerd 60

# ours: the pids of the daemons whose command line names this environment's
# directories (containerd and its shims name the exec root).
ours() {
  local p cmd exe
  for p in /proc/[0-9]*; do
    exe=$(basename "$(readlink "$p/exe" 2>/dev/null)") || continue
    case $exe in
    dockerd | containerd | containerd-shim* | docker-registry | dnsmasq) ;;
    *) continue ;;
    esac
    cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    [[ $cmd == *"$RUN_DIR/"* || $cmd == *"$WORK_DIR/"* ]] && echo "${p#/proc/}"
  done
  return 0
}

# Whatever of its containerd and shims outlived it, by pid.
for pid in $(ours); do
  [[ $(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)") == containerd* ]] || continue
  log "stopping leftover pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-100)"
  kill -TERM "$pid" 2>/dev/null || true
done

stop_pid "$RUN_DIR/registry-packages.pid" docker-registry 10
stop_pid "$RUN_DIR/registry-hosted.pid" docker-registry 10
stop_pid "$RUN_DIR/dnsmasq.pid" dnsmasq 5

# Mounts dockerd or containerd left behind (the data root itself included:
# dockerd bind-mounts it onto itself).
awk '{print $2}' /proc/mounts | { grep -E "^($WORK_DIR/docker|$RUN_DIR/docker)(/|\$)" || true; } | sort -r |
  while read -r m; do
    log "unmounting $m"
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done

if ip link show docker0 >/dev/null 2>&1; then
  ip link delete docker0 || log "WARNING: could not delete docker0"
fi
[[ -S $DOCKER_SOCK ]] && ! docker_up && rm -f "$DOCKER_SOCK"

if grep -qx "$HOSTS_BEGIN" /etc/hosts; then
  sed "/^$HOSTS_BEGIN\$/,/^$HOSTS_END\$/d" /etc/hosts >"$RUN_DIR/hosts.new"
  cat "$RUN_DIR/hosts.new" >/etc/hosts
  rm -f "$RUN_DIR/hosts.new"
fi

rm -rf "$LOG_DIR.last"
[[ -d $LOG_DIR ]] && mv "$LOG_DIR" "$LOG_DIR.last"
rm -rf "$ENV_FILE" "$RUN_DIR/docker" "$RUN_DIR/setup-docker-config" "$RUN_DIR"/base-* "$RUN_DIR"/*.pid

if [[ -n $purge ]]; then
  if grep -qE " ($WORK_DIR|$RUN_DIR)/" /proc/mounts; then
    die "mounts remain under $WORK_DIR or $RUN_DIR; not deleting them"
  fi
  log "purging $WORK_DIR and the test CA's trust"
  rm -rf "$WORK_DIR"
  if [[ -e /usr/local/share/ca-certificates/$CA_NAME.crt ]]; then
    rm -f "/usr/local/share/ca-certificates/$CA_NAME.crt"
    update-ca-certificates --fresh >/dev/null 2>&1
  fi
  rm -rf "/etc/docker/certs.d/$PACKAGES_HOST" "/etc/docker/certs.d/$HOSTED_HOST"
fi
if [[ -n $purge_cache ]]; then
  log "purging $CACHE_DIR"
  rm -rf "$CACHE_DIR"
fi

# Nothing of ours may be left running.
sleep 0.5
left=$(ours | tr '\n' ' ')
[[ -z $left ]] || die "still running: pids $left"
log "teardown done"
