//! Integration tests: the real binary against the simulators on 127.0.0.1.

mod common;
mod demo;
mod refresh_event;
mod refresh_faults;
mod refresh_matrix;
mod refresh_report;
mod refresh_select;
mod refresh_tableau;
mod refresh_tls;
mod relay;
mod relay_github;
mod relay_hostile;
mod relay_secrets;
mod relay_soak;
mod secrets;
