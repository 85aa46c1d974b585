//! The release's tag plan, `scripts/release-tag.sh`, run by bash in a scratch git repository: the
//! plan for a version, the commit B that adds only `action/checksums.txt` on top of the built
//! commit A (the same B on a re-run), and the refs that point at it (the release tag and branch
//! created once and never moved, the major tag moved).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

/// A scratch repository holding the release scripts and a Cargo.toml of `version`, with one
/// commit (A); the git identity of A comes from the command line, not the host's config.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new(version: &str) -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("scripts")).expect("mkdir");
        std::fs::create_dir_all(root.join("action")).expect("mkdir");
        for script in ["archive-release.sh", "release-tag.sh"] {
            std::fs::copy(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("scripts")
                    .join(script),
                root.join("scripts").join(script),
            )
            .expect("copy script");
        }
        std::fs::write(
            root.join("Cargo.toml"),
            format!("[package]\nname = \"dbt-tableau-refresh\"\nversion = \"{version}\"\n"),
        )
        .expect("Cargo.toml");
        std::fs::write(root.join("action/checksums.txt"), "# No release yet.\n").expect("file");
        let repo = Repo { dir };
        repo.git(&["init", "-q"]);
        repo.git(&["add", "-A"]);
        repo.git(&[
            "-c",
            "user.name=Maintainer",
            "-c",
            "user.email=m@example.com",
            "commit",
            "-qm",
            "A",
        ]);
        repo
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn git(&self, args: &[&str]) -> String {
        let output = self.command("git", args);
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn script(&self, args: &[&str]) -> Output {
        let mut full = vec!["scripts/release-tag.sh"];
        full.extend_from_slice(args);
        self.command("bash", &full)
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.script(args);
        assert!(
            output.status.success(),
            "release-tag.sh {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn fails(&self, args: &[&str]) -> String {
        let output = self.script(args);
        assert!(
            !output.status.success(),
            "release-tag.sh {args:?} should fail"
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    fn command(&self, program: &str, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .current_dir(self.root())
            // No host git configuration (signing, hooks, identity) may change the commits.
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .expect("run")
    }

    /// A SHA256SUMS of the five archives of `version`, each with the digest `fill` repeated.
    fn sums(&self, version: &str, fill: char) -> String {
        let text: String = TARGETS
            .iter()
            .map(|target| {
                let ext = if target.contains("windows") {
                    "zip"
                } else {
                    "tar.gz"
                };
                format!(
                    "{}  dbt-tableau-refresh-{version}-{target}.{ext}\n",
                    fill.to_string().repeat(64)
                )
            })
            .collect();
        let path = self.dir.path().join(format!("SHA256SUMS-{fill}"));
        std::fs::write(&path, text).expect("sums");
        path.display().to_string()
    }

    fn bare_remote(&self) -> String {
        let path = self.dir.path().join("origin.git");
        let output = Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(&path)
            .output()
            .expect("git init");
        assert!(output.status.success());
        path.display().to_string()
    }
}

#[test]
fn the_plan_names_the_tag_the_branch_and_the_major_tag() {
    let repo = Repo::new("1.4.2");
    assert_eq!(
        repo.ok(&["plan", "v1.4.2"]),
        "tag=v1.4.2\nversion=1.4.2\nprerelease=false\nmajor=v1\nbranch=release/action-v1.4.2"
    );
    assert!(
        repo.fails(&["plan", "1.4.3"])
            .contains("not the version in Cargo.toml (1.4.2)")
    );
    assert!(repo.fails(&["plan", "1.4"]).contains("is not X.Y.Z"));
    assert!(
        repo.fails(&["plan", "1.4.2; rm -rf /"])
            .contains("is not X.Y.Z")
    );

    let rc = Repo::new("2.0.0-rc.1");
    assert_eq!(
        rc.ok(&["plan", "2.0.0-rc.1"]),
        "tag=v2.0.0-rc.1\nversion=2.0.0-rc.1\nprerelease=true\nmajor=\nbranch=release/action-v2.0.0-rc.1"
    );
    // A new major version moves its own major tag, never v1.
    let two = Repo::new("2.0.0");
    assert!(two.ok(&["plan", "2.0.0"]).contains("major=v2\n"));
}

#[test]
fn the_tagged_commit_is_the_built_commit_plus_its_checksums_only() {
    let repo = Repo::new("1.4.2");
    let base = repo.git(&["rev-parse", "HEAD"]);
    let sums = repo.sums("1.4.2", 'a');
    let commit = repo.ok(&["commit", &sums]);
    assert!(commit.len() == 40 && commit != base, "{commit}");
    assert_eq!(repo.git(&["show", "-s", "--format=%P", &commit]), base);
    assert_eq!(
        repo.git(&["diff", "--name-only", &base, &commit]),
        "action/checksums.txt"
    );
    let carried = repo.git(&["show", &format!("{commit}:action/checksums.txt")]);
    for target in TARGETS {
        assert!(
            carried.contains(&format!(
                "{}  dbt-tableau-refresh-1.4.2-{target}.",
                "a".repeat(64)
            )),
            "{target}: {carried}"
        );
    }
    repo.ok(&["check", &commit, &sums]);
    // Nothing of the caller's checkout changed.
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), base);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");

    // A re-run with the same archives makes the same commit; other archives another one, which
    // `check` tells apart.
    assert_eq!(repo.ok(&["commit", &sums]), commit);
    let other = repo.sums("1.4.2", 'b');
    let rebuilt = repo.ok(&["commit", &other]);
    assert_ne!(rebuilt, commit);
    assert!(
        repo.fails(&["check", &commit, &other])
            .contains("does not carry the checksums")
    );
}

#[test]
fn a_checksums_file_missing_an_archive_makes_no_commit() {
    let repo = Repo::new("1.4.2");
    let sums = repo.sums("1.4.2", 'a');
    let text = std::fs::read_to_string(&sums).expect("sums");
    let partial: String = text
        .lines()
        .skip(1)
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&sums, partial).expect("write");
    let err = repo.fails(&["commit", &sums]);
    assert!(err.contains("no single well-formed line"), "{err}");
    // Archives of another version do not count.
    let old = repo.sums("1.4.1", 'c');
    assert!(
        repo.fails(&["commit", &old])
            .contains("no single well-formed line")
    );
}

#[test]
fn the_release_refs_are_created_once_and_only_the_major_tag_moves() {
    let repo = Repo::new("1.4.2");
    let remote = repo.bare_remote();
    let commit = repo.ok(&["commit", &repo.sums("1.4.2", 'a')]);
    let refs = ["push", &remote, &commit, "v1.4.2", "release/action-v1.4.2"];
    repo.ok(&refs);
    // A re-run that made the same commit is a no-op.
    repo.ok(&refs);
    let listed = repo.git(&["ls-remote", &remote]);
    assert!(
        listed.contains(&format!("{commit}\trefs/tags/v1.4.2")),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("{commit}\trefs/heads/release/action-v1.4.2")),
        "{listed}"
    );

    // Rebuilt archives with other checksums never move the release tag.
    let rebuilt = repo.ok(&["commit", &repo.sums("1.4.2", 'b')]);
    let err = repo.fails(&["push", &remote, &rebuilt, "v1.4.2", "release/action-v1.4.2"]);
    assert!(err.contains("the tag v1.4.2 exists at"), "{err}");
    let listed = repo.git(&["ls-remote", &remote]);
    assert!(
        listed.contains(&format!("{commit}\trefs/tags/v1.4.2")),
        "{listed}"
    );

    // The major tag follows each stable release.
    repo.ok(&["move-major", &remote, &rebuilt, "v1"]);
    repo.ok(&["move-major", &remote, &commit, "v1"]);
    let listed = repo.git(&["ls-remote", &remote, "refs/tags/v1"]);
    assert_eq!(listed, format!("{commit}\trefs/tags/v1"));
    assert!(
        repo.fails(&["move-major", &remote, &commit, "v1.4.2"])
            .contains("not a major tag")
    );
}
