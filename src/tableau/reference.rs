//! Target references as users write them: `Project/Sub project/Name`, a bare `Name`, or a LUID.

use std::fmt;

/// Workbook or published data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Workbook,
    Datasource,
}

impl Kind {
    /// Path segment and list key (`workbooks`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Workbook => "workbooks",
            Kind::Datasource => "datasources",
        }
    }

    /// Item key (`workbook`).
    pub fn singular(self) -> &'static str {
        match self {
            Kind::Workbook => "workbook",
            Kind::Datasource => "datasource",
        }
    }

    /// For people (`data source`).
    pub fn label(self) -> &'static str {
        match self {
            Kind::Workbook => "workbook",
            Kind::Datasource => "data source",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.singular())
    }
}

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    /// A content LUID (8-4-4-4-12 hex).
    Luid(String),
    /// `Project/Sub/Name`: the last `/` splits the project path from the name.
    Path { projects: Vec<String>, name: String },
    /// A name that must be unique on the site.
    Name(String),
}

impl Reference {
    /// Parses a reference. Empty segments (`A//B`, `/Name`) are refused rather than guessed at.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an empty workbook or data source reference".into());
        }
        if is_luid(text) {
            return Ok(Reference::Luid(text.to_ascii_lowercase()));
        }
        let Some((projects, name)) = text.rsplit_once('/') else {
            return Ok(Reference::Name(text.to_string()));
        };
        let projects: Vec<String> = projects.split('/').map(|p| p.trim().to_string()).collect();
        let name = name.trim().to_string();
        if name.is_empty() || projects.iter().any(String::is_empty) {
            return Err(format!(
                "`{text}` has an empty part; write Project/Sub project/Name, a bare Name, or a LUID"
            ));
        }
        Ok(Reference::Path { projects, name })
    }

    /// The item name searched for, if the reference has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Reference::Luid(_) => None,
            Reference::Path { name, .. } | Reference::Name(name) => Some(name),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Luid(id) => f.write_str(id),
            Reference::Path { projects, name } => write!(f, "{}/{name}", projects.join("/")),
            Reference::Name(name) => f.write_str(name),
        }
    }
}

/// 8-4-4-4-12 hexadecimal digits.
pub fn is_luid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The `name:eq:` filter value for a name: `,` `&` `:` cannot be sent even percent-encoded, so
/// they become `*` wildcards and the results are matched exactly afterwards.
pub fn filter_pattern(name: &str) -> String {
    name.chars()
        .map(|c| if matches!(c, ',' | '&' | ':') { '*' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            Reference::parse("Finance/Quarterly/Revenue"),
            Ok(Reference::Path {
                projects: vec!["Finance".into(), "Quarterly".into()],
                name: "Revenue".into()
            })
        );
        assert_eq!(
            Reference::parse(" Revenue "),
            Ok(Reference::Name("Revenue".into()))
        );
        assert_eq!(
            Reference::parse("6D13B0CA-0000-4000-8000-00000000ABCD"),
            Ok(Reference::Luid(
                "6d13b0ca-0000-4000-8000-00000000abcd".into()
            ))
        );
        assert!(Reference::parse("").is_err());
        assert!(Reference::parse("Finance//Revenue").is_err());
        assert!(Reference::parse("Finance/").is_err());
    }

    #[test]
    fn special_characters_become_wildcards() {
        assert_eq!(filter_pattern("P&L, Q1: Actuals"), "P*L* Q1* Actuals");
        assert_eq!(filter_pattern("Plain name"), "Plain name");
    }

    #[test]
    fn luid_shape() {
        assert!(is_luid("6d13b0ca-1f2e-4a5b-9c8d-0123456789ab"));
        assert!(!is_luid("6d13b0ca-1f2e-4a5b-9c8d-0123456789a"));
        assert!(!is_luid("Sales"));
    }
}
