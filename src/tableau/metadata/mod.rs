//! The Tableau Metadata API (GraphQL) client for `--select lineage`: the request and its error
//! modes (`graphql`), the queries and answer shapes (`queries`), batched and paged lookups
//! (`fetch`), and how dbt's relations are matched to Tableau's tables (`names`).

pub mod fetch;
pub mod graphql;
pub mod names;
pub mod queries;

pub use graphql::{Backoff, Client, MetadataError};
pub use names::Relation;
