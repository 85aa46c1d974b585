#!/usr/bin/env bash
# Installs dbt-tableau-refresh for the action's `refresh` step.
#
# 1. The version is the one the action's own checkout carries (its Cargo.toml). The release archive
#    for the runner's OS and architecture is looked up in action/checksums.txt, which the release
#    process writes (docs/RELEASING.md): the action verifies against checksums it carries itself,
#    never against a checksum downloaded next to the archive.
# 2. Listed: download it, check its SHA-256, refuse to go on if it differs, unpack it into
#    $RUNNER_TEMP/dbt-tableau-refresh/bin and add that folder to $GITHUB_PATH.
# 3. Not listed (the action is used from a commit that has no release, or there is no archive for
#    this platform), or listed but absent from the release while the action is pinned to a branch or
#    a commit: build the action's own source with `cargo install --locked`, with a notice.
#
# Environment (set by action.yml; nothing here comes from workflow inputs):
#   ACTION_PATH   the action's checkout (github.action_path); default $GITHUB_ACTION_PATH
#   ACTION_REF    the ref the workflow used (github.action_ref): a tag, a branch or a commit SHA
#   RUNNER_TEMP, GITHUB_PATH, RUNNER_OS, RUNNER_ARCH  set by the runner
#   DBT_TABLEAU_REFRESH_DOWNLOAD_URL  FOR TESTS ONLY: replaces the release download folder
#     (https://github.com/OWNER/REPO/releases/download/vVERSION) so tests/install_script.rs can serve
#     archives from 127.0.0.1. The checksum check applies all the same. Never set it in a workflow.
#
# Run it as action.yml does, with `bash -p` (privileged mode). A workflow step can export shell
# functions through $GITHUB_ENV (`BASH_FUNC_curl%%=() { ...; }`), and a bash without -p imports
# them before its first line runs, where they shadow any command, builtins included; no check
# inside the script can be trusted then, because the check's own commands may be the planted
# functions. With -p nothing is imported. The environment still carries those variables to child
# processes; none of this script's children (curl, tar, sha256sum, awk, sed, cargo, the installed
# binary) is a bash script.
set -euo pipefail

# Without -p, a planted function may already have run; say how the script is meant to be started.
case $- in
  *p*) ;;
  *)
    echo "::error title=dbt-tableau-refresh::Run action/install.sh with bash -p (as action.yml does), so that no exported shell function is imported." >&2
    exit 1
    ;;
esac
# BASH_ENV and ENV make every child bash or sh source a file first.
unset -v BASH_ENV ENV CDPATH
export LC_ALL=C

readonly BIN_NAME="dbt-tableau-refresh"

die() {
  echo "::error title=dbt-tableau-refresh::$*" >&2
  exit 1
}
notice() {
  echo "::notice title=dbt-tableau-refresh::$*"
}

action_path=${ACTION_PATH:-${GITHUB_ACTION_PATH:-}}
[ -n "$action_path" ] || die "ACTION_PATH is not set (run this script from action.yml)."
[ -n "${RUNNER_TEMP:-}" ] || die "RUNNER_TEMP is not set (run this script inside GitHub Actions)."
[ -n "${GITHUB_PATH:-}" ] || die "GITHUB_PATH is not set (run this script inside GitHub Actions)."
action_ref=${ACTION_REF:-${GITHUB_ACTION_REF:-}}
runner_temp=$RUNNER_TEMP
# Git Bash on Windows: work with POSIX paths, hand the runner a Windows path for $GITHUB_PATH.
on_windows_bash=false
if command -v cygpath >/dev/null 2>&1; then
  on_windows_bash=true
  runner_temp=$(cygpath -u "$RUNNER_TEMP")
  action_path=$(cygpath -u "$action_path")
fi
checksums_file="$action_path/action/checksums.txt"
install_root="$runner_temp/$BIN_NAME"
bin_dir="$install_root/bin"

# The first `version = "..."` and `repository = "..."` of Cargo.toml are the [package] ones.
manifest_value() {
  sed -n "s/^$1 = \"\\(.*\\)\"\$/\\1/p" "$action_path/Cargo.toml" | head -n 1
}
version=$(manifest_value version)
repository=$(manifest_value repository)
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] \
  || die "Cannot read the package version from $action_path/Cargo.toml."

# The Rust target triple of the release archive for this runner.
os=${RUNNER_OS:-$(uname -s)}
arch=${RUNNER_ARCH:-$(uname -m)}
case "$os" in
  Linux | linux) os_part="unknown-linux-musl" ;;
  macOS | Darwin) os_part="apple-darwin" ;;
  Windows | MINGW* | MSYS* | CYGWIN*) os_part="pc-windows-msvc" ;;
  *) os_part="" ;;
esac
case "$arch" in
  X64 | x86_64 | amd64) arch_part="x86_64" ;;
  ARM64 | arm64 | aarch64) arch_part="aarch64" ;;
  *) arch_part="" ;;
esac
exe=""
ext="tar.gz"
if [ "$os_part" = "pc-windows-msvc" ]; then
  exe=".exe"
  ext="zip"
fi
target=""
if [ -n "$os_part" ] && [ -n "$arch_part" ]; then
  target="$arch_part-$os_part"
fi
stem="$BIN_NAME-$version-$target"
asset="$stem.$ext"

add_to_path() {
  if [ "$on_windows_bash" = true ]; then
    cygpath -w "$bin_dir" >>"$GITHUB_PATH"
  else
    echo "$bin_dir" >>"$GITHUB_PATH"
  fi
}

installed_version() {
  "$bin_dir/$BIN_NAME$exe" --version 2>/dev/null || true
}

# The action may run more than once in a job: a verified or built binary of this version is reused.
if [ -x "$bin_dir/$BIN_NAME$exe" ] && [ "$(installed_version)" = "$BIN_NAME $version" ]; then
  echo "$BIN_NAME $version is already installed in $bin_dir."
  add_to_path
  exit 0
fi

build_from_source() {
  notice "Building $BIN_NAME $version from the action's source: $1. Pin a released version to download a checksum-verified binary in seconds."
  command -v cargo >/dev/null 2>&1 \
    || die "No release binary can be used ($1) and cargo is not installed on this runner: install a Rust toolchain first, or pin a released version of the action."
  cargo install --locked --quiet --path "$action_path" --root "$install_root" --bin "$BIN_NAME"
  add_to_path
}

# The checksum the action carries for this asset: lines are "HEX  NAME" (sha256sum format; a "*"
# before NAME is allowed); lines starting with "#" are comments.
expected=""
if [ -n "$target" ] && [ -f "$checksums_file" ]; then
  expected=$(awk -v name="$asset" '
    /^[[:space:]]*#/ { next }
    { file = $2; sub(/^\*/, "", file) }
    file == name { print $1 }
  ' "$checksums_file")
fi
if [ -z "$expected" ]; then
  if [ -z "$target" ]; then
    build_from_source "no release archive for $os/$arch"
  else
    build_from_source "action/checksums.txt lists no $asset (this commit is not a release)"
  fi
  exit 0
fi
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] \
  || die "action/checksums.txt has a malformed or repeated entry for $asset."

if [ -n "${DBT_TABLEAU_REFRESH_DOWNLOAD_URL:-}" ]; then
  base_url=${DBT_TABLEAU_REFRESH_DOWNLOAD_URL%/}
  echo "::warning title=dbt-tableau-refresh::DBT_TABLEAU_REFRESH_DOWNLOAD_URL is set: downloading from $base_url (meant for tests only)."
  protocols="=http,https"
else
  [[ "$repository" =~ ^https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] \
    || die "Cannot read the GitHub repository from $action_path/Cargo.toml."
  base_url="$repository/releases/download/v$version"
  protocols="=https"
fi

work=$(mktemp -d "$runner_temp/$BIN_NAME-download.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
archive="$work/$asset"

echo "Downloading $base_url/$asset"
status=$(curl --silent --show-error --location --proto "$protocols" --proto-redir "$protocols" \
  --retry 3 --connect-timeout 20 --max-time 300 \
  --output "$archive" --write-out '%{http_code}' "$base_url/$asset") \
  || die "Downloading $asset failed (network error)."
case "$status" in
  200) ;;
  404)
    # A release tag (v1, v1.2.3) promises the archive: its absence is an error. A branch or a commit
    # pin may point at a version whose release is not published yet: build that source instead.
    if [[ "$action_ref" =~ ^v[0-9]+(\.[0-9]+)*$ ]]; then
      die "The release archive $asset is missing ($base_url/$asset answered 404), although action/checksums.txt lists it for $BIN_NAME $version."
    fi
    rm -rf -- "$work"
    trap - EXIT
    build_from_source "the release archive $asset is missing (404) and the action is pinned to '${action_ref:-a local path}', not a release tag"
    exit 0
    ;;
  *) die "Downloading $asset failed: HTTP $status from $base_url/$asset." ;;
esac

if command -v sha256sum >/dev/null 2>&1; then
  actual=$(sha256sum "$archive" | awk '{ print $1 }')
elif command -v shasum >/dev/null 2>&1; then
  actual=$(shasum -a 256 "$archive" | awk '{ print $1 }')
else
  die "Neither sha256sum nor shasum is installed: cannot verify $asset."
fi
if [ "$actual" != "$expected" ]; then
  die "Checksum mismatch for $asset: expected $expected (action/checksums.txt), got $actual. Refusing to install it."
fi
echo "Verified $asset: sha256 $actual"

# Unpack only after the checksum matched.
unpacked="$work/unpacked"
mkdir -p "$unpacked"
if [ "$ext" = "zip" ]; then
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$archive" -d "$unpacked"
  elif command -v 7z >/dev/null 2>&1; then
    7z x -y -bd "-o$unpacked" "$archive" >/dev/null
  else
    die "Neither unzip nor 7z is installed: cannot unpack $asset."
  fi
else
  tar -xzf "$archive" -C "$unpacked"
fi
binary="$unpacked/$stem/$BIN_NAME$exe"
[ -f "$binary" ] || die "$asset does not contain $stem/$BIN_NAME$exe."

mkdir -p "$bin_dir"
chmod 755 "$binary"
mv -f -- "$binary" "$bin_dir/$BIN_NAME$exe"
reported=$(installed_version)
[ "$reported" = "$BIN_NAME $version" ] \
  || die "The installed binary reports '$reported', expected '$BIN_NAME $version'."
add_to_path
echo "Installed $BIN_NAME $version ($target) in $bin_dir."
