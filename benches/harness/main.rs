//! The benchmark harness: measures the refresh run and the relay against the simulators on
//! loopback, prints a markdown report, and with `--write` keeps it in docs/BENCHMARKS.md.
//!
//! Run: `cargo bench --bench harness` (add `-- --write` to update docs/BENCHMARKS.md).
//! Goals live here, never in tests; a missed goal is reported as it is.

mod machine;
mod measure;
mod refresh;
mod report;

use report::Section;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; anything else we do not know is ignored the same way.
    let write = args.iter().any(|a| a == "--write");
    let binary = env!("CARGO_BIN_EXE_dbt-tableau-refresh");
    let mut sections: Vec<Section> = Vec::new();
    eprintln!("benchmark: queueing refreshes");
    sections.push(refresh::queueing(binary).await?);
    eprintln!("benchmark: waiting for jobs");
    sections.push(refresh::waiting(binary).await?);
    eprintln!("benchmark: the refresh process");
    sections.push(refresh::process_cost(binary).await?);
    eprintln!("benchmark: the binary");
    sections.push(refresh::binary_size(binary)?);
    let text = report::render(&machine::describe(), &sections);
    println!("{text}");
    if write {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/BENCHMARKS.md");
        std::fs::write(path, &text)?;
        eprintln!("wrote {path}");
    }
    Ok(())
}
