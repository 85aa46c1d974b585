//! The GitHub Actions runtime: workflow commands, step outputs, the job summary and the event file.
//! Outside Actions the same calls print plain lines, so the binary works from any CI or a laptop.

pub mod console;
pub mod event_file;
pub mod outputs;
pub mod summary;

pub use console::Console;

/// Whether we run as a GitHub Actions step.
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true")
}

/// A path from an environment variable that names a file, if set and non-empty.
pub(crate) fn path_from_env(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os(name)
        .filter(|value| !value.is_empty())
        .map(Into::into)
}
