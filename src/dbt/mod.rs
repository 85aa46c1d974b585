//! dbt: the webhook event, its signature and the decision whether to act; the run's artifacts
//! (from dbt Cloud or a folder) and what they select.

pub mod artifacts;
pub mod cloud;
pub mod decision;
pub mod event;
pub mod signature;

pub use decision::{Decision, Policy, decide};
pub use event::WebhookEvent;
