//! Rendering a report: the markdown job summary, the `jobs` JSON and the step outputs. Pure
//! functions, snapshot-tested. Every name from Tableau or dbt is escaped before it reaches markdown.

use serde_json::json;

use super::report::{Outcome, Report, Status};
use crate::duration::format_short;
use crate::plural::count;

/// The job summary.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let (icon, title) = match report.status {
        Status::Success if report.dry_run => ("🔵", "dry run"),
        Status::Success => ("✅", "success"),
        Status::Skipped => ("⏭️", "skipped"),
        Status::Failed => ("❌", "failed"),
    };
    out.push_str(&format!("## {icon} Tableau refresh: {title}\n\n"));
    if let Some(reason) = &report.reason {
        match report.failed_phase {
            Some(phase) => out.push_str(&format!(
                "**Failed while {}:** {}\n\n",
                phase.label(),
                md(reason)
            )),
            None => out.push_str(&format!("**Skipped:** {}\n\n", md(reason))),
        }
    }
    if let Some(trigger) = &report.manual {
        out.push_str(&format!(
            "**Manual refresh ({})**: no dbt event, so no signature or dbt checks.\n\n",
            md(trigger)
        ));
    }
    if let Some(event) = &report.event {
        let job = match (&event.job_name, &event.job_id) {
            (Some(name), Some(id)) => format!("{} (job {})", md(name), md(id)),
            (None, Some(id)) => format!("job {}", md(id)),
            (Some(name), None) => md(name),
            (None, None) => "an unknown job".into(),
        };
        let run = match (&event.run_id, &event.run_url) {
            (Some(id), Some(url)) => format!("[run {}]({})", md(id), url_md(url)),
            (Some(id), None) => format!("run {}", md(id)),
            _ => "a run".into(),
        };
        out.push_str(&format!(
            "**dbt Cloud:** {job}, {run}: {} (`{}`)",
            md(&event.status),
            code(&event.event_type)
        ));
        if let Some(project) = &event.project_name {
            out.push_str(&format!(" · project {}", md(project)));
        }
        if let Some(environment) = &event.environment {
            out.push_str(&format!(" · {}", md(environment)));
        }
        if let Some(at) = &event.occurred_at {
            out.push_str(&format!(" · at {}", md(at)));
        }
        if let Some(id) = &event.event_id {
            out.push_str(&format!(" · event `{}`", code(id)));
        }
        out.push_str("\n\n");
    }
    if let Some(selection) = &report.selection {
        out.push_str(&format!("**Selection:** {}\n\n", md(selection)));
    }
    // The "Selected by" column shows only when something besides the listed inputs chose targets.
    let reasons = report
        .targets
        .iter()
        .any(|t| t.selected_by.iter().any(|s| s != "listed"));
    if !report.targets.is_empty() {
        if reasons {
            out.push_str("| | Kind | Name | Project | Outcome | Job | Duration | Selected by |\n");
            out.push_str("|---|---|---|---|---|---|---|---|\n");
        } else {
            out.push_str("| | Kind | Name | Project | Outcome | Job | Duration |\n");
            out.push_str("|---|---|---|---|---|---|---|\n");
        }
        for target in &report.targets {
            let name = target.name.as_deref().unwrap_or(&target.reference);
            let name = match &target.url {
                Some(url) => format!("[{}]({})", md(name), url_md(url)),
                None => md(name),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                target.outcome.icon(),
                target.kind.label(),
                name,
                target.project.as_deref().map(md).unwrap_or_default(),
                target.outcome.as_str(),
                target.job_id.as_deref().map(code_cell).unwrap_or_default(),
                target.duration.map(format_short).unwrap_or_default(),
            ));
            if reasons {
                out.pop();
                out.push_str(&format!(" {} |\n", md(&shorten(&target.selected_by))));
            }
        }
        out.push('\n');
        let notes: Vec<_> = report
            .targets
            .iter()
            .filter(|t| t.message.is_some() && t.outcome != Outcome::Succeeded)
            .collect();
        if !notes.is_empty() {
            out.push_str("### Details\n\n");
            for target in notes {
                out.push_str(&format!(
                    "- **{} {}** — {}: {}\n",
                    target.kind.label(),
                    md(&target.display_name()),
                    target.outcome.as_str(),
                    md(target.message.as_deref().unwrap_or_default())
                ));
            }
            out.push('\n');
        }
    }
    if !report.considered.is_empty() {
        out.push_str("### Considered, not refreshed\n\n");
        for item in &report.considered {
            out.push_str(&format!(
                "- **{}** — {}\n",
                md(&item.subject),
                md(&item.reason)
            ));
        }
        out.push('\n');
    }
    for warning in &report.warnings {
        out.push_str(&format!("> ⚠️ {}\n\n", md(warning)));
    }
    if let Some(server) = &report.server {
        let product = server
            .product_version
            .as_deref()
            .map(|v| format!(" (Tableau {})", md(v)))
            .unwrap_or_default();
        out.push_str(&format!(
            "<sub>Tableau {} · site {} · REST API {}{product}",
            md(&server.server),
            md(&server.site),
            md(&server.api_version)
        ));
        let mut extras = Vec::new();
        if report.incremental {
            extras.push("incremental".to_string());
        }
        if !report.waited && !report.dry_run {
            extras.push("not waited for".to_string());
        }
        extras.push(count(report.requests, "request", "requests"));
        if report.retries > 0 {
            extras.push(format!("{} retried", report.retries));
        }
        extras.push(format!("{} in all", format_short(report.elapsed)));
        out.push_str(&format!(" · {}</sub>\n", extras.join(" · ")));
    }
    out
}

/// The `jobs` output: one object per target.
pub fn jobs_json(report: &Report) -> String {
    let jobs: Vec<_> = report
        .targets
        .iter()
        .map(|t| {
            json!({
                "kind": t.kind.singular(),
                "reference": t.reference,
                "name": t.name,
                "project": t.project,
                "id": t.id,
                "job_id": t.job_id,
                "outcome": t.outcome.as_str(),
                "finish_code": t.finish_code,
                "duration_s": t.duration.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
                "url": t.url,
                "message": t.message,
                "selected_by": t.selected_by,
            })
        })
        .collect();
    serde_json::Value::Array(jobs).to_string()
}

/// The step outputs of the contract.
pub fn outputs(report: &Report) -> Vec<(&'static str, String)> {
    let event = report.event.as_ref();
    vec![
        ("status", report.status.as_str().to_string()),
        ("jobs", jobs_json(report)),
        (
            "dbt-job-id",
            event.and_then(|e| e.job_id.clone()).unwrap_or_default(),
        ),
        (
            "dbt-run-id",
            event.and_then(|e| e.run_id.clone()).unwrap_or_default(),
        ),
    ]
}

/// Up to three reasons, then a count: `exposure:a, exposure:b, exposure:c (+2 more)`.
fn shorten(reasons: &[String]) -> String {
    let mut text = reasons
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if reasons.len() > 3 {
        text.push_str(&format!(" (+{} more)", reasons.len() - 3));
    }
    text
}

/// Escapes text for markdown (tables, links, emphasis, HTML) and flattens newlines.
pub fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Text inside an inline code span: backticks cannot be escaped there, so they are dropped.
fn code(text: &str) -> String {
    text.chars()
        .filter(|c| *c != '`' && !c.is_control())
        .collect()
}

/// An inline code span in a table cell. GFM splits a row on every `|` not preceded by a backslash
/// before it reads the cells' inlines, code spans included, so a bare `|` would end the cell in
/// the middle of the span and let the rest out as markdown or HTML. `\|` is read as a `|` inside
/// the span (and `\\|` as `\|`). An empty span would show its backticks, so it is left out.
fn code_cell(text: &str) -> String {
    let text = code(text).replace('|', "\\|");
    if text.trim().is_empty() {
        String::new()
    } else {
        format!("`{text}`")
    }
}

/// A URL inside `(…)` in a table cell: only http(s), with every character that could end the
/// link or the cell percent-encoded.
fn url_md(url: &str) -> String {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return String::new();
    }
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '(' | ')' | ' ' | '<' | '>' | '|' | '\\' | '`' | '[' | ']' | '"' | '*' | '_' => {
                let mut bytes = [0u8; 4];
                for byte in c.encode_utf8(&mut bytes).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            c if c.is_control() || c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escaping_defuses_names() {
        assert_eq!(md("a|b"), "a\\|b");
        assert_eq!(md("<img src=x>"), "\\<img src=x\\>");
        assert_eq!(md("[x](javascript:1)"), "\\[x\\](javascript:1)");
        assert_eq!(md("line\nbreak"), "line break");
        assert_eq!(url_md("javascript:alert(1)"), "");
        assert_eq!(url_md("https://x/a b(c)"), "https://x/a%20b%28c%29");
        assert_eq!(url_md("https://x/a|b"), "https://x/a%7Cb");
    }

    #[test]
    fn pipes_in_a_code_span_in_a_table_are_escaped() {
        assert_eq!(code_cell("j1|<img src=x>|"), "`j1\\|<img src=x>\\|`");
        assert_eq!(code_cell("a\\|b"), "`a\\\\|b`");
        assert_eq!(code_cell("`\n"), "");
    }

    #[test]
    fn reasons_are_shortened_past_three_with_a_count() {
        let reasons: Vec<String> = [
            "listed",
            "exposure:a",
            "exposure:b",
            "exposure:c",
            "exposure:d",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(shorten(&reasons[..2]), "listed, exposure:a");
        assert_eq!(
            shorten(&reasons),
            "listed, exposure:a, exposure:b (+2 more)"
        );
    }
}
