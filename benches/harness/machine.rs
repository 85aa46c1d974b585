//! A description of the machine the numbers were measured on.

/// CPU model, cores, memory, OS and toolchain, as one markdown paragraph.
pub(crate) fn describe() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("MemTotal:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or_else(|| "?".into(), |kib| format!("{:.0}", kib / 1024.0 / 1024.0));
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_else(|| "rustc ?".into());
    let date = chrono::Utc::now().format("%Y-%m-%d");
    format!(
        "Measured {date} on {cpu}, {cores} cores, {memory_gib} GiB RAM, {} {}; {rustc}; {}",
        std::env::consts::OS,
        std::env::consts::ARCH,
        profile()
    )
}

/// The profile the harness was built with. `cargo bench` hands its environment to the harness,
/// so a profile overridden there (to keep the build short on a shared machine) is named.
fn profile() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let lto = var("CARGO_PROFILE_BENCH_LTO").or_else(|| var("CARGO_PROFILE_RELEASE_LTO"));
    let units = var("CARGO_PROFILE_BENCH_CODEGEN_UNITS")
        .or_else(|| var("CARGO_PROFILE_RELEASE_CODEGEN_UNITS"));
    if lto.is_none() && units.is_none() {
        return "release profile (thin LTO, one codegen unit, stripped).".into();
    }
    format!(
        "release profile with LTO {} and {} codegen unit(s) (set through `CARGO_PROFILE_*` \
         variables, to keep the build short on a shared machine); the shipped profile (thin LTO, \
         one codegen unit) optimises across more code and can only make these numbers better.",
        match lto.as_deref() {
            Some("false" | "off" | "no") => "off".to_string(),
            Some(other) => format!("`{other}`"),
            None => "thin".to_string(),
        },
        units.as_deref().unwrap_or("1"),
    )
}
