//! The benchmark harness: measures the refresh run and the relay against the simulators on
//! loopback, prints a markdown report, and with `--write` keeps it in docs/BENCHMARKS.md.
//!
//! Run: `cargo bench --bench harness` (add `-- --write` to update docs/BENCHMARKS.md). While working
//! on one benchmark, `-- relay` (or `queueing`, `waiting`, `process`, `binary`, `manifest`,
//! `lineage`) runs only those; with `--write` too, only their sections of docs/BENCHMARKS.md are
//! replaced.
//! Goals live here, never in tests; a missed goal is reported as it is.

mod lineage;
mod lineage_site;
mod machine;
mod manifest;
mod manifest_gen;
mod measure;
mod phases;
mod refresh;
mod relay;
mod report;

use report::Section;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; any other flag we do not know is ignored the same way.
    let write = args.iter().any(|a| a == "--write");
    let only: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    const NAMES: [&str; 7] = [
        "queueing", "waiting", "process", "relay", "binary", "manifest", "lineage",
    ];
    if let Some(unknown) = only.iter().find(|name| !NAMES.contains(name)) {
        anyhow::bail!("no benchmark `{unknown}`; there are {}", NAMES.join(", "));
    }
    let run = |name: &str| only.is_empty() || only.contains(&name);
    let binary = env!("CARGO_BIN_EXE_dbt-tableau-refresh");
    let mut sections: Vec<Section> = Vec::new();
    if run("queueing") {
        eprintln!("benchmark: queueing refreshes");
        sections.push(refresh::queueing(binary).await?);
    }
    if run("waiting") {
        eprintln!("benchmark: waiting for jobs");
        sections.push(refresh::waiting(binary).await?);
    }
    if run("process") {
        eprintln!("benchmark: the refresh process");
        sections.push(refresh::process_cost(binary).await?);
    }
    if run("relay") {
        eprintln!("benchmark: the relay");
        sections.push(relay::relay(binary).await?);
    }
    if run("binary") {
        eprintln!("benchmark: the binary");
        sections.push(refresh::binary_size(binary)?);
    }
    if run("manifest") {
        eprintln!("benchmark: reading the manifest");
        sections.push(manifest::manifest(binary).await?);
    }
    if run("lineage") {
        eprintln!("benchmark: lineage for N built models");
        sections.push(lineage::lineage(binary).await?);
    }
    let machine = machine::describe();
    let text = report::render(&machine, &sections);
    println!("{text}");
    if write {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/BENCHMARKS.md");
        // A partial run replaces only its own sections, marked as measured on their own.
        let text = if only.is_empty() {
            text
        } else {
            report::replace(&std::fs::read_to_string(path)?, &machine, &sections)?
        };
        std::fs::write(path, &text)?;
        eprintln!("wrote {path}");
    }
    Ok(())
}
