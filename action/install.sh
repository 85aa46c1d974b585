#!/usr/bin/env bash
# Installs dbt-tableau-refresh for the action step into $RUNNER_TEMP and puts it on $GITHUB_PATH.
# Until release binaries are published, it builds the action's own checkout with cargo.
set -euo pipefail

action_path=${ACTION_PATH:?ACTION_PATH is not set}
install_root="${RUNNER_TEMP:?RUNNER_TEMP is not set}/dbt-tableau-refresh"
bin_dir="$install_root/bin"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$action_path/Cargo.toml" | head -n 1)

if [ -x "$bin_dir/dbt-tableau-refresh" ] \
  && "$bin_dir/dbt-tableau-refresh" --version | grep -qx "dbt-tableau-refresh $version"; then
  echo "dbt-tableau-refresh $version is already installed."
else
  if ! command -v cargo >/dev/null 2>&1; then
    echo "::error title=dbt-tableau-refresh::No release binary is available for this action version and cargo is not installed on the runner."
    exit 1
  fi
  echo "::notice title=dbt-tableau-refresh::Building dbt-tableau-refresh $version from the action's source (no release binary for this ref)."
  cargo install --locked --quiet --path "$action_path" --root "$install_root"
fi
echo "$bin_dir" >> "${GITHUB_PATH:?GITHUB_PATH is not set}"
