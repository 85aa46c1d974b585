//! The job summary file (`$GITHUB_STEP_SUMMARY`): appended to, and kept under GitHub's 1 MiB limit;
//! and the same summary written to a file for other CI systems.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// GitHub refuses step summaries over 1 MiB; stay well below it.
pub const MAX_BYTES: usize = 900 * 1024;

/// Appends markdown to the summary file, cut at a line boundary below [`MAX_BYTES`].
pub fn append(path: &Path, markdown: &str) -> anyhow::Result<()> {
    let text = truncate(markdown, MAX_BYTES);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("failed to open GITHUB_STEP_SUMMARY file {}", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| {
        format!(
            "failed to write GITHUB_STEP_SUMMARY file {}",
            path.display()
        )
    })
}

/// Writes markdown to a summary file of another CI system (`refresh --summary-file`), replacing
/// it. Whole: GitHub's size limit does not apply there.
pub fn write_file(path: &Path, markdown: &str) -> anyhow::Result<()> {
    std::fs::write(path, markdown)
        .with_context(|| format!("failed to write the summary file {}", path.display()))
}

/// Cuts `markdown` to at most `max` bytes at a line boundary, saying so at the end.
pub fn truncate(markdown: &str, max: usize) -> String {
    if markdown.len() <= max {
        return markdown.to_string();
    }
    const NOTE: &str = "\n\n_The summary was cut here: it exceeded GitHub's size limit. The `jobs` output has every target._\n";
    let budget = max.saturating_sub(NOTE.len());
    let mut cut = budget;
    while !markdown.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &markdown[..cut];
    let head = head.rfind('\n').map_or(head, |at| &head[..at]);
    format!("{head}{NOTE}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_at_a_line_boundary_with_a_note() {
        let text = "| row |\n".repeat(1_000);
        let cut = truncate(&text, 500);
        assert!(cut.len() <= 500);
        assert!(cut.contains("was cut here"));
        assert!(cut.starts_with("| row |\n| row |"));
        assert_eq!(truncate("short", 500), "short");
    }
}
