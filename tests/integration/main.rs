//! Integration tests: the real binary against the simulators on 127.0.0.1.

mod actions_log;
mod ca_cert_input;
mod common;
mod demo;
mod demo_connected_app;
mod manual_run;
mod refresh_compat;
mod refresh_connected_app;
mod refresh_event;
mod refresh_faults;
mod refresh_matrix;
mod refresh_redirects;
mod refresh_report;
mod refresh_round_trips;
mod refresh_tableau;
mod refresh_tls;
mod relay;
mod relay_github;
mod relay_hostile;
mod relay_secrets;
mod relay_soak;
mod runner_log;
mod secrets;
mod usage_summary;
mod verify_report;
