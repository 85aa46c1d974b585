//! `--select exposures` and `lineage`: read what the dbt run built (dbt Cloud or a folder), find
//! the declared exposures downstream of it and the Tableau items they name, and the relations it
//! changed; after sign-in, resolve those items and follow Tableau's lineage (concurrently), and
//! merge them with the listed targets into one list deduplicated by LUID, each with the reasons
//! it was selected. What was considered and not refreshed goes into the report.

use std::collections::{BTreeMap, HashMap};

use super::config::{ArtifactSource, Config, Target};
use super::lineage::{self, Changed};
use super::report::{Considered, Phase, Report};
use crate::actions::Console;
use crate::dbt::WebhookEvent;
use crate::dbt::artifacts::exposures::{ItemRef, tableau_items, web_id};
use crate::dbt::artifacts::load::{self, LoadError, RunArtifacts};
use crate::dbt::artifacts::selection::short_name;
use crate::dbt::artifacts::{ExposureVerdict, affected_exposures};
use crate::dbt::cloud::CloudClient;
use crate::tableau::content::{self, Resolution, Resolved};
use crate::tableau::metadata::{Backoff, Client};
use crate::tableau::{Kind, Reference, Session};

/// The Tableau items affected exposures name, each with the exposures that named it.
#[derive(Debug, Default)]
pub(super) struct ExposurePlan {
    items: Vec<(ItemRef, Vec<String>)>,
    /// The report's "N exposure(s) untouched" line is last in `considered`; later entries go
    /// before it.
    untouched_line: bool,
    /// `select: lineage`: the relations the run changed, followed in Tableau after sign-in.
    lineage: Option<Changed>,
}

impl ExposurePlan {
    /// Whether selection needs nothing from Tableau beyond the listed targets.
    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty() && self.lineage.as_ref().is_none_or(|c| c.relations.is_empty())
    }
}

/// Reads the run's artifacts when `exposures` or `lineage` is selected. `None` when the run must stop (the
/// report says why).
pub(super) async fn read_run(
    config: &Config,
    event: Option<&WebhookEvent>,
    console: Console,
    report: &mut Report,
) -> Option<ExposurePlan> {
    let Some(source) = config
        .artifacts
        .as_ref()
        .filter(|_| config.select.needs_artifacts())
    else {
        return Some(ExposurePlan::default());
    };
    let _group = console.group("Read what the dbt run built");
    let loaded = match source {
        ArtifactSource::Dir(dir) => {
            let dir = dir.clone();
            // A large manifest takes a moment to parse: keep it off the async workers.
            tokio::task::spawn_blocking(move || load::from_dir(&dir))
                .await
                .unwrap_or_else(|err| Err(LoadError::Failed(format!("reading artifacts: {err}"))))
        }
        ArtifactSource::Cloud(token) => from_cloud(config, event, token.clone()).await,
    };
    let artifacts = match loaded {
        Ok(artifacts) => artifacts,
        Err(LoadError::Missing(message)) if !config.targets.is_empty() => {
            let message = format!("{message}. Refreshing the listed targets only.");
            console.warning("No dbt artifacts", &message);
            report.warnings.push(message);
            return Some(ExposurePlan::default());
        }
        Err(err) => {
            report.fail(Phase::Artifacts, err.to_string());
            return None;
        }
    };
    Some(plan(config, &artifacts, console, report))
}

async fn from_cloud(
    config: &Config,
    event: Option<&WebhookEvent>,
    token: crate::secret::Secret,
) -> Result<RunArtifacts, LoadError> {
    let Some(event) = event else {
        return Err(LoadError::Failed(
            "a manual run has no dbt Cloud run to read artifacts from: set dbt-artifacts-dir \
             (DBT_ARTIFACTS_DIR) to the folder a `dbt build` step wrote"
                .into(),
        ));
    };
    let (Some(account), Some(run)) = (event.account_id.as_deref(), event.data.run_id.as_deref())
    else {
        return Err(LoadError::Failed(
            "the dbt event names no accountId and runId, so its artifacts cannot be fetched".into(),
        ));
    };
    let client = CloudClient::new(config.dbt_cloud_url.clone(), token)
        .map_err(|err| LoadError::Failed(err.to_string()))?;
    load::from_cloud(&client, account, run).await
}

/// Which exposures the run reaches and what they name.
fn plan(
    config: &Config,
    artifacts: &RunArtifacts,
    console: Console,
    report: &mut Report,
) -> ExposurePlan {
    let built = &artifacts.built;
    let commands = if built.commands.is_empty() {
        "nothing".to_string()
    } else {
        built
            .commands
            .iter()
            .map(|c| format!("dbt {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut line = format!(
        "Read {}: {} built by {commands}",
        artifacts.source,
        crate::plural::count(built.nodes.len(), "node", "nodes")
    );
    if !built.not_built.is_empty() {
        line.push_str(&format!(", {} not built", built.not_built.len()));
    }
    if !built.ignored.is_empty() {
        line.push_str(&format!("; ignored {}", built.ignored.join("; ")));
    }
    console.info(&format!("{line}."));
    report.selection = Some(line);
    let mut plan = ExposurePlan::default();
    if config.select.lineage {
        let changed = lineage::changed_relations(&artifacts.manifest, built);
        console.info(&format!(
            "Lineage: {} changed in this run ({} over built models); \
             Tableau's lineage is followed after sign-in.",
            crate::plural::count(changed.relations.len(), "relation", "relations"),
            crate::plural::count(changed.views.len(), "view", "views")
        ));
        plan.lineage = Some(changed);
    }
    if !config.select.exposures {
        return plan;
    }
    let mut untouched = 0;
    for affected in affected_exposures(&artifacts.manifest, built) {
        let name = &affected.exposure.name;
        let subject = format!("exposure {name}");
        match &affected.verdict {
            ExposureVerdict::Affected { because, via } => {
                let why = reach(because, via);
                match tableau_items(affected.exposure, &config.connection.site) {
                    Ok(items) => {
                        console.info(&format!(
                            "Exposure {name}: {why} → {}.",
                            items
                                .iter()
                                .map(|i| format!("{} {}", i.kind().label(), i.describe()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        for item in items {
                            let reason = format!("exposure:{name}");
                            match plan.items.iter_mut().find(|(known, _)| *known == item) {
                                Some((_, reasons)) => push_unique(reasons, reason),
                                None => plan.items.push((item, vec![reason])),
                            }
                        }
                    }
                    Err(none) => {
                        console.info(&format!("Exposure {name}: {why}, but {none}."));
                        report.considered.push(Considered {
                            subject,
                            reason: format!("{why}, but it names no Tableau item: {none}"),
                        });
                    }
                }
            }
            ExposureVerdict::NotBuilt { failed } => {
                let failed = failed
                    .iter()
                    .map(|(id, status)| format!("{} ({status})", short_name(id)))
                    .collect::<Vec<_>>()
                    .join(", ");
                console.info(&format!(
                    "Exposure {name}: not refreshed, its upstream did not build: {failed}."
                ));
                report.considered.push(Considered {
                    subject,
                    reason: format!("its upstream did not build in this run: {failed}"),
                });
            }
            ExposureVerdict::Untouched => untouched += 1,
        }
    }
    if untouched > 0 {
        plan.untouched_line = true;
        report.considered.push(Considered {
            subject: crate::plural::count(untouched, "exposure", "exposures"),
            reason: "nothing upstream of them was built in this run".into(),
        });
    }
    plan
}

/// `fct_orders built (through the view customer_orders)`.
fn reach(because: &[String], via: &[String]) -> String {
    let built = because
        .iter()
        .map(|id| short_name(id))
        .collect::<Vec<_>>()
        .join(", ");
    if via.is_empty() {
        format!("{built} built in this run")
    } else {
        format!(
            "{built} built in this run, read through {}",
            via.iter()
                .map(|id| short_name(id))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// One candidate target before deduplication.
struct Candidate {
    kind: Kind,
    text: String,
    reference: Reference,
    selected_by: Vec<String>,
    resolved: Option<Resolved>,
}

/// The run's targets: the listed ones, those of the exposures and those lineage found,
/// resolved and deduplicated by LUID (a target's reasons are merged). With neither exposure items
/// nor lineage this is the listed targets as they are, at no extra request. Lookups and lineage
/// run concurrently; what they found is not looked up again by the refresh step. Targets that
/// do not resolve here are kept as written, so the refresh step reports them as it does any
/// listed target.
pub(super) async fn targets(
    session: &Session<'_>,
    config: &Config,
    plan: &ExposurePlan,
    console: Console,
    report: &mut Report,
) -> Vec<Target> {
    if plan.is_empty() {
        return config.targets.clone();
    }
    let mut candidates: Vec<Candidate> = config
        .targets
        .iter()
        .map(|t| Candidate {
            kind: t.kind,
            text: t.text.clone(),
            reference: t.reference.clone(),
            selected_by: t.selected_by.clone(),
            resolved: t.resolved.clone(),
        })
        .collect();
    let by_address = by_address(session, config.concurrency, plan, report).await;
    for (item, reasons) in &plan.items {
        match item {
            ItemRef::Reference(kind, reference) => candidates.push(Candidate {
                kind: *kind,
                text: reference.to_string(),
                reference: reference.clone(),
                selected_by: reasons.clone(),
                resolved: None,
            }),
            other => {
                match by_address.get(other) {
                    Some((id, name)) => candidates.push(Candidate {
                        kind: other.kind(),
                        text: name.clone(),
                        reference: Reference::Luid(id.clone()),
                        selected_by: reasons.clone(),
                        resolved: None,
                    }),
                    None => {
                        for reason in reasons {
                            let at = report
                                .considered
                                .len()
                                .saturating_sub(usize::from(plan.untouched_line));
                            report.considered.insert(at, Considered {
                            subject: reason.replacen("exposure:", "exposure ", 1),
                            reason: format!(
                                "the {} {} is not on this site or not visible to this token",
                                other.kind().label(),
                                other.describe()
                            ),
                        });
                        }
                    }
                }
            }
        }
    }
    let wanted: Vec<(Kind, Reference)> = candidates
        .iter()
        .map(|c| (c.kind, c.reference.clone()))
        .collect();
    let lookups = async {
        if wanted.is_empty() {
            Vec::new()
        } else {
            content::resolve_all(session, &wanted, config.concurrency).await
        }
    };
    let (resolutions, followed) = tokio::join!(lookups, follow_lineage(session, plan));
    let from_lineage = take_lineage(followed, console, report);
    let listed_and_exposures = candidates.len();
    candidates.extend(from_lineage.into_iter().map(|item| Candidate {
        kind: item.kind,
        text: item.name.clone(),
        reference: Reference::Luid(item.luid.clone()),
        selected_by: item.reasons,
        resolved: Some(Resolved {
            kind: item.kind,
            id: item.luid,
            name: item.name,
            project: item.project,
            url: None,
            bridge: false,
            // Completed over REST alongside the refresh request (refresh::targets).
            partial: true,
        }),
    }));
    let resolutions = resolutions
        .into_iter()
        .map(Some)
        .chain(std::iter::repeat(None));
    // (kind, LUID) or, unresolved, (kind, reference text) → index in `merged`.
    let mut index: BTreeMap<(Kind, String), usize> = BTreeMap::new();
    let mut merged: Vec<Target> = Vec::new();
    let total = candidates.len();
    for (candidate, resolution) in candidates.into_iter().zip(resolutions) {
        let found = match (candidate.resolved, resolution) {
            (Some(found), _) | (None, Some(Resolution::Found(found))) => Some(found),
            _ => None,
        };
        let (key, reference) = match &found {
            Some(found) => (
                (candidate.kind, found.id.clone()),
                Reference::Luid(found.id.clone()),
            ),
            None => (
                (candidate.kind, format!("?{}", candidate.reference)),
                candidate.reference,
            ),
        };
        match index.get(&key) {
            Some(&at) => {
                for reason in candidate.selected_by {
                    push_unique(&mut merged[at].selected_by, reason);
                }
            }
            None => {
                index.insert(key, merged.len());
                merged.push(Target {
                    kind: candidate.kind,
                    text: candidate.text,
                    reference,
                    selected_by: candidate.selected_by,
                    resolved: found,
                });
            }
        }
    }
    console.info(&format!(
        "{}: {} listed, {} from exposures, {} from lineage; {} merged.",
        crate::plural::count(merged.len(), "target", "targets"),
        config.targets.len(),
        listed_and_exposures - config.targets.len(),
        total - listed_and_exposures,
        crate::plural::count(total - merged.len(), "duplicate", "duplicates")
    ));
    merged
}

/// Follows Tableau's lineage of the changed relations, when lineage is selected and the run
/// changed any.
async fn follow_lineage(
    session: &Session<'_>,
    plan: &ExposurePlan,
) -> Option<Result<lineage::Outcome, crate::tableau::metadata::MetadataError>> {
    let changed = plan.lineage.as_ref().filter(|c| !c.relations.is_empty())?;
    let client = Client::new(session, Backoff::default());
    Some(lineage::follow(&client, changed).await)
}

/// Puts what lineage found into the console and the report; returns its items.
fn take_lineage(
    followed: Option<Result<lineage::Outcome, crate::tableau::metadata::MetadataError>>,
    console: Console,
    report: &mut Report,
) -> Vec<lineage::Item> {
    let Some(followed) = followed else {
        return Vec::new();
    };
    let _group = console.group("Follow Tableau lineage (Metadata API)");
    let outcome = match followed {
        Ok(outcome) => outcome,
        Err(err) => {
            let message = err.to_string();
            console.error("Tableau lineage", &message);
            report.fail(Phase::Lineage, message);
            return Vec::new();
        }
    };
    for warning in &outcome.warnings {
        console.warning("Tableau lineage", warning);
        report.warnings.push(warning.clone());
    }
    for item in &outcome.items {
        console.info(&format!(
            "Lineage: {} {} ← {}.",
            item.kind.label(),
            item.name,
            item.reasons.join(", ")
        ));
    }
    for considered in &outcome.considered {
        console.info(&format!(
            "Lineage: {}: {}.",
            considered.subject, considered.reason
        ));
    }
    console.info(&format!(
        "Lineage: {} to refresh, {} considered, in {}.",
        crate::plural::count(outcome.items.len(), "item", "items"),
        outcome.considered.len(),
        crate::plural::count(
            outcome.requests,
            "Metadata API request",
            "Metadata API requests"
        )
    ));
    report.considered.extend(outcome.considered);
    outcome.items
}

/// Items named by a browser address, found among the site's items by `webpageUrl` number or
/// workbook `contentUrl`: item → (LUID, name). Lists only the kinds some address needs.
async fn by_address(
    session: &Session<'_>,
    concurrency: usize,
    plan: &ExposurePlan,
    report: &mut Report,
) -> HashMap<ItemRef, (String, String)> {
    let addresses: Vec<&ItemRef> = plan
        .items
        .iter()
        .map(|(item, _)| item)
        .filter(|item| !matches!(item, ItemRef::Reference(..)))
        .collect();
    let mut found = HashMap::new();
    for kind in [Kind::Workbook, Kind::Datasource] {
        if !addresses.iter().any(|a| a.kind() == kind) {
            continue;
        }
        let items = match content::list_every(session, kind, concurrency).await {
            Ok(items) => items,
            Err(err) => {
                report.warnings.push(format!(
                    "Could not list the site's {} to match exposure urls: {err}",
                    kind.plural()
                ));
                continue;
            }
        };
        for address in addresses.iter().filter(|a| a.kind() == kind) {
            let hit = items.iter().find(|item| match address {
                ItemRef::WebId(_, id) => {
                    item.webpage_url.as_deref().and_then(web_id) == Some(id.as_str())
                }
                ItemRef::WorkbookContentUrl(url) => item.content_url.as_deref() == Some(url),
                ItemRef::Reference(..) => false,
            });
            if let Some(item) = hit {
                found.insert((*address).clone(), (item.id.clone(), item.name.clone()));
            }
        }
    }
    found
}
