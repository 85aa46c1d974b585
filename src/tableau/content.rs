//! Resolving references to exactly one workbook or data source: name queries with wildcard-safe
//! filters, paging, project paths, and clear errors for missing or ambiguous names.

use std::collections::HashMap;

use futures_util::StreamExt;
use reqwest::Method;

use super::error::TableauError;
use super::http::Retry;
use super::model::{Item, Page, Project};
use super::reference::{Kind, Reference, filter_pattern};
use super::session::Session;
use super::suggest::{self, Candidate};

/// The largest page Tableau serves.
const PAGE_SIZE: u64 = 1000;
/// At most this many pages of one list (a million items at the largest page size).
const MAX_PAGES: u64 = 1000;

/// One item found on the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub kind: Kind,
    pub id: String,
    pub name: String,
    /// The project path (`Finance/Quarterly`) when known, else the project name.
    pub project: Option<String>,
    pub url: Option<String>,
    /// Served through Tableau Bridge (`useRemoteQueryAgent`): finishCode 0 is not the end.
    pub bridge: bool,
    /// Found by the Metadata API (lineage), not over REST: `project` is the leaf project's name,
    /// and `url` and `bridge` are unknown. The refresh step completes them with [`Details`].
    pub partial: bool,
}

/// The result of resolving one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Found(Resolved),
    NotFound(String),
    Ambiguous(String),
    Failed(String),
}

/// Plain names asked for in one `name:in:[…]` query, at most this many…
const MAX_NAMES_PER_QUERY: usize = 100;
/// …and at most this long, so the URL stays well within server limits.
const MAX_FILTER_CHARS: usize = 1_500;

/// Resolves every reference. Plain names are looked up many at a time with `name:in:[…]`; names
/// with filter separators one at a time with wildcards; LUIDs directly. The queries and the project
/// list run concurrently (at most `concurrency` at once), so resolving 50 targets costs about one
/// round trip, not 50.
pub async fn resolve_all(
    session: &Session<'_>,
    targets: &[(Kind, Reference)],
    concurrency: usize,
) -> Vec<Resolution> {
    let (queries, query_of_target) = plan(targets);
    // Projects give paths for display (`Finance/Quarterly`) and are needed to match Path
    // references; the list runs alongside the lookups, so it costs no extra round trip.
    let projects = list_projects(session, concurrency);
    let found = futures_util::stream::iter(
        queries
            .iter()
            .map(|query| run_query(session, query, concurrency)),
    )
    .buffered(concurrency.max(1))
    .collect::<Vec<_>>();
    let (projects, found) = tokio::join!(projects, found);
    let projects = projects
        .map(ProjectTree::new)
        .map_err(|err| format!("could not list projects: {err}"));
    let mut resolutions: Vec<Resolution> = targets
        .iter()
        .zip(query_of_target)
        .map(|((kind, reference), query)| match &found[query] {
            Ok(items) => choose(*kind, reference, items, &projects),
            Err(err) => Resolution::Failed(format!(
                "could not look up {} `{reference}`: {err}",
                kind.label()
            )),
        })
        .collect();
    add_hints(session, targets, &mut resolutions, &projects, concurrency).await;
    resolutions
}

/// Adds a "did you mean" to each name that matched nothing. Only a miss costs the extra lists
/// (every workbook and data source, read together): hints need the other kind and other case,
/// which the name queries cannot find. If the lists fail, the message stays as it was.
async fn add_hints(
    session: &Session<'_>,
    targets: &[(Kind, Reference)],
    resolutions: &mut [Resolution],
    projects: &Result<ProjectTree, String>,
    concurrency: usize,
) {
    let missed = |(kind_ref, resolution): &(&(Kind, Reference), &Resolution)| {
        matches!(resolution, Resolution::NotFound(_)) && !matches!(kind_ref.1, Reference::Luid(_))
    };
    if !targets
        .iter()
        .zip(resolutions.iter())
        .any(|pair| missed(&pair))
    {
        return;
    }
    let (workbooks, datasources) = tokio::join!(
        list_every(session, Kind::Workbook, concurrency),
        list_every(session, Kind::Datasource, concurrency)
    );
    let (Ok(workbooks), Ok(datasources)) = (workbooks, datasources) else {
        return;
    };
    let tree = projects.as_ref().ok();
    let candidates: Vec<Candidate> = [(Kind::Workbook, workbooks), (Kind::Datasource, datasources)]
        .into_iter()
        .flat_map(|(kind, items)| {
            items.into_iter().map(move |item| Candidate {
                kind,
                project: item.project.as_ref().map(|p| {
                    tree.and_then(|t| t.path(&p.id))
                        .map(|path| path.join("/"))
                        .or_else(|| p.name.clone())
                        .unwrap_or_else(|| p.id.clone())
                }),
                name: item.name,
            })
        })
        .collect();
    for ((kind, reference), resolution) in targets.iter().zip(resolutions.iter_mut()) {
        if let (Resolution::NotFound(message), false) =
            (&mut *resolution, matches!(reference, Reference::Luid(_)))
            && let Some(hint) = suggest::hint(*kind, &reference.to_string(), &candidates)
        {
            message.push_str("; ");
            message.push_str(&hint);
        }
    }
}

/// One request (with its pages) to Tableau.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Query {
    ById(Kind, String),
    /// A name with `,` `&` `:` or brackets, searched with `*` wildcards.
    NameEq(Kind, String),
    /// Plain names, searched together.
    NameIn(Kind, Vec<String>),
}

/// The queries to run, and for each target the index of the query that answers it.
fn plan(targets: &[(Kind, Reference)]) -> (Vec<Query>, Vec<usize>) {
    let mut queries: Vec<Query> = Vec::new();
    let mut query_of_target = Vec::with_capacity(targets.len());
    // Where each kind's currently open `in` batch is.
    let mut open_batch: HashMap<Kind, usize> = HashMap::new();
    // Which query already covers a (kind, name) or (kind, id).
    let mut seen: HashMap<(Kind, bool, String), usize> = HashMap::new();
    for (kind, reference) in targets {
        let key = match reference {
            Reference::Luid(id) => (*kind, true, id.clone()),
            Reference::Path { name, .. } | Reference::Name(name) => (*kind, false, name.clone()),
        };
        if let Some(&index) = seen.get(&key) {
            query_of_target.push(index);
            continue;
        }
        let index = match reference {
            Reference::Luid(id) => push(&mut queries, Query::ById(*kind, id.clone())),
            Reference::Path { name, .. } | Reference::Name(name) if needs_wildcards(name) => {
                push(&mut queries, Query::NameEq(*kind, name.clone()))
            }
            Reference::Path { name, .. } | Reference::Name(name) => {
                match open_batch.get(kind).copied() {
                    Some(index) if fits(&queries[index], name) => {
                        if let Query::NameIn(_, names) = &mut queries[index] {
                            names.push(name.clone());
                        }
                        index
                    }
                    _ => {
                        let index = push(&mut queries, Query::NameIn(*kind, vec![name.clone()]));
                        open_batch.insert(*kind, index);
                        index
                    }
                }
            }
        };
        seen.insert(key, index);
        query_of_target.push(index);
    }
    (queries, query_of_target)
}

fn push(queries: &mut Vec<Query>, query: Query) -> usize {
    queries.push(query);
    queries.len() - 1
}

/// Names that cannot stand in a filter value as they are.
fn needs_wildcards(name: &str) -> bool {
    name.contains([',', '&', ':', '[', ']'])
}

/// Whether `name` can join the `in` batch `query`.
fn fits(query: &Query, name: &str) -> bool {
    let Query::NameIn(_, names) = query else {
        return false;
    };
    let length: usize = names.iter().map(|n| n.len() + 1).sum::<usize>() + name.len();
    names.len() < MAX_NAMES_PER_QUERY && length <= MAX_FILTER_CHARS
}

async fn run_query(
    session: &Session<'_>,
    query: &Query,
    concurrency: usize,
) -> Result<Vec<Item>, TableauError> {
    match query {
        Query::ById(kind, id) => get_by_id(session, *kind, id).await,
        Query::NameEq(kind, name) => {
            let filter = format!("name:eq:{}", filter_pattern(name));
            list_named(session, *kind, &filter, concurrency).await
        }
        Query::NameIn(kind, names) => {
            let filter = match names.as_slice() {
                [one] => format!("name:eq:{one}"),
                many => format!("name:in:[{}]", many.join(",")),
            };
            list_named(session, *kind, &filter, concurrency).await
        }
    }
}

async fn list_named(
    session: &Session<'_>,
    kind: Kind,
    filter: &str,
    concurrency: usize,
) -> Result<Vec<Item>, TableauError> {
    list_all(
        session,
        kind.plural(),
        kind.singular(),
        Some(filter),
        concurrency,
    )
    .await
}

async fn get_by_id(session: &Session<'_>, kind: Kind, id: &str) -> Result<Vec<Item>, TableauError> {
    let answer = session
        .call(Method::GET, &[kind.plural(), id], &[], None, Retry::Safe)
        .await;
    match answer {
        Ok(response) => {
            let value: serde_json::Value = response.json("item answer")?;
            let item = value.get(kind.singular()).cloned().ok_or_else(|| {
                TableauError::Decode(format!("no `{}` in the answer", kind.singular()))
            })?;
            let item: Item = serde_json::from_value(item).map_err(|err| {
                TableauError::Decode(format!("{} answer: {err}", kind.singular()))
            })?;
            Ok(vec![item])
        }
        // 404 means no such item.
        Err(TableauError::Api(api)) if api.status == 404 => Ok(Vec::new()),
        Err(err) => Err(err),
    }
}

/// Reads every page of a list endpoint (`plural` holding `singular` items), optionally filtered.
/// The first page says how many there are; the rest are asked for together (at most
/// `concurrency` at once), so a list of any length costs two round trips, not one per page.
async fn list_all<T: serde::de::DeserializeOwned>(
    session: &Session<'_>,
    plural: &str,
    singular: &str,
    filter: Option<&str>,
    concurrency: usize,
) -> Result<Vec<T>, TableauError> {
    let first = list_page(session, plural, singular, filter, 1).await?;
    let pages = page_count(first.total, first.size, first.items.len());
    let mut all = first.items;
    let mut rest = futures_util::stream::iter(
        (2..=pages).map(|number| list_page::<T>(session, plural, singular, filter, number)),
    )
    .buffered(concurrency.max(1));
    while let Some(page) = rest.next().await {
        let page = page?;
        // A page past the real end is empty: the list shrank while it was read.
        if page.items.is_empty() {
            break;
        }
        all.extend(page.items);
    }
    Ok(all)
}

/// One page of a list, with what its pagination says.
struct Listed<T> {
    items: Vec<T>,
    total: u64,
    size: u64,
}

async fn list_page<T: serde::de::DeserializeOwned>(
    session: &Session<'_>,
    plural: &str,
    singular: &str,
    filter: Option<&str>,
    number: u64,
) -> Result<Listed<T>, TableauError> {
    let mut query = vec![
        ("pageSize", PAGE_SIZE.to_string()),
        ("pageNumber", number.to_string()),
    ];
    if let Some(filter) = filter {
        query.push(("filter", filter.to_string()));
    }
    let response = session
        .call(Method::GET, &[plural], &query, None, Retry::Safe)
        .await?;
    let page: Page = response.json("list answer")?;
    let items: Vec<T> = page
        .items(plural, singular)
        .map_err(|err| TableauError::Decode(format!("{singular} list: {err}")))?;
    Ok(Listed {
        items,
        total: page.pagination.total_available,
        size: page.pagination.page_size,
    })
}

/// How many pages hold `total` items at `size` a page (the server's size, which may be smaller
/// than asked), given that the first page held `first` items: an empty first page is the end.
/// Capped, so that a wrong total cannot send the client asking for pages without end.
fn page_count(total: u64, size: u64, first: usize) -> u64 {
    if first == 0 {
        return 1;
    }
    total.div_ceil(size.max(1)).clamp(1, MAX_PAGES)
}

/// Every workbook or data source on the site the token can see (matching browser addresses
/// of dbt exposures to items needs their `webpageUrl` and `contentUrl`).
pub async fn list_every(
    session: &Session<'_>,
    kind: Kind,
    concurrency: usize,
) -> Result<Vec<Item>, TableauError> {
    list_all(session, kind.plural(), kind.singular(), None, concurrency).await
}

async fn list_projects(
    session: &Session<'_>,
    concurrency: usize,
) -> Result<Vec<Project>, TableauError> {
    list_all(session, "projects", "project", None, concurrency).await
}

/// Projects by id, for building paths.
#[derive(Debug)]
struct ProjectTree {
    by_id: HashMap<String, Project>,
}

impl ProjectTree {
    fn new(projects: Vec<Project>) -> Self {
        Self {
            by_id: projects.into_iter().map(|p| (p.id.clone(), p)).collect(),
        }
    }

    /// The path from the top project down, or `None` if a project on the way is unknown.
    fn path(&self, project_id: &str) -> Option<Vec<String>> {
        let mut path = Vec::new();
        let mut current = Some(project_id.to_string());
        while let Some(id) = current {
            let project = self.by_id.get(&id)?;
            path.push(project.name.clone());
            // A cycle would be a server bug; stop rather than loop.
            if path.len() > 64 {
                return None;
            }
            current = project.parent_project_id.clone();
        }
        path.reverse();
        Some(path)
    }
}

/// What the summary shows of an item: its project as a path when the projects are known.
fn describe(kind: Kind, item: &Item, tree: Option<&ProjectTree>) -> Resolved {
    let path = item
        .project
        .as_ref()
        .and_then(|p| tree.and_then(|t| t.path(&p.id)))
        .map(|path| path.join("/"));
    let project = path.or_else(|| item.project.as_ref().and_then(|p| p.name.clone()));
    Resolved {
        kind,
        id: item.id.clone(),
        name: item.name.clone(),
        project,
        url: item.webpage_url.clone(),
        bridge: item.use_remote_query_agent,
        partial: false,
    }
}

/// Reads the REST details of items already known by LUID (lineage found them through the
/// Metadata API, which gives no project path, link or Bridge flag). The project list is read once,
/// by the first caller, while the item itself is read, so a lookup costs one round trip however
/// many items share it.
pub struct Details<'s, 't> {
    session: &'s Session<'t>,
    concurrency: usize,
    /// `None` when the list failed: the item's own project name is shown instead.
    projects: tokio::sync::OnceCell<Option<ProjectTree>>,
}

impl<'s, 't> Details<'s, 't> {
    pub fn new(session: &'s Session<'t>, concurrency: usize) -> Self {
        Self {
            session,
            concurrency,
            projects: tokio::sync::OnceCell::new(),
        }
    }

    /// The item with this LUID, with its project path; `None` when it is not on the site (gone
    /// since lineage saw it, or hidden from this token).
    pub async fn of(&self, kind: Kind, id: &str) -> Result<Option<Resolved>, TableauError> {
        let projects = self.projects.get_or_init(|| async {
            list_projects(self.session, self.concurrency)
                .await
                .ok()
                .map(ProjectTree::new)
        });
        let (item, projects) = tokio::join!(get_by_id(self.session, kind, id), projects);
        Ok(item?
            .first()
            .map(|item| describe(kind, item, projects.as_ref())))
    }
}

/// Picks exactly one item for a reference from the lookup's answer.
fn choose(
    kind: Kind,
    reference: &Reference,
    items: &[Item],
    projects: &Result<ProjectTree, String>,
) -> Resolution {
    let label = kind.label();
    match reference {
        Reference::Luid(id) => match items.first() {
            Some(item) => Resolution::Found(describe(kind, item, projects.as_ref().ok())),
            None => Resolution::NotFound(format!("no {label} has the id {id} on this site")),
        },
        Reference::Name(name) => {
            let exact: Vec<&Item> = items.iter().filter(|item| &item.name == name).collect();
            match exact.as_slice() {
                [item] => Resolution::Found(describe(kind, item, projects.as_ref().ok())),
                [] => Resolution::NotFound(not_found(label, &reference.to_string())),
                many => Resolution::Ambiguous(format!(
                    "{} {label}s are named `{name}`, in projects {}; write Project/{name} or use the id",
                    many.len(),
                    many.iter()
                        .map(|item| format!(
                            "`{}`",
                            describe(kind, item, projects.as_ref().ok())
                                .project
                                .unwrap_or_else(|| "(personal space)".into())
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        Reference::Path {
            projects: wanted,
            name,
        } => {
            let tree = match projects {
                Ok(tree) => tree,
                Err(err) => return Resolution::Failed(err.clone()),
            };
            let matches: Vec<&Item> = items
                .iter()
                .filter(|item| &item.name == name)
                .filter(|item| {
                    item.project
                        .as_ref()
                        .and_then(|p| tree.path(&p.id))
                        .is_some_and(|path| &path == wanted)
                })
                .collect();
            match matches.as_slice() {
                [item] => Resolution::Found(describe(kind, item, Some(tree))),
                [] => Resolution::NotFound(not_found(label, &reference.to_string())),
                many => Resolution::Ambiguous(format!(
                    "{} {label}s match `{reference}`; use the id of the one you mean",
                    many.len()
                )),
            }
        }
    }
}

/// A not-found message; `add_hints` may add a "did you mean" once every item is known.
fn not_found(label: &str, reference: &str) -> String {
    format!("no {label} named `{reference}` is visible on this site to this token")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tableau::model::ProjectRef;

    fn item(id: &str, name: &str, project: Option<(&str, &str)>) -> Item {
        Item {
            id: id.into(),
            name: name.into(),
            project: project.map(|(id, name)| ProjectRef {
                id: id.into(),
                name: Some(name.into()),
            }),
            webpage_url: None,
            content_url: None,
            use_remote_query_agent: false,
        }
    }

    fn tree() -> Result<ProjectTree, String> {
        Ok(ProjectTree::new(vec![
            Project {
                id: "f".into(),
                name: "Finance".into(),
                parent_project_id: None,
            },
            Project {
                id: "q".into(),
                name: "Quarterly".into(),
                parent_project_id: Some("f".into()),
            },
            Project {
                id: "m".into(),
                name: "Marketing".into(),
                parent_project_id: None,
            },
        ]))
    }

    #[test]
    fn a_bare_name_must_be_unique() {
        let items = [
            item("1", "Revenue", Some(("q", "Quarterly"))),
            item("2", "Revenue", Some(("m", "Marketing"))),
            item("3", "Revenue (old)", Some(("m", "Marketing"))),
        ];
        let reference = Reference::Name("Revenue".into());
        let Resolution::Ambiguous(message) = choose(Kind::Workbook, &reference, &items, &tree())
        else {
            panic!("expected ambiguity")
        };
        assert!(message.contains("`Finance/Quarterly`"), "{message}");
        assert!(message.contains("`Marketing`"), "{message}");
    }

    #[test]
    fn a_path_picks_the_item_in_that_project() {
        let items = [
            item("1", "Revenue", Some(("q", "Quarterly"))),
            item("2", "Revenue", Some(("m", "Marketing"))),
        ];
        let reference = Reference::parse("Finance/Quarterly/Revenue").expect("ref");
        let Resolution::Found(found) = choose(Kind::Workbook, &reference, &items, &tree()) else {
            panic!("expected a match")
        };
        assert_eq!(found.id, "1");
        assert_eq!(found.project.as_deref(), Some("Finance/Quarterly"));
        let reference = Reference::parse("Quarterly/Revenue").expect("ref");
        assert!(matches!(
            choose(Kind::Workbook, &reference, &items, &tree()),
            Resolution::NotFound(_)
        ));
    }

    #[test]
    fn wildcard_results_are_matched_exactly() {
        let items = [
            item("1", "P&L, Q1: Actuals", Some(("f", "Finance"))),
            item("2", "P&L; Q1; Actuals", Some(("f", "Finance"))),
        ];
        let reference = Reference::Name("P&L, Q1: Actuals".into());
        let Resolution::Found(found) = choose(Kind::Workbook, &reference, &items, &tree()) else {
            panic!("expected a match")
        };
        assert_eq!(found.id, "1");
        let reference = Reference::Name("p&l, q1: actuals".into());
        let Resolution::NotFound(message) = choose(Kind::Workbook, &reference, &items, &tree())
        else {
            panic!("expected not found")
        };
        // The hint (other case) is added by `add_hints`, from every item: see `suggest`.
        assert!(message.starts_with("no workbook named"), "{message}");
    }

    #[test]
    fn plain_names_are_batched_per_kind_and_special_ones_searched_alone() {
        let targets: Vec<(Kind, Reference)> = [
            (Kind::Workbook, "Revenue"),
            (Kind::Workbook, "Finance/Costs"),
            (Kind::Datasource, "Orders"),
            (Kind::Workbook, "P&L, Q1"),
            (Kind::Workbook, "Marketing/Revenue"),
            (Kind::Workbook, "6d13b0ca-1f2e-4a5b-9c8d-0123456789ab"),
        ]
        .into_iter()
        .map(|(kind, text)| (kind, Reference::parse(text).expect("ref")))
        .collect();
        let (queries, of_target) = plan(&targets);
        assert_eq!(
            queries,
            [
                Query::NameIn(Kind::Workbook, vec!["Revenue".into(), "Costs".into()]),
                Query::NameIn(Kind::Datasource, vec!["Orders".into()]),
                Query::NameEq(Kind::Workbook, "P&L, Q1".into()),
                Query::ById(
                    Kind::Workbook,
                    "6d13b0ca-1f2e-4a5b-9c8d-0123456789ab".into()
                ),
            ]
        );
        assert_eq!(of_target, [0, 0, 1, 2, 0, 3]);

        let many: Vec<(Kind, Reference)> = (0..250)
            .map(|n| (Kind::Workbook, Reference::Name(format!("Workbook {n}"))))
            .collect();
        let (queries, _) = plan(&many);
        assert_eq!(queries.len(), 3);
    }

    #[test]
    fn the_first_page_says_how_many_more_to_ask_for() {
        assert_eq!(page_count(0, 1000, 0), 1);
        assert_eq!(page_count(5, 1000, 5), 1);
        assert_eq!(page_count(1000, 1000, 1000), 1);
        assert_eq!(page_count(1001, 1000, 1000), 2);
        assert_eq!(page_count(3500, 1000, 1000), 4);
        // The server may serve smaller pages than asked; its own size counts.
        assert_eq!(page_count(250, 100, 100), 3);
        // An empty first page ends the list whatever the total says.
        assert_eq!(page_count(5000, 1000, 0), 1);
        // A nonsense total does not make the client ask forever.
        assert_eq!(page_count(u64::MAX, 1000, 1000), MAX_PAGES);
        assert_eq!(page_count(10, 0, 1), 10);
    }

    #[test]
    fn project_cycles_do_not_hang() {
        let tree = ProjectTree::new(vec![
            Project {
                id: "a".into(),
                name: "A".into(),
                parent_project_id: Some("b".into()),
            },
            Project {
                id: "b".into(),
                name: "B".into(),
                parent_project_id: Some("a".into()),
            },
        ]);
        assert_eq!(tree.path("a"), None);
    }
}
