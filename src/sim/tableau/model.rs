//! What the simulated server holds: the configuration types (sites, PATs, projects, workbooks, data
//! sources, how their refresh jobs end) with small builders, and the start-up check of that config.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// Everything the simulator serves. Immutable once the server has started; the runtime knobs are on
/// [`super::FaultHandle`].
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// What `serverinfo` reports as `restApiVersion` and the highest `/api/{v}` the server answers.
    pub rest_api_version: String,
    /// What `serverinfo` reports as `productVersion.value`.
    pub product_version: String,
    /// Site contentUrls served; `""` is the default site.
    pub sites: Vec<String>,
    /// `(token name, token secret)` pairs accepted at sign-in, valid on every site.
    pub pats: Vec<(String, String)>,
    /// Projects; served on every site (the simulator does not scope projects by site).
    pub projects: Vec<SimProject>,
    pub workbooks: Vec<SimItem>,
    pub datasources: Vec<SimItem>,
    /// Connected apps (direct trust) whose JWTs sign in; see `SimConnectedApp`.
    pub connected_apps: Vec<super::SimConnectedApp>,
    /// Added to every request before answering (changeable at runtime with `FaultHandle::set_latency`).
    pub latency: Duration,
    /// What the Metadata API (`/api/metadata/graphql`) serves beyond the REST content.
    pub metadata: super::SimMetadata,
}

impl Default for SimConfig {
    /// An empty server on the default site: no PATs, no content, no latency.
    fn default() -> Self {
        Self {
            rest_api_version: "3.24".to_owned(),
            product_version: "2024.2.0".to_owned(),
            sites: vec![String::new()],
            pats: Vec::new(),
            projects: Vec::new(),
            workbooks: Vec::new(),
            datasources: Vec::new(),
            connected_apps: Vec::new(),
            latency: Duration::ZERO,
            metadata: super::SimMetadata::default(),
        }
    }
}

impl SimConfig {
    /// Give every workbook and data source refresh job this duration (tests want tens of ms).
    pub fn with_job_duration(mut self, duration: Duration) -> Self {
        for item in self.workbooks.iter_mut().chain(self.datasources.iter_mut()) {
            item.job.duration = duration;
        }
        self
    }

    /// Serve this REST API version (and report it from `serverinfo`).
    pub fn with_api_version(mut self, version: &str) -> Self {
        version.clone_into(&mut self.rest_api_version);
        self
    }

    /// Reject configs the handlers would otherwise have to guess about: dangling project references,
    /// items on unknown sites, duplicate ids, and an unparsable API version.
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        super::routes::parse_version(&self.rest_api_version).with_context(|| {
            format!(
                "rest_api_version {:?} is not MAJOR.MINOR",
                self.rest_api_version
            )
        })?;
        let project_ids: BTreeSet<&str> = self.projects.iter().map(|p| p.id.as_str()).collect();
        if project_ids.len() != self.projects.len() {
            bail!("two projects share an id");
        }
        for project in &self.projects {
            if let Some(parent) = &project.parent_id
                && !project_ids.contains(parent.as_str())
            {
                bail!("project {:?} names unknown parent {parent:?}", project.name);
            }
        }
        let mut item_ids = BTreeSet::new();
        for item in self.workbooks.iter().chain(&self.datasources) {
            if !item_ids.insert(item.id.as_str()) {
                bail!("two items share the id {:?}", item.id);
            }
            if !self.sites.contains(&item.site) {
                bail!("item {:?} is on unknown site {:?}", item.name, item.site);
            }
            if let Some(project) = &item.project_id
                && !project_ids.contains(project.as_str())
            {
                bail!("item {:?} names unknown project {project:?}", item.name);
            }
            if item.job.finish_code > 3 {
                bail!("item {:?}: finish_code must be 0..=3", item.name);
            }
        }
        super::metadata::validate(self)
    }
}

/// A project; `parent_id` makes it a sub-project.
#[derive(Clone, Debug)]
pub struct SimProject {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
}

impl SimProject {
    /// A top-level project.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            parent_id: None,
        }
    }

    /// Make this a sub-project of `parent_id`.
    pub fn under(mut self, parent_id: impl Into<String>) -> Self {
        self.parent_id = Some(parent_id.into());
        self
    }
}

/// A workbook or a published data source (which one depends on the list it is in).
#[derive(Clone, Debug)]
pub struct SimItem {
    pub id: String,
    pub name: String,
    /// `None` = personal space: the item JSON then has no `project` key.
    pub project_id: Option<String>,
    /// contentUrl of its site (`""` = default site).
    pub site: String,
    pub has_extracts: bool,
    /// What a refresh of this item does.
    pub job: SimJobBehaviour,
    /// A data source served through Tableau Bridge (`useRemoteQueryAgent="true"`).
    pub bridge: bool,
}

impl SimItem {
    /// An item on the default site, with extracts, whose refresh succeeds after 300 ms.
    pub fn new(id: impl Into<String>, name: impl Into<String>, project_id: Option<&str>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            project_id: project_id.map(str::to_owned),
            site: String::new(),
            has_extracts: true,
            job: SimJobBehaviour::default(),
            bridge: false,
        }
    }

    /// Put the item on the site with this contentUrl.
    pub fn on_site(mut self, site: impl Into<String>) -> Self {
        self.site = site.into();
        self
    }

    /// A live-connection item: refresh answers 409090.
    pub fn without_extracts(mut self) -> Self {
        self.has_extracts = false;
        self
    }

    /// A data source served through Tableau Bridge; pair it with [`SimJobBehaviour::via_bridge`].
    pub fn through_bridge(mut self) -> Self {
        self.bridge = true;
        self
    }

    pub fn with_job(mut self, job: SimJobBehaviour) -> Self {
        self.job = job;
        self
    }
}

/// How a refresh job of an item ends.
#[derive(Clone, Debug)]
pub struct SimJobBehaviour {
    /// Time from the refresh POST until `completedAt` appears.
    pub duration: Duration,
    /// 0 ok, 1 failed, 2 cancelled, 3 Bridge "completed".
    pub finish_code: u8,
    /// `extractRefreshJob.notes` once completed (e.g. the ODBC "Login failed" text of a failure).
    pub notes: Option<String>,
    /// A Tableau Bridge job: for this long after `duration` it shows `completedAt` with
    /// finishCode 0 ("assigned to a Bridge client"), then `finish_code` (docs/tableau-compat.md G4).
    pub bridge_assigned: Option<Duration>,
}

impl Default for SimJobBehaviour {
    fn default() -> Self {
        Self::succeeding(Duration::from_millis(300))
    }
}

impl SimJobBehaviour {
    pub fn succeeding(duration: Duration) -> Self {
        Self {
            duration,
            finish_code: 0,
            notes: None,
            bridge_assigned: None,
        }
    }

    /// finishCode 1 with `notes`, shaped like the server's extract failure text.
    pub fn failing(duration: Duration, notes: impl Into<String>) -> Self {
        Self {
            duration,
            finish_code: 1,
            notes: Some(notes.into()),
            bridge_assigned: None,
        }
    }

    /// Any finish code (2 = cancelled by someone else, 3 = Bridge completed).
    pub fn finishing_with(duration: Duration, finish_code: u8) -> Self {
        Self {
            duration,
            finish_code,
            notes: None,
            bridge_assigned: None,
        }
    }

    /// A Bridge refresh: running for `duration`, then `completedAt` with finishCode 0 (a Bridge
    /// client was assigned) for `assigned`, then finishCode 3 (completed).
    pub fn via_bridge(duration: Duration, assigned: Duration) -> Self {
        Self {
            duration,
            finish_code: 3,
            notes: None,
            bridge_assigned: Some(assigned),
        }
    }
}
