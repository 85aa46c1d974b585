//! dbt-tableau-refresh: refresh Tableau extracts when a dbt Cloud job has produced fresh data.

pub mod actions;
pub mod cli;
pub mod dbt;
pub mod demo;
pub mod duration;
pub mod exit;
pub mod http_text;
pub mod inputs;
pub mod plural;
#[cfg(test)]
mod properties;
pub mod refresh;
pub mod relay;
pub mod secret;
pub mod signal;
pub mod sim;
pub mod tableau;
pub mod tls;
pub mod verify;
