//! The action's installer, `action/install.sh`, run by bash against release archives served from
//! 127.0.0.1: a good archive is verified and installed, a tampered one is refused, a missing one is
//! an error for a release tag and a source build for a branch or commit pin, and a version that
//! action/checksums.txt does not list is built from source without downloading anything.
//!
//! Each run gets a copy of the action (install.sh, a Cargo.toml of version 9.9.9, a checksums file),
//! a scrubbed environment (no `GITHUB_*`, `RUNNER_*` or `ACTIONS_*` from the host), and a PATH made
//! of links to the few tools the script needs, plus a stub `cargo` that records its arguments
//! instead of compiling anything. The script is started the way the runner starts action.yml's
//! step: the step's `shell:` and `run:` are read from action.yml, so the shell options under test
//! are the ones the action ships (issue 10, finding 7: no exported shell function is imported).
#![cfg(unix)]

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use sha2::Digest as _;
use tempfile::TempDir;

const VERSION: &str = "9.9.9";
const TARGET: &str = "x86_64-unknown-linux-musl";
const BIN: &str = "dbt-tableau-refresh";
const SOURCE_SHA: &str = "4f1c2e9a7b3d5f6081a2c3e4d5f60718293a4b5c";

fn stem() -> String {
    format!("{BIN}-{VERSION}-{TARGET}")
}

fn asset() -> String {
    format!("{}.tar.gz", stem())
}

/// The folder the test server serves archives from, as the script's download base.
const RELEASE_PATH: &str = "/download/v9.9.9";

// ---------------------------------------------------------------------------------------------
// A release server on 127.0.0.1

type Files = Arc<HashMap<String, Vec<u8>>>;
type RequestLog = Arc<Mutex<Vec<String>>>;

/// Serves `files` by path (404 for anything else) on its own thread and runtime, so the tests
/// themselves stay plain blocking code.
struct ReleaseServer {
    url: String,
    requests: RequestLog,
}

impl ReleaseServer {
    fn start(files: HashMap<String, Vec<u8>>) -> ReleaseServer {
        let requests: RequestLog = Arc::default();
        let state = (Arc::new(files), Arc::clone(&requests));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1");
                tx.send(listener.local_addr().expect("local addr"))
                    .expect("send address");
                let app = axum::Router::new().fallback(serve).with_state(state);
                axum::serve(listener, app).await.expect("serve");
            });
        });
        let addr = rx.recv().expect("server address");
        ReleaseServer {
            url: format!("http://{addr}"),
            requests,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("request log").clone()
    }
}

async fn serve(State((files, log)): State<(Files, RequestLog)>, uri: Uri) -> (StatusCode, Vec<u8>) {
    log.lock().expect("request log").push(uri.path().to_owned());
    match files.get(uri.path()) {
        Some(bytes) => (StatusCode::OK, bytes.clone()),
        None => (StatusCode::NOT_FOUND, b"Not Found".to_vec()),
    }
}

// ---------------------------------------------------------------------------------------------
// Archives, the action copy, the environment

/// A release archive like the release workflow makes: `STEM/dbt-tableau-refresh`, here a shell
/// script that prints `version_line`.
fn archive(version_line: &str) -> Vec<u8> {
    let dir = TempDir::new().expect("temp dir");
    let folder = dir.path().join(stem());
    std::fs::create_dir(&folder).expect("archive folder");
    write_executable(
        &folder.join(BIN),
        &format!("#!/bin/sh\necho '{version_line}'\n"),
    );
    std::fs::write(folder.join("README.md"), "test archive\n").expect("readme");
    let out = dir.path().join(asset());
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&out)
        .arg("-C")
        .arg(dir.path())
        .arg(stem())
        .status()
        .expect("run tar");
    assert!(status.success(), "tar failed");
    std::fs::read(&out).expect("read archive")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write executable");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The tools install.sh runs, found on the host's PATH.
const TOOLS: &[&str] = &[
    "bash",
    "curl",
    "tar",
    "gzip",
    "sha256sum",
    "shasum",
    "awk",
    "sed",
    "head",
    "mktemp",
    "mkdir",
    "mv",
    "rm",
    "chmod",
    "cat",
    "uname",
];

fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// One installer run's world: a copy of the action, RUNNER_TEMP, the GITHUB_PATH file, a tools
/// folder and a stub folder that come first on PATH.
struct Action {
    root: TempDir,
}

impl Action {
    /// `checksums` is the text of action/checksums.txt.
    fn new(checksums: &str) -> Action {
        let root = TempDir::new().expect("temp dir");
        let action = root.path().join("action-checkout");
        std::fs::create_dir_all(action.join("action")).expect("action folder");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("action/install.sh");
        std::fs::copy(&script, action.join("action/install.sh")).expect("copy install.sh");
        std::fs::write(
            action.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{BIN}\"\nversion = \"{VERSION}\"\nedition = \"2024\"\n\
                 repository = \"https://github.com/example/{BIN}\"\n"
            ),
        )
        .expect("write Cargo.toml");
        std::fs::write(action.join("action/checksums.txt"), checksums).expect("checksums");
        for dir in ["runner-temp", "tools", "stubs"] {
            std::fs::create_dir(root.path().join(dir)).expect("folder");
        }
        std::fs::write(root.path().join("github-path"), "").expect("GITHUB_PATH file");
        for tool in TOOLS {
            if let Some(found) = find_on_path(tool) {
                std::os::unix::fs::symlink(found, root.path().join("tools").join(tool))
                    .expect("link tool");
            }
        }
        Action { root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn action_path(&self) -> PathBuf {
        self.path("action-checkout")
    }

    fn bin_dir(&self) -> PathBuf {
        self.path("runner-temp").join(BIN).join("bin")
    }

    fn github_path(&self) -> String {
        std::fs::read_to_string(self.path("github-path")).expect("read GITHUB_PATH")
    }

    /// Puts a `cargo` on PATH that records its arguments and "builds" by writing a binary that
    /// reports the version into `--root`/bin.
    fn stub_cargo(&self) {
        let stub = format!(
            "#!/bin/sh\n\
             printf '%s\\n' \"$@\" > '{log}'\n\
             root=''\n\
             while [ $# -gt 0 ]; do\n\
               if [ \"$1\" = --root ]; then root=\"$2\"; fi\n\
               shift\n\
             done\n\
             mkdir -p \"$root/bin\"\n\
             printf '#!/bin/sh\\necho \"{BIN} {VERSION}\"\\n' > \"$root/bin/{BIN}\"\n\
             chmod 755 \"$root/bin/{BIN}\"\n",
            log = self.path("cargo-args").display(),
        );
        write_executable(&self.path("stubs").join("cargo"), &stub);
    }

    /// The stub cargo's arguments, one per line, or None when it never ran.
    fn cargo_args(&self) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(self.path("cargo-args")).ok()?;
        Some(text.lines().map(str::to_owned).collect())
    }

    /// Runs action.yml's install step as the runner does, with only the variables a runner sets.
    fn install(&self, server: &ReleaseServer, action_ref: &str) -> Outcome {
        self.install_with(server, action_ref, &[])
    }

    fn install_with(
        &self,
        server: &ReleaseServer,
        action_ref: &str,
        extra_env: &[(&str, &str)],
    ) -> Outcome {
        let step = action_step("Install dbt-tableau-refresh");
        self.install_with_shell(&step.shell, &step.run, server, action_ref, extra_env)
    }

    /// Runs `run` (a step's script) with the step shell `shell`, as the runner does: the script
    /// goes into a file that takes the place of `{0}`, and the shell's first word is found on PATH.
    fn install_with_shell(
        &self,
        shell: &str,
        run: &str,
        server: &ReleaseServer,
        action_ref: &str,
        extra_env: &[(&str, &str)],
    ) -> Outcome {
        let output = self
            .step_command(shell, run)
            .env("ACTION_PATH", self.action_path())
            .env("ACTION_REF", action_ref)
            .env("RUNNER_TEMP", self.path("runner-temp"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("GITHUB_PATH", self.path("github-path"))
            .env(
                "DBT_TABLEAU_REFRESH_DOWNLOAD_URL",
                format!("{}{RELEASE_PATH}", server.url),
            )
            .envs(extra_env.iter().copied())
            .current_dir(self.root.path())
            .output()
            .expect("run bash");
        Outcome::of(&output)
    }

    /// The step's command line, with an empty environment but for a PATH of the stubs and the
    /// tools.
    fn step_command(&self, shell: &str, run: &str) -> Command {
        let script = self.path("step-script.sh");
        std::fs::write(&script, run).expect("write the step script");
        // A bare `bash` is the runner's keyword for its own bash command line.
        let shell = if shell == "bash" {
            RUNNER_DEFAULT_BASH
        } else {
            shell
        };
        let mut words = shell.split_whitespace();
        let program = words.next().expect("a shell");
        let mut command = Command::new(self.path("tools").join(program));
        for word in words {
            if word == "{0}" {
                command.arg(&script);
            } else {
                command.arg(word);
            }
        }
        let path =
            std::env::join_paths([self.path("stubs"), self.path("tools")]).expect("join PATH");
        command.env_clear().env("PATH", path);
        command
    }

    /// What is left in RUNNER_TEMP besides the install folder (downloads must be cleaned up).
    fn runner_temp_leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.path("runner-temp"))
            .expect("read RUNNER_TEMP")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name != BIN)
            .collect()
    }
}

#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn of(output: &std::process::Output) -> Outcome {
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn log(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn checksums_listing(hex: &str) -> String {
    format!("# test checksums\n{hex}  {}\n", asset())
}

fn serving(bytes: Vec<u8>) -> ReleaseServer {
    ReleaseServer::start(HashMap::from([(
        format!("{RELEASE_PATH}/{}", asset()),
        bytes,
    )]))
}

fn run_installed(action: &Action) -> String {
    let output = Command::new(action.bin_dir().join(BIN))
        .arg("--version")
        .output()
        .expect("run the installed binary");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

// ---------------------------------------------------------------------------------------------
// The cases

#[test]
fn good_archive_is_verified_installed_and_put_on_path() {
    let good = archive(&format!("{BIN} {VERSION}"));
    let action = Action::new(&checksums_listing(&sha256_hex(&good)));
    action.stub_cargo();
    let server = serving(good);

    let run = action.install(&server, "v1");

    assert_eq!(run.code, Some(0), "{}", run.log());
    assert!(run.stdout.contains("Verified"), "{}", run.log());
    assert_eq!(
        action.github_path(),
        format!("{}\n", action.bin_dir().display())
    );
    assert_eq!(run_installed(&action), format!("{BIN} {VERSION}"));
    assert_eq!(
        server.requests(),
        [format!("{RELEASE_PATH}/{}", asset())],
        "one download, nothing else"
    );
    assert_eq!(action.cargo_args(), None, "no source build");
    assert!(
        action.runner_temp_leftovers().is_empty(),
        "{:?}",
        action.runner_temp_leftovers()
    );

    // A second use of the action in the same job reuses the verified binary.
    let again = action.install(&server, "v1");
    assert_eq!(again.code, Some(0), "{}", again.log());
    assert!(
        again.stdout.contains("already installed"),
        "{}",
        again.log()
    );
    assert_eq!(server.requests().len(), 1, "no second download");
}

#[test]
fn tampered_archive_is_refused_and_nothing_is_installed() {
    let good = archive(&format!("{BIN} {VERSION}"));
    let tampered = archive("pwned");
    assert_ne!(sha256_hex(&good), sha256_hex(&tampered));
    let action = Action::new(&checksums_listing(&sha256_hex(&good)));
    action.stub_cargo();
    let server = serving(tampered);

    let run = action.install(&server, "v1");

    assert_eq!(run.code, Some(1), "{}", run.log());
    assert!(
        run.stderr
            .contains("::error title=dbt-tableau-refresh::Checksum mismatch"),
        "{}",
        run.log()
    );
    assert!(run.stderr.contains(&sha256_hex(&good)), "{}", run.log());
    assert!(!action.bin_dir().join(BIN).exists(), "nothing installed");
    assert_eq!(action.github_path(), "", "nothing added to PATH");
    assert_eq!(action.cargo_args(), None, "a mismatch never falls back");
    assert!(
        action.runner_temp_leftovers().is_empty(),
        "the download is removed: {:?}",
        action.runner_temp_leftovers()
    );
}

#[test]
fn missing_asset_of_a_release_tag_is_an_error() {
    let good = archive(&format!("{BIN} {VERSION}"));
    let action = Action::new(&checksums_listing(&sha256_hex(&good)));
    action.stub_cargo();
    let server = ReleaseServer::start(HashMap::new());

    let run = action.install(&server, "v1");

    assert_eq!(run.code, Some(1), "{}", run.log());
    assert!(
        run.stderr
            .contains(&format!("The release archive {} is missing", asset())),
        "{}",
        run.log()
    );
    assert!(run.stderr.contains("404"), "{}", run.log());
    assert!(!action.bin_dir().join(BIN).exists());
    assert_eq!(action.github_path(), "");
    assert_eq!(action.cargo_args(), None);
}

#[test]
fn missing_asset_of_a_commit_pin_builds_from_source() {
    let good = archive(&format!("{BIN} {VERSION}"));
    let action = Action::new(&checksums_listing(&sha256_hex(&good)));
    action.stub_cargo();
    let server = ReleaseServer::start(HashMap::new());

    let run = action.install(&server, SOURCE_SHA);

    assert_eq!(run.code, Some(0), "{}", run.log());
    assert!(
        run.stdout.contains(&format!(
            "::notice title=dbt-tableau-refresh::Building {BIN} {VERSION} from the action's source"
        )),
        "{}",
        run.log()
    );
    assert!(run.stdout.contains(SOURCE_SHA), "{}", run.log());
    assert_source_build(&action);
}

#[test]
fn unlisted_version_builds_from_source_without_downloading() {
    // The checksums of an older release: this checkout's version has none.
    let listing = format!(
        "# test checksums\n{}  {BIN}-9.9.8-{TARGET}.tar.gz\n",
        "0".repeat(64)
    );
    let action = Action::new(&listing);
    action.stub_cargo();
    let server = ReleaseServer::start(HashMap::new());

    let run = action.install(&server, "main");

    assert_eq!(run.code, Some(0), "{}", run.log());
    assert!(
        run.stdout
            .contains(&format!("action/checksums.txt lists no {}", asset())),
        "{}",
        run.log()
    );
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert_source_build(&action);
}

#[test]
fn unlisted_version_without_cargo_fails_with_a_clear_message() {
    let action = Action::new("# no release yet\n");
    let server = ReleaseServer::start(HashMap::new());

    let run = action.install(&server, "main");

    assert_eq!(run.code, Some(1), "{}", run.log());
    assert!(
        run.stderr.contains("cargo is not installed"),
        "{}",
        run.log()
    );
    assert_eq!(action.github_path(), "");
}

/// One step of action.yml: its `shell:` and its one-line `run:`.
struct Step {
    shell: String,
    run: String,
}

/// The step named `name` in action.yml.
fn action_step(name: &str) -> Step {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"))
        .expect("read action.yml");
    let start = text
        .find(&format!("- name: {name}\n"))
        .unwrap_or_else(|| panic!("no step {name} in action.yml"));
    let rest = &text[start..];
    let end = rest[1..]
        .find("\n    - name: ")
        .map_or(rest.len(), |i| i + 1);
    let step = &rest[..end];
    let field = |key: &str| {
        step.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(key))
            .unwrap_or_else(|| panic!("step {name} has no one-line `{key}`"))
            .trim()
            .to_owned()
    };
    Step {
        shell: field("shell: "),
        run: field("run: "),
    }
}

/// The runner's own command line for `shell: bash` (actions/runner, ScriptHandlerHelpers.cs), for
/// the control runs below.
const RUNNER_DEFAULT_BASH: &str = "bash --noprofile --norc -e -o pipefail {0}";

/// A `BASH_FUNC_NAME%%` value (what `export -f NAME` leaves in the environment, and what a step can
/// write to $GITHUB_ENV) whose function appends `NAME ran` to `marker`, then prints `output`.
fn planted(name: &str, marker: &Path, output: &str) -> (String, String) {
    (
        format!("BASH_FUNC_{name}%%"),
        format!(
            "() {{  echo '{name} ran' >> '{}'; echo '{output}'; }}",
            marker.display()
        ),
    )
}

/// Issue 10, finding 7, the install step. `compgen` once emptied the old guard loop, after which a
/// planted `sha256sum` could approve any archive. Now the step runs bash with -p: the planted
/// functions are never called, and the tampered archive is refused by the real sha256sum. The
/// control run with the runner's default bash shows the same functions would have run.
#[test]
fn the_install_step_imports_no_exported_shell_function() {
    let good = archive(&format!("{BIN} {VERSION}"));
    let tampered = archive("pwned");
    let action = Action::new(&checksums_listing(&sha256_hex(&good)));
    let server = serving(tampered.clone());
    let marker = action.path("functions-that-ran");
    // A fake sha256sum that prints the expected checksum for any file.
    let fake_sum = format!("{}  archive", sha256_hex(&good));
    let functions = [
        planted("compgen", &marker, ""),
        planted("sha256sum", &marker, &fake_sum),
        planted("bash", &marker, ""),
        planted("curl", &marker, "200"),
    ];
    let env: Vec<(&str, &str)> = functions
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    let step = action_step("Install dbt-tableau-refresh");
    let run = action.install_with(&server, "v1", &env);
    assert_eq!(run.code, Some(1), "{}", run.log());
    assert!(
        run.stderr.contains("Checksum mismatch"),
        "the real sha256sum judged the archive: {}",
        run.log()
    );
    assert!(
        !marker.exists(),
        "a planted function ran: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
    assert!(!action.bin_dir().join(BIN).exists(), "nothing installed");

    // The same environment with the runner's default bash: the functions are imported and run.
    let control = action.install_with_shell(RUNNER_DEFAULT_BASH, &step.run, &server, "v1", &env);
    let ran = std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(
        ran.contains("bash ran"),
        "control: {ran:?}; {}",
        control.log()
    );
}

/// Issue 10, finding 7, the refresh step: a planted `dbt-tableau-refresh` function would run in
/// place of the binary and see the Tableau token. With bash -p the binary on PATH runs.
#[test]
fn the_refresh_step_runs_the_binary_not_an_exported_function() {
    let action = Action::new("");
    let ran = action.path("binary-ran");
    write_executable(
        &action.path("stubs").join(BIN),
        &format!("#!/bin/sh\necho \"binary $*\" > '{}'\n", ran.display()),
    );
    let marker = action.path("functions-that-ran");
    let (name, value) = planted(BIN, &marker, "");
    let value = value.replace(
        "echo ''",
        &format!(
            "echo \"$TABLEAU_API_TOKEN_SECRET\" >> '{}'",
            marker.display()
        ),
    );
    let step = action_step("Refresh Tableau");
    assert_eq!(step.run, format!("{BIN} refresh"));
    let run_step = |shell: &str| {
        let output = action
            .step_command(shell, &step.run)
            .env(&name, &value)
            .env("TABLEAU_API_TOKEN_SECRET", "pat-secret-value")
            .current_dir(action.path("runner-temp"))
            .output()
            .expect("run the step");
        Outcome::of(&output)
    };

    let run = run_step(&step.shell);
    assert_eq!(run.code, Some(0), "{}", run.log());
    assert_eq!(
        std::fs::read_to_string(&ran).expect("the binary ran"),
        "binary refresh\n"
    );
    assert!(
        !marker.exists(),
        "the planted function ran and saw: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );

    // The control: with the runner's default bash the function runs and sees the token.
    std::fs::remove_file(&ran).expect("reset");
    let control = run_step(RUNNER_DEFAULT_BASH);
    let seen = std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(
        seen.contains("pat-secret-value"),
        "control: {seen:?}; {}",
        control.log()
    );
    assert!(
        !ran.exists(),
        "control: the function stood in for the binary"
    );
}

/// Started without -p, the script refuses to go on and says how it is meant to be run.
#[test]
fn the_installer_refuses_to_run_without_bash_p() {
    let good = archive(&format!("{BIN} {VERSION}"));
    let action = Action::new(&checksums_listing(&sha256_hex(&good)));
    let server = serving(good);
    let run = action.install_with_shell(
        RUNNER_DEFAULT_BASH,
        "bash --noprofile --norc \"$ACTION_PATH/action/install.sh\"",
        &server,
        "v1",
        &[],
    );
    assert_eq!(run.code, Some(1), "{}", run.log());
    assert!(run.stderr.contains("with bash -p"), "{}", run.log());
    assert!(server.requests().is_empty());
    assert_eq!(action.github_path(), "");
}

/// The release workflow's archive (scripts/archive-release.sh) is what the installer unpacks: the
/// two scripts agree on names, layout and checksum lines.
#[test]
fn archive_made_by_the_release_script_installs() {
    let tree = TempDir::new().expect("temp dir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir(tree.path().join("scripts")).expect("scripts folder");
    std::fs::copy(
        root.join("scripts/archive-release.sh"),
        tree.path().join("scripts/archive-release.sh"),
    )
    .expect("copy archive-release.sh");
    for file in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        std::fs::write(tree.path().join(file), file).expect("write");
    }
    std::fs::write(
        tree.path().join("Cargo.toml"),
        format!("[package]\nname = \"{BIN}\"\nversion = \"{VERSION}\"\n"),
    )
    .expect("write Cargo.toml");
    let release_dir = tree.path().join("target").join(TARGET).join("release");
    std::fs::create_dir_all(&release_dir).expect("release folder");
    write_executable(
        &release_dir.join(BIN),
        &format!("#!/bin/sh\necho '{BIN} {VERSION}'\n"),
    );

    let packed = Command::new("bash")
        .arg(tree.path().join("scripts/archive-release.sh"))
        .arg("archive")
        .arg(TARGET)
        .env_remove("GITHUB_OUTPUT")
        .output()
        .expect("run archive-release.sh");
    assert!(
        packed.status.success(),
        "{}",
        String::from_utf8_lossy(&packed.stderr)
    );
    let dist = tree.path().join("dist");
    let sha_line = std::fs::read_to_string(dist.join(format!("{}.sha256", asset())))
        .expect("the .sha256 file");
    let bytes = std::fs::read(dist.join(asset())).expect("the archive");
    assert_eq!(sha_line, format!("{}  {}\n", sha256_hex(&bytes), asset()));

    let action = Action::new(&format!("# carried\n{sha_line}"));
    let server = serving(bytes);
    let run = action.install(&server, "v1");
    assert_eq!(run.code, Some(0), "{}", run.log());
    assert_eq!(run_installed(&action), format!("{BIN} {VERSION}"));
}

fn assert_source_build(action: &Action) {
    let args = action.cargo_args().expect("cargo install ran");
    let expected = [
        "install".to_owned(),
        "--locked".to_owned(),
        "--quiet".to_owned(),
        "--path".to_owned(),
        action.action_path().display().to_string(),
        "--root".to_owned(),
        action.path("runner-temp").join(BIN).display().to_string(),
        "--bin".to_owned(),
        BIN.to_owned(),
    ];
    assert_eq!(args, expected);
    assert_eq!(
        action.github_path(),
        format!("{}\n", action.bin_dir().display())
    );
    assert_eq!(run_installed(action), format!("{BIN} {VERSION}"));
}

/// The checksums file the action carries is one the installer can read: comments, or
/// `HEX  dbt-tableau-refresh-VERSION-TARGET.tar.gz|zip` lines written by the release workflow.
#[test]
fn carried_checksums_file_is_well_formed() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("action/checksums.txt");
    let text = std::fs::read_to_string(&path).expect("action/checksums.txt exists");
    let line_shape = regex::Regex::new(
        r"^[0-9a-f]{64}  dbt-tableau-refresh-[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?-(x86_64|aarch64)-(unknown-linux-musl|apple-darwin|pc-windows-msvc)\.(tar\.gz|zip)$",
    )
    .expect("pattern");
    for line in text.lines() {
        assert!(
            line.trim().is_empty() || line.starts_with('#') || line_shape.is_match(line),
            "unexpected line in action/checksums.txt: {line:?}"
        );
    }
}
