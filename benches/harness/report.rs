//! The markdown report: one section per benchmark, each a table plus the goal and a verdict.

/// One benchmark's results.
pub(crate) struct Section {
    pub(crate) title: String,
    pub(crate) what: String,
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
    pub(crate) goal: String,
    /// Whether every row met the goal, and what limits the numbers when not.
    pub(crate) verdict: String,
}

pub(crate) fn render(machine: &str, sections: &[Section]) -> String {
    let mut out = String::from("# Benchmarks\n\n");
    out.push_str(
        "Produced by `cargo bench --bench harness -- --write` against the simulators on 127.0.0.1. \
         No test asserts a time; these numbers are kept here and re-measured when a hot path changes. \
         Each section states its goal from issue 4 and whether it was met; a missed goal is reported \
         as measured, with what limits it. The simulators, and for the relay the load generator, run \
         on the same machine as the program measured.\n\n",
    );
    out.push_str(machine);
    out.push_str("\n\n");
    for section in sections {
        out.push_str(&render_section(section));
    }
    out
}

fn render_section(section: &Section) -> String {
    let mut out = format!("## {}\n\n{}\n\n", section.title, section.what);
    out.push_str(&format!("| {} |\n", section.header.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(section.header.len())));
    for row in &section.rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out.push_str(&format!(
        "\n**Goal:** {}\n\n**Result:** {}\n\n",
        section.goal, section.verdict
    ));
    out
}

/// `existing` (a whole report) with the sections of the same titles replaced by `sections`, each
/// saying it was measured on its own, so one benchmark can be re-run without the others' hours.
pub(crate) fn replace(
    existing: &str,
    machine: &str,
    sections: &[Section],
) -> anyhow::Result<String> {
    let mut out = existing.to_string();
    for section in sections {
        let heading = format!("## {}\n", section.title);
        let start = out
            .find(&heading)
            .ok_or_else(|| anyhow::anyhow!("no section `{}` to replace", section.title))?;
        let end = out[start + heading.len()..]
            .find("\n## ")
            .map_or(out.len(), |at| start + heading.len() + at + 1);
        let mut fresh = render_section(section);
        let note = format!("This section was re-measured on its own. {machine}\n\n");
        let first_break = fresh.find("\n\n").map_or(fresh.len(), |at| at + 2);
        fresh.insert_str(first_break, &note);
        out.replace_range(start..end, &fresh);
    }
    Ok(out)
}
