//! `cargo xtask bench`: every workload on every backend that has landed,
//! beside hand-written references over the same data, each result checked
//! against an independent reference before it is timed.

mod movement;
mod report;
mod svg;
mod workloads;

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use pallas_exec::HostArray;
use pallas_tests::{compare_outputs, Tolerance};

pub use report::{Report, Row};

/// Arguments of `cargo xtask bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Fewer sizes and repeats (under a minute): a smoke test.
    #[arg(long)]
    quick: bool,
    /// Only workloads whose name contains this text.
    #[arg(long, value_name = "NAME")]
    filter: Option<String>,
    /// Where the report goes.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

/// A way to compute a workload: returns its outputs.
pub type Runner = Box<dyn FnMut() -> Result<Vec<HostArray>, String>>;

/// One variant of a workload.
pub struct Variant {
    /// Name (`pallas-sim`, `reference loop, 1 thread`).
    pub name: String,
    /// The first variant of a workload marked reference is the base of
    /// the ratios.
    pub reference: bool,
    /// Computes the outputs.
    pub run: Runner,
}

/// A workload: independent expected outputs and the variants to time.
pub struct Workload {
    /// Name.
    pub name: String,
    /// Expected outputs (plain ndarray reference).
    pub expected: Vec<HostArray>,
    /// How close outputs must be.
    pub tolerance: Tolerance,
    /// Variants.
    pub variants: Vec<Variant>,
    /// Timed runs per variant.
    pub repeats: usize,
}

/// Checks a variant's outputs, then times it: one warm-up (the checked
/// run), then `repeats` runs.
pub fn measure(
    w: &str,
    v: &mut Variant,
    expected: &[HostArray],
    tol: Tolerance,
    repeats: usize,
) -> Result<Row, String> {
    let out = (v.run)().map_err(|e| format!("{w} on {}: {e}", v.name))?;
    compare_outputs(&out, expected, tol)
        .map_err(|e| format!("{w} on {}: wrong result: {e}", v.name))?;
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let out = (v.run)().map_err(|e| format!("{w} on {}: {e}", v.name))?;
        times.push(t.elapsed().as_secs_f64());
        drop(out);
    }
    times.sort_by(f64::total_cmp);
    Ok(Row {
        workload: w.to_string(),
        variant: v.name.clone(),
        median_s: times[times.len() / 2],
        min_s: times[0],
        max_s: times[times.len() - 1],
        runs: times.len(),
        ratio: 1.0,
        reference: v.reference,
    })
}

/// Runs workloads into a report (ratios against each workload's first
/// reference variant).
pub fn run_workloads(
    workloads: Vec<Workload>,
    quick: bool,
    progress: &indicatif::ProgressBar,
) -> Result<Report, String> {
    let mut rows = Vec::new();
    for mut w in workloads {
        let mut base = None;
        for v in &mut w.variants {
            progress.set_message(format!("{} on {}", w.name, v.name));
            let mut row = measure(&w.name, v, &w.expected, w.tolerance, w.repeats)?;
            if row.reference && base.is_none() {
                base = Some(row.median_s);
            }
            row.ratio = base.map_or(1.0, |b| row.median_s / b);
            rows.push(row);
            progress.inc(1);
        }
    }
    Ok(Report {
        machine: machine(),
        quick,
        rows,
        published: Vec::new(),
    })
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{cores} cores, {cpu}, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// `cargo xtask bench`.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    let mut all = workloads::all(args.quick);
    if let Some(f) = &args.filter {
        all.retain(|w| w.name.contains(f.as_str()));
        if all.is_empty() {
            return Err(format!("no workload matches `{f}`"));
        }
    }
    let total: usize = all.iter().map(|w| w.variants.len()).sum();
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    let mut report = run_workloads(all, args.quick, &bar)?;
    bar.finish_and_clear();
    report.published = workloads::published(&report);
    let md = report.to_markdown();
    println!("{md}");
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let write = |name: &str, text: String| {
        let p = args.out.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    write("report.md", md)?;
    let json = serde_json::to_string_pretty(&report.to_json()).map_err(|e| e.to_string())?;
    // The written report must read back as the same report.
    let back = serde_json::from_str(&json)
        .map_err(|e| e.to_string())
        .and_then(|v| Report::from_json(&v))?;
    if back != report {
        return Err("report.json does not read back to the same report".into());
    }
    write("report.json", json)?;
    write("report.svg", svg::chart(&report))?;
    println!(
        "wrote {0}/report.md, {0}/report.json, {0}/report.svg",
        args.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(w: &str, v: &str, t: f64, reference: bool) -> Row {
        Row {
            workload: w.into(),
            variant: v.into(),
            median_s: t,
            min_s: t * 0.9,
            max_s: t * 1.2,
            runs: 5,
            ratio: 1.5,
            reference,
        }
    }

    #[test]
    fn json_round_trip() {
        let r = Report {
            machine: "test machine".into(),
            quick: true,
            rows: vec![
                row("seed grid 512", "reference loop, 1 thread", 0.017, true),
                row("seed grid 512", "pallas-sim", 0.0245, false),
            ],
            published: vec![("seed grid 512".into(), "1.87 s".into())],
        };
        let text = serde_json::to_string(&r.to_json()).unwrap();
        let back = Report::from_json(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, r);
        assert!(Report::from_json(&serde_json::json!({"rows": 3})).is_err());
    }

    fn ones(n: usize, v: f32) -> HostArray {
        HostArray::F32(ndarray::ArrayD::from_elem(ndarray::IxDyn(&[n]), v))
    }

    fn workload(result: f32) -> Workload {
        Workload {
            name: "w".into(),
            expected: vec![ones(4, 1.0)],
            tolerance: Tolerance::EXACT,
            variants: vec![
                Variant {
                    name: "reference".into(),
                    reference: true,
                    run: Box::new(|| Ok(vec![ones(4, 1.0)])),
                },
                Variant {
                    name: "backend".into(),
                    reference: false,
                    run: Box::new(move || Ok(vec![ones(4, result)])),
                },
            ],
            repeats: 2,
        }
    }

    #[test]
    fn a_wrong_backend_result_fails_the_bench() {
        let bar = indicatif::ProgressBar::hidden();
        let err = run_workloads(vec![workload(1.5)], true, &bar).unwrap_err();
        assert!(err.contains("w on backend: wrong result"), "{err}");
        let ok = run_workloads(vec![workload(1.0)], true, &bar).unwrap();
        assert_eq!(ok.rows.len(), 2);
        assert!(ok.rows[0].reference && (ok.rows[0].ratio - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_chart_has_axes_legend_and_units() {
        let r = Report {
            machine: "m".into(),
            quick: false,
            rows: vec![
                row("seed grid 512", "a", 0.02, true),
                row("seed grid 512", "b", 1.2, false),
            ],
            published: vec![],
        };
        let svg = svg::chart(&r);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("time per launch (median, seconds, log scale)"));
        assert!(svg.contains(">a</text>") && svg.contains(">b</text>"));
        assert!(svg.contains("20.0 ms") && svg.contains("1.20 s"));
    }
}
