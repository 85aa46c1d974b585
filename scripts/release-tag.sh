#!/usr/bin/env bash
# The tag plan of a release, for .github/workflows/release.yml (docs/RELEASING.md). A release tag
# points at a commit that carries its own action/checksums.txt: the archives are built from the
# commit the release starts at (A); this script makes B = A + action/checksums.txt, and the tag
# vX.Y.Z, the branch release/action-vX.Y.Z and (stable releases) the major tag vN all point at B.
# So @vX.Y.Z, @vN and the SHA that Dependabot or Renovate write all install the verified binary.
#
#   scripts/release-tag.sh plan VERSION
#       Checks VERSION (X.Y.Z or X.Y.Z-PRE, a leading v allowed) against Cargo.toml and prints
#       tag=, version=, prerelease=, major= (empty for a pre-release) and branch= lines.
#   scripts/release-tag.sh commit SHA256SUMS
#       Makes B on top of HEAD with action/checksums.txt written from SHA256SUMS
#       (scripts/archive-release.sh carry) and prints its SHA. The work tree, the index and HEAD
#       are not touched. B is a function of HEAD and the checksums alone (author, committer and
#       dates are fixed), so a re-run with the same archives makes the same commit.
#   scripts/release-tag.sh check COMMIT SHA256SUMS
#       Checks that COMMIT is HEAD plus exactly action/checksums.txt, as carried from SHA256SUMS.
#   scripts/release-tag.sh push REMOTE COMMIT TAG BRANCH
#       Creates refs/tags/TAG and refs/heads/BRANCH at COMMIT, never moving either: pushing the
#       same commit again is a no-op, a different one is refused.
#   scripts/release-tag.sh move-major REMOTE COMMIT MAJOR
#       Moves refs/tags/MAJOR (e.g. v1) to COMMIT; the only ref a release moves.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

readonly CHECKSUMS="action/checksums.txt"
# Who makes commit B: fixed, so that B's SHA depends only on its tree and parent.
readonly BOT_NAME="github-actions[bot]"
readonly BOT_EMAIL="41898282+github-actions[bot]@users.noreply.github.com"

die() {
  echo "release-tag: $*" >&2
  exit 1
}

package_version() {
  sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1
}

cmd_plan() {
  local version=${1:?usage: plan VERSION}
  version=${version#v}
  [[ "$version" =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]] ||
    die "version '$version' is not X.Y.Z or X.Y.Z-PRE"
  local major=${BASH_REMATCH[1]} pre=${BASH_REMATCH[4]} cargo
  cargo=$(package_version)
  [ "$version" = "$cargo" ] || die "version $version is not the version in Cargo.toml ($cargo)"
  local prerelease=false major_tag="v$major"
  if [ -n "$pre" ]; then
    prerelease=true
    major_tag=""
  fi
  echo "tag=v$version"
  echo "version=$version"
  echo "prerelease=$prerelease"
  echo "major=$major_tag"
  echo "branch=release/action-v$version"
}

cmd_commit() {
  local sums=${1:?usage: commit SHA256SUMS}
  [ -f "$sums" ] || die "$sums is missing"
  local base version tmp blob tree date commit
  base=$(git rev-parse --verify 'HEAD^{commit}')
  version=$(package_version)
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the folder is this call's
  trap "rm -rf -- '$tmp'" EXIT
  bash "$here/archive-release.sh" carry "$sums" >"$tmp/checksums.txt"
  blob=$(git hash-object -w "$tmp/checksums.txt")
  # A private index: the caller's index and work tree stay as they are.
  GIT_INDEX_FILE="$tmp/index" git read-tree "$base"
  GIT_INDEX_FILE="$tmp/index" git update-index --add --cacheinfo "100644,$blob,$CHECKSUMS"
  tree=$(GIT_INDEX_FILE="$tmp/index" git write-tree)
  date="$(git show -s --format=%ct "$base") +0000"
  commit=$(
    GIT_AUTHOR_NAME="$BOT_NAME" GIT_AUTHOR_EMAIL="$BOT_EMAIL" GIT_AUTHOR_DATE="$date" \
      GIT_COMMITTER_NAME="$BOT_NAME" GIT_COMMITTER_EMAIL="$BOT_EMAIL" GIT_COMMITTER_DATE="$date" \
      git -c commit.gpgsign=false commit-tree "$tree" -p "$base" \
      -m "action: carry the checksums of the v$version release archives" \
      -m "The release archives were built from $base; this commit adds only $CHECKSUMS, so the tag v$version installs them."
  )
  echo "$commit"
}

cmd_check() {
  local commit=${1:?usage: check COMMIT SHA256SUMS} sums=${2:?usage: check COMMIT SHA256SUMS}
  local base parents changed
  base=$(git rev-parse --verify 'HEAD^{commit}')
  parents=$(git show -s --format=%P "$commit")
  [ "$parents" = "$base" ] || die "$commit is not a child of $base (its parents: $parents)"
  changed=$(git diff --name-only "$base" "$commit")
  [ "$changed" = "$CHECKSUMS" ] || die "$commit changes more than $CHECKSUMS: $(echo "$changed" | tr '\n' ' ')"
  diff -u <(bash "$here/archive-release.sh" carry "$sums") <(git show "$commit:$CHECKSUMS") >&2 ||
    die "$CHECKSUMS in $commit does not carry the checksums in $sums"
}

cmd_push() {
  local remote=${1:?usage: push REMOTE COMMIT TAG BRANCH} commit=${2:?} tag=${3:?} branch=${4:?}
  local existing
  # Tags and branches are created, never moved here: a release tag is final once made.
  existing=$(git ls-remote "$remote" "refs/tags/$tag" | awk '{ print $1 }')
  if [ -n "$existing" ] && [ "$existing" != "$commit" ]; then
    die "the tag $tag exists at $existing, not at $commit: the archives differ from those it carries. Delete the draft release, the tag and the branch $branch, then run the release again."
  fi
  git push --quiet "$remote" "$commit:refs/tags/$tag" "$commit:refs/heads/$branch" ||
    die "could not create the tag $tag and the branch $branch at $commit (does the branch exist at another commit?)"
}

cmd_move_major() {
  local remote=${1:?usage: move-major REMOTE COMMIT MAJOR} commit=${2:?} major=${3:?}
  [[ "$major" =~ ^v[0-9]+$ ]] || die "'$major' is not a major tag like v1"
  git push --quiet --force "$remote" "$commit:refs/tags/$major"
}

case "${1:-}" in
  plan) cmd_plan "${2:-}" ;;
  commit) cmd_commit "${2:-}" ;;
  check) cmd_check "${2:-}" "${3:-}" ;;
  push) cmd_push "${2:-}" "${3:-}" "${4:-}" "${5:-}" ;;
  move-major) cmd_move_major "${2:-}" "${3:-}" "${4:-}" ;;
  *) die "usage: $0 plan VERSION | commit SHA256SUMS | check COMMIT SHA256SUMS | push REMOTE COMMIT TAG BRANCH | move-major REMOTE COMMIT MAJOR" ;;
esac
