//! Table names as dbt and Tableau write them: cleaning quotes and brackets, the spellings to ask
//! the Metadata API for (its filters may be case-sensitive), `fullName` forms, and matching a
//! Tableau table to a relation the run built (case-insensitively, on our side).

use std::collections::{BTreeSet, HashMap};

/// A relation the run changed, as dbt names it (from the manifest node's separate fields, never
/// by parsing `relation_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub database: Option<String>,
    pub schema: String,
    pub name: String,
    /// `database.schema.alias`, lower-case without quotes: the `lineage:` reason.
    pub label: String,
}

impl Relation {
    /// A relation from dbt's `database`, `schema` and `alias`.
    pub fn new(database: Option<&str>, schema: &str, name: &str) -> Relation {
        let database = database.map(clean).filter(|d| !d.is_empty());
        let schema = clean(schema);
        let name = clean(name);
        let label = database
            .iter()
            .chain([&schema, &name])
            .map(|part| part.to_lowercase())
            .collect::<Vec<_>>()
            .join(".");
        Relation {
            database,
            schema,
            name,
            label,
        }
    }
}

/// A name without the quoting of any warehouse: `"x"`, `[x]`, `` `x` ``.
pub fn clean(part: &str) -> String {
    part.trim()
        .chars()
        .filter(|c| !matches!(c, '"' | '`' | '[' | ']'))
        .collect()
}

/// What two names are compared by.
pub fn key(part: &str) -> String {
    clean(part).to_lowercase()
}

/// The spellings a warehouse may have stored a name under: as written, upper-case (Snowflake's
/// unquoted names), lower-case (Postgres, Redshift). Deduplicated, in that order.
pub fn spellings(part: &str) -> Vec<String> {
    let written = clean(part);
    let mut out: Vec<String> = Vec::with_capacity(3);
    for form in [
        written.clone(),
        written.to_uppercase(),
        written.to_lowercase(),
    ] {
        if !out.contains(&form) {
            out.push(form);
        }
    }
    out
}

/// Every spelling of the names and of the schemas of `relations`, for `nameWithin` and
/// `schemaWithin`.
pub fn filter_lists<'a>(
    relations: impl IntoIterator<Item = &'a Relation>,
) -> (Vec<String>, Vec<String>) {
    let mut names = BTreeSet::new();
    let mut schemas = BTreeSet::new();
    for relation in relations {
        names.extend(spellings(&relation.name));
        schemas.extend(spellings(&relation.schema));
    }
    (names.into_iter().collect(), schemas.into_iter().collect())
}

/// The parts of a `fullName`: `[db].[schema].[t]`, `"schema"."t"`, `t`. Dots inside brackets or
/// quotes do not split.
pub fn full_name_parts(full: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut closing: Option<char> = None;
    for c in full.chars() {
        match (closing, c) {
            (Some(end), c) if c == end => closing = None,
            (Some(_), c) => current.push(c),
            (None, '[') => closing = Some(']'),
            (None, '"') => closing = Some('"'),
            (None, '`') => closing = Some('`'),
            (None, '.') => parts.push(std::mem::take(&mut current)),
            (None, c) => current.push(c),
        }
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim().to_string()).collect()
}

/// A table as the Metadata API describes it, reduced to what matching reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableName {
    pub database: Option<String>,
    pub schema: Option<String>,
    pub name: Option<String>,
    pub full_name: Option<String>,
}

impl TableName {
    /// `(database, schema, name)` keys, filling what the separate fields lack from `fullName`
    /// (its last three parts).
    fn keys(&self) -> (Option<String>, Option<String>, Option<String>) {
        let parts = self
            .full_name
            .as_deref()
            .map(full_name_parts)
            .unwrap_or_default();
        let from_full = |back: usize| {
            parts
                .len()
                .checked_sub(back)
                .and_then(|at| parts.get(at))
                .filter(|p| !p.is_empty())
                .map(|p| key(p))
        };
        let field = |value: &Option<String>| value.as_deref().map(key).filter(|k| !k.is_empty());
        (
            field(&self.database).or_else(|| from_full(3)),
            field(&self.schema).or_else(|| from_full(2)),
            field(&self.name).or_else(|| from_full(1)),
        )
    }

    /// Whether this table is `relation`: name and schema equal ignoring case and quotes, and the
    /// database too when both sides know it.
    pub fn is(&self, relation: &Relation) -> bool {
        !RelationIndex::new(std::slice::from_ref(relation))
            .labels(self)
            .is_empty()
    }
}

/// A relation's database key (when dbt names one) and its label.
type Keyed = (Option<String>, String);

/// The run's relations keyed by (schema, name), so each table Tableau returns is matched with
/// one lookup: comparing every table with every relation made 500 models cost a fifth of a
/// second and 2 000 models seconds (docs/BENCHMARKS.md section 7).
#[derive(Debug, Default)]
pub struct RelationIndex {
    /// `(schema key, name key)` → `(database key, label)` of each relation so named.
    by_name: HashMap<(String, String), Vec<Keyed>>,
}

impl RelationIndex {
    pub fn new(relations: &[Relation]) -> RelationIndex {
        let mut by_name: HashMap<_, Vec<_>> = HashMap::with_capacity(relations.len());
        for relation in relations {
            by_name
                .entry((key(&relation.schema), key(&relation.name)))
                .or_default()
                .push((
                    relation.database.as_deref().map(key),
                    relation.label.clone(),
                ));
        }
        RelationIndex { by_name }
    }

    /// The labels of the relations `table` is: name and schema equal ignoring case and quotes,
    /// and the database too when both sides name one.
    pub fn labels(&self, table: &TableName) -> BTreeSet<String> {
        let (database, schema, name) = table.keys();
        let (Some(schema), Some(name)) = (schema, name) else {
            return BTreeSet::new();
        };
        let Some(candidates) = self.by_name.get(&(schema, name)) else {
            return BTreeSet::new();
        };
        candidates
            .iter()
            .filter(|(ours, _)| match (&database, ours) {
                (Some(theirs), Some(ours)) => theirs == ours,
                _ => true,
            })
            .map(|(_, label)| label.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_labelled_lower_case() {
        let r = Relation::new(Some("\"ANALYTICS\""), "[MARTS]", "`fct_orders`");
        assert_eq!(r.database.as_deref(), Some("ANALYTICS"));
        assert_eq!(r.schema, "MARTS");
        assert_eq!(r.name, "fct_orders");
        assert_eq!(r.label, "analytics.marts.fct_orders");
        assert_eq!(Relation::new(None, "s", "T").label, "s.t");
    }

    #[test]
    fn spellings_cover_snowflake_and_postgres_and_are_deduplicated() {
        assert_eq!(spellings("fct_orders"), ["fct_orders", "FCT_ORDERS"]);
        assert_eq!(spellings("Mixed"), ["Mixed", "MIXED", "mixed"]);
        assert_eq!(spellings("\"MARTS\""), ["MARTS", "marts"]);
        let a = Relation::new(Some("A"), "MARTS", "fct_orders");
        let b = Relation::new(Some("A"), "marts", "dim_customers");
        let (names, schemas) = filter_lists([&a, &b]);
        assert_eq!(
            names,
            ["DIM_CUSTOMERS", "FCT_ORDERS", "dim_customers", "fct_orders"]
        );
        assert_eq!(schemas, ["MARTS", "marts"]);
    }

    #[test]
    fn full_names_split_outside_brackets_and_quotes() {
        assert_eq!(
            full_name_parts("[ANALYTICS].[MARTS].[fct_orders]"),
            ["ANALYTICS", "MARTS", "fct_orders"]
        );
        assert_eq!(full_name_parts("[MARTS].[a.b]"), ["MARTS", "a.b"]);
        assert_eq!(full_name_parts("\"s\".\"t\""), ["s", "t"]);
        assert_eq!(full_name_parts("t"), ["t"]);
    }

    #[test]
    fn tables_match_ignoring_case_and_quotes_and_check_the_database() {
        let relation = Relation::new(Some("analytics"), "marts", "fct_orders");
        let table = TableName {
            database: Some("ANALYTICS".into()),
            schema: Some("MARTS".into()),
            name: Some("FCT_ORDERS".into()),
            full_name: None,
        };
        assert!(table.is(&relation));
        let other_db = TableName {
            database: Some("ANALYTICS_DEV".into()),
            ..table.clone()
        };
        assert!(!other_db.is(&relation));
        // Only a fullName: its parts stand in for the fields.
        let full = TableName {
            full_name: Some("[ANALYTICS].[MARTS].[fct_orders]".into()),
            ..TableName::default()
        };
        assert!(full.is(&relation));
        let two_parts = TableName {
            full_name: Some("[marts].[FCT_ORDERS]".into()),
            ..TableName::default()
        };
        assert!(two_parts.is(&relation), "no database on their side");
        let other_schema = TableName {
            schema: Some("STAGING".into()),
            ..table
        };
        assert!(!other_schema.is(&relation));
    }

    #[test]
    fn the_index_finds_every_relation_a_table_is_and_checks_the_database_when_both_name_one() {
        let relations = [
            Relation::new(Some("ANALYTICS"), "MARTS", "fct_orders"),
            Relation::new(Some("STAGING_DB"), "marts", "FCT_ORDERS"),
            Relation::new(Some("ANALYTICS"), "MARTS", "dim_customers"),
        ];
        let index = RelationIndex::new(&relations);
        let table = |database: Option<&str>, full_name: &str| TableName {
            database: database.map(str::to_string),
            full_name: Some(full_name.to_string()),
            ..TableName::default()
        };
        let labels = |t: &TableName| index.labels(t).into_iter().collect::<Vec<_>>();
        assert_eq!(
            labels(&table(Some("analytics"), "[MARTS].[FCT_ORDERS]")),
            ["analytics.marts.fct_orders"]
        );
        assert_eq!(
            labels(&table(None, "\"marts\".\"fct_orders\"")),
            ["analytics.marts.fct_orders", "staging_db.marts.fct_orders"]
        );
        assert!(labels(&table(Some("OTHER"), "[MARTS].[FCT_ORDERS]")).is_empty());
        assert!(labels(&table(None, "[STAGING].[FCT_ORDERS]")).is_empty());
        assert!(
            labels(&table(None, "FCT_ORDERS")).is_empty(),
            "no schema, no match"
        );
    }
}
