//! Output comparison with stated tolerances.

use pallas_exec::HostArray;

/// How close a float output must be to the reference: `|got - want| <=
/// abs + rel * |want|` per element; NaN must match NaN. Integer and bool
/// outputs must match exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Absolute part.
    pub abs: f64,
    /// Relative part.
    pub rel: f64,
}

impl Tolerance {
    /// Exact equality.
    pub const EXACT: Tolerance = Tolerance { abs: 0.0, rel: 0.0 };

    /// An absolute tolerance.
    pub const fn abs(abs: f64) -> Tolerance {
        Tolerance { abs, rel: 0.0 }
    }
}

/// Compares every output with its reference; the error names the output,
/// the worst element's flat index, both values and the tolerance.
pub fn compare_outputs(
    got: &[HostArray],
    want: &[HostArray],
    tol: Tolerance,
) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} outputs, expected {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        compare_one(g, w, tol).map_err(|e| format!("output {i}: {e}"))?;
    }
    Ok(())
}

fn compare_one(got: &HostArray, want: &HostArray, tol: Tolerance) -> Result<(), String> {
    if got.dtype() != want.dtype() || got.shape() != want.shape() {
        return Err(format!(
            "got {}{:?}, expected {}{:?}",
            got.dtype(),
            got.shape(),
            want.dtype(),
            want.shape()
        ));
    }
    match (got, want) {
        (HostArray::F32(g), HostArray::F32(w)) => {
            let mut worst: Option<(usize, f32, f32, f64)> = None;
            for (i, (&a, &b)) in g.iter().zip(w.iter()).enumerate() {
                let ok = if b.is_nan() {
                    a.is_nan()
                } else if a == b {
                    // Equal infinities included.
                    true
                } else {
                    let err = (a as f64 - b as f64).abs();
                    err <= tol.abs + tol.rel * (b as f64).abs()
                };
                if !ok {
                    let err = (a as f64 - b as f64).abs();
                    if worst.is_none_or(|(_, _, _, e)| err > e || err.is_nan()) {
                        worst = Some((i, a, b, err));
                    }
                }
            }
            match worst {
                None => Ok(()),
                Some((i, a, b, err)) => Err(format!(
                    "element {i}: got {a}, expected {b} (error {err:e}, tolerance abs {:e} rel {:e})",
                    tol.abs, tol.rel
                )),
            }
        }
        _ => {
            let (g, w) = (got.to_bits(), want.to_bits());
            match g.iter().zip(&w).position(|(a, b)| a != b) {
                None => Ok(()),
                Some(i) => Err(format!(
                    "element {i}: got {:?}, expected {:?} (exact match required)",
                    got.get_flat(i),
                    want.get_flat(i)
                )),
            }
        }
    }
}
