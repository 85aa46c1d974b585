//! Log lines for people: workflow commands (`::error::`, `::group::`, `::add-mask::`) inside
//! GitHub Actions, plain prefixed lines elsewhere, and the one place where text from outside
//! (Tableau, dbt, inputs) is made safe to print.
//!
//! The runner reads every line a step writes to stdout or stderr and looks for commands in it
//! (actions/runner, `ActionCommand.cs` and `OutputManager.cs`):
//! - lines end at `\r\n`, `\r` or `\n`;
//! - a `::name …::data` command may follow leading whitespace (the V2 parser trims it first);
//! - the legacy `##[name …]data` command is found anywhere in a line (the V1 parser);
//! - both matches are culture-sensitive .NET string searches, which skip characters such as
//!   U+200B or U+2060, so a zero-width character is no way to break a command.
//!
//! So every line goes through [`clean`]: control characters become visible stand-ins (a line
//! can never be split, and no ESC reaches a terminal or the log viewer), and `##[` becomes `##［`.
//! A plain line also goes through [`defuse_line_start`]: if it starts with `::` after whitespace,
//! the first colon becomes `：`. Text inside a command is escaped as the documentation says (data:
//! `%`, CR, LF; property values also `:` and `,`) after it was cleaned.

use std::io::{IsTerminal, Write};

use crate::secret::Secret;

/// Stands in for a character that has no picture of its own (C1 controls, line and paragraph
/// separators, bidirectional overrides).
const REPLACEMENT: char = '\u{FFFD}';
/// `##[` becomes `##` + FULLWIDTH LEFT SQUARE BRACKET: a reader still reads it, and no
/// comparison the runner makes (ordinal, or .NET's culture-sensitive one) equates it with `[`.
const BROKEN_V1_PREFIX: &str = "##\u{FF3B}";
/// A plain line that would start with `::` starts with FULLWIDTH COLON + `:` instead.
const BROKEN_COLON: char = '\u{FF1A}';

/// Where progress, warnings and errors go.
#[derive(Debug, Clone, Copy)]
pub struct Console {
    actions: bool,
    /// Standard error is a terminal: a live status line may be redrawn in place.
    live: bool,
    /// Colour on that terminal (never in Actions, never off a terminal).
    colour: bool,
    /// Standard output carries data (`refresh --format json`): every line for people, workflow
    /// commands and the report included, goes to standard error.
    stdout_reserved: bool,
}

/// The level of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Notice,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Notice => "notice",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// One thing to log. [`Entry::actions_line`] is the exact line written inside Actions.
#[derive(Debug, Clone, Copy)]
pub enum Entry<'a> {
    /// A progress line.
    Info(&'a str),
    /// Opens a collapsible section.
    Group(&'a str),
    EndGroup,
    Annotation {
        level: Level,
        title: &'a str,
        message: &'a str,
    },
    /// Asks the runner to hide a value in all later output.
    Mask(&'a Secret),
}

impl Entry<'_> {
    /// The line written inside Actions (without its newline); `None` for a mask of nothing.
    pub fn actions_line(&self) -> Option<String> {
        Some(match *self {
            Entry::Info(text) => defuse_line_start(clean(text)),
            Entry::Group(title) => format!("::group::{}", escape_data(&clean(title))),
            Entry::EndGroup => "::endgroup::".to_string(),
            Entry::Annotation {
                level,
                title,
                message,
            } => format!(
                "::{} title={}::{}",
                level.as_str(),
                escape_property(&clean(title)),
                escape_data(&clean(message))
            ),
            // The value must reach the runner exactly, so it is escaped, never cleaned.
            Entry::Mask(secret) if secret.is_empty() => return None,
            Entry::Mask(secret) => format!("::add-mask::{}", escape_data(secret.expose())),
        })
    }

    /// The line written outside Actions; `None` for what only Actions shows.
    pub fn plain_line(&self) -> Option<String> {
        match *self {
            Entry::Info(text) => Some(clean(text)),
            Entry::Group(title) => Some(format!("── {}", clean(title))),
            Entry::Annotation {
                level,
                title,
                message,
            } => Some(format!(
                "{}: {}: {}",
                level.as_str(),
                clean(title),
                clean(message)
            )),
            Entry::EndGroup | Entry::Mask(_) => None,
        }
    }
}

impl Console {
    /// Workflow commands when `GITHUB_ACTIONS=true`, plain lines otherwise.
    pub fn from_env() -> Self {
        let actions = super::in_actions();
        let live = !actions && std::io::stderr().is_terminal();
        // anstream honours NO_COLOR, CLICOLOR=0, CLICOLOR_FORCE and TERM=dumb; CLICOLOR_FORCE
        // still gives no colour off a terminal, where the lines are read by programs.
        let colour = live
            && anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
        Self {
            actions,
            live,
            colour,
            stdout_reserved: false,
        }
    }

    pub fn plain() -> Self {
        Self {
            actions: false,
            live: false,
            colour: false,
            stdout_reserved: false,
        }
    }

    /// This console, writing nothing to standard output, which then carries only data (one JSON
    /// document). The runner reads workflow commands from standard error as from standard
    /// output, so annotations, groups and masks still work in Actions.
    pub fn without_stdout(self) -> Self {
        Self {
            stdout_reserved: true,
            ..self
        }
    }

    /// Whether [`Console::live`] lines are shown (a terminal, not Actions).
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Redraws a one-line status in place on a terminal; does nothing elsewhere (logs get
    /// periodic `info` lines instead). The next ordinary line replaces it.
    ///
    /// The line is cut to the terminal's width, asked at every redraw (the window may have been
    /// resized): a line that wrapped could not be cleared by the next `\r\x1b[2K`, which
    /// clears one row only, and each redraw would leave a row of residue.
    pub fn live(&self, text: &str) {
        if self.live {
            let columns = terminal_size::terminal_size_of(std::io::stderr())
                .map_or(FALLBACK_COLUMNS, |(width, _)| usize::from(width.0));
            let line = fit_width(&clean(text), columns);
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K{line}");
        }
    }

    pub fn is_actions(&self) -> bool {
        self.actions
    }

    /// A progress line.
    pub fn info(&self, message: &str) {
        self.emit(Entry::Info(message));
    }

    pub fn notice(&self, title: &str, message: &str) {
        self.annotation(Level::Notice, title, message);
    }

    pub fn warning(&self, title: &str, message: &str) {
        self.annotation(Level::Warning, title, message);
    }

    pub fn error(&self, title: &str, message: &str) {
        self.annotation(Level::Error, title, message);
    }

    /// Opens a collapsible log section; it closes when the guard drops.
    pub fn group(&self, title: &str) -> Group {
        self.emit(Entry::Group(title));
        Group { console: *self }
    }

    /// Asks the runner to mask a value in all later log output. A no-op outside Actions.
    /// The command line itself is consumed by the runner and never shown.
    ///
    /// It is written whole, through the same lock as every other line, so it always starts a
    /// line of its own. Nothing this console writes can stop the runner's command processing
    /// (`clean` breaks every `##[` and `::` line start), so the mask is always obeyed, even when
    /// it comes late in a run (a new session token after a re-sign-in).
    pub fn mask(&self, secret: &Secret) {
        self.emit(Entry::Mask(secret));
    }

    /// The report printed to stdout (stderr when stdout is reserved) when there is no job
    /// summary file. It is our own markdown with every outside value escaped, but inside Actions
    /// each line still goes through the same cleaning as any other line, since the runner reads
    /// both streams for commands.
    pub fn report(&self, markdown: &str) {
        let mut text = String::with_capacity(markdown.len() + 1);
        if self.actions {
            for line in markdown.lines() {
                text.push_str(&defuse_line_start(clean(line)));
                text.push('\n');
            }
        } else {
            text.push_str(markdown);
            text.push('\n');
        }
        if self.stdout_reserved {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        } else {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }

    fn annotation(&self, level: Level, title: &str, message: &str) {
        self.emit(Entry::Annotation {
            level,
            title,
            message,
        });
    }

    /// Writes one entry as one whole line. Workflow commands must reach the runner on stdout; off
    /// Actions, progress goes to stderr so that stdout carries only the report. Write errors (a
    /// closed pipe) are not worth dying for.
    fn emit(&self, entry: Entry<'_>) {
        let line = if self.actions {
            entry.actions_line()
        } else {
            entry.plain_line()
        };
        let Some(line) = line else {
            return;
        };
        let mut line = if self.colour {
            paint(&entry, line)
        } else {
            line
        };
        line.push('\n');
        if self.actions && self.stdout_reserved {
            // The same single write, on the stream the runner also reads.
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        } else if self.actions {
            // One write of the whole line under the stdout lock: no other thread's line can
            // land in the middle of it, so a command always starts its own line.
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        } else if self.live {
            // Clear a live status line first, so this line replaces it.
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K{line}");
        } else {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

/// Colours a plain line (already cleaned: the only escape codes in it are these) for a terminal:
/// the level of an annotation, and group titles.
fn paint(entry: &Entry<'_>, line: String) -> String {
    use anstyle::{AnsiColor, Style};
    let style = match entry {
        Entry::Annotation { level, .. } => Style::new().bold().fg_color(Some(
            match level {
                Level::Error => AnsiColor::Red,
                Level::Warning => AnsiColor::Yellow,
                Level::Notice => AnsiColor::Cyan,
            }
            .into(),
        )),
        Entry::Group(_) => Style::new().bold(),
        Entry::Info(_) | Entry::EndGroup | Entry::Mask(_) => return line,
    };
    // An annotation colours its level word; a group, its whole title.
    let end = match entry {
        Entry::Annotation { level, .. } => level.as_str().len(),
        _ => line.len(),
    };
    format!("{style}{}{style:#}{}", &line[..end], &line[end..])
}

/// Columns assumed when a terminal does not say how wide it is.
const FALLBACK_COLUMNS: usize = 80;
/// Marks a status line that was cut.
const ELLIPSIS: char = '…';

/// Cuts a [`clean`]ed line to fewer display columns than `columns`, ending with `…` if it was
/// cut. Wide characters (CJK, most emoji) take two columns, combining marks none: they stay with
/// the character they follow and go with it. The last column stays empty, since writing into it
/// leaves some terminals waiting to wrap, and the next `\r` would then land on a new row.
pub fn fit_width(line: &str, columns: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let budget = columns.saturating_sub(1);
    // Measured per character, which never counts less than a terminal draws (a joined emoji
    // sequence counts as all its parts).
    let widths = || line.chars().map(|c| (c, c.width().unwrap_or(0)));
    if widths().map(|(_, w)| w).sum::<usize>() <= budget {
        return line.to_string();
    }
    let room = budget.saturating_sub(1);
    let mut out = String::new();
    let mut used = 0;
    for (c, width) in widths() {
        if used + width > room {
            break;
        }
        used += width;
        out.push(c);
    }
    if budget > 0 {
        out.push(ELLIPSIS);
    }
    out
}

/// Closes a log group when dropped.
pub struct Group {
    console: Console,
}

impl Drop for Group {
    fn drop(&mut self) {
        self.console.emit(Entry::EndGroup);
    }
}

/// Makes outside text safe to print on one line of an Actions log or a terminal:
/// - a tab becomes a space;
/// - every other C0 control character becomes its Control Picture (`\r` → `␍`, `\n` → `␊`,
///   ESC → `␛`, NUL → `␀`), DEL becomes `␡`;
/// - C1 controls (NEL among them), U+2028/U+2029 and the bidirectional embedding, override and
///   isolate controls become U+FFFD;
/// - `##[` becomes `##［` (FULLWIDTH LEFT SQUARE BRACKET).
///
/// The result has no line break a runner, terminal or log viewer would honour, and no legacy
/// command prefix.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push(' '),
            '\u{0}'..='\u{1f}' => {
                out.push(char::from_u32(0x2400 + u32::from(c)).unwrap_or(REPLACEMENT))
            }
            '\u{7f}' => out.push('\u{2421}'),
            c if c.is_control() || is_invisible_layout(c) => out.push(REPLACEMENT),
            c => out.push(c),
        }
    }
    if out.contains("##[") {
        out = out.replace("##[", BROKEN_V1_PREFIX);
    }
    out
}

/// Line and paragraph separators (some viewers break lines there) and the bidirectional
/// controls that can make a log line read differently from what it holds.
fn is_invisible_layout(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A plain line must not start a workflow command: if, after the whitespace the runner trims
/// (Rust's `char::is_whitespace` is the same set as .NET's `char.IsWhiteSpace`), it starts with
/// `::`, its first colon becomes `：`. Expects a line already [`clean`]ed (one line, no controls).
pub fn defuse_line_start(mut line: String) -> String {
    let trimmed = line.trim_start();
    if trimmed.starts_with("::") {
        let at = line.len() - trimmed.len();
        line.replace_range(at..at + 1, &BROKEN_COLON.to_string());
    }
    line
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

/// Multi-line text of ours that quotes outside values (say, a `Debug` print of a dbt event), for
/// printing with `println!`: inside Actions each line is cleaned like any other; elsewhere it is
/// returned unchanged.
pub fn log_text(text: &str) -> String {
    if !super::in_actions() {
        return text.to_string();
    }
    text.lines()
        .map(|line| defuse_line_start(clean(line)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A writer for diagnostics (`tracing`) on stderr. Inside Actions the runner reads stderr for
/// commands too, so each line is cleaned like any other; elsewhere the bytes pass unchanged
/// (colours on a terminal stay).
pub fn log_writer() -> LogWriter<std::io::Stderr> {
    LogWriter::new(std::io::stderr(), super::in_actions())
}

/// See [`log_writer`]. Inside Actions, complete lines are cleaned and written as they arrive, and
/// a partial line when flushed or dropped.
pub struct LogWriter<W: Write> {
    sink: W,
    clean: bool,
    pending: Vec<u8>,
}

impl<W: Write> LogWriter<W> {
    pub fn new(sink: W, clean: bool) -> Self {
        Self {
            sink,
            clean,
            pending: Vec::new(),
        }
    }

    /// Cleans and writes the complete lines held (all of it when `all`).
    fn write_lines(&mut self, all: bool) -> std::io::Result<()> {
        let end = if all {
            self.pending.len()
        } else {
            match self.pending.iter().rposition(|b| *b == b'\n') {
                Some(at) => at + 1,
                None => return Ok(()),
            }
        };
        if end == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.pending[..end]).into_owned();
        self.pending.drain(..end);
        let mut out = String::with_capacity(text.len());
        for line in text.split('\n').filter(|line| !line.is_empty()) {
            out.push_str(&defuse_line_start(clean(line)));
            out.push('\n');
        }
        self.sink.write_all(out.as_bytes())
    }
}

impl<W: Write> Write for LogWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.clean {
            return self.sink.write(buf);
        }
        self.pending.extend_from_slice(buf);
        self.write_lines(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.clean {
            self.write_lines(true)?;
        }
        self.sink.flush()
    }
}

impl<W: Write> Drop for LogWriter<W> {
    fn drop(&mut self) {
        if self.clean {
            let _ = self.write_lines(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_marks_levels_and_groups_only_with_our_own_codes() {
        let entry = Entry::Annotation {
            level: Level::Error,
            title: "workbook not found",
            message: "\x1b[31mred from Tableau",
        };
        let line = paint(&entry, entry.plain_line().expect("line"));
        assert_eq!(
            line,
            "\x1b[1m\x1b[31merror\x1b[0m: workbook not found: ␛[31mred from Tableau"
        );
        let entry = Entry::Group("Sign in");
        assert_eq!(
            paint(&entry, entry.plain_line().expect("line")),
            "\x1b[1m── Sign in\x1b[0m"
        );
        let entry = Entry::Info("Found \x1b[2J it");
        assert_eq!(
            paint(&entry, entry.plain_line().expect("line")),
            "Found ␛[2J it"
        );
        // The console for tests and pipes never colours.
        assert!(!Console::plain().colour);
    }

    fn columns(text: &str) -> usize {
        unicode_width::UnicodeWidthStr::width(text)
    }

    #[test]
    fn a_status_line_is_cut_to_the_terminal_by_display_width() {
        // Fits (one column to spare): unchanged.
        assert_eq!(fit_width("Waiting for 3 jobs", 19), "Waiting for 3 jobs");
        assert_eq!(fit_width("Waiting for 3 jobs", 18), "Waiting for 3 jo…");
        // Wide characters take two columns each; a cut never splits one.
        let wide = "待機中：売上ダッシュボード";
        assert_eq!(columns(wide), 26);
        let cut = fit_width(wide, 10);
        assert_eq!(cut, "待機中：…");
        assert!(columns(&cut) <= 9, "{cut}");
        let cut = fit_width(wide, 11);
        assert_eq!(cut, "待機中：…");
        // Combining marks take none, and go with the letter they follow.
        let combining = "Cafe\u{301} Re\u{301}sume\u{301} extracts";
        assert_eq!(fit_width(combining, 40), combining);
        assert_eq!(fit_width(combining, 8), "Cafe\u{301} R…");
        assert_eq!(fit_width(combining, 6), "Cafe\u{301}…");
        assert_eq!(fit_width(combining, 5), "Caf…");
        // Emoji are wide; the cut line still fits.
        let emoji = "✅ Orders ⏳ Revenue 🔄 P&L";
        for width in 1..40 {
            let cut = fit_width(emoji, width);
            assert!(columns(&cut) < width.max(1), "{width}: {cut}");
        }
        // No room at all: nothing.
        assert_eq!(fit_width("abc", 0), "");
        assert_eq!(fit_width("abc", 1), "");
        assert_eq!(fit_width("abc", 2), "…");
    }

    fn info(text: &str) -> String {
        Entry::Info(text).actions_line().expect("a line")
    }

    #[test]
    fn escapes_per_the_documentation() {
        assert_eq!(escape_data("100%\r\nnext"), "100%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    /// Replaces the old `info_lines_cannot_start_a_command`, which only shifted a `::` line by a
    /// space (the runner trims it again) and let `\r` and `##[` through.
    #[test]
    fn no_outside_text_can_split_a_line_or_start_a_command() {
        // Every line break the runner honours, and ESC, shows as a picture.
        assert_eq!(info("a\rb\nc\r\nd\u{1b}[31m"), "a␍b␊c␍␊d␛[31m");
        // The V2 parser trims whitespace (any Unicode space) before matching `::`.
        assert_eq!(info("::add-mask::x"), "：:add-mask::x");
        assert_eq!(info("  \u{3000}::error::x"), "  \u{3000}：:error::x");
        assert_eq!(info("\t::error::x"), " ：:error::x");
        // The V1 parser matches `##[` anywhere.
        assert_eq!(info("Q3 ##[stop-commands]x"), "Q3 ##［stop-commands]x");
        assert_eq!(info("###[x]"), "###［x]");
        // A line break only a viewer honours, a C1 control, a bidi override.
        assert_eq!(
            info("a\u{2028}b\u{85}c\u{202E}d"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d"
        );
        // `%0A` in a plain line is just text: the runner unescapes command data only.
        assert_eq!(info("%0A::error::x"), "%0A::error::x");
        assert_eq!(info("ok :: fine"), "ok :: fine");
    }

    #[test]
    fn commands_clean_then_escape_what_they_carry() {
        let line = Entry::Annotation {
            level: Level::Error,
            title: "Workbook a:b,c\r::x",
            message: "100% %0A\n##[stop-commands]t",
        }
        .actions_line();
        assert_eq!(
            line.as_deref(),
            Some("::error title=Workbook a%3Ab%2Cc␍%3A%3Ax::100%25 %250A␊##［stop-commands]t")
        );
        assert_eq!(
            Entry::Group("a\n::endgroup::").actions_line().as_deref(),
            Some("::group::a␊::endgroup::")
        );
    }

    #[test]
    fn a_mask_carries_the_exact_value_and_an_empty_one_is_not_sent() {
        let secret = Secret::new("tok%en\r\n##[x");
        assert_eq!(
            Entry::Mask(&secret).actions_line().as_deref(),
            Some("::add-mask::tok%25en%0D%0A##[x")
        );
        assert_eq!(Entry::Mask(&Secret::new("")).actions_line(), None);
        assert_eq!(Entry::Mask(&secret).plain_line(), None);
    }

    #[test]
    fn plain_lines_are_cleaned_but_keep_colons() {
        assert_eq!(
            Entry::Info("::x\u{1b}]0;t\u{7}").plain_line().as_deref(),
            Some("::x␛]0;t␇")
        );
        assert_eq!(
            Entry::Annotation {
                level: Level::Warning,
                title: "t\n",
                message: "m"
            }
            .plain_line()
            .as_deref(),
            Some("warning: t␊: m")
        );
    }

    #[test]
    fn diagnostics_are_cleaned_line_by_line_inside_actions() {
        let mut sink = Vec::new();
        {
            let mut writer = LogWriter::new(&mut sink, true);
            writer
                .write_all(b"WARN x: a\r::error::b ##[stop-commands]t\n  ::set-output")
                .expect("write");
            writer.write_all(b" name=a::b\n\x1b[31mend").expect("write");
        }
        assert_eq!(
            String::from_utf8(sink).expect("UTF-8"),
            "WARN x: a␍::error::b ##［stop-commands]t\n  ：:set-output name=a::b\n␛[31mend\n"
        );
        let mut sink = Vec::new();
        LogWriter::new(&mut sink, false)
            .write_all(b"\x1b[2mdim\n")
            .expect("write");
        assert_eq!(sink, b"\x1b[2mdim\n");
    }
}
