//! The Tableau REST API client: transport, session, content resolution and refresh jobs.

pub mod address;
pub mod auth;
pub mod content;
pub mod error;
pub mod http;
pub mod jobs;
pub mod metadata;
pub mod model;
pub mod reference;
pub mod server_info;
pub mod session;
pub mod sim_resolve;
pub mod suggest;
pub mod version;

pub use auth::{ConnectedApp, Credentials, Scope};
pub use error::{ApiError, TableauError};
pub use reference::{Kind, Reference};
pub use session::{Connection, ServerFacts, Session};
pub use version::ApiVersion;
