//! Running the binary and measuring it: wall time, and CPU time and peak memory through GNU time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;

/// One run of the binary.
pub(crate) struct Measured {
    pub(crate) wall: Duration,
    pub(crate) code: i32,
    /// User + system CPU seconds and peak RSS in KiB, when GNU time is available.
    pub(crate) cpu: Option<Duration>,
    pub(crate) max_rss_kib: Option<u64>,
    pub(crate) stdout: String,
}

/// Runs `binary args` with exactly `env`, timing it from spawn to exit.
pub(crate) async fn run(
    binary: &str,
    args: &[String],
    env: &[(String, String)],
) -> anyhow::Result<Measured> {
    let binary = binary.to_string();
    let args = args.to_vec();
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || run_blocking(&binary, &args, &env)).await?
}

fn run_blocking(
    binary: &str,
    args: &[String],
    env: &[(String, String)],
) -> anyhow::Result<Measured> {
    let dir = tempfile::tempdir()?;
    let rusage = dir.path().join("rusage");
    let gnu_time = Path::new("/usr/bin/time").exists();
    let mut command = if gnu_time {
        let mut command = Command::new("/usr/bin/time");
        command
            .arg("-f")
            .arg("%U %S %M")
            .arg("-o")
            .arg(&rusage)
            .arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command.env_clear().args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let started = Instant::now();
    let output = command.output().context("run the binary")?;
    let wall = started.elapsed();
    let (cpu, max_rss_kib) = std::fs::read_to_string(&rusage)
        .ok()
        .and_then(|text| parse_rusage(&text))
        .map_or((None, None), |(cpu, rss)| (Some(cpu), Some(rss)));
    Ok(Measured {
        wall,
        code: output.status.code().unwrap_or(-1),
        cpu,
        max_rss_kib,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    })
}

/// `%U %S %M` → (user + system, max RSS KiB); GNU time may put a status line first.
fn parse_rusage(text: &str) -> Option<(Duration, u64)> {
    let line = text.lines().last()?;
    let mut fields = line.split_whitespace();
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    let rss: u64 = fields.next()?.parse().ok()?;
    Some((Duration::from_secs_f64(user + system), rss))
}

/// The median of some durations.
pub(crate) fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

pub(crate) fn ms(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1000.0)
}

pub(crate) fn secs(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}
