//! The demo's stories: what the site holds, what dbt sends, and what must come out of it.

use std::time::Duration;

use crate::sim::tableau::sample::PNL_WORKBOOK_ID;
use crate::sim::tableau::{SimConfig, SimJobBehaviour};

/// A story the demo can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// A successful dbt run refreshes two workbooks and a data source.
    Success,
    /// A failed dbt run: the relay forwards it, the action skips it.
    FailedRun,
    /// A forged signature: the relay refuses it, and so does the action when someone dispatches
    /// a forged event directly.
    Forged,
    /// A Tableau refresh fails; the summary shows Tableau's notes.
    RefreshFails,
    /// A data source already has a refresh queued on Tableau: a warning, not a failure.
    AlreadyQueued,
    /// The Tableau session expires while the jobs run: one new sign-in, and the run goes on.
    SessionExpires,
    /// `tableau-site-url` is Tableau Cloud's front door; it redirects to the site's pod over TLS.
    TableauCloud,
    /// The action signs in with a Tableau connected app (a JWT it signs itself) instead of a
    /// personal access token; when the session expires it signs a new JWT.
    ConnectedApp,
    /// `select: lineage`: the dbt Cloud run rebuilt `fct_orders`; Tableau's Metadata API says
    /// what reads it, and only the extracts that do are refreshed.
    Lineage,
}

/// The workbooks and data sources the demo's workflow refreshes (`select: listed`, every scenario
/// but `lineage`).
pub const WORKBOOKS: [&str; 2] = [
    "Finance/Revenue Dashboard",
    "Finance/Quarterly/P&L, Q1: Actuals",
];
pub const DATASOURCES: [&str; 1] = ["Orders"];

/// The Tableau Cloud scenario's pod and site (Tableau Cloud has no default site).
pub const CLOUD_POD: &str = "10ax";
pub const CLOUD_SITE: &str = "acme-analytics";

/// The Tableau notes of the failing refresh, shaped like a real extract failure.
pub const FAILURE_NOTES: &str = "com.tableausoftware.nativeapi.dll.DataSourceException: \
    [Snowflake] Incorrect username or password was specified. Login failed for user 'TABLEAU_SVC'.";

impl Scenario {
    pub fn describe(self) -> &'static str {
        match self {
            Scenario::Success => {
                "A dbt Cloud job succeeds; its webhook goes through the relay to GitHub, and the action refreshes two workbooks and a data source."
            }
            Scenario::FailedRun => {
                "A dbt Cloud run fails. The relay forwards the verified event; the action reads it and refreshes nothing."
            }
            Scenario::Forged => {
                "Someone posts a webhook signed with the wrong key, then sends a forged repository_dispatch straight to GitHub. Both are refused; Tableau is never contacted."
            }
            Scenario::RefreshFails => {
                "A dbt Cloud job succeeds, but one workbook's extract refresh fails on Tableau. The run fails and the summary shows Tableau's notes."
            }
            Scenario::AlreadyQueued => {
                "A refresh of the Orders data source is already queued on Tableau. Tableau answers 409093; the action reports it as a warning."
            }
            Scenario::SessionExpires => {
                "The Tableau session expires while the jobs run. The action signs in again once and finishes."
            }
            Scenario::TableauCloud => {
                "The workflow names Tableau Cloud's front door, https://online.tableau.com. Tableau answers with a redirect to the site's pod; the action follows it over TLS, signs in there, sends every later call to the pod, and the summary names it."
            }
            Scenario::ConnectedApp => {
                "The action signs in with a Tableau connected app: a 5-minute JWT with only the scopes the run needs. The session expires mid-run and the action signs a new JWT."
            }
            Scenario::Lineage => {
                "A dbt Cloud run rebuilt fct_orders (and dim_customers; fct_revenue failed). With select: lineage the action reads the run's artifacts from dbt Cloud, asks Tableau's Metadata API what reads those tables, and refreshes the Orders data source and the one workbook with its own extract of fct_orders; the live workbook and the workbook that reads Orders are skipped, and the summary says why."
            }
        }
    }

    /// dbt's `runStatus` and `runStatusCode` for the run.
    pub fn run_status(self) -> (&'static str, u8) {
        match self {
            Scenario::FailedRun => ("Errored", 20),
            _ => ("Success", 10),
        }
    }

    /// The `status` output the action must end with.
    pub fn expected_status(self) -> &'static str {
        match self {
            Scenario::Success
            | Scenario::AlreadyQueued
            | Scenario::SessionExpires
            | Scenario::TableauCloud
            | Scenario::ConnectedApp
            | Scenario::Lineage => "success",
            Scenario::FailedRun => "skipped",
            Scenario::Forged | Scenario::RefreshFails => "failed",
        }
    }

    /// The Tableau site: the sample, with job times that make the wait visible.
    pub fn site(self) -> SimConfig {
        let mut config = SimConfig::sample().with_job_duration(Duration::from_millis(1_500));
        for (item, millis) in config.workbooks.iter_mut().zip([2_400, 1_800, 1_200, 900]) {
            item.job.duration = Duration::from_millis(millis);
        }
        if self == Scenario::RefreshFails
            && let Some(pnl) = config
                .workbooks
                .iter_mut()
                .find(|w| w.id == PNL_WORKBOOK_ID)
        {
            pnl.job = SimJobBehaviour::failing(Duration::from_millis(1_600), FAILURE_NOTES);
        }
        if self == Scenario::TableauCloud {
            config.sites = vec![CLOUD_SITE.to_string()];
            for item in config
                .workbooks
                .iter_mut()
                .chain(config.datasources.iter_mut())
            {
                item.site = CLOUD_SITE.to_string();
            }
        }
        if self == Scenario::ConnectedApp {
            // A JWT session can query jobs from REST API 3.25 on (Tableau Cloud today).
            config = config.with_api_version("3.25");
        }
        config
    }
}
