#!/usr/bin/env bash
# Bring up, as root on Debian 12, everything the execution harness needs:
# Debian's Docker Engine with its own data root, buildx and a BuildKit image
# built from pinned sources, two TLS + htpasswd registries on docker0 (one
# named packages.buildkite.com), a DNS for containers, qemu binfmt entries,
# and busybox/bash base images for amd64 and arm64.
#
#   scripts/exec-env/setup.sh            # everything; idempotent
#   scripts/exec-env/setup.sh STAGE...   # only these stages, in this order
#
# Stages: packages tools certs binfmt docker dns registries buildkit-image
# base-images scanners env. Afterwards `source /run/bkgen-exec/env.sh`; stop it all
# with teardown.sh. Exits nonzero, naming the stage, when anything fails.
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

stage=init
trap 'rc=$?; ((rc == 3)) && exit 3; die "stage \"$stage\" failed (status $rc) at line $LINENO: $BASH_COMMAND (logs: $LOG_DIR)"' ERR

[[ $(id -u) == 0 ]] || die "run as root"
[[ -r /etc/debian_version ]] || die "this needs Debian (12)"
mkdir -p "$CACHE_DIR/bin" "$WORK_DIR" "$RUN_DIR" "$LOG_DIR"

# One setup at a time.
exec 9>"$RUN_DIR/setup.lock"
flock -w 900 9 || die "another setup.sh holds $RUN_DIR/setup.lock"

APT_PACKAGES=(docker.io runc containerd iptables docker-registry apache2-utils openssl
  ca-certificates curl jq dnsmasq-base qemu-user-static binfmt-support busybox-static bash-static)

apt_updated=
apt_update() {
  [[ -n $apt_updated ]] && return 0
  log "apt-get update"
  apt-get update -qq
  apt_updated=1
}

stage_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    apt_update
    log "apt-get install ${missing[*]}"
    # Packages must not start their services (dockerd, the registry on :5000,
    # containerd): this script starts what it needs, by pid.
    local policy=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      >"$LOG_DIR/apt-install.log" 2>&1 || rc=$?
    [[ -n $policy ]] && rm -f /usr/sbin/policy-rc.d
    ((rc == 0)) || die "apt-get install failed (see $LOG_DIR/apt-install.log): $(tail -3 "$LOG_DIR/apt-install.log")"
  else
    log "packages: all present"
  fi

  # The base images' binaries, for both architectures, as .deb files (the
  # arm64 ones cannot be installed beside the amd64 ones).
  local arch pkg debs=$CACHE_DIR/debs
  mkdir -p "$debs"
  for arch in amd64 arm64; do
    for pkg in busybox-static bash-static; do
      compgen -G "$debs/${pkg}_*_$arch.deb" >/dev/null && continue
      if [[ $arch != "$(dpkg --print-architecture)" ]] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        log "dpkg --add-architecture $arch"
        dpkg --add-architecture "$arch"
        apt_updated=
      fi
      apt_update
      log "apt-get download $pkg:$arch"
      (cd "$debs" && apt-get download -qq "$pkg:$arch") >>"$LOG_DIR/apt-download.log" 2>&1 ||
        log "WARNING: could not download $pkg:$arch (see $LOG_DIR/apt-download.log); base images will lack $arch"
    done
  done
}

# go_env: a private Go environment, so the builds neither use nor fill root's
# caches, and "cold" means an empty $CACHE_DIR/go.
go_env() {
  export GOMODCACHE=$CACHE_DIR/go/mod GOCACHE=$CACHE_DIR/go/build GOPATH=$CACHE_DIR/go/path
  export GOTOOLCHAIN=${BKGEN_EXEC_GOTOOLCHAIN:-auto} CGO_ENABLED=0 GOFLAGS=
  command -v go >/dev/null || export PATH=/usr/local/go/bin:$PATH
  command -v go >/dev/null || die "no go on PATH (expected /usr/local/go/bin/go)"
}

stage_tools() {
  local bx_dir=$CACHE_DIR/bin/buildx-$BUILDX_VERSION bk_dir=$CACHE_DIR/bin/buildkit-$BUILDKIT_VERSION tmp prefetch=
  # Building is CPU-bound and downloading modules is not: fetch the
  # scanners' modules (go install -n resolves and downloads, and builds
  # nothing) while buildx and BuildKit compile.
  if [[ ! -x $CACHE_DIR/bin/trivy-$TRIVY_VERSION/trivy || ! -x $CACHE_DIR/bin/grype-$GRYPE_VERSION/grype || ! -x $CACHE_DIR/bin/cosign-$COSIGN_VERSION/cosign ]]; then
    (
      go_env
      for pkg in "github.com/aquasecurity/trivy/cmd/trivy@v$TRIVY_VERSION" "github.com/anchore/grype/cmd/grype@v$GRYPE_VERSION" "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION"; do
        GOEXPERIMENT=jsonv2 go install -n "$pkg" >/dev/null 2>&1 || true
      done
    ) >"$LOG_DIR/prefetch.log" 2>&1 &
    prefetch=$!
  fi
  if [[ ! -x $bx_dir/docker-buildx ]]; then
    (
      go_env
      tmp=$(mktemp -d "$CACHE_DIR/bin/.buildx.XXXXXX")
      log "building buildx $BUILDX_VERSION (go install; a few minutes on 2 cores)"
      local t0=$SECONDS
      # Without inlining, as the scanners (see go_tool): a client that
      # mostly waits on BuildKit loses nothing that shows.
      GOBIN=$tmp go install -trimpath -gcflags=all=-l \
        -ldflags "-s -w -X github.com/docker/buildx/version.Version=$BUILDX_VERSION -X github.com/docker/buildx/version.Package=github.com/docker/buildx" \
        "github.com/docker/buildx/cmd/buildx@$BUILDX_VERSION" >"$LOG_DIR/build-buildx.log" 2>&1 ||
        { rm -rf "$tmp"; die "building buildx failed: $(tail -5 "$LOG_DIR/build-buildx.log")"; }
      mv "$tmp/buildx" "$tmp/docker-buildx"
      rm -rf "$bx_dir" && mv "$tmp" "$bx_dir"
      log "built buildx in $((SECONDS - t0))s"
    )
  fi
  if [[ ! -x $bk_dir/buildkitd || ! -x $bk_dir/buildctl ]]; then
    (
      go_env
      local t0=$SECONDS src mod
      log "building buildkitd and buildctl $BUILDKIT_VERSION"
      # go install refuses this module (its go.mod has exclude directives):
      # build inside a writable copy of it from the module cache.
      mod=$(go mod download -json "github.com/moby/buildkit@$BUILDKIT_VERSION" | jq -r .Dir) ||
        die "go mod download github.com/moby/buildkit@$BUILDKIT_VERSION failed"
      tmp=$(mktemp -d "$CACHE_DIR/bin/.buildkit.XXXXXX")
      src=$tmp/src
      cp -r "$mod" "$src" && chmod -R u+w "$src"
      (cd "$src" && go build -mod=mod -trimpath -o "$tmp/" \
        -ldflags "-s -w -X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION -X github.com/moby/buildkit/version.Package=github.com/moby/buildkit" \
        ./cmd/buildkitd ./cmd/buildctl) >"$LOG_DIR/build-buildkit.log" 2>&1 ||
        { rm -rf "$tmp"; die "building buildkit failed: $(tail -5 "$LOG_DIR/build-buildkit.log")"; }
      rm -rf "$src"
      rm -rf "$bk_dir" && mv "$tmp" "$bk_dir"
      log "built buildkit in $((SECONDS - t0))s"
    )
  fi
  [[ -z $prefetch ]] || wait "$prefetch" || true
  # trivy needs Go's encoding/json/v2.
  GOEXPERIMENT=jsonv2 go_tool trivy "$TRIVY_VERSION" "github.com/aquasecurity/trivy/cmd/trivy@v$TRIVY_VERSION" \
    "-X github.com/aquasecurity/trivy/pkg/version/app.ver=$TRIVY_VERSION"
  go_tool grype "$GRYPE_VERSION" "github.com/anchore/grype/cmd/grype@v$GRYPE_VERSION" "-X main.version=$GRYPE_VERSION"
  go_tool cosign "$COSIGN_VERSION" "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION" "-X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION"
  mkdir -p "$(dirname "$BUILDX_PLUGIN")"
  if ! cmp -s "$bx_dir/docker-buildx" "$BUILDX_PLUGIN"; then
    install -m 0755 "$bx_dir/docker-buildx" "$BUILDX_PLUGIN"
  fi
  log "tools: buildx $("$BUILDX_PLUGIN" version | awk '{print $2}'), buildkitd $("$bk_dir/buildkitd" --version | awk '{print $3}'), trivy $("$CACHE_DIR/bin/trivy-$TRIVY_VERSION/trivy" --version | awk 'NR == 1 {print $2}'), grype $("$CACHE_DIR/bin/grype-$GRYPE_VERSION/grype" version | awk '$1 == "Version:" {print $2}'), cosign $("$CACHE_DIR/bin/cosign-$COSIGN_VERSION/cosign" version 2>/dev/null | awk '$1 == "GitVersion:" {print $2}')"
}

# go_tool NAME VERSION PACKAGE@VERSION LDFLAGS: go install a scanner into
# CACHE/bin/NAME-VERSION/NAME, once. Without inlining (-gcflags=all=-l) it
# compiles about a sixth faster (grype: 115 s, not 139 s), and a scan of a
# test image takes seconds either way; the database tools are built with
# the same flags, so they reuse the scanners' compiled packages.
go_tool() {
  local name=$1 version=$2 pkg=$3 ldflags=$4 dir=$CACHE_DIR/bin/$1-$2
  [[ -x $dir/$name ]] && return
  (
    go_env
    local t0=$SECONDS tmp
    tmp=$(mktemp -d "$CACHE_DIR/bin/.$name.XXXXXX")
    log "building $name $version (go install; several minutes on 2 cores)"
    GOBIN=$tmp go install -trimpath -gcflags=all=-l -ldflags "-s -w $ldflags" "$pkg" >"$LOG_DIR/build-$name.log" 2>&1 ||
      { rm -rf "$tmp"; die "building $name failed: $(tail -5 "$LOG_DIR/build-$name.log")"; }
    chmod 755 "$tmp" && rm -rf "$dir" && mv "$tmp" "$dir"
    log "built $name in $((SECONDS - t0))s"
  )
}

# cert_ok CERT HOST IP: signed by our CA, for this name and address, valid a day more.
cert_ok() {
  [[ -s $1 ]] || return 1
  openssl verify -CAfile "$CA_CERT" "$1" >/dev/null 2>&1 || return 1
  openssl x509 -in "$1" -noout -checkend 86400 >/dev/null || return 1
  openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:$2, IP Address:$3\$"
}

stage_certs() {
  local d=$WORK_DIR/certs host ip
  mkdir -p "$d"
  if [[ ! -s $CA_CERT ]] || ! openssl x509 -in "$CA_CERT" -noout -checkend 86400 >/dev/null; then
    log "making the test CA"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=bkgen exec-env test CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout "$d/ca.key" -out "$CA_CERT" 2>/dev/null
  fi
  for host in "$PACKAGES_HOST" "$HOSTED_HOST"; do
    ip=$BRIDGE_IP
    [[ $host == "$HOSTED_HOST" ]] && ip=$HOSTED_IP
    cert_ok "$d/$host.crt" "$host" "$ip" && continue
    log "making the TLS certificate for $host ($ip)"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$host" -keyout "$d/$host.key" -out "$d/$host.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s,IP:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$host" "$ip" >"$d/$host.ext"
    openssl x509 -req -in "$d/$host.csr" -CA "$CA_CERT" -CAkey "$d/ca.key" -CAcreateserial \
      -days 825 -extfile "$d/$host.ext" -out "$d/$host.crt" 2>/dev/null
    cert_ok "$d/$host.crt" "$host" "$ip" || die "the certificate made for $host does not verify"
  done

  # Trust: the system store (curl, Go programs, dockerd), dockerd's certs.d,
  # and BuildKit (buildkitd.toml, for `docker buildx create --buildkitd-config`).
  if ! cmp -s "$CA_CERT" "/usr/local/share/ca-certificates/$CA_NAME.crt"; then
    install -m 0644 "$CA_CERT" "/usr/local/share/ca-certificates/$CA_NAME.crt"
    update-ca-certificates >/dev/null 2>&1
  fi
  for host in "$PACKAGES_HOST" "$HOSTED_HOST"; do
    mkdir -p "/etc/docker/certs.d/$host"
    cmp -s "$CA_CERT" "/etc/docker/certs.d/$host/ca.crt" || install -m 0644 "$CA_CERT" "/etc/docker/certs.d/$host/ca.crt"
  done
  {
    echo "# BuildKit trusts the exec environment's test CA for its registries."
    for host in "$PACKAGES_HOST" "$HOSTED_HOST"; do
      printf '[registry."%s"]\n  ca = ["%s"]\n' "$host" "$CA_CERT"
    done
  } >"$BUILDKITD_TOML"

  # htpasswd (bcrypt, which distribution requires), shared by both registries.
  local htpasswd=$WORK_DIR/registry/htpasswd
  mkdir -p "$WORK_DIR/registry"
  if ! htpasswd -vb "$htpasswd" "$REGISTRY_USER" "$REGISTRY_PASSWORD" >/dev/null 2>&1; then
    htpasswd -Bbc "$htpasswd" "$REGISTRY_USER" "$REGISTRY_PASSWORD" 2>/dev/null
  fi

  # The names, for the host (dockerd's pushes and pulls, curl, buildx).
  local hosts
  hosts=$(sed "/^$HOSTS_BEGIN\$/,/^$HOSTS_END\$/d" /etc/hosts)
  printf '%s\n%s\n%s %s\n%s %s\n%s\n' "$hosts" "$HOSTS_BEGIN" "$BRIDGE_IP" "$PACKAGES_HOST" \
    "$HOSTED_IP" "$HOSTED_HOST" "$HOSTS_END" >"$RUN_DIR/hosts.new"
  # /etc/hosts may be a bind mount: write in place, never rename over it.
  cmp -s "$RUN_DIR/hosts.new" /etc/hosts || cat "$RUN_DIR/hosts.new" >/etc/hosts
  rm -f "$RUN_DIR/hosts.new"
}

stage_binfmt() {
  local bm=/proc/sys/fs/binfmt_misc conf line name flags
  if [[ ! -e $bm/register ]]; then
    mount -t binfmt_misc binfmt_misc "$bm" || die "cannot mount binfmt_misc on $bm"
  fi
  [[ $(cat "$bm/status") == enabled ]] || echo 1 >"$bm/status"
  local n=0
  for conf in /usr/lib/binfmt.d/qemu-*.conf; do
    [[ -e $conf ]] || die "no /usr/lib/binfmt.d/qemu-*.conf: is qemu-user-static installed?"
    line=$(grep -v '^#' "$conf" | head -1)
    name=$(cut -d: -f2 <<<"$line")
    flags=$(awk -F: '{print $NF}' <<<"$line")
    [[ $flags == *F* ]] || line="${line}F"
    if [[ -e $bm/$name ]]; then
      # The F flag makes the kernel open the interpreter now, so it works in
      # containers (BuildKit's RUN steps) that do not have it in their root.
      grep -q '^flags:.*F' "$bm/$name" && { n=$((n + 1)) && continue; }
      echo -1 >"$bm/$name"
    fi
    echo "$line" >"$bm/register" || die "registering $name with binfmt_misc failed"
    n=$((n + 1))
  done
  grep -q '^flags:.*F' "$bm/qemu-aarch64" || die "qemu-aarch64 is not registered with the F flag"
  log "binfmt: $n qemu entries with the F flag"
}

stage_docker() {
  install -D -m 0755 "$here/runc-wrapper.sh" "$WORK_DIR/bin/bkgen-runc"
  if pid=$(pid_alive "$RUN_DIR/dockerd.pid" dockerd) && docker_up; then
    log "dockerd already running (pid $pid)"
  else
    docker_up && die "a dockerd that is not this environment's answers on $DOCKER_SOCK: stop it first"
    [[ -e $DOCKER_SOCK ]] && rm -f "$DOCKER_SOCK"
    # dockerd reads /etc/docker/daemon.json unless told otherwise: give it its own.
    echo '{}' >"$WORK_DIR/daemon.json"
    mkdir -p "$WORK_DIR/docker" "$RUN_DIR/docker"
    log "starting dockerd (data root $WORK_DIR/docker)"
    setsid dockerd \
      --config-file "$WORK_DIR/daemon.json" \
      --data-root "$WORK_DIR/docker" --exec-root "$RUN_DIR/docker" --pidfile "$RUN_DIR/docker.pid" \
      --host "unix://$DOCKER_SOCK" --storage-driver overlay2 \
      --bip "$BRIDGE_CIDR" --fixed-cidr "$FIXED_CIDR" --dns "$BRIDGE_IP" \
      --add-runtime "bkgen-runc=$WORK_DIR/bin/bkgen-runc" --default-runtime bkgen-runc \
      </dev/null >"$LOG_DIR/dockerd.log" 2>&1 9>&- &
    echo $! >"$RUN_DIR/dockerd.pid"
    local i
    for ((i = 0; i < 120; i++)); do
      docker_up && break
      started "$RUN_DIR/dockerd.pid" || die "dockerd exited: $(tail -5 "$LOG_DIR/dockerd.log")"
      sleep 0.5
    done
    docker_up || die "dockerd did not answer within 60s: $(tail -5 "$LOG_DIR/dockerd.log")"
  fi
  # The second registry's address, on docker0 outside the containers' range.
  ip -4 addr show dev docker0 | grep -q "inet $HOSTED_IP/" || ip addr add "$HOSTED_IP/32" dev docker0
  local info
  info=$("$DOCKER" info --format '{{.ServerVersion}} {{.Driver}} {{.DefaultRuntime}}')
  [[ $info == *" overlay2 bkgen-runc" ]] || die "dockerd is not as configured: $info"
  log "dockerd: $info"
}

stage_dns() {
  local conf=$WORK_DIR/dnsmasq.conf
  cat >"$conf.new" <<EOF
# Containers' DNS (dockerd --dns $BRIDGE_IP): the registries' names only.
port=53
listen-address=$BRIDGE_IP
bind-interfaces
no-resolv
no-hosts
no-poll
log-facility=-
address=/$PACKAGES_HOST/$BRIDGE_IP
address=/$HOSTED_HOST/$HOSTED_IP
# Authoritative for these names: an AAAA query gets "no such record", not REFUSED.
local=/$PACKAGES_HOST/
local=/$HOSTED_HOST/
EOF
  if pid=$(pid_alive "$RUN_DIR/dnsmasq.pid" dnsmasq) && cmp -s "$conf.new" "$conf"; then
    rm -f "$conf.new"
    log "dnsmasq already running (pid $pid)"
  else
    stop_pid "$RUN_DIR/dnsmasq.pid" dnsmasq 5
    mv "$conf.new" "$conf"
    setsid dnsmasq --keep-in-foreground --conf-file="$conf" --pid-file= \
      </dev/null >"$LOG_DIR/dnsmasq.log" 2>&1 9>&- &
    echo $! >"$RUN_DIR/dnsmasq.pid"
    sleep 0.3
    started "$RUN_DIR/dnsmasq.pid" || die "dnsmasq exited: $(tail -5 "$LOG_DIR/dnsmasq.log")"
  fi
}

# start_registry NAME HOST IP
start_registry() {
  local name=$1 host=$2 ip=$3 dir=$WORK_DIR/registry/$1 pidfile=$RUN_DIR/registry-$1.pid
  mkdir -p "$dir/data"
  cat >"$dir/config.yml.new" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $ip:443
  host: https://$host
  secret: bkgen-exec-$name
  tls:
    certificate: $WORK_DIR/certs/$host.crt
    key: $WORK_DIR/certs/$host.key
auth:
  htpasswd:
    realm: $host
    path: $WORK_DIR/registry/htpasswd
EOF
  if pid=$(pid_alive "$pidfile" docker-registry) && cmp -s "$dir/config.yml.new" "$dir/config.yml"; then
    rm -f "$dir/config.yml.new"
    log "registry $host already running (pid $pid)"
  else
    stop_pid "$pidfile" docker-registry 5
    mv "$dir/config.yml.new" "$dir/config.yml"
    setsid docker-registry serve "$dir/config.yml" </dev/null >"$LOG_DIR/registry-$name.log" 2>&1 9>&- &
    echo $! >"$pidfile"
  fi
  local i code=
  for ((i = 0; i < 50; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_CERT" "https://$host/v2/" || true)
    [[ $code == 401 ]] && break
    started "$pidfile" || die "registry $host exited: $(tail -5 "$LOG_DIR/registry-$name.log")"
    sleep 0.2
  done
  [[ $code == 401 ]] || die "https://$host/v2/ answered '$code', not 401: $(tail -5 "$LOG_DIR/registry-$name.log")"
  code=$(curl -s -o /dev/null -w '%{http_code}' -u "$REGISTRY_USER:$REGISTRY_PASSWORD" "https://$host/v2/")
  [[ $code == 200 ]] || die "https://$host/v2/ refused the test credentials ($code)"
}

stage_registries() {
  start_registry packages "$PACKAGES_HOST" "$BRIDGE_IP"
  start_registry hosted "$HOSTED_HOST" "$HOSTED_IP"
  log "registries: https://$PACKAGES_HOST and https://$HOSTED_HOST (TLS, htpasswd)"
}

image_label() { "$DOCKER" image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

stage_buildkit_image() {
  local bk_dir=$CACHE_DIR/bin/buildkit-$BUILDKIT_VERSION key
  [[ -x $bk_dir/buildkitd ]] || die "no buildkitd in $bk_dir: run the tools stage"
  key=$(cat "$bk_dir/buildkitd" "$bk_dir/buildctl" /usr/sbin/runc "$CA_CERT" "$here/setup.sh" | sha256sum | cut -c1-16)
  if [[ $(image_label "$BUILDKIT_IMAGE" bkgen.exec.key) != "$key" ]]; then
    log "making $BUILDKIT_IMAGE (docker import)"
    local root lib
    root=$(mktemp -d "$RUN_DIR/buildkit-root.XXXXXX")
    mkdir -p "$root"/{usr/bin,etc/buildkit/certs,etc/ssl/certs,var/lib/buildkit,run,proc,sys,dev,root}
    install -m 0755 -d "$root/tmp" && chmod 1777 "$root/tmp"
    install -m 0755 "$bk_dir/buildkitd" "$bk_dir/buildctl" /usr/sbin/runc "$root/usr/bin/"
    for lib in $(ldd /usr/sbin/runc | grep -o '/[^ ]*'); do
      cp --parents -L "$lib" "$root/"
    done
    install -m 0644 "$CA_CERT" "$root/etc/buildkit/certs/$CA_NAME.crt"
    install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    {
      for host in "$PACKAGES_HOST" "$HOSTED_HOST"; do
        printf '[registry."%s"]\n  ca = ["/etc/buildkit/certs/%s.crt"]\n' "$host" "$CA_NAME"
      done
    } >"$root/etc/buildkit/buildkitd.toml"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\n' >"$root/etc/group"
    tar -C "$root" --numeric-owner --owner=0 --group=0 -c . |
      "$DOCKER" import \
        --change 'ENTRYPOINT ["buildkitd"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'VOLUME /var/lib/buildkit' \
        --change "LABEL bkgen.exec.key=$key org.opencontainers.image.version=$BUILDKIT_VERSION" \
        - "$BUILDKIT_IMAGE" >/dev/null
    rm -rf "$root"
  fi
  "$DOCKER" tag "$BUILDKIT_IMAGE" "$BUILDX_DEFAULT_IMAGE"
  "$DOCKER" tag "$BUILDKIT_IMAGE" "$BKGEN_BUILDER_IMAGE"
  "$DOCKER" run --rm --entrypoint buildctl "$BUILDKIT_IMAGE" --version >/dev/null ||
    die "$BUILDKIT_IMAGE does not run buildctl"
  log "buildkit image: $BUILDKIT_IMAGE (also $BUILDX_DEFAULT_IMAGE, $BKGEN_BUILDER_IMAGE)"
}

# A docker config logged in to both registries, for setup's own pushes.
setup_docker_config() {
  export DOCKER_CONFIG=$RUN_DIR/setup-docker-config
  mkdir -p "$DOCKER_CONFIG"
  local host
  for host in "$PACKAGES_HOST" "$HOSTED_HOST"; do
    printf '%s' "$REGISTRY_PASSWORD" |
      "$DOCKER" login "$host" --username "$REGISTRY_USER" --password-stdin >/dev/null 2>&1 ||
      die "docker login $host failed"
  done
}

stage_base_images() {
  local debs=$CACHE_DIR/debs arch archs=() key root applets tag refs=()
  key=$(cat "$debs"/*-static_*.deb "$CA_CERT" "$here/setup.sh" | sha256sum | cut -c1-12)
  tag=$key
  setup_docker_config
  if "$DOCKER" buildx imagetools inspect "$BASE_REPO:$tag" >/dev/null 2>&1; then
    log "base image $BASE_REPO:$tag already in the registry"
  else
    applets=$(busybox --list-full)
    for arch in amd64 arm64; do
      compgen -G "$debs/busybox-static_*_$arch.deb" >/dev/null || continue
      compgen -G "$debs/bash-static_*_$arch.deb" >/dev/null || continue
      root=$(mktemp -d "$RUN_DIR/base-root.XXXXXX")
      dpkg-deb -x "$debs"/busybox-static_*_"$arch".deb "$root/x"
      dpkg-deb -x "$debs"/bash-static_*_"$arch".deb "$root/x"
      mkdir -p "$root/r"/{bin,sbin,usr/bin,usr/sbin,etc/ssl/certs,root,workdir,proc,sys,dev}
      install -m 0755 -d "$root/r/tmp" && chmod 1777 "$root/r/tmp"
      install -m 0755 "$root/x/bin/busybox" "$root/r/bin/busybox"
      install -m 0755 "$root/x/bin/bash-static" "$root/r/bin/bash"
      local a
      for a in $applets; do
        [[ -e $root/r/$a || -L $root/r/$a ]] || ln -s /bin/busybox "$root/r/$a"
      done
      printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/r/etc/passwd"
      printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/r/etc/group"
      printf 'hosts: files dns\n' >"$root/r/etc/nsswitch.conf"
      install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/r/etc/ssl/certs/ca-certificates.crt"
      # dockerd 20.10 ignores `docker import --platform`: build FROM scratch
      # with its BuildKit instead, which records the platform.
      printf 'FROM scratch\nCOPY r/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["/bin/sh"]\n' >"$root/Dockerfile"
      "$DOCKER" buildx build --builder default --platform "linux/$arch" --provenance=false --sbom=false \
        --tag "$BASE_REPO:$tag-$arch" --push "$root" >"$LOG_DIR/base-image-$arch.log" 2>&1 ||
        die "building $BASE_REPO:$tag-$arch failed: $(tail -5 "$LOG_DIR/base-image-$arch.log")"
      rm -rf "$root"
      archs+=("$arch")
      refs+=("$BASE_REPO:$tag-$arch")
    done
    ((${#archs[@]})) || die "no busybox-static/bash-static .deb files in $debs"
    "$DOCKER" buildx imagetools create --tag "$BASE_REPO:$tag" --tag "$BASE_REPO:latest" "${refs[@]}" >/dev/null 2>&1 ||
      die "docker buildx imagetools create $BASE_REPO:$tag failed"
    log "base image $BASE_REPO:$tag pushed for ${archs[*]}"
  fi
  # The SBOM generator specs name (sbom: {generator: ...}): a stand-in for
  # Syft's, which BuildKit runs as any generator.
  local ctx
  ctx=$(mktemp -d "$RUN_DIR/sbom-standin.XXXXXX")
  install -m 0755 "$here/sbom-standin" "$ctx/sbom-standin"
  printf 'FROM %s\nCOPY sbom-standin /usr/local/bin/sbom-standin\nENTRYPOINT ["/usr/local/bin/sbom-standin"]\n' "$BASE_REPO:$tag" >"$ctx/Dockerfile"
  "$DOCKER" buildx build --builder default --provenance=false --sbom=false --tag "$SBOM_STANDIN_IMAGE" --push "$ctx" \
    >"$LOG_DIR/sbom-standin.log" 2>&1 || die "building $SBOM_STANDIN_IMAGE failed: $(tail -5 "$LOG_DIR/sbom-standin.log")"
  rm -rf "$ctx"
  log "SBOM generator stand-in: $SBOM_STANDIN_IMAGE"
  # The host's own platform, also in dockerd's store under the plain tags.
  "$DOCKER" pull -q "$BASE_REPO:$tag" >/dev/null && "$DOCKER" tag "$BASE_REPO:$tag" "$BASE_REPO:latest"
  local platforms
  platforms=$("$DOCKER" buildx imagetools inspect "$BASE_REPO:$tag" --format '{{range .Manifest.Manifests}}{{.Platform.OS}}/{{.Platform.Architecture}} {{end}}')
  echo "$tag" >"$RUN_DIR/base-tag"
  echo "${platforms% }" >"$RUN_DIR/base-platforms"
  log "base image platforms: $platforms"
}

# scanner_image IMAGE BINARY VERSION: an image of one static scanner binary
# (its entrypoint) and the CA bundle, made by docker import.
scanner_image() {
  local image=$1 bin=$2 version=$3 key root name
  name=$(basename "$bin")
  key=$(cat "$bin" /etc/ssl/certs/ca-certificates.crt "$here/setup.sh" | sha256sum | cut -c1-16)
  if [[ $(image_label "$image" bkgen.exec.key) != "$key" ]]; then
    log "making $image (docker import)"
    root=$(mktemp -d "$RUN_DIR/$name-root.XXXXXX")
    mkdir -p "$root"/{usr/local/bin,etc/ssl/certs,proc,sys,dev}
    install -m 0755 -d "$root/tmp" && chmod 1777 "$root/tmp"
    install -m 0755 "$bin" "$root/usr/local/bin/$name"
    install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\n' >"$root/etc/group"
    tar -C "$root" --numeric-owner --owner=0 --group=0 -c . |
      "$DOCKER" import \
        --change "ENTRYPOINT [\"$name\"]" \
        --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
        --change "LABEL bkgen.exec.key=$key org.opencontainers.image.version=$version" \
        - "$image" >/dev/null
    rm -rf "$root"
  fi
  "$DOCKER" run --rm "$image" version >/dev/null || die "$image does not run $name"
}

# db_tool NAME: build scripts/exec-env/NAME (its own module), once per source.
db_tool() {
  local dir=$here/$1 tool
  tool=$CACHE_DIR/bin/$1-$(cat "$dir/go.mod" "$dir/go.sum" "$dir/main.go" | sha256sum | cut -c1-12)
  if [[ ! -x $tool ]]; then
    (
      go_env
      log "building $1"
      cd "$dir" || die "no $dir"
      go build -trimpath -gcflags=all=-l -o "$tool" . >"$LOG_DIR/build-$1.log" 2>&1 ||
        die "building $1 failed: $(tail -5 "$LOG_DIR/build-$1.log")"
    )
  fi
  echo "$tool"
}

# The scanners' images and databases, all made here: a scan step runs the
# real trivy or grype against a database that holds the advisories the
# stand-in images are built to match.
stage_scanners() {
  local tv=$CACHE_DIR/bin/trivy-$TRIVY_VERSION/trivy gr=$CACHE_DIR/bin/grype-$GRYPE_VERSION/grype tool
  [[ -x $tv && -x $gr ]] || die "no trivy or grype in $CACHE_DIR/bin: run the tools stage"
  scanner_image "$TRIVY_IMAGE" "$tv" "$TRIVY_VERSION"
  scanner_image "$GRYPE_IMAGE" "$gr" "$GRYPE_VERSION"

  rm -rf "$SCAN_CACHE.new" && mkdir -p "$SCAN_CACHE.new/trivy/db" "$SCAN_CACHE.new/grype"
  # trivy's: built with trivy-db's own code, then also pushed as trivy's
  # --db-repository expects.
  tool=$(db_tool trivydb)
  setup_docker_config
  "$tool" -out "$SCAN_CACHE.new/trivy/db" -push "$TRIVY_DB_REPO" >"$LOG_DIR/trivydb.log" 2>&1 ||
    die "making trivy's database failed: $(tail -5 "$LOG_DIR/trivydb.log")"
  "$DOCKER" tag "$GRYPE_IMAGE" "$GRYPE_MIRROR_IMAGE"
  "$DOCKER" push -q "$GRYPE_MIRROR_IMAGE" >/dev/null || die "pushing $GRYPE_MIRROR_IMAGE failed"
  "$DOCKER" rmi "$GRYPE_MIRROR_IMAGE" >/dev/null
  # grype's: built with grype's own database builder, in grype's cache layout.
  tool=$(db_tool grypedb)
  "$tool" -out "$SCAN_CACHE.new/grype" >"$LOG_DIR/grypedb.log" 2>&1 ||
    die "making grype's database failed: $(tail -5 "$LOG_DIR/grypedb.log")"
  GRYPE_DB_CACHE_DIR=$SCAN_CACHE.new/grype GRYPE_DB_AUTO_UPDATE=false "$gr" db status >"$LOG_DIR/grypedb-status.log" 2>&1 ||
    die "grype does not accept its database: $(tail -5 "$LOG_DIR/grypedb-status.log")"
  rm -rf "$SCAN_CACHE" && mv "$SCAN_CACHE.new" "$SCAN_CACHE"
  log "scanners: $TRIVY_IMAGE and $GRYPE_IMAGE (also at $GRYPE_MIRROR_IMAGE); databases in $SCAN_CACHE/{trivy,grype}, trivy's also at $TRIVY_DB_REPO"
}

# cosign's image, and the key pair the exec scenarios sign with.
stage_signing() {
  local cs=$CACHE_DIR/bin/cosign-$COSIGN_VERSION/cosign
  [[ -x $cs ]] || die "no cosign in $CACHE_DIR/bin: run the tools stage"
  scanner_image "$COSIGN_IMAGE" "$cs" "$COSIGN_VERSION"
  if [[ ! -s $COSIGN_DIR/cosign.key || ! -s $COSIGN_DIR/cosign.pub ]]; then
    rm -rf "$COSIGN_DIR" && mkdir -p "$COSIGN_DIR"
    (cd "$COSIGN_DIR" && COSIGN_PASSWORD=$COSIGN_PASSWORD "$cs" generate-key-pair >"$LOG_DIR/cosign-keys.log" 2>&1) ||
      die "cosign generate-key-pair failed: $(tail -5 "$LOG_DIR/cosign-keys.log")"
  fi
  log "signing: $COSIGN_IMAGE; key pair in $COSIGN_DIR"
}

stage_env() {
  local tag platforms
  tag=$(cat "$RUN_DIR/base-tag" 2>/dev/null || echo latest)
  platforms=$(cat "$RUN_DIR/base-platforms" 2>/dev/null || true)
  cat >"$ENV_FILE" <<EOF
# Written by scripts/exec-env/setup.sh: what the exec environment offers.
export BKGEN_EXEC_DOCKER=$DOCKER
export BKGEN_EXEC_DOCKER_SOCK=$DOCKER_SOCK
export BKGEN_EXEC_BRIDGE_IP=$BRIDGE_IP
export BKGEN_EXEC_HOSTED_IP=$HOSTED_IP
export BKGEN_EXEC_CA_CERT=$CA_CERT
export BKGEN_EXEC_PACKAGES_HOST=$PACKAGES_HOST
export BKGEN_EXEC_HOSTED_HOST=$HOSTED_HOST
export BKGEN_EXEC_REGISTRY_USER=$REGISTRY_USER
export BKGEN_EXEC_REGISTRY_PASSWORD=$REGISTRY_PASSWORD
export BKGEN_EXEC_BUILDKIT_IMAGE=$BUILDKIT_IMAGE
export BKGEN_EXEC_BUILDKITD_TOML=$BUILDKITD_TOML
export BKGEN_EXEC_BASE_IMAGE=$BASE_REPO:$tag
export BKGEN_EXEC_BASE_PLATFORMS="${platforms// /,}"
export BKGEN_EXEC_TRIVY_DIR=$CACHE_DIR/bin/trivy-$TRIVY_VERSION
export BKGEN_EXEC_GRYPE_DIR=$CACHE_DIR/bin/grype-$GRYPE_VERSION
export BKGEN_EXEC_COSIGN_DIR=$CACHE_DIR/bin/cosign-$COSIGN_VERSION
export BKGEN_EXEC_COSIGN_KEY=$COSIGN_DIR/cosign.key
export BKGEN_EXEC_COSIGN_PUB=$COSIGN_DIR/cosign.pub
export BKGEN_EXEC_COSIGN_PASSWORD=$COSIGN_PASSWORD
export BKGEN_EXEC_SCAN_CACHE=$SCAN_CACHE
export BKGEN_EXEC_TRIVY_DB_REPO=$TRIVY_DB_REPO
export BUILDKITE_HOSTED_REGISTRY_URL=$HOSTED_HOST
EOF
  log "environment ready: source $ENV_FILE"
}

ALL_STAGES=(packages tools certs binfmt docker dns registries buildkit-image base-images scanners signing env)
stages=("$@")
((${#stages[@]})) || stages=("${ALL_STAGES[@]}")
t_all=$SECONDS
for stage in "${stages[@]}"; do
  [[ " ${ALL_STAGES[*]} " == *" $stage "* ]] || die "unknown stage \"$stage\" (stages: ${ALL_STAGES[*]})"
  t0=$SECONDS
  "stage_${stage//-/_}"
  log "stage $stage: $((SECONDS - t0))s"
done
log "setup done in $((SECONDS - t_all))s"
