//! The report as an SVG chart: one horizontal bar per variant, grouped by
//! workload, on a log time axis, with axis labels, a legend and units.

use super::report::{human, Report};

const COLORS: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Draws the chart.
pub fn chart(r: &Report) -> String {
    let mut variants: Vec<&str> = Vec::new();
    for row in &r.rows {
        if !variants.contains(&row.variant.as_str()) {
            variants.push(&row.variant);
        }
    }
    let mut workloads: Vec<&str> = Vec::new();
    for row in &r.rows {
        if !workloads.contains(&row.workload.as_str()) {
            workloads.push(&row.workload);
        }
    }
    let (left, right, top, bar, gap) = (240.0, 50.0, 60.0, 14.0, 18.0);
    let width = 1000.0;
    let plot_w = width - left - right;
    let rows_h: f64 = workloads
        .iter()
        .map(|w| r.rows.iter().filter(|x| x.workload == *w).count() as f64 * bar + gap)
        .sum();
    let legend_h = 20.0 * variants.len() as f64;
    let height = top + rows_h + 60.0 + legend_h;
    let times: Vec<f64> = r
        .rows
        .iter()
        .map(|x| x.median_s)
        .filter(|t| *t > 0.0)
        .collect();
    let lo = times.iter().cloned().fold(f64::MAX, f64::min).max(1e-7);
    let hi = times.iter().cloned().fold(0.0, f64::max).max(lo * 10.0);
    let (dlo, dhi) = (lo.log10().floor(), hi.log10().ceil());
    let x = |t: f64| left + (t.max(lo).log10() - dlo) / (dhi - dlo) * plot_w;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">pallas-rs: median time per workload and backend (log scale, lower is better)</text>\n",
        width / 2.0
    );
    let axis_y = top + rows_h;
    let mut d = dlo;
    while d <= dhi + 1e-9 {
        let t = 10f64.powf(d);
        let xx = x(t);
        s.push_str(&format!(
            "<line x1=\"{xx:.1}\" y1=\"{top}\" x2=\"{xx:.1}\" y2=\"{axis_y}\" stroke=\"#ddd\"/>\n<text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            axis_y + 16.0,
            esc(&human(t))
        ));
        d += 1.0;
    }
    s.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\" stroke=\"black\"/>\n<text x=\"{}\" y=\"{:.1}\" text-anchor=\"middle\">time per launch (median, seconds, log scale)</text>\n",
        left + plot_w,
        left + plot_w / 2.0,
        axis_y + 36.0
    ));
    let mut y = top;
    for w in &workloads {
        let rows: Vec<_> = r.rows.iter().filter(|x| x.workload == *w).collect();
        let h = rows.len() as f64 * bar;
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            left - 8.0,
            y + h / 2.0 + 4.0,
            esc(w)
        ));
        for row in rows {
            let c =
                COLORS[variants.iter().position(|v| *v == row.variant).unwrap_or(0) % COLORS.len()];
            let xx = x(row.median_s);
            s.push_str(&format!(
                "<rect x=\"{left}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{c}\"><title>{}: {}</title></rect>\n<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>\n",
                y + 1.0,
                (xx - left).max(1.0),
                bar - 2.0,
                esc(&row.variant),
                esc(&human(row.median_s)),
                xx + 3.0,
                y + bar - 3.0,
                esc(&human(row.median_s))
            ));
            y += bar;
        }
        y += gap;
    }
    let mut ly = axis_y + 56.0;
    for (i, v) in variants.iter().enumerate() {
        s.push_str(&format!(
            "<rect x=\"{left}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n<text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
            ly - 10.0,
            COLORS[i % COLORS.len()],
            left + 18.0,
            ly,
            esc(v)
        ));
        ly += 20.0;
    }
    s.push_str("</svg>\n");
    s
}
