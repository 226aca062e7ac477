//! Operations that move elements: broadcasts, transposes, slices,
//! concatenation, reductions, prefix sums and matrix products.

use super::{Data, Tensor};
use pallas_ir::DType;
use pallas_ir::ReduceOp;

/// Row-major strides of a shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Advances a row-major multi-index `idx` over `extent` (the last
/// dimension fastest); `false` once it wraps back to all zeros.
#[inline]
pub fn next_index(idx: &mut [usize], extent: &[usize]) -> bool {
    for d in (0..idx.len()).rev() {
        idx[d] += 1;
        if idx[d] < extent[d] {
            return true;
        }
        idx[d] = 0;
    }
    false
}

/// [`next_index`] keeping `off = base + sum(idx[d] * strides[d])` in step.
#[inline]
pub fn next_index_offset(
    idx: &mut [usize],
    extent: &[usize],
    strides: &[usize],
    off: &mut usize,
) -> bool {
    for d in (0..idx.len()).rev() {
        idx[d] += 1;
        *off += strides[d];
        if idx[d] < extent[d] {
            return true;
        }
        *off -= strides[d] * extent[d];
        idx[d] = 0;
    }
    false
}

/// Calls `f(flat_index, multi_index)` for every element of `shape`,
/// row-major.
pub fn for_each_index(shape: &[usize], mut f: impl FnMut(usize, &[usize])) {
    let n: usize = shape.iter().product();
    if n == 0 {
        return;
    }
    let mut idx = vec![0usize; shape.len()];
    for flat in 0..n {
        f(flat, &idx);
        next_index(&mut idx, shape);
    }
}

/// Elements of `x` at the given flat positions.
pub fn gather(x: &Data, positions: impl Iterator<Item = usize>, n: usize) -> Data {
    let mut out = x.empty_like(n);
    for p in positions {
        out.push_from(x, p);
    }
    out
}

/// Elements of `x` laid out as `shape`, where output index `idx` reads
/// input offset `base + sum(idx[d] * in_strides[d])` (a stride of 0
/// broadcasts). The innermost dimension runs as a tight loop.
pub fn strided_gather(x: &Data, shape: &[usize], base: usize, in_strides: &[usize]) -> Data {
    let n: usize = shape.iter().product();
    let mut out = x.empty_like(n);
    if n == 0 {
        return out;
    }
    let nd = shape.len();
    if nd == 0 {
        out.push_from(x, base);
        return out;
    }
    let (inner, inner_stride) = (shape[nd - 1], in_strides[nd - 1]);
    let mut idx = vec![0usize; nd - 1];
    let mut off = base;
    loop {
        macro_rules! row {
            ($o:expr, $v:expr) => {{
                match inner_stride {
                    0 => $o.extend(std::iter::repeat_n($v[off], inner)),
                    1 => $o.extend_from_slice(&$v[off..off + inner]),
                    s => $o.extend((0..inner).map(|k| $v[off + k * s])),
                }
            }};
        }
        match (&mut out, x) {
            (Data::F32(o), Data::F32(v)) => row!(o, v),
            (Data::I32(o), Data::I32(v)) => row!(o, v),
            (Data::U32(o), Data::U32(v)) => row!(o, v),
            (Data::Bool(o), Data::Bool(v)) => row!(o, v),
            _ => return out,
        }
        // Next outer index, keeping `off` in step.
        if !next_index_offset(&mut idx, shape, in_strides, &mut off) {
            return out;
        }
    }
}

/// `lax.broadcast_in_dim`.
pub fn broadcast_in_dim(x: &Tensor, shape: &[usize], dims: &[usize]) -> Tensor {
    let xs = strides(&x.shape);
    let mut st = vec![0usize; shape.len()];
    for (i, &d) in dims.iter().enumerate() {
        if x.shape[i] != 1 {
            st[d] = xs[i];
        }
    }
    Tensor {
        data: strided_gather(&x.data, shape, 0, &st),
        shape: shape.to_vec(),
    }
}

/// Permutes dimensions.
pub fn transpose(x: &Tensor, perm: &[usize]) -> Tensor {
    let xs = strides(&x.shape);
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let st: Vec<usize> = perm.iter().map(|&p| xs[p]).collect();
    Tensor {
        data: strided_gather(&x.data, &shape, 0, &st),
        shape,
    }
}

/// Joins along an axis.
pub fn concatenate(xs: &[&Tensor], axis: usize) -> Tensor {
    let mut shape = xs[0].shape.clone();
    shape[axis] = xs.iter().map(|t| t.shape[axis]).sum();
    let outer: usize = shape[..axis].iter().product();
    let n: usize = shape.iter().product();
    let mut out = xs[0].data.empty_like(n);
    for o in 0..outer {
        for t in xs {
            let chunk: usize = t.shape[axis..].iter().product();
            for i in 0..chunk {
                out.push_from(&t.data, o * chunk + i);
            }
        }
    }
    Tensor { data: out, shape }
}

/// A static strided slice.
pub fn slice(x: &Tensor, start: &[usize], limit: &[usize], step: &[usize]) -> Tensor {
    let xs = strides(&x.shape);
    let shape: Vec<usize> = (0..start.len())
        .map(|i| (limit[i] - start[i]).div_ceil(step[i]))
        .collect();
    let base = start.iter().zip(&xs).map(|(a, b)| a * b).sum();
    let st: Vec<usize> = step.iter().zip(&xs).map(|(a, b)| a * b).collect();
    Tensor {
        data: strided_gather(&x.data, &shape, base, &st),
        shape,
    }
}

/// Reduces over `axes`; argmax/argmin give the first extreme's index.
pub fn reduce(op: ReduceOp, x: &Tensor, axes: &[usize]) -> Tensor {
    if let Some(t) = reduce_trailing_f32(op, x, axes) {
        return t;
    }
    reduce_general(op, x, axes)
}

/// The common case fast: f32 sum/max/min over the trailing axes, one
/// contiguous chunk per output element (same order as the general path).
fn reduce_trailing_f32(op: ReduceOp, x: &Tensor, axes: &[usize]) -> Option<Tensor> {
    let Data::F32(v) = &x.data else { return None };
    let nd = x.shape.len();
    let k = axes.len();
    let trailing = k > 0 && (0..k).all(|i| axes.contains(&(nd - k + i)));
    if !trailing || !matches!(op, ReduceOp::Sum | ReduceOp::Max | ReduceOp::Min) {
        return None;
    }
    let out_shape = x.shape[..nd - k].to_vec();
    let chunk: usize = x.shape[nd - k..].iter().product();
    let n: usize = out_shape.iter().product();
    if chunk == 0 {
        return None;
    }
    let nanmax = |a: f32, b: f32| {
        if a.is_nan() || b.is_nan() {
            f32::NAN
        } else {
            a.max(b)
        }
    };
    let nanmin = |a: f32, b: f32| {
        if a.is_nan() || b.is_nan() {
            f32::NAN
        } else {
            a.min(b)
        }
    };
    let out: Vec<f32> = (0..n)
        .map(|o| {
            let c = &v[o * chunk..(o + 1) * chunk];
            match op {
                ReduceOp::Sum => c.iter().fold(0.0f32, |a, &b| a + b),
                ReduceOp::Max => c.iter().fold(f32::NEG_INFINITY, |a, &b| nanmax(a, b)),
                _ => c.iter().fold(f32::INFINITY, |a, &b| nanmin(a, b)),
            }
        })
        .collect();
    Some(Tensor {
        data: Data::F32(out),
        shape: out_shape,
    })
}

fn reduce_general(op: ReduceOp, x: &Tensor, axes: &[usize]) -> Tensor {
    let keep: Vec<usize> = (0..x.shape.len()).filter(|d| !axes.contains(d)).collect();
    let out_shape: Vec<usize> = keep.iter().map(|&d| x.shape[d]).collect();
    let out_strides = strides(&out_shape);
    let n: usize = out_shape.iter().product();
    let out_of = |idx: &[usize]| -> usize {
        keep.iter()
            .zip(&out_strides)
            .map(|(&d, &s)| idx[d] * s)
            .sum()
    };
    let red_len: usize = axes.iter().map(|&a| x.shape[a]).product();
    let red_pos = |idx: &[usize]| -> usize {
        // Position along the (single) reduced axis, for argmax/argmin.
        axes.first().map_or(0, |&a| idx[a])
    };
    let _ = red_len;
    macro_rules! fold {
        ($v:expr, $init:expr, $f:expr, $wrap:ident) => {{
            let mut acc = vec![$init; n];
            for_each_index(&x.shape, |flat, idx| {
                let o = out_of(idx);
                acc[o] = $f(acc[o], $v[flat]);
            });
            Data::$wrap(acc)
        }};
    }
    macro_rules! arg {
        ($v:expr, $better:expr) => {{
            let mut best: Vec<Option<(usize, _)>> = vec![None; n];
            for_each_index(&x.shape, |flat, idx| {
                let o = out_of(idx);
                let v = $v[flat];
                let replace = match best[o] {
                    None => true,
                    Some((_, b)) => $better(v, b),
                };
                if replace {
                    best[o] = Some((red_pos(idx), v));
                }
            });
            Data::I32(
                best.into_iter()
                    .map(|b| b.map_or(0, |(i, _)| i as i32))
                    .collect(),
            )
        }};
    }
    let data = match (&x.data, op) {
        (Data::F32(v), ReduceOp::Sum) => fold!(v, 0.0f32, |a: f32, b: f32| a + b, F32),
        (Data::F32(v), ReduceOp::Prod) => fold!(v, 1.0f32, |a: f32, b: f32| a * b, F32),
        (Data::F32(v), ReduceOp::Max) => fold!(
            v,
            f32::NEG_INFINITY,
            |a: f32, b: f32| if a.is_nan() || b.is_nan() {
                f32::NAN
            } else {
                a.max(b)
            },
            F32
        ),
        (Data::F32(v), ReduceOp::Min) => fold!(
            v,
            f32::INFINITY,
            |a: f32, b: f32| if a.is_nan() || b.is_nan() {
                f32::NAN
            } else {
                a.min(b)
            },
            F32
        ),
        (Data::F32(v), ReduceOp::Argmax) => {
            arg!(v, |a: f32, b: f32| a > b || (a.is_nan() && !b.is_nan()))
        }
        (Data::F32(v), ReduceOp::Argmin) => {
            arg!(v, |a: f32, b: f32| a < b || (a.is_nan() && !b.is_nan()))
        }
        (Data::I32(v), ReduceOp::Sum) => fold!(v, 0i32, |a: i32, b: i32| a.wrapping_add(b), I32),
        (Data::I32(v), ReduceOp::Prod) => fold!(v, 1i32, |a: i32, b: i32| a.wrapping_mul(b), I32),
        (Data::I32(v), ReduceOp::Max) => fold!(v, i32::MIN, |a: i32, b: i32| a.max(b), I32),
        (Data::I32(v), ReduceOp::Min) => fold!(v, i32::MAX, |a: i32, b: i32| a.min(b), I32),
        (Data::I32(v), ReduceOp::And) => fold!(v, -1i32, |a: i32, b: i32| a & b, I32),
        (Data::I32(v), ReduceOp::Or) => fold!(v, 0i32, |a: i32, b: i32| a | b, I32),
        (Data::I32(v), ReduceOp::Argmax) => arg!(v, |a: i32, b: i32| a > b),
        (Data::I32(v), ReduceOp::Argmin) => arg!(v, |a: i32, b: i32| a < b),
        (Data::U32(v), ReduceOp::Sum) => fold!(v, 0u32, |a: u32, b: u32| a.wrapping_add(b), U32),
        (Data::U32(v), ReduceOp::Prod) => fold!(v, 1u32, |a: u32, b: u32| a.wrapping_mul(b), U32),
        (Data::U32(v), ReduceOp::Max) => fold!(v, 0u32, |a: u32, b: u32| a.max(b), U32),
        (Data::U32(v), ReduceOp::Min) => fold!(v, u32::MAX, |a: u32, b: u32| a.min(b), U32),
        (Data::U32(v), ReduceOp::And) => fold!(v, u32::MAX, |a: u32, b: u32| a & b, U32),
        (Data::U32(v), ReduceOp::Or) => fold!(v, 0u32, |a: u32, b: u32| a | b, U32),
        (Data::U32(v), ReduceOp::Argmax) => arg!(v, |a: u32, b: u32| a > b),
        (Data::U32(v), ReduceOp::Argmin) => arg!(v, |a: u32, b: u32| a < b),
        (Data::Bool(v), ReduceOp::And) => fold!(v, true, |a: bool, b: bool| a & b, Bool),
        (Data::Bool(v), _) => fold!(v, false, |a: bool, b: bool| a | b, Bool),
        (Data::F32(_), ReduceOp::And | ReduceOp::Or) => Data::F32(vec![f32::NAN; n]),
    };
    Tensor {
        data,
        shape: out_shape,
    }
}

/// Inclusive prefix sum along an axis.
pub fn cumsum(x: &Tensor, axis: usize) -> Tensor {
    let s = strides(&x.shape);
    let len = x.shape[axis];
    let step = s[axis];
    let mut data = x.data.clone();
    let n = data.len();
    macro_rules! scan {
        ($v:expr, $add:expr) => {{
            for start in 0..n {
                // `start` is the first element of a line along `axis`.
                if (start / step) % len != 0 {
                    continue;
                }
                for i in 1..len {
                    let (p, c) = (start + (i - 1) * step, start + i * step);
                    $v[c] = $add($v[p], $v[c]);
                }
            }
        }};
    }
    match &mut data {
        Data::F32(v) => scan!(v, |a: f32, b: f32| a + b),
        Data::I32(v) => scan!(v, |a: i32, b: i32| a.wrapping_add(b)),
        Data::U32(v) => scan!(v, |a: u32, b: u32| a.wrapping_add(b)),
        Data::Bool(_) => {}
    }
    Tensor {
        data,
        shape: x.shape.clone(),
    }
}

/// `dot` into a result dtype: float operands (of any float dtype, held in
/// `f32`) accumulate in `f32`, integer ones in wrapping `i32` (unsigned
/// narrow operands are zero-extended first); the sums are then rounded or
/// wrapped once to `result`.
pub fn dot_typed(a: &Tensor, b: &Tensor, ta: bool, tb: bool, result: DType) -> Tensor {
    let as_i32 = |t: &Tensor| match &t.data {
        Data::U32(v) => Some(Tensor {
            data: Data::I32(v.iter().map(|&x| x as i32).collect()),
            shape: t.shape.clone(),
        }),
        _ => None,
    };
    let (ai, bi) = (as_i32(a), as_i32(b));
    let mut t = dot(ai.as_ref().unwrap_or(a), bi.as_ref().unwrap_or(b), ta, tb);
    if result.wide() == DType::U32 {
        if let Data::I32(v) = &t.data {
            t.data = Data::U32(v.iter().map(|&x| x as u32).collect());
        }
    }
    super::narrow::narrow(result, &mut t.data);
    t
}

/// 2-D matrix product with optional transposes; accumulates in the
/// operand dtype (f32 or i32), k in order. Transposed operands are
/// transposed first, so the inner loop runs along contiguous rows.
pub fn dot(a: &Tensor, b: &Tensor, ta: bool, tb: bool) -> Tensor {
    if ta {
        return dot(&transpose(a, &[1, 0]), b, false, tb);
    }
    if tb {
        return dot(a, &transpose(b, &[1, 0]), false, false);
    }
    let (m, k) = (a.shape[0], a.shape[1]);
    let n = if tb { b.shape[0] } else { b.shape[1] };
    let data = match (&a.data, &b.data) {
        (Data::F32(x), Data::F32(y)) => {
            let mut o = vec![0.0f32; m * n];
            for i in 0..m {
                let xr = &x[i * k..(i + 1) * k];
                let row = &mut o[i * n..(i + 1) * n];
                for (p, &xv) in xr.iter().enumerate() {
                    let yr = &y[p * n..(p + 1) * n];
                    for (r, &yv) in row.iter_mut().zip(yr) {
                        *r += xv * yv;
                    }
                }
            }
            Data::F32(o)
        }
        (Data::I32(x), Data::I32(y)) => {
            let mut o = vec![0i32; m * n];
            for i in 0..m {
                for p in 0..k {
                    let xv = x[i * k + p];
                    for j in 0..n {
                        o[i * n + j] = o[i * n + j].wrapping_add(xv.wrapping_mul(y[p * n + j]));
                    }
                }
            }
            Data::I32(o)
        }
        _ => Data::F32(vec![f32::NAN; m * n]),
    };
    Tensor {
        data,
        shape: vec![m, n],
    }
}

/// Calls `f(offset, n)` for each contiguous run of the elements at
/// `base + sum(idx[d] * strides[d])` over `shape`, in row-major order,
/// adjacent runs merged.
pub fn strided_runs(
    shape: &[usize],
    base: usize,
    strides: &[usize],
    mut f: impl FnMut(usize, usize),
) {
    if shape.contains(&0) {
        return;
    }
    let nd = shape.len();
    if nd == 0 {
        return f(base, 1);
    }
    let (inner, inner_stride) = (shape[nd - 1], strides[nd - 1]);
    let mut idx = vec![0usize; nd - 1];
    let mut off = base;
    let mut open: Option<(usize, usize)> = None;
    let mut emit = |o: usize, n: usize| match open.as_mut() {
        Some((p, m)) if *p + *m == o => *m += n,
        _ => {
            if let Some((p, m)) = open.replace((o, n)) {
                f(p, m);
            }
        }
    };
    loop {
        if inner_stride == 1 || inner == 1 {
            emit(off, inner);
        } else {
            for j in 0..inner {
                emit(off + j * inner_stride, 1);
            }
        }
        if !next_index_offset(&mut idx, shape, strides, &mut off) {
            break;
        }
    }
    if let Some((p, m)) = open {
        f(p, m);
    }
}

/// Copies the strided view `(s_shape, s_base, s_strides)` of `src` into
/// the strided view `(d_shape, d_base, d_strides)` of `dst` (equal element
/// counts, same dtype), pairing elements in row-major order: one
/// `copy_range` per stretch where both sides are contiguous, no
/// intermediate buffer.
pub fn copy_strided(
    src: &Data,
    (s_shape, s_base, s_strides): (&[usize], usize, &[usize]),
    dst: &mut Data,
    (d_shape, d_base, d_strides): (&[usize], usize, &[usize]),
) {
    let mut dst_runs = Vec::new();
    strided_runs(d_shape, d_base, d_strides, |o, n| dst_runs.push((o, n)));
    let mut next = dst_runs.into_iter();
    let mut cur = next.next();
    strided_runs(s_shape, s_base, s_strides, |mut so, mut n| {
        while n > 0 {
            let Some((d, m)) = cur.as_mut() else {
                return;
            };
            let k = n.min(*m);
            dst.copy_range(*d, src, so, k);
            (so, n, *d, *m) = (so + k, n - k, *d + k, *m - k);
            if *m == 0 {
                cur = next.next();
            }
        }
    });
}

/// Writes `src` (row-major over `shape`, or one element broadcast) into
/// `dst` at offsets `base + sum(idx[d] * strides[d])`: the inverse of
/// [`strided_gather`]. The innermost dimension runs as a tight loop.
pub fn strided_scatter(
    dst: &mut Data,
    shape: &[usize],
    base: usize,
    strides: &[usize],
    src: &Data,
) {
    let n: usize = shape.iter().product();
    if n == 0 {
        return;
    }
    let bcast = src.len() == 1 && n != 1;
    let nd = shape.len();
    if nd == 0 {
        dst.set_from(base, src, 0);
        return;
    }
    let (inner, inner_stride) = (shape[nd - 1], strides[nd - 1]);
    let mut idx = vec![0usize; nd - 1];
    let (mut off, mut k) = (base, 0usize);
    loop {
        if inner_stride == 1 && !bcast {
            dst.copy_range(off, src, k, inner);
        } else {
            for j in 0..inner {
                dst.set_from(off + j * inner_stride, src, if bcast { 0 } else { k + j });
            }
        }
        k += inner;
        if !next_index_offset(&mut idx, shape, strides, &mut off) {
            return;
        }
    }
}
