//! The table the benchmark ends with: each figure beside its reference from the same run and
//! its target, and whether the target was met, so a reader needs nothing else to judge it.

/// Whether a figure met its target.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// A figure with no pass mark (binary size), or one another part measures.
    Reported,
}

impl Verdict {
    pub fn of(met: bool) -> Self {
        if met { Verdict::Met } else { Verdict::Missed }
    }

    fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "**missed**",
            Verdict::Reported => "reported",
        }
    }
}

/// One line of the table.
pub struct Row {
    pub figure: String,
    pub measured: String,
    pub reference: String,
    pub target: String,
    pub verdict: Verdict,
}

impl Row {
    pub fn new(
        figure: &str,
        measured: String,
        reference: String,
        target: &str,
        verdict: Verdict,
    ) -> Self {
        let row = Row {
            figure: figure.to_string(),
            measured,
            reference,
            target: target.to_string(),
            verdict,
        };
        // Printed as soon as it is known, so a long run shows its progress.
        eprintln!(
            "  {} | {} | {} | {}",
            row.figure,
            row.measured,
            row.reference,
            row.verdict.as_str()
        );
        row
    }
}

/// The table in Markdown, so it can be pasted into the README as it is.
pub fn print(machine: &str, rows: &[Row]) {
    println!();
    println!("{machine}");
    println!();
    println!("| figure | measured | reference in the same run | target | verdict |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            row.figure,
            row.measured,
            row.reference,
            row.target,
            row.verdict.as_str()
        );
    }
}

/// The machine the figures belong to (cores, CPU model, kernel, load) and the binary measured.
pub fn machine(binary: &std::path::Path) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU", str::trim)
        .to_string();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    // `target/release/cer` or `target/dist/cer`: the profile shows in the last folders.
    let shown: std::path::PathBuf = binary
        .iter()
        .skip(binary.iter().count().saturating_sub(3))
        .collect();
    format!(
        "Machine: nproc {cores}, {model}, Linux {}, load average at the end {load}; cer {} ({}).",
        kernel.trim(),
        env!("CARGO_PKG_VERSION"),
        shown.display()
    )
}

/// Megabytes (10^6 bytes) from KiB, as the targets are written.
pub fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}
