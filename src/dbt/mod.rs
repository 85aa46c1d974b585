//! dbt Cloud webhooks: the event model, the signature, and the decision whether to act.

pub mod decision;
pub mod event;
pub mod signature;

pub use decision::{Decision, Policy, decide};
pub use event::WebhookEvent;
