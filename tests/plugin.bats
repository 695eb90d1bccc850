#!/usr/bin/env bats
# The plugin's command hook, for real: it downloads release artifacts made by
# scripts/release.sh from a loopback HTTP server (busybox httpd), verifies
# them, caches them, and runs bkgen upload with a stand-in buildkite-agent
# that records what it is handed.
#
#   bats tests/plugin.bats                  builds the artifacts it serves (the native platform)
#   BKGEN_DIST=DIR bats tests/plugin.bats   serves DIR, a release snapshot (.ci/run's)

hook="$BATS_TEST_DIRNAME/../hooks/command"

setup_file() {
  local root=$BATS_TEST_DIRNAME/.. dist www port
  dist=${BKGEN_DIST:-}
  if [[ -z $dist ]]; then
    dist=$BATS_FILE_TMPDIR/dist
    "$root/scripts/release.sh" --snapshot --platforms "$(go env GOOS)/$(go env GOARCH)" --out "$dist" >&3
  fi
  plat="$(go env GOOS)_$(go env GOARCH)"
  www=$BATS_FILE_TMPDIR/www
  # v1.2.3: the release as made. v6.6.6: a binary that is not the one
  # SHA256SUMS names. v7.7.7: a release without this platform.
  mkdir -p "$www/v1.2.3" "$www/v6.6.6" "$www/v7.7.7"
  cp "$dist/bkgen_$plat" "$dist/SHA256SUMS" "$www/v1.2.3/"
  cp "$dist/SHA256SUMS" "$www/v6.6.6/"
  { cat "$dist/bkgen_$plat"; echo tampered; } >"$www/v6.6.6/bkgen_$plat"
  grep -v "bkgen_$plat\$" "$dist/SHA256SUMS" >"$www/v7.7.7/SHA256SUMS" || true
  for port in $(shuf -i 20000-40000 -n 20); do
    busybox httpd -f -p "127.0.0.1:$port" -h "$www" &
    echo $! >"$BATS_FILE_TMPDIR/httpd.pid"
    sleep 0.2
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/v1.2.3/SHA256SUMS"; then
      echo "http://127.0.0.1:$port" >"$BATS_FILE_TMPDIR/url"
      break
    fi
    kill "$(cat "$BATS_FILE_TMPDIR/httpd.pid")" 2>/dev/null || true
  done
  [[ -s $BATS_FILE_TMPDIR/url ]] || { echo "no loopback HTTP server" >&3; return 1; }
  echo "$plat" >"$BATS_FILE_TMPDIR/plat"
}

teardown_file() {
  kill "$(cat "$BATS_FILE_TMPDIR/httpd.pid")" 2>/dev/null || true
}

setup() {
  url=$(cat "$BATS_FILE_TMPDIR/url")
  plat=$(cat "$BATS_FILE_TMPDIR/plat")
  # A repository with a spec, as the agent checks it out.
  repo=$BATS_TEST_TMPDIR/repo
  mkdir -p "$repo/.buildkite" "$repo/app"
  printf 'FROM scratch\n' >"$repo/app/Dockerfile"
  cat >"$repo/.buildkite/images.yml" <<'EOF'
version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app: {context: app, scan: false}
EOF
  git -C "$repo" init -q
  git -C "$repo" add -A
  git -C "$repo" -c user.email=ci@example.com -c user.name=ci commit -qm spec
  cd "$repo" || return 1
  # The stand-in agent: what pipeline upload and annotate were given.
  bin=$BATS_TEST_TMPDIR/bin
  mkdir -p "$bin"
  cat >"$bin/buildkite-agent" <<EOF
#!/usr/bin/env bash
echo "\$*" >>"$BATS_TEST_TMPDIR/agent-args"
cat >>"$BATS_TEST_TMPDIR/agent-stdin"
EOF
  chmod +x "$bin/buildkite-agent"
  export PATH="$bin:$PATH"
  export BKGEN_PLUGIN_CACHE_DIR=$BATS_TEST_TMPDIR/cache
  export BUILDKITE_PLUGINS='[{"github.com/bkgen/bkgen#v1.2.3":{"spec":".buildkite/images.yml"}}]'
  export BUILDKITE_PLUGIN_BKGEN_DOWNLOAD_URL=$url
  export BUILDKITE_PLUGIN_BKGEN_SPEC=.buildkite/images.yml
  export BUILDKITE_BRANCH=main BUILDKITE_PIPELINE_DEFAULT_BRANCH=main BUILDKITE_COMMIT=HEAD
}

@test "installs the pinned release, verified, and uploads with the plugin's options" {
  export BUILDKITE_PLUGIN_BKGEN_ANNOTATE=true BUILDKITE_PLUGIN_BKGEN_SKIPPED=omit
  export BUILDKITE_PLUGIN_BKGEN_UPLOAD_ARGS_0=--dry-run BUILDKITE_PLUGIN_BKGEN_UPLOAD_ARGS_1=--format=yaml
  run "$hook"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"bkgen v1.2.3 ($plat)"* ]]
  [[ $output == *"bkgen upload --spec .buildkite/images.yml --skipped omit --annotate -- --dry-run --format=yaml"* ]]
  grep -qx 'pipeline upload --dry-run --format=yaml' "$BATS_TEST_TMPDIR/agent-args"
  grep -qx 'annotate --context bkgen --style info' "$BATS_TEST_TMPDIR/agent-args"
  grep -q 'key: build-app' "$BATS_TEST_TMPDIR/agent-stdin"
  # The binary is the release's, and stays on the agent.
  [ -x "$BKGEN_PLUGIN_CACHE_DIR/v1.2.3/$plat/bkgen" ]
  want=$(awk -v f="bkgen_$plat" '$2 == f {print $1}' "$BATS_FILE_TMPDIR/www/v1.2.3/SHA256SUMS")
  [ "$(sha256sum "$BKGEN_PLUGIN_CACHE_DIR/v1.2.3/$plat/bkgen" | cut -d' ' -f1)" = "$want" ]
}

@test "a cached release runs with the server gone" {
  run "$hook"
  [ "$status" -eq 0 ]
  export BUILDKITE_PLUGIN_BKGEN_DOWNLOAD_URL=http://127.0.0.1:9
  run "$hook"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^pipeline upload' "$BATS_TEST_TMPDIR/agent-args")" -eq 2 ]
}

@test "a cached binary that changed is downloaded again" {
  run "$hook"
  [ "$status" -eq 0 ]
  echo corrupt >>"$BKGEN_PLUGIN_CACHE_DIR/v1.2.3/$plat/bkgen"
  run "$hook"
  [ "$status" -eq 0 ]
  want=$(awk -v f="bkgen_$plat" '$2 == f {print $1}' "$BATS_FILE_TMPDIR/www/v1.2.3/SHA256SUMS")
  [ "$(sha256sum "$BKGEN_PLUGIN_CACHE_DIR/v1.2.3/$plat/bkgen" | cut -d' ' -f1)" = "$want" ]
}

@test "a checksum mismatch installs nothing and runs nothing" {
  export BUILDKITE_PLUGIN_BKGEN_VERSION=v6.6.6
  run "$hook"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"checksum mismatch for $url/v6.6.6/bkgen_$plat"* ]]
  [[ $output == *"nothing was installed"* ]]
  [ ! -e "$BKGEN_PLUGIN_CACHE_DIR/v6.6.6/$plat/bkgen" ]
  [ -z "$(ls -A "$BKGEN_PLUGIN_CACHE_DIR/v6.6.6/$plat")" ]
  [ ! -e "$BATS_TEST_TMPDIR/agent-args" ]
}

@test "a release without this platform says which it has" {
  export BUILDKITE_PLUGIN_BKGEN_VERSION=v7.7.7
  run "$hook"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"bkgen v7.7.7 has no release for $plat (it has: "* ]]
  [[ $output != *"it has: "*"$plat"* ]]
  [ ! -e "$BATS_TEST_TMPDIR/agent-args" ]
}

@test "an unknown platform is named" {
  mkdir -p "$BATS_TEST_TMPDIR/uname"
  printf '#!/bin/sh\ncase $1 in -s) echo FreeBSD ;; -m) echo riscv64 ;; esac\n' >"$BATS_TEST_TMPDIR/uname/uname"
  chmod +x "$BATS_TEST_TMPDIR/uname/uname"
  PATH="$BATS_TEST_TMPDIR/uname:$PATH" run "$hook"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"bkgen v1.2.3 has no release for freebsd_riscv64"* ]]
}

@test "offline, the error names the URL and the way out" {
  export BUILDKITE_PLUGIN_BKGEN_DOWNLOAD_URL=http://127.0.0.1:9
  run "$hook"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"cannot download http://127.0.0.1:9/v1.2.3/SHA256SUMS"* ]]
  [[ $output == *"set the download-url option"* ]]
}

@test "an unpinned plugin is refused, whatever other plugins are pinned" {
  export BUILDKITE_PLUGINS='[{"github.com/acme/notbkgen#v9.9.9":{}},{"github.com/bkgen/bkgen":{}}]'
  run "$hook"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"pin the plugin (github.com/bkgen/bkgen#v1.2.3)"* ]]
}

@test "a bad spec fails the step with bkgen's errors" {
  printf 'version: 1\nimages: {app: {contxt: app}}\n' >.buildkite/images.yml
  run "$hook"
  echo "$output"
  [ "$status" -eq 2 ]
  [[ $output == *'.buildkite/images.yml:2:'*'unknown field "contxt"'* ]]
  [ ! -e "$BATS_TEST_TMPDIR/agent-args" ]
}
