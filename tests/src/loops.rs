//! Hand-written f32 loops: the timing references benchmarks compare the
//! backends with (the f64 references in `reference` are for correctness).

use ndarray::{Array2, Axis};

/// Row softmax, in place, one pass for the maximum and one for the sum.
pub fn softmax_rows(o: &mut Array2<f32>) {
    for mut row in o.axis_iter_mut(Axis(0)) {
        let m = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut s = 0.0f32;
        row.mapv_inplace(|v| {
            let e = (v - m).exp();
            s += e;
            e
        });
        row.mapv_inplace(|v| v / s);
    }
}

/// Layer norm of rows, in place: `(x - mean) / sqrt(var + eps) * g + b`.
pub fn layer_norm_rows(o: &mut Array2<f32>, g: &[f32], b: &[f32], eps: f32) {
    for mut row in o.axis_iter_mut(Axis(0)) {
        let nf = row.len() as f32;
        let mean = row.sum() / nf;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / nf;
        let inv = 1.0 / (var + eps).sqrt();
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) * inv * g[j] + b[j];
        }
    }
}
