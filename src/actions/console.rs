//! Log lines for people: workflow commands (`::error::`, `::group::`, `::add-mask::`) inside
//! GitHub Actions, plain prefixed lines elsewhere.
//!
//! Escaping follows the workflow-commands documentation: data escapes `%`, CR and LF; property
//! values also escape `:` and `,`.

use std::io::{IsTerminal, Write};

use crate::secret::Secret;

/// Where progress, warnings and errors go.
#[derive(Debug, Clone, Copy)]
pub struct Console {
    actions: bool,
    /// Standard error is a terminal: a live status line may be redrawn in place.
    live: bool,
}

impl Console {
    /// Workflow commands when `GITHUB_ACTIONS=true`, plain lines otherwise.
    pub fn from_env() -> Self {
        let actions = super::in_actions();
        Self {
            actions,
            live: !actions && std::io::stderr().is_terminal(),
        }
    }

    pub fn plain() -> Self {
        Self {
            actions: false,
            live: false,
        }
    }

    /// Whether [`Console::live`] lines are shown (a terminal, not Actions).
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Redraws a one-line status in place on a terminal; does nothing elsewhere (logs get
    /// periodic `info` lines instead). The next ordinary line replaces it.
    pub fn live(&self, text: &str) {
        if self.live {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K{text}");
        }
    }

    pub fn is_actions(&self) -> bool {
        self.actions
    }

    /// A progress line.
    pub fn info(&self, message: &str) {
        self.line(&escape_data_lines(message, self.actions));
    }

    pub fn notice(&self, title: &str, message: &str) {
        self.annotation("notice", title, message);
    }

    pub fn warning(&self, title: &str, message: &str) {
        self.annotation("warning", title, message);
    }

    pub fn error(&self, title: &str, message: &str) {
        self.annotation("error", title, message);
    }

    /// Opens a collapsible log section; it closes when the guard drops.
    pub fn group(&self, title: &str) -> Group {
        if self.actions {
            self.line(&format!("::group::{}", escape_data(title)));
        } else {
            self.line(&format!("── {title}"));
        }
        Group { console: *self }
    }

    /// Asks the runner to mask a value in all later log output. A no-op outside Actions.
    /// The command line itself is consumed by the runner and never shown.
    pub fn mask(&self, secret: &Secret) {
        if self.actions && !secret.is_empty() {
            self.line(&format!("::add-mask::{}", escape_data(secret.expose())));
        }
    }

    fn annotation(&self, level: &str, title: &str, message: &str) {
        if self.actions {
            self.line(&format!(
                "::{level} title={}::{}",
                escape_property(title),
                escape_data(message)
            ));
        } else {
            self.line(&format!("{level}: {title}: {message}"));
        }
    }

    fn line(&self, text: &str) {
        // Workflow commands must reach the runner on stdout; off Actions, progress goes to stderr
        // so that stdout carries only the report. Write errors (a closed pipe) are not worth dying for.
        if self.actions {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        } else if self.live {
            // Clear a live status line first, so this line replaces it.
            let _ = writeln!(std::io::stderr().lock(), "\r\x1b[2K{text}");
        } else {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }
}

/// Closes a log group when dropped.
pub struct Group {
    console: Console,
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.console.actions {
            self.console.line("::endgroup::");
        }
    }
}

/// Escapes a workflow-command message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value (title, file).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A plain log line must not start a workflow command by accident: a message that begins with
/// `::` (say, text from a hostile payload) is shifted by a space.
fn escape_data_lines(text: &str, actions: bool) -> String {
    if !actions {
        return text.to_string();
    }
    text.lines()
        .map(|line| {
            if line.trim_start().starts_with("::") {
                format!(" {line}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_per_the_documentation() {
        assert_eq!(escape_data("100%\r\nnext"), "100%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn info_lines_cannot_start_a_command() {
        assert_eq!(
            escape_data_lines("ok\n::add-mask::x", true),
            "ok\n ::add-mask::x"
        );
        assert_eq!(escape_data_lines("::x", false), "::x");
    }
}
