//! The live status line in a real, narrow terminal (tmux, 40 columns): it is cut to fit, so it
//! never wraps, and it leaves no residue rows behind once the run moves on. Before it was cut,
//! every redraw of a wrapped line left a row of `Waiting …` behind (`\r\x1b[2K` clears one row).
//!
//! Needs tmux: `cargo test --test integration narrow_terminal -- --ignored`.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dbt_tableau_refresh::sim::tableau::sample::{SAMPLE_PAT_NAME, SAMPLE_PAT_SECRET};
use dbt_tableau_refresh::sim::tableau::{SimConfig, TableauSim};

use crate::common::{WEBHOOK_KEY, completed_body, sign};

const COLUMNS: usize = 40;

static NEXT_SOCKET: AtomicUsize = AtomicUsize::new(0);

/// A tmux server of its own (its own socket), killed when the test ends however it ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TERM", "xterm-256color")
            .args(["-L", &self.socket]);
        command
    }

    /// Everything the pane shows, its scrollback included; with `escapes`, its colours too.
    fn capture(&self, escapes: bool) -> String {
        let mut command = self.command();
        command.args(["capture-pane", "-p", "-S", "-", "-t", "narrow"]);
        if escapes {
            command.arg("-e");
        }
        let output = command.output().expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
    }
}

/// What a run in the narrow pane showed.
struct Seen {
    /// The pane's text at the end.
    screen: String,
    /// The same with tmux's escape codes for colours and attributes.
    escaped: String,
    /// A cut status line (`Waiting …` ending in `…`) was on screen while the jobs ran.
    saw_live_line: bool,
}

/// Runs `refresh` on the sample site in a 40-column tmux pane, with `extra` in its environment.
async fn run_in_tmux(extra: &[(&str, &str)]) -> Seen {
    let sim = TableauSim::start(SimConfig::sample().with_job_duration(Duration::from_secs(2)))
        .await
        .expect("simulator starts");
    let body = completed_body("4242", "Success", 10);
    let tmux = Tmux {
        // A server a run: the tests run in parallel.
        socket: format!(
            "dtr-narrow-{}-{}",
            std::process::id(),
            NEXT_SOCKET.fetch_add(1, Ordering::Relaxed)
        ),
    };
    let env = [
        ("TABLEAU_SITE_URL", sim.url()),
        ("TABLEAU_API_TOKEN_NAME", SAMPLE_PAT_NAME.to_string()),
        ("TABLEAU_API_TOKEN_SECRET", SAMPLE_PAT_SECRET.to_string()),
        ("DBT_WEBHOOK_KEY", WEBHOOK_KEY.to_string()),
        ("DBT_WEBHOOK_PAYLOAD", body.clone()),
        ("DBT_WEBHOOK_SIGNATURE", sign(&body)),
        (
            "TABLEAU_WORKBOOKS",
            "Finance/Quarterly/P&L, Q1: Actuals\nFinance/Revenue Dashboard\nMarketing/Revenue Dashboard"
                .to_string(),
        ),
        ("TABLEAU_DATASOURCES", "Orders\nCustomers".to_string()),
    ];
    let binary = env!("CARGO_BIN_EXE_dbt-tableau-refresh");
    // The report (stdout) is not what is tested; stderr stays on the terminal.
    let script = format!("'{binary}' refresh >/dev/null; echo \"exit $?\"; sleep 60");
    let mut start = tmux.command();
    start.args([
        "new-session",
        "-d",
        "-s",
        "narrow",
        "-x",
        &COLUMNS.to_string(),
        "-y",
        "40",
    ]);
    for (name, value) in &env {
        start.args(["-e", &format!("{name}={value}")]);
    }
    for (name, value) in extra {
        start.args(["-e", &format!("{name}={value}")]);
    }
    start.args(["sh", "-c", &script]);
    let started = tokio::task::spawn_blocking(move || start.status())
        .await
        .expect("task")
        .expect("tmux starts (is it installed?)");
    assert!(started.success());

    // While the jobs run, the status line is on screen, cut with `…` to fit.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut saw_live_line = false;
    let screen = loop {
        let screen = tmux.capture(false);
        saw_live_line |= screen
            .lines()
            .any(|line| line.starts_with("Waiting") && line.trim_end().ends_with('…'));
        if screen.contains("exit ") {
            break screen;
        }
        assert!(Instant::now() < deadline, "the run did not end:\n{screen}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let escaped = tmux.capture(true);
    Seen {
        screen,
        escaped,
        saw_live_line,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tmux"]
async fn the_status_line_fits_a_narrow_terminal_and_leaves_no_residue() {
    let Seen {
        screen,
        escaped,
        saw_live_line,
    } = run_in_tmux(&[]).await;
    assert!(screen.contains("exit 0"), "{screen}");
    // Every redraw replaced the last; nothing of it is left.
    // (`Waiting for 5 jobs` is an ordinary line; the status line reads `Waiting 1s: …`.)
    let residue = screen
        .lines()
        .any(|line| line.starts_with("Waiting") && !line.starts_with("Waiting for"));
    assert!(
        !residue && !screen.contains("running:") && !screen.contains('…'),
        "status line residue:\n{screen}"
    );
    assert!(saw_live_line, "never saw the cut status line:\n{screen}");
    assert!(screen.contains("Signed out of Tableau."), "{screen}");
    // On a terminal, the group titles are bold.
    assert!(
        escaped.contains("\x1b[1m── Sign in to Tableau"),
        "{escaped:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tmux"]
async fn no_color_turns_colour_off() {
    let seen = run_in_tmux(&[("NO_COLOR", "1")]).await;
    assert!(seen.screen.contains("exit 0"), "{}", seen.screen);
    assert!(!seen.escaped.contains('\x1b'), "{:?}", seen.escaped);
    // CLICOLOR=0 does the same.
    let seen = run_in_tmux(&[("CLICOLOR", "0")]).await;
    assert!(!seen.escaped.contains('\x1b'), "{:?}", seen.escaped);
}
