//! Loopback simulators of the services we talk to (Tableau, GitHub, dbt Cloud), used by `demo`, tests and benchmarks.

mod conn;
pub mod dbt_cloud;
pub mod github;
mod script;
mod server;
pub mod tableau;
