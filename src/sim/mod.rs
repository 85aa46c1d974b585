//! Loopback simulators of the services we talk to (Tableau, GitHub), used by `demo`, tests and benchmarks.

mod conn;
pub mod github;
mod script;
mod server;
pub mod tableau;
