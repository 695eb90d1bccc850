#!/usr/bin/env bash
# Build bkgen's release artifacts: one static binary per platform, stamped
# with the version, the commit and the commit's date, and SHA256SUMS.
#
#   scripts/release.sh v1.2.3              a release: the tag v1.2.3 must name HEAD, the tree clean
#   scripts/release.sh --snapshot          what a release of HEAD would be (CI runs this), version vX.Y.Z-snapshot+SHA
#   options: --out DIR (default dist), --platforms "linux/amd64 ..." (default all four)
#
# The artifacts are dist/bkgen_OS_ARCH and dist/SHA256SUMS: upload them to
# the release of the tag, where the Buildkite plugin (hooks/command)
# downloads them. Builds are reproducible: the same commit gives the same
# bytes (-trimpath, the commit's date, no VCS stamping).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=dist
snapshot=false
version=
platforms="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64"

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}
die() {
  echo "release: $*" >&2
  exit 1
}

while (($#)); do
  case $1 in
    --snapshot) snapshot=true ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    --platforms) platforms=${2:?--platforms needs a list}; shift ;;
    -h | --help) usage ;;
    v*) version=$1 ;;
    *) echo "release: unexpected argument \"$1\"" >&2; usage ;;
  esac
  shift
done

cd "$here"
commit=$(git rev-parse HEAD)
date=$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd HEAD)
semver='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
if $snapshot; then
  [[ -z $version ]] || die "give a version or --snapshot, not both"
  last=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || echo v0.0.0)
  version="$last-snapshot+${commit:0:12}"
  [[ -z $(git status --porcelain) ]] || version+=.dirty
else
  [[ -n $version ]] || die "give the version to release (v1.2.3), or --snapshot"
  [[ $version =~ $semver ]] || die "\"$version\" is not a version: vMAJOR.MINOR.PATCH"
  [[ -z $(git status --porcelain) ]] || die "the tree has uncommitted changes"
  [[ $(git rev-parse -q --verify "refs/tags/$version^{commit}" || true) == "$commit" ]] ||
    die "tag $version does not name HEAD ($commit): tag it first"
fi
[[ $version =~ $semver ]] || die "\"$version\" is not a version"

rm -rf "$out" && mkdir -p "$out"
ldflags="-s -w -buildid= -X main.version=$version -X main.commit=$commit -X main.date=$date"
for p in $platforms; do
  os=${p%/*} arch=${p#*/}
  case $p in
    linux/amd64 | linux/arm64 | darwin/amd64 | darwin/arm64) ;;
    *) die "no release for $p (linux and darwin, amd64 and arm64)" ;;
  esac
  echo "release: bkgen $version for $os/$arch"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOFLAGS=-buildvcs=false \
    go build -trimpath -ldflags "$ldflags" -o "$out/bkgen_${os}_${arch}" ./cmd/bkgen
done
(cd "$out" && sha256sum bkgen_* >SHA256SUMS && sha256sum --check --quiet SHA256SUMS)

# The binary this machine runs says what it was stamped with.
native="$out/bkgen_$(go env GOOS)_$(go env GOARCH)"
if [[ -x $native ]]; then
  got=$("$native" version --json)
  for want in "\"version\": \"$version\"" "\"commit\": \"$commit\"" "\"date\": \"$date\"" '"stamped": true'; do
    [[ $got == *"$want"* ]] || die "$native version --json lacks $want: $got"
  done
fi
echo "release: $out/SHA256SUMS"
cat "$out/SHA256SUMS"
