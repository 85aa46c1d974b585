//! `Secret`: a string that never prints itself (webhook keys, PAT secrets, session tokens).

use std::fmt;

/// A secret value. `Debug` and `Display` print `***`; the value is reachable only through
/// [`Secret::expose`], so every place that uses it is easy to find.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Reads a secret from the environment. Surrounding whitespace is dropped: secrets pasted into
/// GitHub or a container platform often carry a trailing newline, and no dbt key or Tableau PAT
/// secret contains whitespace at its ends.
pub fn from_env(name: &str) -> Option<Secret> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    (!value.is_empty()).then(|| Secret::new(value))
}

/// Reads several secrets from one variable, one per line (several dbt webhooks, or key rotation).
pub fn list_from_env(name: &str) -> Vec<Secret> {
    std::env::var(name)
        .map(|value| split_lines(&value))
        .unwrap_or_default()
}

/// One secret per non-empty line, each trimmed.
pub fn split_lines(value: &str) -> Vec<Secret> {
    value
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(Secret::new)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "*** ***");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn split_lines_trims_and_skips_blank_lines() {
        let keys = split_lines("  first \r\n\n second\n");
        let exposed: Vec<_> = keys.iter().map(Secret::expose).collect();
        assert_eq!(exposed, ["first", "second"]);
    }
}
