//! Independent references: plain ndarray code, written from the math, not
//! from the kernels. Floating-point references accumulate in f64.

use ndarray::{Array1, Array2, ArrayD, Axis, Ix1, Ix2};

fn d2(a: &ArrayD<f32>) -> Array2<f64> {
    a.view()
        .into_dimensionality::<Ix2>()
        .expect("2-D input")
        .mapv(|v| v as f64)
}

fn d1(a: &ArrayD<f32>) -> Array1<f64> {
    a.view()
        .into_dimensionality::<Ix1>()
        .expect("1-D input")
        .mapv(|v| v as f64)
}

fn f32d(a: ArrayD<f64>) -> ArrayD<f32> {
    a.mapv(|v| v as f32)
}

/// `sin((x + y) * 2)`, computed in f32 exactly as the seed's math reads.
pub fn seed(x: &ArrayD<f32>, y: &ArrayD<f32>) -> ArrayD<f32> {
    let mut o = x.clone();
    o.zip_mut_with(y, |a, &b| *a = ((*a + b) * 2.0).sin());
    o
}

/// `x + y` (exact in f32).
pub fn vector_add(x: &ArrayD<f32>, y: &ArrayD<f32>) -> ArrayD<f32> {
    x + y
}

/// `x @ y`, accumulated in f64.
pub fn matmul(x: &ArrayD<f32>, y: &ArrayD<f32>) -> ArrayD<f32> {
    let (a, b) = (d2(x), d2(y));
    let mut o = Array2::<f64>::zeros((a.nrows(), b.ncols()));
    for i in 0..a.nrows() {
        for k in 0..a.ncols() {
            let aik = a[[i, k]];
            for j in 0..b.ncols() {
                o[[i, j]] += aik * b[[k, j]];
            }
        }
    }
    f32d(o.into_dyn())
}

/// Row softmax.
pub fn softmax(x: &ArrayD<f32>) -> ArrayD<f32> {
    let mut a = d2(x);
    for mut row in a.rows_mut() {
        let m = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - m).exp());
        let s = row.sum();
        row.mapv_inplace(|v| v / s);
    }
    f32d(a.into_dyn())
}

/// Layer norm of rows with scale and shift.
pub fn layer_norm(
    x: &ArrayD<f32>,
    gamma: &ArrayD<f32>,
    beta: &ArrayD<f32>,
    eps: f64,
) -> ArrayD<f32> {
    let (mut a, g, b) = (d2(x), d1(gamma), d1(beta));
    let n = a.ncols() as f64;
    for mut row in a.rows_mut() {
        let mean = row.sum() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let inv = 1.0 / (var + eps).sqrt();
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) * inv * g[j] + b[j];
        }
    }
    f32d(a.into_dyn())
}

/// RMS norm of rows with a weight.
pub fn rms_norm(x: &ArrayD<f32>, w: &ArrayD<f32>, eps: f64) -> ArrayD<f32> {
    let (mut a, w) = (d2(x), d1(w));
    let n = a.ncols() as f64;
    for mut row in a.rows_mut() {
        let ms = row.iter().map(|v| v * v).sum::<f64>() / n;
        let inv = 1.0 / (ms + eps).sqrt();
        for (j, v) in row.iter_mut().enumerate() {
            *v *= inv * w[j];
        }
    }
    f32d(a.into_dyn())
}

/// Inclusive prefix sums along rows.
pub fn cumsum_rows(x: &ArrayD<f32>) -> ArrayD<f32> {
    let mut a = d2(x);
    a.accumulate_axis_inplace(Axis(1), |&prev, cur| *cur += prev);
    f32d(a.into_dyn())
}

/// The sum of each block of `block` elements.
pub fn block_sum(x: &ArrayD<f32>, block: usize) -> ArrayD<f32> {
    let a = d1(x);
    let sums: Vec<f64> = a
        .as_slice()
        .expect("contiguous")
        .chunks(block)
        .map(|c| c.iter().sum())
        .collect();
    f32d(Array1::from(sums).into_dyn())
}

/// `softmax(q k^T / sqrt(d)) v`, directly (no online softmax).
pub fn attention(q: &ArrayD<f32>, k: &ArrayD<f32>, v: &ArrayD<f32>) -> ArrayD<f32> {
    let (q, k, v) = (d2(q), d2(k), d2(v));
    let scale = 1.0 / (q.ncols() as f64).sqrt();
    let mut s = q.dot(&k.t()) * scale;
    for mut row in s.rows_mut() {
        let m = row.fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        row.mapv_inplace(|x| (x - m).exp());
        let sum = row.sum();
        row.mapv_inplace(|x| x / sum);
    }
    f32d(s.dot(&v).into_dyn())
}

/// Output block `i` (of `br` rows) is table block `idx[i]`.
pub fn gather(table: &ArrayD<f32>, idx: &ArrayD<i32>, br: usize) -> ArrayD<f32> {
    let t = table
        .view()
        .into_dimensionality::<Ix2>()
        .expect("2-D table");
    let mut o = Array2::<f32>::zeros((idx.len() * br, t.ncols()));
    for (i, &b) in idx.iter().enumerate() {
        for r in 0..br {
            o.row_mut(i * br + r).assign(&t.row(b as usize * br + r));
        }
    }
    o.into_dyn()
}

/// `2 * x`.
pub fn doubled(x: &ArrayD<f32>) -> ArrayD<f32> {
    x.mapv(|v| 2.0 * v)
}

/// Counts of each value in `[0, bins)`.
pub fn histogram(x: &ArrayD<i32>, bins: usize) -> ArrayD<i32> {
    let mut h = vec![0i32; bins];
    for &v in x.iter() {
        h[v as usize] += 1;
    }
    Array1::from(h).into_dyn()
}
