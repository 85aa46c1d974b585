//! Running the binary and measuring it: wall time, and CPU time and peak memory through GNU time;
//! CPU and memory of running processes from `/proc`; and how numbers are written.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;

/// One run of the binary.
pub(crate) struct Measured {
    pub(crate) wall: Duration,
    pub(crate) code: i32,
    /// User + system CPU and peak RSS in KiB, when GNU time is available.
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
    tokio::task::spawn_blocking(move || run_blocking(&binary, &args, &env, false)).await?
}

/// Like [`run`], with the CPU time to the millisecond: GNU time prints it to 10 ms only, which
/// turns a run of a few milliseconds into 0. Bash's `time` reports the same kernel figure to the
/// millisecond, so it runs the binary inside GNU time (which still gives the peak RSS). The wall
/// time then includes starting bash, so the wall-time benchmarks use [`run`].
pub(crate) async fn run_costed(
    binary: &str,
    args: &[String],
    env: &[(String, String)],
) -> anyhow::Result<Measured> {
    let binary = binary.to_string();
    let args = args.to_vec();
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || run_blocking(&binary, &args, &env, true)).await?
}

/// `time`'s report goes to the file named by `$0`, the command's own stderr stays where it was.
const BASH_TIME: &str = r#"TIMEFORMAT="%3U %3S"; { time "$@" 2>&3; } 3>&2 2>"$0""#;

fn run_blocking(
    binary: &str,
    args: &[String],
    env: &[(String, String)],
    costed: bool,
) -> anyhow::Result<Measured> {
    let dir = tempfile::tempdir()?;
    let rusage = dir.path().join("rusage");
    let bash_cpu = dir.path().join("cpu");
    let gnu_time = Path::new("/usr/bin/time").exists();
    let bash = costed && gnu_time && Path::new("/bin/bash").exists();
    let mut command = if bash {
        let mut command = Command::new("/usr/bin/time");
        command
            .arg("-f")
            .arg("%U %S %M")
            .arg("-o")
            .arg(&rusage)
            .args(["/bin/bash", "-c", BASH_TIME])
            .arg(&bash_cpu)
            .arg(binary);
        command
    } else if gnu_time {
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
    // Bash's figure is the binary's alone and to the millisecond; GNU time's includes bash.
    let cpu = if bash {
        std::fs::read_to_string(&bash_cpu)
            .ok()
            .and_then(|text| parse_cpu(&text))
    } else {
        cpu
    };
    Ok(Measured {
        wall,
        code: output.status.code().unwrap_or(-1),
        cpu,
        max_rss_kib,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    })
}

/// One run of the binary with the moment each line of its standard error arrived.
pub(crate) struct Traced {
    pub(crate) wall: Duration,
    pub(crate) code: i32,
    pub(crate) stdout: String,
    /// Progress lines (outside Actions they go to stderr), each with its time since spawn.
    pub(crate) lines: Vec<(Duration, String)>,
    /// User + system CPU from GNU time, for [`run_traced_costed`] where it is installed.
    pub(crate) cpu: Option<Duration>,
}

impl Traced {
    /// When the first line for which `wanted` holds arrived.
    pub(crate) fn when(&self, wanted: impl Fn(&str) -> bool) -> Option<Duration> {
        self.lines
            .iter()
            .find(|(_, line)| wanted(line))
            .map(|(at, _)| *at)
    }
}

/// Runs `binary args` with exactly `env`, noting when each progress line arrives, so a run's
/// phases can be timed from outside the process. The binary writes its progress lines one
/// `write` each, unbuffered, so a line's arrival is when the program reached it.
pub(crate) async fn run_traced(
    binary: &str,
    args: &[String],
    env: &[(String, String)],
) -> anyhow::Result<Traced> {
    let binary = binary.to_string();
    let args = args.to_vec();
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || run_traced_blocking(&binary, &args, &env, false)).await?
}

/// Like [`run_traced`], under GNU time (when installed) for the process's CPU time; GNU time
/// passes the binary's standard error through, so the lines arrive as they do without it.
pub(crate) async fn run_traced_costed(
    binary: &str,
    args: &[String],
    env: &[(String, String)],
) -> anyhow::Result<Traced> {
    let binary = binary.to_string();
    let args = args.to_vec();
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || run_traced_blocking(&binary, &args, &env, true)).await?
}

fn run_traced_blocking(
    binary: &str,
    args: &[String],
    env: &[(String, String)],
    costed: bool,
) -> anyhow::Result<Traced> {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    let dir = tempfile::tempdir()?;
    let rusage = dir.path().join("rusage");
    let gnu_time = costed && Path::new("/usr/bin/time").exists();
    let mut command = if gnu_time {
        let mut command = Command::new("/usr/bin/time");
        command
            .args(["-f", "%U %S %M", "-o"])
            .arg(&rusage)
            .arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command
        .env_clear()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let started = Instant::now();
    let mut child = command.spawn().context("run the binary")?;
    let stderr = child.stderr.take().context("stderr is piped")?;
    let mut stdout = child.stdout.take().context("stdout is piped")?;
    let lines = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .map(|line| (started.elapsed(), line))
            .collect::<Vec<_>>()
    });
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let status = child.wait().context("wait for the binary")?;
    let wall = started.elapsed();
    let cpu = std::fs::read_to_string(&rusage)
        .ok()
        .and_then(|text| parse_rusage(&text))
        .map(|(cpu, _)| cpu);
    Ok(Traced {
        wall,
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap_or_default(),
        lines: lines.join().unwrap_or_default(),
        cpu,
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

/// `%3U %3S` → user + system; the report is the last line.
fn parse_cpu(text: &str) -> Option<Duration> {
    let mut fields = text.lines().last()?.split_whitespace();
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some(Duration::from_secs_f64(user + system))
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

/// A `kB` line of `/proc/<pid>/status` (`VmHWM` is the peak resident set, `VmRSS` the current one).
pub(crate) fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU of a process (all its threads), from `/proc/<pid>/stat`.
pub(crate) fn cpu_time(pid: &str, ticks_per_second: f64) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields are counted after the last `)`,
    // where field 3 (state) comes first, so utime (14) and stime (15) are at 11 and 12.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(Duration::from_secs_f64(ticks / ticks_per_second))
}

/// CPU time the whole machine spent busy (all cores, every process), from `/proc/stat`.
pub(crate) fn machine_busy(ticks_per_second: f64) -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: everything but idle and iowait.
    let busy: f64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|i| fields.get(*i))
        .sum();
    Some(Duration::from_secs_f64(busy / ticks_per_second))
}

pub(crate) fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

pub(crate) fn ms1(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

pub(crate) fn us(duration: Duration) -> String {
    format!("{:.0} µs", duration.as_secs_f64() * 1e6)
}

pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `14428.3` → `14 428`, as the goals are written.
pub(crate) fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}
