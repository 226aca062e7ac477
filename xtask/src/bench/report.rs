//! The bench report: rows of timings, written as a table, Markdown and
//! JSON (and read back from JSON).

use serde_json::{json, Value};

/// One timed variant of one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// What ran (`seed grid 512`).
    pub workload: String,
    /// Who ran it (`pallas-sim`, `reference loop, 1 thread`).
    pub variant: String,
    /// Median seconds.
    pub median_s: f64,
    /// Fastest run.
    pub min_s: f64,
    /// Slowest run.
    pub max_s: f64,
    /// Timed runs.
    pub runs: usize,
    /// Median over the workload's reference median.
    pub ratio: f64,
    /// Whether this row is the workload's reference.
    pub reference: bool,
}

/// A whole report.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Where it ran.
    pub machine: String,
    /// Whether `--quick` was on.
    pub quick: bool,
    /// Rows, in run order.
    pub rows: Vec<Row>,
    /// Published numbers printed beside the rows (`(workload, text)`).
    pub published: Vec<(String, String)>,
}

/// A duration for people: `812 us`, `24.5 ms`, `1.10 s`.
pub fn human(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.0} us", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.2} s", s)
    }
}

impl Report {
    /// JSON form.
    pub fn to_json(&self) -> Value {
        json!({
            "machine": self.machine,
            "quick": self.quick,
            "published": self.published.iter().map(|(w, t)| json!({"workload": w, "text": t})).collect::<Vec<_>>(),
            "rows": self.rows.iter().map(|r| json!({
                "workload": r.workload,
                "variant": r.variant,
                "median_s": r.median_s,
                "min_s": r.min_s,
                "max_s": r.max_s,
                "runs": r.runs,
                "ratio": r.ratio,
                "reference": r.reference,
            })).collect::<Vec<_>>(),
        })
    }

    /// Reads the JSON form back.
    pub fn from_json(v: &Value) -> Result<Report, String> {
        let s = |v: &Value, k: &str| {
            v[k].as_str()
                .map(String::from)
                .ok_or(format!("`{k}` is not a string"))
        };
        let f = |v: &Value, k: &str| v[k].as_f64().ok_or(format!("`{k}` is not a number"));
        let rows = v["rows"]
            .as_array()
            .ok_or("`rows` is not an array")?
            .iter()
            .map(|r| {
                Ok(Row {
                    workload: s(r, "workload")?,
                    variant: s(r, "variant")?,
                    median_s: f(r, "median_s")?,
                    min_s: f(r, "min_s")?,
                    max_s: f(r, "max_s")?,
                    runs: r["runs"].as_u64().ok_or("`runs` is not a count")? as usize,
                    ratio: f(r, "ratio")?,
                    reference: r["reference"]
                        .as_bool()
                        .ok_or("`reference` is not a bool")?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let published = v["published"]
            .as_array()
            .ok_or("`published` is not an array")?
            .iter()
            .map(|p| Ok((s(p, "workload")?, s(p, "text")?)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Report {
            machine: s(v, "machine")?,
            quick: v["quick"].as_bool().ok_or("`quick` is not a bool")?,
            rows,
            published,
        })
    }

    /// A Markdown table (also what the terminal shows).
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "Machine: {}{}\n\n| workload | variant | median | min | max | runs | vs reference |\n|---|---|---|---|---|---|---|\n",
            self.machine,
            if self.quick { " (quick run)" } else { "" }
        );
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                r.workload,
                r.variant,
                human(r.median_s),
                human(r.min_s),
                human(r.max_s),
                r.runs,
                if r.reference {
                    "reference".to_string()
                } else {
                    format!("{:.2}x", r.ratio)
                }
            ));
        }
        if !self.published.is_empty() {
            out.push_str("\nPublished numbers for comparison (JAX Pallas TPU interpret mode, DESIGN.md):\n\n");
            for (w, t) in &self.published {
                out.push_str(&format!("- {w}: {t}\n"));
            }
        }
        out
    }
}
