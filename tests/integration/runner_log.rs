//! A reader of a step's output that behaves like the GitHub Actions runner, to check what our
//! lines do to it. Written from the behaviour of actions/runner (`OutputManager.OnDataReceived`,
//! `ActionCommandManager.TryProcessCommand`, `ActionCommand.TryParseV2` / `TryParse`,
//! `AddMaskCommandExtension`):
//!
//! - output is cut into lines at `\r\n`, `\r` and `\n` (.NET `StreamReader.ReadLine`);
//! - a line holding `##[` or `::` is tried as a command: first V2 (`::name props::data` after the
//!   leading whitespace is trimmed), then V1 (`##[name props]data` anywhere in the line); only
//!   registered command names count (case-insensitively);
//! - `stop-commands` with a valid token stops all processing until a command named like the token
//!   arrives; meanwhile every line, `::add-mask::` included, is shown as plain text;
//! - `add-mask` hides its value (and each of its lines) in everything shown afterwards;
//! - `echo` on/off makes processed commands visible;
//! - annotations and groups show their text in the log.
//!
//! One difference, on the safe side for our tests: .NET compares `::` and `##[` with
//! culture-sensitive matching, which skips zero-width characters; this reader compares exactly,
//! so the code under test must not rely on zero-width characters (it does not).

use std::collections::BTreeMap;

/// The commands the runner knows (its extensions plus `stop-commands`).
const REGISTERED: [&str; 15] = [
    "add-mask",
    "add-matcher",
    "remove-matcher",
    "add-path",
    "debug",
    "warning",
    "error",
    "notice",
    "group",
    "endgroup",
    "echo",
    "set-output",
    "save-state",
    "set-env",
    "stop-commands",
];

/// Commands whose line the runner never echoes.
const OMIT_ECHO: [&str; 5] = ["add-mask", "debug", "warning", "error", "notice"];

/// One command the runner acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    /// Lower-cased.
    pub(crate) name: String,
    /// Keys lower-cased (the runner's dictionary ignores case), values unescaped.
    pub(crate) properties: BTreeMap<String, String>,
    /// Unescaped.
    pub(crate) data: String,
}

impl Command {
    pub(crate) fn new(name: &str, properties: &[(&str, &str)], data: &str) -> Command {
        Command {
            name: name.to_string(),
            properties: properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            data: data.to_string(),
        }
    }
}

/// What the runner did with a step's output.
#[derive(Debug, Default)]
pub(crate) struct RunnerLog {
    /// Every command acted on, in order (a `stop-commands` and its resume included).
    pub(crate) commands: Vec<Command>,
    /// The log as a reader sees it, masks applied.
    pub(crate) shown: Vec<String>,
    /// Values hidden by `add-mask` (and the stop token, when long enough).
    pub(crate) masks: Vec<String>,
    /// The token that resumes processing, while stopped.
    stopped: Option<String>,
    echo: bool,
}

impl RunnerLog {
    /// Reads `output` from the start of a step.
    pub(crate) fn read(output: &str) -> RunnerLog {
        let mut log = RunnerLog::default();
        log.feed(output);
        log
    }

    /// Reads more output of the same step.
    pub(crate) fn feed(&mut self, output: &str) {
        for line in split_lines(output) {
            self.line(line);
        }
    }

    /// Everything shown, one line each.
    pub(crate) fn shown_text(&self) -> String {
        self.shown.join("\n")
    }

    fn line(&mut self, line: &str) {
        if line.contains("##[") || line.contains("::") {
            let registered = self.registered();
            let parsed = parse_v2(line, &registered).or_else(|| parse_v1(line, &registered));
            if let Some(command) = parsed
                && self.act(command, line)
            {
                return;
            }
        }
        self.show(line);
    }

    fn registered(&self) -> Vec<String> {
        REGISTERED
            .iter()
            .map(|name| name.to_string())
            .chain(self.stopped.iter().map(|token| token.to_lowercase()))
            .collect()
    }

    /// `TryProcessCommand` after parsing: false when the line is shown as plain text instead.
    fn act(&mut self, command: Command, input: &str) -> bool {
        if let Some(token) = &self.stopped {
            if command.name == token.to_lowercase() {
                self.show(input);
                self.stopped = None;
                self.commands.push(command);
                return true;
            }
            return false;
        }
        if command.name == "stop-commands" {
            let token = command.data.clone();
            let invalid = token.is_empty()
                || REGISTERED.contains(&token.to_lowercase().as_str())
                || token.eq_ignore_ascii_case("pause-logging");
            if !invalid {
                if token.len() > 6 {
                    self.masks.push(token.clone());
                }
                self.stopped = Some(token);
                self.show(input);
            }
            self.commands.push(command);
            return true;
        }
        if self.echo && !OMIT_ECHO.contains(&command.name.as_str()) {
            self.show(input);
        }
        match command.name.as_str() {
            "add-mask" if !command.data.trim().is_empty() => {
                if self.echo {
                    self.show("::add-mask::***");
                }
                self.masks.push(command.data.clone());
                for piece in command.data.split(['\r', '\n']) {
                    let piece = piece.trim();
                    if !piece.is_empty() {
                        self.masks.push(piece.to_string());
                    }
                }
            }
            "echo" => match command.data.to_lowercase().as_str() {
                "on" => self.echo = true,
                "off" => self.echo = false,
                _ => {}
            },
            "warning" | "error" | "notice" => {
                let title = command.properties.get("title").cloned().unwrap_or_default();
                self.show(&format!("[{}] {title}: {}", command.name, command.data));
            }
            "group" => self.show(&format!("[group] {}", command.data)),
            _ => {}
        }
        self.commands.push(command);
        true
    }

    fn show(&mut self, line: &str) {
        let mut shown = line.to_string();
        for mask in &self.masks {
            if !mask.is_empty() {
                shown = shown.replace(mask.as_str(), "***");
            }
        }
        self.shown.push(shown);
    }
}

/// Lines as .NET's `StreamReader.ReadLine` returns them: ended by `\r\n`, `\r` or `\n`; a last
/// line without an end counts, an empty end does not.
pub(crate) fn split_lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let (mut start, mut at) = (0, 0);
    while at < bytes.len() {
        match bytes[at] {
            b'\r' => {
                lines.push(&text[start..at]);
                if bytes.get(at + 1) == Some(&b'\n') {
                    at += 1;
                }
                start = at + 1;
            }
            b'\n' => {
                lines.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
        at += 1;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// `::name k=v,k=v::data`, after the leading whitespace (.NET `TrimStart`, the same set as
/// `char::is_whitespace`).
fn parse_v2(line: &str, registered: &[String]) -> Option<Command> {
    let message = line.trim_start();
    let rest = message.strip_prefix("::")?;
    let end = rest.find("::")?;
    let info = &rest[..end];
    let (name, properties) = match info.find(' ') {
        Some(space) => (&info[..space], Some(info[space + 1..].trim())),
        None => (info, None),
    };
    let name = registered_name(name, registered)?;
    let mut command = Command::new(&name, &[], &unescape(&rest[end + 2..], DATA));
    if let Some(properties) = properties {
        for pair in properties.split(',').filter(|p| !p.is_empty()) {
            if let Some((key, value)) = pair.split_once('=')
                && !key.is_empty()
                && !value.is_empty()
            {
                command
                    .properties
                    .insert(key.to_lowercase(), unescape(value, PROPERTY));
            }
        }
    }
    Some(command)
}

/// `##[name k=v;k=v]data` anywhere in the line.
fn parse_v1(line: &str, registered: &[String]) -> Option<Command> {
    let prefix = line.find("##[")?;
    let close = prefix + line[prefix..].find(']')?;
    let info = &line[prefix + 3..close];
    let (name, properties) = match info.find(' ') {
        Some(space) => (&info[..space], Some(&info[space + 1..])),
        None => (info, None),
    };
    let name = registered_name(name, registered)?;
    let mut command = Command::new(&name, &[], &unescape(&line[close + 1..], LEGACY));
    if let Some(properties) = properties {
        for pair in properties.split(';').filter(|p| !p.is_empty()) {
            if let Some((key, value)) = pair.split_once('=')
                && !key.is_empty()
                && !value.is_empty()
            {
                command
                    .properties
                    .insert(key.to_lowercase(), unescape(value, LEGACY));
            }
        }
    }
    Some(command)
}

fn registered_name(name: &str, registered: &[String]) -> Option<String> {
    let name = name.to_lowercase();
    registered.contains(&name).then_some(name)
}

/// The runner's unescape tables, applied in its order.
const DATA: &[(&str, &str)] = &[("%0D", "\r"), ("%0A", "\n"), ("%25", "%")];
const PROPERTY: &[(&str, &str)] = &[
    ("%0D", "\r"),
    ("%0A", "\n"),
    ("%3A", ":"),
    ("%2C", ","),
    ("%25", "%"),
];
const LEGACY: &[(&str, &str)] = &[
    ("%3B", ";"),
    ("%0D", "\r"),
    ("%0A", "\n"),
    ("%5D", "]"),
    ("%25", "%"),
];

fn unescape(text: &str, table: &[(&str, &str)]) -> String {
    table
        .iter()
        .fold(text.to_string(), |text, (from, to)| text.replace(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader itself reproduces the issue's findings against the runner's rules.
    #[test]
    fn the_reader_finds_what_the_runner_finds() {
        let log = RunnerLog::read(
            "Found Q3 ##[stop-commands]tok\n::add-mask::secret-1\nsecret-1 shows\n::tok::\n::add-mask::secret-2\nsecret-2 hidden\n",
        );
        assert_eq!(log.commands[0], Command::new("stop-commands", &[], "tok"));
        assert!(log.shown_text().contains("::add-mask::secret-1"));
        assert!(log.shown_text().contains("secret-1 shows"));
        assert!(log.shown_text().contains("*** hidden"));

        let log = RunnerLog::read("a name\r::error title=x::forged\n  \t::set-output name=a::b");
        assert_eq!(
            log.commands,
            [
                Command::new("error", &[("title", "x")], "forged"),
                Command::new("set-output", &[("name", "a")], "b"),
            ]
        );
        assert_eq!(split_lines("a\r\nb\rc\n\nd"), ["a", "b", "c", "", "d"]);
        let log = RunnerLog::read("::group::a%25b%0Ac\n::ENDGROUP::\n::nope::x");
        assert_eq!(log.commands[0].data, "a%b\nc");
        assert_eq!(log.commands[1].name, "endgroup");
        assert_eq!(log.shown.last().map(String::as_str), Some("::nope::x"));
    }
}
