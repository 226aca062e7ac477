//! Executable semantics of the elementwise operations: typed flat buffers
//! with a shape, and the arithmetic on them (XLA's integer rules: `x / 0`
//! is -1, `x % 0` is `x`, wrapping; NaN-propagating float max/min; Rust `as`
//! casts). Backends share these definitions so that one operation means
//! one thing everywhere.

pub mod narrow;
pub mod shape;

use crate::host::HostArray;
use pallas_ir::{BinaryOp, CmpOp, UnaryOp};
use pallas_ir::{DType, Scalar};

/// Flat typed storage.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// `f32` elements.
    F32(Vec<f32>),
    /// `i32` elements.
    I32(Vec<i32>),
    /// `u32` elements.
    U32(Vec<u32>),
    /// `bool` elements.
    Bool(Vec<bool>),
}

/// Applies `$body` to the inner vector whatever its type.
#[macro_export]
macro_rules! each_data {
    ($d:expr, $v:ident => $body:expr) => {
        match $d {
            $crate::eval::Data::F32($v) => $body,
            $crate::eval::Data::I32($v) => $body,
            $crate::eval::Data::U32($v) => $body,
            $crate::eval::Data::Bool($v) => $body,
        }
    };
}

impl Data {
    /// `n` copies of a scalar.
    pub fn filled(s: Scalar, n: usize) -> Data {
        match narrow::widen(s) {
            Scalar::F32(v) => Data::F32(crate::big_vec::filled(n, v)),
            Scalar::I32(v) => Data::I32(crate::big_vec::filled(n, v)),
            Scalar::U32(v) => Data::U32(crate::big_vec::filled(n, v)),
            Scalar::Bool(v) => Data::Bool(crate::big_vec::filled(n, v)),
            _ => unreachable!("widened scalars are 32-bit or bool"),
        }
    }

    /// Uninitialized-looking storage of `n` wide values for dtype `d`:
    /// zeros.
    pub fn zeros(d: DType, n: usize) -> Data {
        Data::filled(Scalar::zero(d), n)
    }

    /// The dtype.
    #[inline]
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::I32(_) => DType::I32,
            Data::U32(_) => DType::U32,
            Data::Bool(_) => DType::Bool,
        }
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        each_data!(self, v => v.len())
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element at `i` as a scalar.
    pub fn get(&self, i: usize) -> Scalar {
        match self {
            Data::F32(v) => Scalar::F32(v[i]),
            Data::I32(v) => Scalar::I32(v[i]),
            Data::U32(v) => Scalar::U32(v[i]),
            Data::Bool(v) => Scalar::Bool(v[i]),
        }
    }

    /// An empty buffer of the same type with room for `n`.
    pub fn empty_like(&self, n: usize) -> Data {
        match self {
            Data::F32(_) => Data::F32(Vec::with_capacity(n)),
            Data::I32(_) => Data::I32(Vec::with_capacity(n)),
            Data::U32(_) => Data::U32(Vec::with_capacity(n)),
            Data::Bool(_) => Data::Bool(Vec::with_capacity(n)),
        }
    }

    /// Appends `src[i]` (same type) to `self`.
    #[inline]
    pub fn push_from(&mut self, src: &Data, i: usize) {
        match (self, src) {
            (Data::F32(d), Data::F32(s)) => d.push(s[i]),
            (Data::I32(d), Data::I32(s)) => d.push(s[i]),
            (Data::U32(d), Data::U32(s)) => d.push(s[i]),
            (Data::Bool(d), Data::Bool(s)) => d.push(s[i]),
            _ => {}
        }
    }

    /// Sets every element to `s` (of this storage's wide dtype).
    pub fn fill(&mut self, s: Scalar) {
        match (self, narrow::widen(s)) {
            (Data::F32(d), Scalar::F32(v)) => d.fill(v),
            (Data::I32(d), Scalar::I32(v)) => d.fill(v),
            (Data::U32(d), Scalar::U32(v)) => d.fill(v),
            (Data::Bool(d), Scalar::Bool(v)) => d.fill(v),
            _ => {}
        }
    }

    /// Appends `src[s..s+n]` (same type) to `self`.
    #[inline]
    pub fn extend_range(&mut self, src: &Data, s: usize, n: usize) {
        match (self, src) {
            (Data::F32(d), Data::F32(x)) => d.extend_from_slice(&x[s..s + n]),
            (Data::I32(d), Data::I32(x)) => d.extend_from_slice(&x[s..s + n]),
            (Data::U32(d), Data::U32(x)) => d.extend_from_slice(&x[s..s + n]),
            (Data::Bool(d), Data::Bool(x)) => d.extend_from_slice(&x[s..s + n]),
            _ => {}
        }
    }

    /// Copies `self[s..s+n]` to `self[d..d+n]` (the ranges may overlap).
    #[inline]
    pub fn copy_within(&mut self, s: usize, d: usize, n: usize) {
        match self {
            Data::F32(x) => x.copy_within(s..s + n, d),
            Data::I32(x) => x.copy_within(s..s + n, d),
            Data::U32(x) => x.copy_within(s..s + n, d),
            Data::Bool(x) => x.copy_within(s..s + n, d),
        }
    }

    /// `self[dst] = src[i]` (same type).
    #[inline]
    pub fn set_from(&mut self, dst: usize, src: &Data, i: usize) {
        match (self, src) {
            (Data::F32(d), Data::F32(s)) => d[dst] = s[i],
            (Data::I32(d), Data::I32(s)) => d[dst] = s[i],
            (Data::U32(d), Data::U32(s)) => d[dst] = s[i],
            (Data::Bool(d), Data::Bool(s)) => d[dst] = s[i],
            _ => {}
        }
    }

    /// Replaces the content with a copy of `src` (same type), keeping the
    /// allocation.
    #[inline]
    pub fn copy_all_from(&mut self, src: &Data) {
        match (self, src) {
            (Data::F32(x), Data::F32(y)) => assign_all(x, y),
            (Data::I32(x), Data::I32(y)) => assign_all(x, y),
            (Data::U32(x), Data::U32(y)) => assign_all(x, y),
            (Data::Bool(x), Data::Bool(y)) => assign_all(x, y),
            _ => {}
        }
    }

    /// Copies `src[s..s+n]` into `self[d..d+n]` (same type).
    #[inline]
    pub fn copy_range(&mut self, d: usize, src: &Data, s: usize, n: usize) {
        match (self, src) {
            (Data::F32(x), Data::F32(y)) => assign_range(x, d, y, s, n),
            (Data::I32(x), Data::I32(y)) => assign_range(x, d, y, s, n),
            (Data::U32(x), Data::U32(y)) => assign_range(x, d, y, s, n),
            (Data::Bool(x), Data::Bool(y)) => assign_range(x, d, y, s, n),
            _ => {}
        }
    }

    /// Converts to a host array of a shape and dtype (the values' own
    /// dtype: a narrow dtype's values are exact in it).
    pub fn to_host(&self, shape: &[usize], dtype: DType) -> HostArray {
        self.clone().into_host(shape, dtype)
    }

    /// Copies a host array's elements in row-major order.
    pub fn from_host(h: &HostArray) -> Data {
        Data::from_view(&h.view())
    }

    /// A borrowed host array's elements, row-major (one copy), as wide
    /// values.
    pub fn from_view(h: &crate::host::HostView<'_>) -> Data {
        use crate::host::HostView as V;
        fn flat<T: Copy>(a: &ndarray::ArrayViewD<'_, T>) -> Vec<T> {
            match a.as_slice() {
                Some(s) => crate::big_vec::copied(s),
                None => crate::big_vec::collected(a.len(), a.iter().copied()),
            }
        }
        fn wide<T: Copy, U>(a: &ndarray::ArrayViewD<'_, T>, f: impl Fn(T) -> U) -> Vec<U> {
            match a.as_slice() {
                Some(s) => crate::big_vec::collected(s.len(), s.iter().map(|&v| f(v))),
                None => crate::big_vec::collected(a.len(), a.iter().map(|&v| f(v))),
            }
        }
        match h {
            V::F32(a) => Data::F32(flat(a)),
            V::I32(a) => Data::I32(flat(a)),
            V::U32(a) => Data::U32(flat(a)),
            V::Bool(a) => Data::Bool(flat(a)),
            V::BF16(a) => Data::F32(match a.as_slice() {
                // bf16 to f32 is a shift: one vectorized pass.
                Some(s) => {
                    use half::slice::HalfFloatSliceExt;
                    s.to_f32_vec()
                }
                None => a.iter().map(|v| v.to_f32()).collect(),
            }),
            V::F16(a) => Data::F32(match a.as_slice() {
                Some(s) => {
                    use half::slice::HalfFloatSliceExt;
                    s.to_f32_vec()
                }
                None => a.iter().map(|v| v.to_f32()).collect(),
            }),
            V::I8(a) => Data::I32(wide(a, |v| v as i32)),
            V::U8(a) => Data::U32(wide(a, |v| v as u32)),
            V::I16(a) => Data::I32(wide(a, |v| v as i32)),
            V::U16(a) => Data::U32(wide(a, |v| v as u32)),
            V::F8E4M3FN(a) => Data::F32(wide(a, |v| v.to_f32())),
            V::F8E5M2(a) => Data::F32(wide(a, |v| v.to_f32())),
        }
    }

    /// Replaces the content with a host array's elements, reusing the
    /// allocation when the dtype matches.
    pub fn fill_from_host(&mut self, h: &HostArray) {
        self.fill_from_view(&h.view())
    }

    /// Replaces the content with a borrowed host array's elements, reusing
    /// the allocation when the dtype matches.
    pub fn fill_from_view(&mut self, h: &crate::host::HostView<'_>) {
        use crate::host::HostView as V;
        fn fill<T: Copy>(v: &mut Vec<T>, a: &ndarray::ArrayViewD<'_, T>) {
            v.clear();
            match a.as_slice() {
                Some(s) => v.extend_from_slice(s),
                None => v.extend(a.iter().copied()),
            }
        }
        match (self, h) {
            (Data::F32(v), V::F32(a)) => fill(v, a),
            (Data::I32(v), V::I32(a)) => fill(v, a),
            (Data::U32(v), V::U32(a)) => fill(v, a),
            (Data::Bool(v), V::Bool(a)) => fill(v, a),
            (d, h) => *d = Data::from_view(h),
        }
    }

    /// Moves the data into a host array of a shape and dtype (the
    /// values' own dtype).
    pub fn into_host(self, shape: &[usize], dtype: DType) -> HostArray {
        let s = ndarray::IxDyn(shape);
        let err = "buffer length matches its shape";
        fn arr<T>(s: ndarray::IxDyn, v: Vec<T>) -> ndarray::ArrayD<T> {
            ndarray::ArrayD::from_shape_vec(s, v).expect("buffer length matches its shape")
        }
        use half::vec::HalfFloatVecExt;
        match (self, dtype) {
            // bf16 values held in f32 are exact: their top 16 bits (a
            // shift, vectorized), after rounding anything that is not.
            (Data::F32(v), DType::BF16) => HostArray::BF16(arr(
                s,
                v.iter()
                    .map(|&x| half::bf16::from_bits((narrow::round_bf16(x).to_bits() >> 16) as u16))
                    .collect(),
            )),
            (Data::F32(v), DType::F16) => {
                HostArray::F16(arr(s, Vec::<half::f16>::from_f32_slice(&v)))
            }
            (Data::F32(v), DType::F8E4M3FN) => HostArray::F8E4M3FN(arr(
                s,
                v.iter()
                    .map(|&x| microfloat::f8e4m3fn::from_f32(x))
                    .collect(),
            )),
            (Data::F32(v), DType::F8E5M2) => HostArray::F8E5M2(arr(
                s,
                v.iter().map(|&x| microfloat::f8e5m2::from_f32(x)).collect(),
            )),
            (Data::I32(v), DType::I8) => {
                HostArray::I8(arr(s, v.iter().map(|&x| x as i8).collect()))
            }
            (Data::I32(v), DType::I16) => {
                HostArray::I16(arr(s, v.iter().map(|&x| x as i16).collect()))
            }
            (Data::U32(v), DType::U8) => {
                HostArray::U8(arr(s, v.iter().map(|&x| x as u8).collect()))
            }
            (Data::U32(v), DType::U16) => {
                HostArray::U16(arr(s, v.iter().map(|&x| x as u16).collect()))
            }
            (Data::F32(v), _) => HostArray::F32(ndarray::ArrayD::from_shape_vec(s, v).expect(err)),
            (Data::I32(v), _) => HostArray::I32(ndarray::ArrayD::from_shape_vec(s, v).expect(err)),
            (Data::U32(v), _) => HostArray::U32(ndarray::ArrayD::from_shape_vec(s, v).expect(err)),
            (Data::Bool(v), _) => {
                HostArray::Bool(ndarray::ArrayD::from_shape_vec(s, v).expect(err))
            }
        }
    }
}

/// A value: data and shape (empty shape: a scalar).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Elements, row-major.
    pub data: Data,
    /// Shape.
    pub shape: Vec<usize>,
}

impl Tensor {
    /// A scalar.
    pub fn scalar(s: Scalar) -> Tensor {
        Tensor {
            data: Data::filled(s, 1),
            shape: Vec::new(),
        }
    }

    /// The first element as an `i32` (for indices and loop bounds).
    pub fn as_i32(&self) -> i32 {
        match &self.data {
            Data::I32(v) => v[0],
            Data::U32(v) => v[0] as i32,
            Data::F32(v) => v[0] as i32,
            Data::Bool(v) => v[0] as i32,
        }
    }

    /// The first element as a `bool`.
    pub fn as_bool(&self) -> bool {
        match &self.data {
            Data::Bool(v) => v[0],
            other => other.get(0).to_bits() != 0,
        }
    }
}

/// `erf` to f32 accuracy, computed in f64 (a Taylor series near 0, the
/// asymptotic expansion of `erfc` in the tails).
pub fn erf(x: f32) -> f32 {
    erf_f64(x as f64) as f32
}

/// The error function in f64 (to about 1e-16 below 3, 1e-10 past it).
fn erf_f64(x: f64) -> f64 {
    let a = x.abs();
    let r = if a < 3.0 {
        let mut term = a;
        let mut sum = a;
        let x2 = a * a;
        for n in 1..80 {
            term *= -x2 / n as f64;
            let t = term / (2 * n + 1) as f64;
            sum += t;
            if t.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else if a < 10.0 {
        // erfc(a) ~ e^-a^2 / (a sqrt(pi)) * (1 - 1/(2a^2) + 3/(4a^4) - 15/(8a^6))
        let z = 1.0 / (2.0 * a * a);
        let series = 1.0 - z + 3.0 * z * z - 15.0 * z * z * z + 105.0 * z * z * z * z;
        1.0 - (-a * a).exp() / (a * std::f64::consts::PI.sqrt()) * series
    } else {
        1.0
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// The inverse error function in f32 arithmetic, as XLA computes it for
/// f32: Giles' single-precision polynomials in `w = -log1p(-y^2)`, NaN
/// outside [-1, 1], infinities at the ends.
pub fn erf_inv(y: f32) -> f32 {
    if y.is_nan() || y.abs() > 1.0 {
        return f32::NAN;
    }
    if y.abs() == 1.0 {
        return y * f32::INFINITY;
    }
    let w = -(-y * y).ln_1p();
    let p = if w < 5.0 {
        let w = w - 2.5;
        [
            3.432_739_4e-7,
            -3.523_387_7e-6,
            -4.391_506_5e-6,
            0.000_218_580_87,
            -0.001_253_725,
            -0.004_177_681_6,
            0.246_640_73,
            1.501_409_4,
        ]
        .iter()
        .fold(2.810_226_4e-8_f32, |p, &c| c + p * w)
    } else {
        let w = w.sqrt() - 3.0;
        [
            0.000_100_950_56,
            0.001_349_343_2,
            -0.003_673_428_4,
            0.005_739_507_7,
            -0.007_622_461,
            0.009_438_870_5,
            1.001_674,
            2.832_976_8,
        ]
        .iter()
        .fold(-0.000_200_214_26_f32, |p, &c| c + p * w)
    };
    p * y
}

fn unary_f32(op: UnaryOp, x: f32) -> f32 {
    match op {
        UnaryOp::Neg => -x,
        UnaryOp::Abs => x.abs(),
        UnaryOp::Exp => x.exp(),
        UnaryOp::Exp2 => x.exp2(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Log1p => x.ln_1p(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Rsqrt => 1.0 / x.sqrt(),
        UnaryOp::Sin => x.sin(),
        UnaryOp::Cos => x.cos(),
        UnaryOp::Tan => x.tan(),
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::Logistic => 1.0 / (1.0 + (-x).exp()),
        UnaryOp::Erf => erf(x),
        UnaryOp::Floor => x.floor(),
        UnaryOp::Ceil => x.ceil(),
        UnaryOp::Round => x.round(),
        UnaryOp::Sign => {
            if x.is_nan() || x == 0.0 {
                x
            } else {
                x.signum()
            }
        }
        UnaryOp::Not => x,
        UnaryOp::Expm1 => x.exp_m1(),
        UnaryOp::RoundEven => x.round_ties_even(),
        UnaryOp::ErfInv => erf_inv(x),
        // Integer-only ops; the validator keeps them off floats.
        UnaryOp::PopulationCount | UnaryOp::Clz => f32::NAN,
    }
}

/// Applies a unary op into `out` (cleared first).
pub fn unary(op: UnaryOp, x: &Data, out: &mut Data) {
    match (x, out) {
        (Data::F32(x), Data::F32(o)) => {
            o.clear();
            match op {
                UnaryOp::Sin => o.extend(x.iter().map(|v| v.sin())),
                UnaryOp::Exp => o.extend(x.iter().map(|v| v.exp())),
                _ => o.extend(x.iter().map(|&v| unary_f32(op, v))),
            }
        }
        (Data::I32(x), Data::I32(o)) => {
            o.clear();
            o.extend(x.iter().map(|&v| match op {
                UnaryOp::Neg => v.wrapping_neg(),
                UnaryOp::Abs => v.wrapping_abs(),
                UnaryOp::Sign => v.signum(),
                UnaryOp::PopulationCount => v.count_ones() as i32,
                UnaryOp::Clz => v.leading_zeros() as i32,
                _ => !v,
            }));
        }
        (Data::U32(x), Data::U32(o)) => {
            o.clear();
            o.extend(x.iter().map(|&v| match op {
                UnaryOp::Neg => v.wrapping_neg(),
                UnaryOp::Abs => v,
                UnaryOp::Sign => (v != 0) as u32,
                UnaryOp::PopulationCount => v.count_ones(),
                UnaryOp::Clz => v.leading_zeros(),
                _ => !v,
            }));
        }
        (Data::Bool(x), Data::Bool(o)) => {
            o.clear();
            o.extend(x.iter().map(|&v| !v));
        }
        (x, out) => {
            *out = x.empty_like(x.len());
            unary(op, x, out);
        }
    }
}

/// The binary operation an atomic read-modify-write applies to the old and
/// new values (`None` for exchange, which just writes the new one).
pub fn atomic_as_binary(op: pallas_ir::AtomicOp) -> Option<BinaryOp> {
    use pallas_ir::AtomicOp as A;
    match op {
        A::Add => Some(BinaryOp::Add),
        A::Max => Some(BinaryOp::Max),
        A::Min => Some(BinaryOp::Min),
        A::And => Some(BinaryOp::And),
        A::Or => Some(BinaryOp::Or),
        A::Xor => Some(BinaryOp::Xor),
        A::Xchg => None,
    }
}

/// Element `i` of `src`, or its one element broadcast.
#[inline]
fn pick(n: usize, i: usize) -> usize {
    if n == 1 {
        0
    } else {
        i
    }
}

/// A masked load's result: where the mask (or its one element) is off,
/// element `i` of `data` becomes `fill`'s (or its one element).
pub fn mask_fill(data: &mut Data, mask: &[bool], fill: &Data) {
    for i in 0..data.len() {
        if !mask[pick(mask.len(), i)] {
            data.set_from(i, fill, pick(fill.len(), i));
        }
    }
}

/// A masked store: `dst[offs[i]] = src[i]` (or its one element) where the
/// mask (or its one element) is on.
pub fn scatter_masked(dst: &mut Data, offs: &[usize], src: &Data, mask: &[bool]) {
    for (i, &o) in offs.iter().enumerate() {
        if mask[pick(mask.len(), i)] {
            dst.set_from(o, src, pick(src.len(), i));
        }
    }
}

/// A compare-and-swap at offsets `offs`: where `dst[offs[i]]` has the bit
/// pattern of `expected[i]`, it becomes `new[i]` (each, or its one element).
pub fn compare_and_swap(dst: &mut Data, offs: &[usize], expected: &Data, new: &Data) {
    for (i, &o) in offs.iter().enumerate() {
        if dst.get(o).to_bits() == expected.get(pick(expected.len(), i)).to_bits() {
            dst.set_from(o, new, pick(new.len(), i));
        }
    }
}

/// An atomic read-modify-write of `dst` at offsets `offs`: element `i` of
/// `src` (or its one element, broadcast) updates `dst[offs[i]]` where the
/// mask (or its one element) is on.
pub fn atomic_rmw(
    op: pallas_ir::AtomicOp,
    dst: &mut Data,
    offs: &[usize],
    src: &Data,
    mask: Option<&[bool]>,
) {
    let bin = atomic_as_binary(op);
    for (i, &o) in offs.iter().enumerate() {
        if mask.is_some_and(|m| !m[pick(m.len(), i)]) {
            continue;
        }
        let si = pick(src.len(), i);
        match (&mut *dst, src) {
            (Data::F32(d), Data::F32(s)) => d[o] = bin.map_or(s[si], |b| bin_f32(b, d[o], s[si])),
            (Data::I32(d), Data::I32(s)) => d[o] = bin.map_or(s[si], |b| bin_i32(b, d[o], s[si])),
            (Data::U32(d), Data::U32(s)) => d[o] = bin.map_or(s[si], |b| bin_u32(b, d[o], s[si])),
            _ => {}
        }
    }
}

/// `0, 1, 2, ...` along `dim` of `shape`, as `dtype` (rounded or wrapped
/// to a narrow one).
pub fn iota(dtype: DType, shape: &[usize], dim: usize) -> Tensor {
    let st = shape::strides(shape);
    let n: usize = shape.iter().product();
    let idx = (0..n).map(|f| (f / st[dim]) % shape[dim]);
    let mut data = match dtype.wide() {
        DType::F32 => Data::F32(idx.map(|i| i as f32).collect()),
        DType::U32 => Data::U32(idx.map(|i| i as u32).collect()),
        _ => Data::I32(idx.map(|i| i as i32).collect()),
    };
    narrow::narrow(dtype, &mut data);
    Tensor {
        data,
        shape: shape.to_vec(),
    }
}

/// Integer division per XLA: `x / 0` is -1 (all ones), `MIN / -1` is MIN.
fn div_i32(a: i32, b: i32) -> i32 {
    if b == 0 {
        -1
    } else {
        a.wrapping_div(b)
    }
}

/// Integer remainder per XLA: `x % 0` is `x`, `MIN % -1` is 0.
fn rem_i32(a: i32, b: i32) -> i32 {
    if b == 0 {
        a
    } else {
        a.wrapping_rem(b)
    }
}

fn fmax(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

fn fmin(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.min(b)
    }
}

/// Scalar binary op on f32.
#[inline]
pub fn bin_f32(op: BinaryOp, a: f32, b: f32) -> f32 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Rem => a % b,
        BinaryOp::Pow => a.powf(b),
        BinaryOp::Atan2 => a.atan2(b),
        BinaryOp::Max => fmax(a, b),
        BinaryOp::Min => fmin(a, b),
        _ => f32::NAN,
    }
}

/// Scalar binary op on i32 (wrapping).
#[inline]
pub fn bin_i32(op: BinaryOp, a: i32, b: i32) -> i32 {
    let sh = b as u32;
    match op {
        BinaryOp::Add => a.wrapping_add(b),
        BinaryOp::Sub => a.wrapping_sub(b),
        BinaryOp::Mul => a.wrapping_mul(b),
        BinaryOp::Div => div_i32(a, b),
        BinaryOp::Rem => rem_i32(a, b),
        BinaryOp::Max => a.max(b),
        BinaryOp::Min => a.min(b),
        BinaryOp::And => a & b,
        BinaryOp::Or => a | b,
        BinaryOp::Xor => a ^ b,
        BinaryOp::Shl => a.checked_shl(sh).unwrap_or(0),
        BinaryOp::ShrLogical => (a as u32).checked_shr(sh).unwrap_or(0) as i32,
        BinaryOp::ShrArith => a.checked_shr(sh).unwrap_or(if a < 0 { -1 } else { 0 }),
        BinaryOp::Pow | BinaryOp::Atan2 => 0,
    }
}

/// Scalar binary op on u32 (wrapping).
#[inline]
pub fn bin_u32(op: BinaryOp, a: u32, b: u32) -> u32 {
    match op {
        BinaryOp::Add => a.wrapping_add(b),
        BinaryOp::Sub => a.wrapping_sub(b),
        BinaryOp::Mul => a.wrapping_mul(b),
        BinaryOp::Div => a.checked_div(b).unwrap_or(u32::MAX),
        BinaryOp::Rem => a.checked_rem(b).unwrap_or(a),
        BinaryOp::Max => a.max(b),
        BinaryOp::Min => a.min(b),
        BinaryOp::And => a & b,
        BinaryOp::Or => a | b,
        BinaryOp::Xor => a ^ b,
        BinaryOp::Shl => a.checked_shl(b).unwrap_or(0),
        BinaryOp::ShrLogical => a.checked_shr(b).unwrap_or(0),
        BinaryOp::ShrArith => {
            (a as i32)
                .checked_shr(b)
                .unwrap_or(if (a as i32) < 0 { -1 } else { 0 }) as u32
        }
        BinaryOp::Pow | BinaryOp::Atan2 => 0,
    }
}

fn bin_bool(op: BinaryOp, a: bool, b: bool) -> bool {
    match op {
        BinaryOp::And => a & b,
        BinaryOp::Or => a | b,
        BinaryOp::Xor => a ^ b,
        _ => false,
    }
}

/// `out[i] = f(a[i or 0], b[i or 0])` with scalar broadcast.
#[inline]
fn zip_into<A: Copy, B: Copy, O>(a: &[A], b: &[B], out: &mut Vec<O>, f: impl Fn(A, B) -> O) {
    out.clear();
    match (a.len(), b.len()) {
        // Scalars (SMEM values, one-element blocks): no iterator set up.
        (1, 1) => out.push(f(a[0], b[0])),
        (1, _) => {
            let x = a[0];
            out.extend(b.iter().map(|&y| f(x, y)));
        }
        (_, 1) => {
            let y = b[0];
            out.extend(a.iter().map(|&x| f(x, y)));
        }
        _ => out.extend(a.iter().zip(b).map(|(&x, &y)| f(x, y))),
    }
}

/// Applies a binary op with scalar broadcast into `out`.
pub fn binary(op: BinaryOp, a: &Data, b: &Data, out: &mut Data) {
    if out.dtype() != a.dtype() {
        *out = a.empty_like(a.len().max(b.len()));
    }
    match (a, b, out) {
        (Data::F32(a), Data::F32(b), Data::F32(o)) => match op {
            BinaryOp::Add => zip_into(a, b, o, |x, y| x + y),
            BinaryOp::Sub => zip_into(a, b, o, |x, y| x - y),
            BinaryOp::Mul => zip_into(a, b, o, |x, y| x * y),
            BinaryOp::Div => zip_into(a, b, o, |x, y| x / y),
            _ => zip_into(a, b, o, |x, y| bin_f32(op, x, y)),
        },
        (Data::I32(a), Data::I32(b), Data::I32(o)) => zip_into(a, b, o, |x, y| bin_i32(op, x, y)),
        (Data::U32(a), Data::U32(b), Data::U32(o)) => zip_into(a, b, o, |x, y| bin_u32(op, x, y)),
        (Data::Bool(a), Data::Bool(b), Data::Bool(o)) => {
            zip_into(a, b, o, |x, y| bin_bool(op, x, y))
        }
        _ => {}
    }
}

fn cmp<T: PartialOrd>(op: CmpOp, a: T, b: T) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}

/// Elementwise comparison with scalar broadcast.
pub fn compare(op: CmpOp, a: &Data, b: &Data, out: &mut Vec<bool>) {
    match (a, b) {
        (Data::F32(a), Data::F32(b)) => zip_into(a, b, out, |x, y| cmp(op, x, y)),
        (Data::I32(a), Data::I32(b)) => zip_into(a, b, out, |x, y| cmp(op, x, y)),
        (Data::U32(a), Data::U32(b)) => zip_into(a, b, out, |x, y| cmp(op, x, y)),
        (Data::Bool(a), Data::Bool(b)) => zip_into(a, b, out, |x, y| cmp(op, x, y)),
        _ => out.clear(),
    }
}

/// `cond ? t : f` with scalar broadcast of any operand, `n` elements.
pub fn select(cond: &[bool], t: &Data, f: &Data, n: usize) -> Data {
    let c = |i: usize| cond[if cond.len() == 1 { 0 } else { i }];
    let pick = |i: usize| {
        let ti = if t.len() == 1 { 0 } else { i };
        let fi = if f.len() == 1 { 0 } else { i };
        (ti, fi)
    };
    let mut out = t.empty_like(n);
    for i in 0..n {
        let (ti, fi) = pick(i);
        if c(i) {
            out.push_from(t, ti);
        } else {
            out.push_from(f, fi);
        }
    }
    out
}

/// Value conversion to a 32-bit dtype or bool (Rust `as` semantics: float
/// to int truncates toward zero and saturates, NaN gives 0; to bool is
/// `!= 0`); a narrow `to` converts to its wide dtype ([`narrow::cast`]
/// converts to any).
pub fn cast(x: &Data, to: DType) -> Data {
    macro_rules! conv {
        ($v:expr) => {
            match to.wide() {
                DType::F32 => Data::F32($v.iter().map(|&e| e as f32).collect()),
                DType::I32 => Data::I32($v.iter().map(|&e| e as i32).collect()),
                DType::U32 => Data::U32($v.iter().map(|&e| e as u32).collect()),
                DType::Bool => Data::Bool($v.iter().map(|&e| e as f64 != 0.0).collect()),
                _ => unreachable!("wide dtypes are 32-bit or bool"),
            }
        };
    }
    match x {
        Data::F32(v) => conv!(v),
        Data::I32(v) => conv!(v),
        Data::U32(v) => conv!(v),
        Data::Bool(v) => {
            let as_u8: Vec<u8> = v.iter().map(|&b| b as u8).collect();
            conv!(as_u8)
        }
    }
}

/// Reinterprets 32-bit patterns ([`narrow::bitcast`] for narrow dtypes).
pub fn bitcast(x: &Data, to: DType) -> Data {
    let bits: Vec<u32> = match x {
        Data::F32(v) => v.iter().map(|e| e.to_bits()).collect(),
        Data::I32(v) => v.iter().map(|&e| e as u32).collect(),
        Data::U32(v) => v.clone(),
        Data::Bool(v) => v.iter().map(|&e| e as u32).collect(),
    };
    narrow::from_bits(to, bits.into_iter())
}

/// Most elements copied element by element: a call into `memcpy` costs
/// more than the copy for the one-element blocks and scalars an
/// interpreter moves most often.
const SHORT_COPY: usize = 8;

/// `x = y`, reusing `x`'s storage.
#[inline]
fn assign_all<T: Copy>(x: &mut Vec<T>, y: &[T]) {
    if x.len() == y.len() && y.len() == 1 {
        // (A loop would become a `memcpy` call again.)
        x[0] = y[0];
    } else if x.len() == y.len() && y.len() <= SHORT_COPY {
        for (a, &b) in x.iter_mut().zip(y) {
            *a = b;
        }
    } else {
        x.clear();
        x.extend_from_slice(y);
    }
}

/// `x[d..d + n] = y[s..s + n]`.
#[inline]
/// Two distinct elements of a slice, mutably (`a != b`).
pub fn two_mut<T>(v: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    assert_ne!(a, b, "two_mut takes two distinct elements");
    if a < b {
        let (lo, hi) = v.split_at_mut(b);
        (&mut lo[a], &mut hi[0])
    } else {
        let (lo, hi) = v.split_at_mut(a);
        (&mut hi[0], &mut lo[b])
    }
}

fn assign_range<T: Copy>(x: &mut [T], d: usize, y: &[T], s: usize, n: usize) {
    if n == 1 {
        // (A loop would become a `memcpy` call again.)
        x[d] = y[s];
    } else if n <= SHORT_COPY {
        for (a, &b) in x[d..d + n].iter_mut().zip(&y[s..s + n]) {
            *a = b;
        }
    } else {
        x[d..d + n].copy_from_slice(&y[s..s + n]);
    }
}

/// A `debug_print` message: each `{}` of `fmt` replaced by the next value,
/// a scalar as its number, an array as its shape and first 16 elements.
pub fn debug_message(fmt: &str, vals: &[&Tensor]) -> String {
    let mut parts = fmt.split("{}");
    let mut out = parts.next().unwrap_or("").to_string();
    for (t, part) in vals.iter().zip(parts) {
        out.push_str(&tensor_text(t));
        out.push_str(part);
    }
    out
}

/// A value as a debug print shows it.
fn tensor_text(t: &Tensor) -> String {
    // A scalar's `Display` is `value:dtype`; the print shows the value.
    let elem = |i: usize| {
        format!("{}", t.data.get(i))
            .split(':')
            .next()
            .unwrap_or("")
            .to_string()
    };
    if t.shape.is_empty() {
        return elem(0);
    }
    let n = t.data.len().min(16);
    let items: Vec<String> = (0..n).map(elem).collect();
    format!(
        "{:?}[{}{}]",
        t.shape,
        items.join(", "),
        if t.data.len() > n { ", ..." } else { "" }
    )
}

#[cfg(test)]
mod debug_message_tests {
    use super::*;

    #[test]
    fn fills_placeholders_with_scalars_and_array_heads() {
        let s = Tensor::scalar(Scalar::I32(3));
        let a = Tensor {
            data: Data::F32(vec![1.5, 2.0]),
            shape: vec![2],
        };
        assert_eq!(
            debug_message("i={} a={}!", &[&s, &a]),
            "i=3 a=[2][1.5, 2.0]!"
        );
    }
}
