//! When a refresh run reached each moment, as the arrival of its progress lines shows: the
//! round-trip benchmarks (refresh, lineage) time their phases from outside the process with it.

use std::time::Duration;

use crate::measure::{self, median};

/// When a run reached the end of each phase (since spawn).
#[derive(Clone, Copy)]
pub(crate) struct Phases {
    /// `── Sign in to Tableau`: the process started, read its inputs, verified the event and is
    /// about to send its first request.
    pub(crate) talking: Duration,
    /// `Signed in to …`: serverinfo and sign-in done.
    pub(crate) open: Duration,
    /// `Resolved n of m targets.`
    pub(crate) resolved: Duration,
    /// `Queued n refreshes.` (or `Queued 1 refresh.`): every refresh request answered.
    pub(crate) queued: Duration,
    /// Process exit, after sign-out.
    pub(crate) exit: Duration,
}

impl Phases {
    pub(crate) fn of(run: &measure::Traced) -> anyhow::Result<Self> {
        let at = |what: &str, wanted: &dyn Fn(&str) -> bool| {
            run.when(wanted).ok_or_else(|| {
                anyhow::anyhow!(
                    "no `{what}` line in the run's log:\n{}",
                    run.lines
                        .iter()
                        .map(|(_, l)| l.as_str())
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })
        };
        Ok(Self {
            talking: at("Sign in to Tableau", &|l| l.ends_with("Sign in to Tableau"))?,
            open: at("Signed in to", &|l| l.starts_with("Signed in to "))?,
            resolved: at("Resolved", &|l| l.starts_with("Resolved "))?,
            queued: at("Queued n refreshes", &|l| {
                l.starts_with("Queued ") && (l.ends_with(" refreshes.") || l.ends_with(" refresh."))
            })?,
            exit: run.wall,
        })
    }

    /// The median of each moment on its own.
    pub(crate) fn median(runs: &[Phases]) -> Phases {
        let pick = |f: fn(&Phases) -> Duration| median(runs.iter().map(f).collect());
        Phases {
            talking: pick(|p| p.talking),
            open: pick(|p| p.open),
            resolved: pick(|p| p.resolved),
            queued: pick(|p| p.queued),
            exit: pick(|p| p.exit),
        }
    }

    /// The Tableau part of the run: first request to exit (sign-out answered).
    pub(crate) fn tableau(&self) -> Duration {
        self.exit.saturating_sub(self.talking)
    }
}
