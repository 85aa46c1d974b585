#!/usr/bin/env bash
# Release archives and checksum files, for .github/workflows/release.yml (docs/RELEASING.md).
#
#   scripts/archive-release.sh archive TARGET
#       Packs target/TARGET/release/dbt-tableau-refresh[.exe] with README.md and the licences into
#       dist/dbt-tableau-refresh-VERSION-TARGET.tar.gz (.zip for Windows) and writes NAME.sha256
#       next to it ("HEX  NAME"). Prints archive=PATH to $GITHUB_OUTPUT when that is set.
#   scripts/archive-release.sh sums DIR
#       Checks every archive in DIR against its .sha256 file and writes DIR/SHA256SUMS.
#   scripts/archive-release.sh carry SHA256SUMS
#       Prints the action/checksums.txt that the action at this version carries: a header and the
#       lines of SHA256SUMS for this version's archives.
#
# VERSION is the [package] version in Cargo.toml; the release workflow checks that the tag is
# vVERSION before anything is built.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly BIN="dbt-tableau-refresh"
# The archives every release must have: one per target of the release workflow's build matrix.
readonly TARGETS="x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-msvc"

die() {
  echo "archive-release: $*" >&2
  exit 1
}

# A staging folder to remove on exit, whatever happens.
staging=""
trap '[ -z "$staging" ] || rm -rf -- "$staging"' EXIT

package_version() {
  sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1
}

# Prints the lowercase hex SHA-256 of a file (sha256sum on Linux and Git Bash, shasum on macOS).
sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum -b "$1" | awk '{ print $1 }'
  else
    shasum -a 256 -b "$1" | awk '{ print $1 }'
  fi
}

archive_name() {
  case "$2" in
    *-windows-*) echo "$BIN-$1-$2.zip" ;;
    *) echo "$BIN-$1-$2.tar.gz" ;;
  esac
}

cmd_archive() {
  local target=${1:?usage: archive TARGET}
  local version exe="" out stem name
  version=$(package_version)
  [ -n "$version" ] || die "no version in Cargo.toml"
  case "$target" in *-windows-*) exe=".exe" ;; esac
  stem="$BIN-$version-$target"
  name=$(archive_name "$version" "$target")
  out="$PWD/${OUT_DIR:-dist}"
  local binary="target/$target/release/$BIN$exe"
  [ -f "$binary" ] || die "$binary is missing: build it with cargo build --release --target $target"

  staging=$(mktemp -d)
  mkdir "$staging/$stem"
  cp "$binary" README.md LICENSE-MIT LICENSE-APACHE "$staging/$stem/"
  mkdir -p "$out"
  rm -f -- "$out/$name" "$out/$name.sha256"
  case "$name" in
    *.zip)
      if command -v 7z >/dev/null 2>&1; then
        (cd "$staging" && 7z a -tzip -bd -bso0 "$out/$name" "$stem")
      else
        (cd "$staging" && zip -qr "$out/$name" "$stem")
      fi
      ;;
    *)
      # COPYFILE_DISABLE: no AppleDouble ._ files from macOS tar.
      COPYFILE_DISABLE=1 tar -czf "$out/$name" -C "$staging" "$stem"
      ;;
  esac
  printf '%s  %s\n' "$(sha256_of "$out/$name")" "$name" >"$out/$name.sha256"
  cat "$out/$name.sha256"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "archive=${OUT_DIR:-dist}/$name" >>"$GITHUB_OUTPUT"
  fi
}

cmd_sums() {
  local dir=${1:?usage: sums DIR}
  local version target name expected actual
  version=$(package_version)
  : >"$dir/SHA256SUMS.tmp"
  for target in $TARGETS; do
    name=$(archive_name "$version" "$target")
    [ -f "$dir/$name" ] || die "$dir/$name is missing"
    [ -f "$dir/$name.sha256" ] || die "$dir/$name.sha256 is missing"
    expected=$(awk '{ print $1 }' "$dir/$name.sha256")
    actual=$(sha256_of "$dir/$name")
    [ "$expected" = "$actual" ] || die "$name: its .sha256 says $expected, the file hashes to $actual"
    printf '%s  %s\n' "$actual" "$name" >>"$dir/SHA256SUMS.tmp"
  done
  mv -f -- "$dir/SHA256SUMS.tmp" "$dir/SHA256SUMS"
  cat "$dir/SHA256SUMS"
}

cmd_carry() {
  local sums=${1:?usage: carry SHA256SUMS}
  local version target name line count=0
  version=$(package_version)
  cat <<EOF
# SHA-256 of the release archives that this version of the action installs, in sha256sum format
# ("HEX  FILE"). Written by the release workflow from the SHA256SUMS of release v$version
# (docs/RELEASING.md). action/install.sh installs only an archive listed here whose checksum
# matches; with no entry for its version it builds from source.
EOF
  for target in $TARGETS; do
    name=$(archive_name "$version" "$target")
    line=$(awk -v name="$name" '$2 == name' "$sums")
    [[ "$line" =~ ^[0-9a-f]{64}\ \ [^[:space:]]+$ ]] || die "$sums has no single well-formed line for $name"
    echo "$line"
    count=$((count + 1))
  done
  [ "$count" -gt 0 ] || die "no archives of version $version in $sums"
}

case "${1:-}" in
  archive) cmd_archive "${2:-}" ;;
  sums) cmd_sums "${2:-}" ;;
  carry) cmd_carry "${2:-}" ;;
  *) die "usage: $0 archive TARGET | sums DIR | carry SHA256SUMS" ;;
esac
