//! "Did you mean": hints for a reference that matched nothing, from every workbook and data source
//! on the site. Suggests full project paths, the other kind, and the usual slips (case, spacing,
//! a YAML `- ` marker, several references on one line).

use super::reference::Kind;

/// Suggestions named in one hint, at most.
const MAX_NAMED: usize = 5;

/// One item on the site, as suggestions show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub kind: Kind,
    pub name: String,
    /// The project path (`Finance/Quarterly`), `None` for a personal space.
    pub project: Option<String>,
}

impl Candidate {
    /// What to write to reach it: the full path, or the bare name in a personal space.
    fn full(&self) -> String {
        match &self.project {
            Some(project) => format!("{project}/{}", self.name),
            None => self.name.clone(),
        }
    }

    fn shown(&self) -> String {
        match &self.project {
            Some(_) => format!("`{}`", self.full()),
            None => format!("`{}` (in a personal space)", self.name),
        }
    }
}

/// How closely a typed text reaches a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    /// The full path or the bare name, as typed.
    Exact,
    /// Equal once case and runs of spaces are ignored.
    Loose,
    /// The same name, but the projects written are not its path.
    NameOnly,
    /// The same name once case and spaces are ignored, in other projects.
    LooseName,
}

/// Case and runs of white space do not count; nor do spaces around `/`.
fn key(text: &str) -> String {
    text.split('/')
        .map(|part| part.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("/")
        .to_lowercase()
}

fn name_of(text: &str) -> &str {
    text.rsplit_once('/').map_or(text, |(_, name)| name).trim()
}

fn reach(text: &str, candidate: &Candidate) -> Option<Reach> {
    let full = candidate.full();
    if text == full || text == candidate.name {
        return Some(Reach::Exact);
    }
    let typed = key(text);
    if typed == key(&full) || typed == key(&candidate.name) {
        return Some(Reach::Loose);
    }
    if text.contains('/') && name_of(text) == candidate.name {
        return Some(Reach::NameOnly);
    }
    if key(name_of(text)) == key(&candidate.name) {
        return Some(Reach::LooseName);
    }
    None
}

/// The candidates of `kind` (any kind if `None`) that `text` reaches most closely.
fn reached<'a>(
    kind: Option<Kind>,
    text: &str,
    candidates: &'a [Candidate],
) -> Vec<(Reach, &'a Candidate)> {
    let mut found: Vec<(Reach, &Candidate)> = candidates
        .iter()
        .filter(|c| kind.is_none_or(|kind| c.kind == kind))
        .filter_map(|c| reach(text, c).map(|r| (r, c)))
        .collect();
    let closest = found.iter().map(|(r, _)| *r).min();
    found.retain(|(r, _)| Some(*r) == closest);
    found
}

fn list(found: &[(Reach, &Candidate)]) -> String {
    let mut shown: Vec<String> = found.iter().map(|(_, c)| c.shown()).collect();
    shown.dedup();
    let more = shown.len().saturating_sub(MAX_NAMED);
    shown.truncate(MAX_NAMED);
    let mut text = shown.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

/// A hint for `typed` (a `kind` reference that matched nothing), or `None` when nothing is near.
pub fn hint(kind: Kind, typed: &str, candidates: &[Candidate]) -> Option<String> {
    let typed = typed.trim();
    // Same kind: the right name in another project, or other case or spacing.
    let same = reached(Some(kind), typed, candidates);
    if let Some((closest, _)) = same.first() {
        let why = match closest {
            Reach::Loose | Reach::LooseName => " (case and spaces count)",
            // An item in a personal space has no project path to write.
            Reach::Exact | Reach::NameOnly if same.iter().all(|(_, c)| c.project.is_none()) => {
                " (write the bare name or the id)"
            }
            Reach::Exact | Reach::NameOnly => " (a path starts at a top-level project)",
        };
        return Some(format!("did you mean {}?{why}", list(&same)));
    }
    // The other kind, listed under the wrong heading.
    let other_kind = match kind {
        Kind::Workbook => Kind::Datasource,
        Kind::Datasource => Kind::Workbook,
    };
    let other = reached(Some(other_kind), typed, candidates);
    if !other.is_empty() {
        return Some(format!(
            "{} is a {}, not a {}: list it under {} (`--{}` on the command line)",
            list(&other),
            other_kind.label(),
            kind.label(),
            other_kind.plural(),
            other_kind.singular()
        ));
    }
    // A YAML list item pasted as it was: `- Orders`.
    if let Some(rest) = typed
        .strip_prefix('-')
        .filter(|rest| rest.starts_with(char::is_whitespace))
    {
        let found = reached(None, rest.trim(), candidates);
        if !found.is_empty() {
            return Some(format!(
                "the line starts with a YAML `- `: write one reference a line without it, as {}",
                list(&found)
            ));
        }
    }
    // Several references on one line. Names may hold commas themselves, so this is said only
    // when every part on its own reaches something.
    if typed.contains(',') {
        let parts: Vec<&str> = typed.split(',').map(str::trim).collect();
        if parts.len() > 1 && parts.iter().all(|p| !p.is_empty()) {
            let found: Vec<Vec<(Reach, &Candidate)>> = parts
                .iter()
                .map(|part| reached(None, part, candidates))
                .collect();
            if found.iter().all(|f| !f.is_empty()) {
                let each: Vec<String> = found.iter().map(|f| f[0].1.shown()).collect();
                return Some(format!(
                    "write one reference a line, not several separated by commas: {}",
                    each.join(", ")
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Vec<Candidate> {
        let c = |kind, name: &str, project: Option<&str>| Candidate {
            kind,
            name: name.into(),
            project: project.map(Into::into),
        };
        vec![
            c(
                Kind::Workbook,
                "P&L, Q1: Actuals",
                Some("Finance/Quarterly"),
            ),
            c(Kind::Workbook, "Revenue Dashboard", Some("Finance")),
            c(Kind::Workbook, "Revenue Dashboard", Some("Marketing")),
            c(Kind::Workbook, "Scratchpad", None),
            c(Kind::Datasource, "Orders", Some("Finance")),
            c(Kind::Datasource, "Customers", Some("Marketing")),
        ]
    }

    fn hint_for(kind: Kind, typed: &str) -> String {
        hint(kind, typed, &site()).unwrap_or_else(|| panic!("no hint for {typed}"))
    }

    #[test]
    fn a_partial_path_gets_the_full_one() {
        let hint = hint_for(Kind::Workbook, "Quarterly/P&L, Q1: Actuals");
        assert!(
            hint.contains("did you mean `Finance/Quarterly/P&L, Q1: Actuals`?"),
            "{hint}"
        );
        let personal = hint_for(Kind::Workbook, "Finance/Scratchpad");
        assert_eq!(
            personal,
            "did you mean `Scratchpad` (in a personal space)? (write the bare name or the id)"
        );
        // Commas in a real name are not taken for several references.
        assert!(!hint.contains("one reference a line"), "{hint}");
    }

    #[test]
    fn case_and_spacing_slips() {
        let hint = hint_for(Kind::Workbook, "finance/revenue dashboard");
        assert!(
            hint.starts_with("did you mean `Finance/Revenue Dashboard`"),
            "{hint}"
        );
        assert!(!hint.contains("Marketing"), "{hint}");
        let hint = hint_for(Kind::Workbook, "Finance/Revenue  Dashboard");
        assert!(hint.contains("`Finance/Revenue Dashboard`"), "{hint}");
        assert!(hint.contains("case and spaces count"), "{hint}");
    }

    #[test]
    fn the_other_kind_is_named() {
        let hint = hint_for(Kind::Workbook, "Orders");
        assert_eq!(
            hint,
            "`Finance/Orders` is a data source, not a workbook: list it under datasources \
             (`--datasource` on the command line)"
        );
        let hint = hint_for(Kind::Datasource, "Scratchpad");
        assert!(
            hint.contains("`Scratchpad` (in a personal space) is a workbook"),
            "{hint}"
        );
    }

    #[test]
    fn yaml_markers_and_comma_lines() {
        let hint = hint_for(Kind::Datasource, "- Orders");
        assert!(hint.contains("YAML `- `"), "{hint}");
        assert!(hint.contains("`Finance/Orders`"), "{hint}");
        let hint = hint_for(Kind::Datasource, "Orders, Customers");
        assert!(hint.contains("not several separated by commas"), "{hint}");
        assert!(
            hint.contains("`Finance/Orders`, `Marketing/Customers`"),
            "{hint}"
        );
        // Only when every part is found.
        assert_eq!(hint_for_none("Orders, Nothing"), None);
        assert_eq!(hint_for_none("Nothing at all"), None);
    }

    fn hint_for_none(typed: &str) -> Option<String> {
        hint(Kind::Datasource, typed, &site())
    }

    #[test]
    fn many_matches_are_counted_not_listed() {
        let many: Vec<Candidate> = (0..8)
            .map(|n| Candidate {
                kind: Kind::Workbook,
                name: "Sales".into(),
                project: Some(format!("P{n}")),
            })
            .collect();
        let hint = hint(Kind::Workbook, "X/Sales", &many).expect("hint");
        assert!(hint.contains("and 3 more"), "{hint}");
    }
}
