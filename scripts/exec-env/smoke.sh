#!/usr/bin/env bash
# Prove, for real, that the environment setup.sh brought up works: one
# PASS/FAIL line per check, then "N passed, N failed"; exit 1 when any failed.
#
#   scripts/exec-env/smoke.sh
#
# Each check's output is kept in $RUN_DIR/logs/smoke/. Like an agent's job,
# the checks run with a fresh DOCKER_CONFIG; the builder they create is
# removed at the end.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
[[ -r $ENV_FILE ]] || die "no $ENV_FILE: run setup.sh first"
# shellcheck source=/dev/null
. "$ENV_FILE"
docker_up || die "dockerd does not answer on $DOCKER_SOCK: run setup.sh first"

docker() { "$BKGEN_EXEC_DOCKER" "$@"; }

logs=$LOG_DIR/smoke
rm -rf "$logs" && mkdir -p "$logs"
work=$(mktemp -d /tmp/bkgen-exec-smoke.XXXXXX)
export DOCKER_CONFIG=$work/docker-config
mkdir -p "$DOCKER_CONFIG"
run=$(date +%s)
builder=bkgen-smoke-$run
packages=$BKGEN_EXEC_PACKAGES_HOST/acme/images
hosted=$BKGEN_EXEC_HOSTED_HOST
cleanup() {
  docker buildx rm --force "$builder" >/dev/null 2>&1
  docker buildx rm --force "$builder-pipeline" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0
# check NAME FUNCTION: run it, its output to a log, and say PASS or FAIL.
check() {
  local name=$1 fn=$2 t0=$SECONDS log=$logs/$2.log
  if "$fn" >"$log" 2>&1; then
    printf 'PASS  %-62s %3ds\n' "$name" $((SECONDS - t0))
    passed=$((passed + 1))
  else
    printf 'FAIL  %-62s %3ds  (%s)\n' "$name" $((SECONDS - t0)) "$log"
    sed 's/^/      | /' "$log" | tail -8
    failed=$((failed + 1))
  fi
}

# expect WANT CMD...: CMD's output holds WANT.
expect() {
  local want=$1 out
  shift
  out=$("$@" 2>&1)
  printf '%s\n' "$out"
  grep -qF -- "$want" <<<"$out" || {
    echo "expected \"$want\" in the output of: $*"
    return 1
  }
}

# A build context: FROM the local base image, a RUN step that proves where it
# ran and that the registry's name resolves there.
mkdir -p "$work/ctx"
cat >"$work/ctx/Dockerfile" <<'EOF'
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG SMOKE_RUN
RUN echo "run=$SMOKE_RUN arch=$(uname -m)" >/smoke.txt && nslookup packages.buildkite.com >/nslookup.txt 2>&1 || true
COPY Dockerfile /smoke.Dockerfile
EOF
build_args=(--build-arg "BASE_IMAGE=$BKGEN_EXEC_BASE_IMAGE" --build-arg "SMOKE_RUN=$run")

login_htpasswd() {
  printf 'wrong' | docker login "$BKGEN_EXEC_PACKAGES_HOST" -u "$BKGEN_EXEC_REGISTRY_USER" --password-stdin &&
    { echo "a wrong password was accepted"; return 1; }
  printf '%s' "$BKGEN_EXEC_REGISTRY_PASSWORD" |
    docker login "$BKGEN_EXEC_PACKAGES_HOST" -u "$BKGEN_EXEC_REGISTRY_USER" --password-stdin || return 1
  printf '%s' "$BKGEN_EXEC_REGISTRY_PASSWORD" |
    docker login "$hosted" -u "$BKGEN_EXEC_REGISTRY_USER" --password-stdin || return 1
  grep -F "\"$BKGEN_EXEC_PACKAGES_HOST\"" "$DOCKER_CONFIG/config.json"
}

# What bkgen's pipelines do: log in to packages.buildkite.com/ORG/REGISTRY.
login_with_path() {
  printf '%s' "$BKGEN_EXEC_REGISTRY_PASSWORD" |
    DOCKER_CONFIG=$work/path-login docker login "$packages" -u "$BKGEN_EXEC_REGISTRY_USER" --password-stdin || return 1
  cat "$work/path-login/config.json"
  DOCKER_CONFIG=$work/path-login docker buildx imagetools inspect "$BKGEN_EXEC_BASE_IMAGE"
}

docker_driver_push() {
  local ref=$packages/smoke-docker:$run
  docker buildx build --builder default "${build_args[@]}" --tag "$ref" --push \
    --metadata-file "$work/docker-driver.json" "$work/ctx" || return 1
  cat "$work/docker-driver.json"
  grep -q '"containerimage.digest"' "$work/docker-driver.json" || return 1
  docker buildx imagetools inspect "$ref" || return 1
  # A consumer: pull it and run something in it.
  docker rmi "$ref" >/dev/null 2>&1
  docker pull -q "$ref" && expect "run=$run arch=x86_64" docker run --rm "$ref" cat /smoke.txt
}

hosted_push() {
  local ref=$hosted/smoke-hosted:$run
  docker buildx build --builder default "${build_args[@]}" --tag "$ref" --push "$work/ctx" &&
    docker buildx imagetools inspect "$ref"
}

container_builder_cache() {
  local ref=$packages/smoke-container:$run cache=$packages/smoke-container:buildcache-main
  docker buildx create --name "$builder" --driver docker-container \
    --driver-opt "image=$BKGEN_EXEC_BUILDKIT_IMAGE" --buildkitd-config "$BKGEN_EXEC_BUILDKITD_TOML" \
    --bootstrap || return 1
  docker buildx inspect "$builder" || return 1
  BUILDX_BUILDER=$builder docker buildx build "${build_args[@]}" --tag "$ref" --push \
    --cache-from "type=registry,ref=$cache" --cache-to "type=registry,ref=$cache,mode=max" \
    --metadata-file "$work/container.json" "$work/ctx" || return 1
  docker buildx imagetools inspect "$cache" || return 1
  # The cache round trip: empty the builder's own cache, build again, and
  # the RUN step must come from the registry cache.
  docker buildx prune --builder "$builder" --all --force || return 1
  BUILDX_BUILDER=$builder docker buildx build --progress plain "${build_args[@]}" --tag "$ref" --push \
    --cache-from "type=registry,ref=$cache" "$work/ctx" >"$work/rebuild.log" 2>&1 || { cat "$work/rebuild.log"; return 1; }
  cat "$work/rebuild.log"
  grep -E 'RUN echo.*' "$work/rebuild.log" | head -3
  grep -qE '^#[0-9]+ CACHED' "$work/rebuild.log" && grep -q 'importing cache manifest' "$work/rebuild.log"
}

container_builder_dns() {
  # The RUN step of the build above resolved the registry's name in the builder.
  local ref=$packages/smoke-container:$run
  docker pull -q "$ref" >/dev/null && expect "$BKGEN_EXEC_BRIDGE_IP" docker run --rm "$ref" cat /nslookup.txt
}

multi_platform() {
  local ref=$packages/smoke-multi:$run
  BUILDX_BUILDER=$builder docker buildx build "${build_args[@]}" --platform linux/amd64,linux/arm64 \
    --tag "$ref" --push "$work/ctx" || return 1
  docker buildx imagetools inspect "$ref" | tee "$work/multi.txt" || return 1
  grep -q 'linux/arm64' "$work/multi.txt" && grep -q 'linux/amd64' "$work/multi.txt" || return 1
  docker pull -q --platform linux/arm64 "$ref" || return 1
  expect "run=$run arch=aarch64" docker run --rm --platform linux/arm64 "$ref" cat /smoke.txt
}

# bkgen's own builder command, as its pipelines run it in a job with a fresh
# DOCKER_CONFIG: no image named (buildx's pull of moby/buildkit:buildx-stable-1
# fails here, and it uses the local image of that name) and no buildkitd
# config (the image's own trusts the test CA).
pipeline_builder() {
  local name=$builder-pipeline
  docker buildx inspect "$name" >/dev/null 2>&1 ||
    docker buildx create --name "$name" --driver docker-container --bootstrap ||
    docker buildx inspect "$name" >/dev/null
}

default_builder_image() {
  local ref=$packages/smoke-pipeline:$run cache=$packages/smoke-pipeline:buildcache-main
  pipeline_builder || return 1
  BUILDX_BUILDER=$builder-pipeline docker buildx build "${build_args[@]}" --tag "$ref" --push \
    --cache-to "type=registry,ref=$cache,mode=max" "$work/ctx" || return 1
  # The next job: another fresh DOCKER_CONFIG, the same command, the same container.
  DOCKER_CONFIG=$work/next-job pipeline_builder || return 1
  printf '%s' "$BKGEN_EXEC_REGISTRY_PASSWORD" |
    DOCKER_CONFIG=$work/next-job docker login "$BKGEN_EXEC_PACKAGES_HOST" -u "$BKGEN_EXEC_REGISTRY_USER" --password-stdin || return 1
  DOCKER_CONFIG=$work/next-job BUILDX_BUILDER=$builder-pipeline docker buildx build "${build_args[@]}" \
    --tag "$ref" --push --cache-from "type=registry,ref=$cache" "$work/ctx" || return 1
  docker ps --filter "name=buildx_buildkit_$builder-pipeline" --format '{{.Names}} {{.Image}}' | tee "$work/pipeline-builders.txt"
  [[ $(wc -l <"$work/pipeline-builders.txt") == 1 ]]
}

container_dns() {
  expect "Address: $BKGEN_EXEC_BRIDGE_IP" docker run --rm "$BKGEN_EXEC_BASE_IMAGE" nslookup "$BKGEN_EXEC_PACKAGES_HOST" || return 1
  # The registry answers there (401 without credentials; busybox wget does not check the CA).
  expect "401" docker run --rm "$BKGEN_EXEC_BASE_IMAGE" wget -O- "https://$BKGEN_EXEC_PACKAGES_HOST/v2/" || return 1
  expect "Address: $BKGEN_EXEC_HOSTED_IP" docker run --rm "$BKGEN_EXEC_BASE_IMAGE" nslookup "$hosted" || return 1
  expect "401" docker run --rm "$BKGEN_EXEC_BASE_IMAGE" wget -O- "https://$hosted/v2/" || return 1
  # On a user-defined network, through docker's embedded DNS.
  docker network create "smoke-$run" >/dev/null || return 1
  expect "Address: $BKGEN_EXEC_BRIDGE_IP" docker run --rm --network "smoke-$run" "$BKGEN_EXEC_BASE_IMAGE" \
    nslookup "$BKGEN_EXEC_PACKAGES_HOST"
  local rc=$?
  docker network rm "smoke-$run" >/dev/null
  return $rc
}

privileged_container() {
  expect ok docker run --rm --privileged "$BKGEN_EXEC_BASE_IMAGE" sh -c 'echo ok'
}

t_all=$SECONDS
check "docker login with htpasswd credentials (both registries)" login_htpasswd
check "docker login $BKGEN_EXEC_PACKAGES_HOST/ORG/REGISTRY, then use it" login_with_path
check "privileged container (runtime without CAP_SYS_RESOURCE)" privileged_container
check "containers resolve and reach both registries through the DNS" container_dns
check "buildx build --push, docker driver, TLS+auth registry" docker_driver_push
check "buildx build --push to the hosted registry" hosted_push
check "docker-container builder: --push, --cache-to type=registry" container_builder_cache
check "RUN step in the builder resolves $BKGEN_EXEC_PACKAGES_HOST" container_builder_dns
check "--platform linux/amd64,linux/arm64 with RUN under emulation" multi_platform
check "bkgen's builder command: default image, fresh DOCKER_CONFIGs" default_builder_image
echo "smoke: $((SECONDS - t_all))s; logs in $logs"
echo "smoke: $passed passed, $failed failed"
((failed == 0))
