//! The relay as a child process: started on a free port with exactly the environment it needs,
//! timed until `/healthz` answers, and stopped with SIGTERM as a container platform stops it.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use tokio::time::Instant;

use super::{KEY, REPO, TOKEN};

/// How long the relay may take to answer `/healthz` before the benchmark gives up on it.
const START_LIMIT: Duration = Duration::from_secs(5);

/// The relay process, its address, and the file its log goes to. Dropping it kills the process
/// (only this child, by its handle) so that a failed benchmark leaves nothing running.
pub(super) struct Relay {
    child: Child,
    pub(super) url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Relay {
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(super) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Spawns `relay` on a free port and polls `/healthz` every millisecond; the relay and the time
/// from spawn to the first 200.
pub(super) async fn start(binary: &str, github_url: &str) -> anyhow::Result<(Relay, Duration)> {
    // The port must be known before the process starts, so that polling can begin at once
    // (`127.0.0.1:0` would make us wait for the log line instead).
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("relay.log");
    // A short timeout: a poll must never wait long on a socket that is not accepting yet.
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()?;
    let health = format!("{url}/healthz");
    let mut command = Command::new(binary);
    command
        .env_clear()
        .args(["relay", "--listen", &format!("127.0.0.1:{port}")])
        .env("DBT_WEBHOOK_KEY", KEY)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", github_url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // A file, not a pipe nobody reads: one log line per request would fill a pipe and stall
        // the relay; a file costs it about what a container runtime's log capture does.
        .stderr(File::create(&log)?);
    let spawned = Instant::now();
    let child = command.spawn().context("start the relay")?;
    let mut relay = Relay {
        child,
        url,
        log,
        _dir: dir,
    };
    loop {
        if let Ok(response) = probe.get(&health).send().await
            && response.status() == 200
        {
            return Ok((relay, spawned.elapsed()));
        }
        if let Some(status) = relay.child.try_wait()? {
            anyhow::bail!("the relay exited with {status}:\n{}", relay.log_tail());
        }
        if spawned.elapsed() > START_LIMIT {
            anyhow::bail!("the relay did not answer /healthz:\n{}", relay.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// SIGTERM, then wait for the exit (killing it after the relay's own 12 s grace); the exit code
/// and how long the shutdown took.
pub(super) async fn stop(mut relay: Relay) -> anyhow::Result<(Option<i32>, Duration)> {
    let asked = Instant::now();
    let sent = Command::new("kill")
        .args(["-TERM", &relay.pid().to_string()])
        .status()?;
    anyhow::ensure!(sent.success(), "kill -TERM {} failed", relay.pid());
    while asked.elapsed() < Duration::from_secs(15) {
        if let Some(status) = relay.child.try_wait()? {
            return Ok((status.code(), asked.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok((None, asked.elapsed()))
}
