//! The result of a refresh run: overall status, the dbt event, one row per target. Rendered into
//! the job summary, the step outputs and the terminal.

use std::time::Duration;

use crate::tableau::{Kind, ServerFacts};

/// The `status` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Skipped,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }
}

/// The `outcome` of one target, as written in the `jobs` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    Cancelled,
    /// Queued and not waited for (or its end was not seen).
    Queued,
    /// Tableau already had a refresh of it queued or running (409093).
    AlreadyQueued,
    TimedOut,
    NotFound,
    Error,
    /// `--dry-run`: resolved, not refreshed.
    DryRun,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Queued => "queued",
            Outcome::AlreadyQueued => "already-queued",
            Outcome::TimedOut => "timed-out",
            Outcome::NotFound => "not-found",
            Outcome::Error => "error",
            Outcome::DryRun => "dry-run",
        }
    }

    /// Whether this outcome fails the run.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed
                | Outcome::Cancelled
                | Outcome::TimedOut
                | Outcome::NotFound
                | Outcome::Error
        )
    }

    pub fn icon(self) -> &'static str {
        match self {
            Outcome::Succeeded => "✅",
            Outcome::Queued | Outcome::DryRun => "🔵",
            Outcome::AlreadyQueued => "🟡",
            Outcome::TimedOut => "⏱️",
            Outcome::Cancelled => "⛔",
            Outcome::Failed | Outcome::NotFound | Outcome::Error => "❌",
        }
    }
}

/// One workbook or data source.
#[derive(Debug, Clone)]
pub struct TargetReport {
    pub kind: Kind,
    /// The reference as configured.
    pub reference: String,
    pub name: Option<String>,
    pub project: Option<String>,
    pub id: Option<String>,
    pub job_id: Option<String>,
    pub outcome: Outcome,
    pub finish_code: Option<i64>,
    pub duration: Option<Duration>,
    pub url: Option<String>,
    /// Why it failed, Tableau's notes, or a warning.
    pub message: Option<String>,
    /// Why it is a target: `listed`, `exposure:NAME`.
    pub selected_by: Vec<String>,
}

impl TargetReport {
    pub fn new(kind: Kind, reference: String, outcome: Outcome) -> Self {
        Self {
            kind,
            reference,
            name: None,
            project: None,
            id: None,
            job_id: None,
            outcome,
            finish_code: None,
            duration: None,
            url: None,
            message: None,
            selected_by: Vec::new(),
        }
    }

    /// `Project/Name` when the project is known, else the name or the reference.
    pub fn display_name(&self) -> String {
        match (&self.project, &self.name) {
            (Some(project), Some(name)) => format!("{project}/{name}"),
            (None, Some(name)) => name.clone(),
            _ => self.reference.clone(),
        }
    }
}

/// What the summary says about the dbt event.
#[derive(Debug, Clone, Default)]
pub struct EventFacts {
    pub event_type: String,
    pub event_id: Option<String>,
    pub job_id: Option<String>,
    pub job_name: Option<String>,
    pub run_id: Option<String>,
    pub status: String,
    pub project_name: Option<String>,
    pub environment: Option<String>,
    pub occurred_at: Option<String>,
    pub run_url: Option<String>,
}

/// Something selection looked at and did not refresh (an exposure with no Tableau item, one whose
/// upstream failed, an address that matches nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Considered {
    /// e.g. `exposure churn_notebook`.
    pub subject: String,
    pub reason: String,
}

/// The phase a run failed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Payload,
    Signature,
    Event,
    /// Reading what the dbt run built (artifacts from dbt Cloud or a folder).
    Artifacts,
    Connect,
    SignIn,
    Resolve,
    /// Following Tableau lineage with the Metadata API (`select: lineage`).
    Lineage,
    Refresh,
    Wait,
    SignOut,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Payload => "reading the dispatch payload",
            Phase::Signature => "verifying the webhook signature",
            Phase::Event => "reading the dbt event",
            Phase::Artifacts => "reading what the dbt run built",
            Phase::Connect => "contacting Tableau",
            Phase::SignIn => "signing in to Tableau",
            Phase::Resolve => "finding the workbooks and data sources",
            Phase::Lineage => "following Tableau lineage (Metadata API)",
            Phase::Refresh => "asking Tableau to refresh",
            Phase::Wait => "waiting for the refresh jobs",
            Phase::SignOut => "signing out of Tableau",
        }
    }
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct Report {
    pub status: Status,
    /// Why the run was skipped, or what stopped it.
    pub reason: Option<String>,
    pub failed_phase: Option<Phase>,
    pub event: Option<EventFacts>,
    /// A manual run (no dbt event): what started it, e.g. `workflow_dispatch by @octocat`.
    pub manual: Option<String>,
    pub server: Option<ServerFacts>,
    pub targets: Vec<TargetReport>,
    /// How targets were selected, when not only `listed` (e.g. the artifacts read).
    pub selection: Option<String>,
    /// What selection considered and did not refresh, with why.
    pub considered: Vec<Considered>,
    pub warnings: Vec<String>,
    pub dry_run: bool,
    pub incremental: bool,
    pub waited: bool,
    pub elapsed: Duration,
    pub requests: u64,
    pub retries: u64,
}

impl Report {
    pub fn new() -> Self {
        Self {
            status: Status::Success,
            reason: None,
            failed_phase: None,
            event: None,
            manual: None,
            server: None,
            targets: Vec::new(),
            selection: None,
            considered: Vec::new(),
            warnings: Vec::new(),
            dry_run: false,
            incremental: false,
            waited: false,
            elapsed: Duration::ZERO,
            requests: 0,
            retries: 0,
        }
    }

    /// Marks the run failed in `phase`, keeping the first failure as the headline.
    pub fn fail(&mut self, phase: Phase, reason: impl Into<String>) {
        if self.failed_phase.is_none() {
            self.failed_phase = Some(phase);
            self.reason = Some(reason.into());
        }
        self.status = Status::Failed;
    }

    pub fn skip(&mut self, reason: impl Into<String>) {
        self.status = Status::Skipped;
        self.reason = Some(reason.into());
    }

    /// Settles the status from the targets once the run is over.
    pub fn settle(&mut self) {
        if self.status == Status::Skipped {
            return;
        }
        if self.failed_phase.is_some() || self.targets.iter().any(|t| t.outcome.is_failure()) {
            self.status = Status::Failed;
        }
    }
}

impl Default for Report {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_in_targets_fail_the_run_and_the_first_phase_is_kept() {
        let mut report = Report::new();
        report.targets.push(TargetReport::new(
            Kind::Workbook,
            "A".into(),
            Outcome::AlreadyQueued,
        ));
        report.settle();
        assert_eq!(report.status, Status::Success);
        report.targets.push(TargetReport::new(
            Kind::Workbook,
            "B".into(),
            Outcome::TimedOut,
        ));
        report.settle();
        assert_eq!(report.status, Status::Failed);

        let mut report = Report::new();
        report.fail(Phase::SignIn, "first");
        report.fail(Phase::SignOut, "second");
        assert_eq!(report.reason.as_deref(), Some("first"));
        assert_eq!(report.failed_phase, Some(Phase::SignIn));
    }
}
