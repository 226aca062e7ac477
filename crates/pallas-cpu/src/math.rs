//! Vectorizable math over slices: branch-free polynomial kernels the
//! compiler turns into SIMD, with stated accuracy (tested against f64).

// The constants are written as published (more digits than f32 holds);
// the compiler rounds them to the nearest f32, which is what is meant.
#![allow(clippy::excessive_precision)]

/// Beyond this magnitude the Cody-Waite reduction loses accuracy; such
/// chunks use the scalar `f32::sin`.
const SIN_FAST_LIMIT: f32 = 8192.0;
const CHUNK: usize = 64;

// pi/2 split in three f32 parts (Cody-Waite).
const PIO2_1: f32 = 1.570_312_5;
const PIO2_2: f32 = 4.837_512_969_970_703e-4;
const PIO2_3: f32 = 7.549_789_954_891_886e-8;

/// Rounds to the nearest integer (ties to even) for |x| < 2^22 with two
/// additions, which vectorize everywhere (`f32::round` is a library call
/// on baseline x86-64).
#[inline(always)]
fn round_fast(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23
    (x + MAGIC) - MAGIC
}

/// `sin(x + shift * pi/2)`, for |x| below the fast limit.
#[inline(always)]
fn sin_kernel_shifted(x: f32, shift: i32) -> f32 {
    let j = (x * std::f32::consts::FRAC_2_PI).round();
    let r = ((x - j * PIO2_1) - j * PIO2_2) - j * PIO2_3;
    let z = r * r;
    // Minimax polynomials on [-pi/4, pi/4] (Cephes sinf/cosf).
    let s = r + r * z * (-1.666_665_461_1e-1 + z * (8.332_160_873_6e-3 + z * -1.951_529_589_1e-4));
    let c = 1.0 - 0.5 * z
        + z * z
            * (4.166_664_568_298_827e-2
                + z * (-1.388_731_625_493_765e-3 + z * 2.443_315_711_809_948e-5));
    let q = (j as i32 + shift) & 3;
    let v = if q & 1 == 0 { s } else { c };
    if q & 2 == 0 {
        v
    } else {
        -v
    }
}

#[inline(always)]
fn sin_kernel(x: f32) -> f32 {
    sin_kernel_shifted(x, 0)
}

#[inline(always)]
fn cos_kernel(x: f32) -> f32 {
    sin_kernel_shifted(x, 1)
}

/// `out[i] = cos(x[i])`, within 2 ulp for |x| below 8192 (larger
/// arguments use `f32::cos`).
pub fn cos(x: &[f32], out: &mut [f32]) {
    for (xs, os) in x.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
        if xs.iter().all(|v| v.abs() < SIN_FAST_LIMIT) {
            for (o, &v) in os.iter_mut().zip(xs) {
                *o = cos_kernel(v);
            }
        } else {
            for (o, &v) in os.iter_mut().zip(xs) {
                *o = v.cos();
            }
        }
    }
}

/// `e^x` for one element: `x = k ln2 + r`, a degree-6 polynomial for
/// `e^r` on [-ln2/2, ln2/2], and `2^k` assembled in the exponent bits.
#[inline(always)]
fn exp_kernel(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_751_953_125;
    const LN2_LO: f32 = 1.428_606_765_330_187e-6;
    let xc = x.clamp(-87.3, 88.7);
    let k = round_fast(xc * std::f32::consts::LOG2_E);
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.666_666_7e-1
                    + r * (4.166_666_8e-2 + r * (8.333_452e-3 + r * 1.388_689_8e-3)))));
    // 2^k as two factors, so that k = 128 and k = -126 stay representable.
    let (k1, k2) = ((k as i32) >> 1, (k as i32) - ((k as i32) >> 1));
    let v =
        p * f32::from_bits(((k1 + 127) as u32) << 23) * f32::from_bits(((k2 + 127) as u32) << 23);
    if x > 88.72 {
        f32::INFINITY
    } else if x < -103.0 {
        0.0
    } else if x.is_nan() {
        x
    } else {
        v
    }
}

/// `out[i] = e^x[i]`, within 3 ulp for normal results (results below
/// about 1e-38 are flushed toward the subnormal range by `f32::exp`).
pub fn exp(x: &[f32], out: &mut [f32]) {
    for (xs, os) in x.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
        if xs.iter().all(|v| (-87.3..=88.7).contains(v)) {
            for (o, &v) in os.iter_mut().zip(xs) {
                *o = exp_kernel(v);
            }
        } else {
            for (o, &v) in os.iter_mut().zip(xs) {
                *o = v.exp();
            }
        }
    }
}

/// `out[i] = 1 / (1 + e^-x[i])`, from the vectorized `exp`.
pub fn logistic(x: &[f32], out: &mut [f32]) {
    let neg: Vec<f32> = x.iter().map(|v| -v).collect();
    exp(&neg, out);
    for o in out.iter_mut() {
        *o = 1.0 / (1.0 + *o);
    }
}

/// `tanh` for one element: an odd polynomial below 0.625, else through
/// `exp(2|x|)` (Cephes tanhf); both are computed and one is selected, so
/// the loop stays branch-free.
#[inline(always)]
fn tanh_kernel(x: f32) -> f32 {
    let a = x.abs();
    let s = x * x;
    let small = ((((-5.704_988_727_45e-3 * s + 2.063_908_879_54e-2) * s - 5.373_971_555_31e-2)
        * s
        + 1.333_144_220_36e-1)
        * s
        - 3.333_328_194_22e-1)
        * s
        * x
        + x;
    let e = exp_kernel(2.0 * a.min(44.0));
    let big = 1.0 - 2.0 / (e + 1.0);
    let big = if x < 0.0 { -big } else { big };
    if a > 0.625 {
        big
    } else {
        small
    }
}

/// `out[i] = tanh(x[i])`, within 3 ulp; NaN stays NaN.
pub fn tanh(x: &[f32], out: &mut [f32]) {
    for (xs, os) in x.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
        if xs.iter().all(|v| v.is_finite()) {
            for (o, &v) in os.iter_mut().zip(xs) {
                *o = tanh_kernel(v);
            }
        } else {
            for (o, &v) in os.iter_mut().zip(xs) {
                *o = v.tanh();
            }
        }
    }
}

/// `ln x` for one positive normal element: the mantissa in
/// `[sqrt(1/2), sqrt(2))` through a degree-9 polynomial (Cephes logf).
#[inline(always)]
fn log_kernel(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000);
    let low = m < std::f32::consts::FRAC_1_SQRT_2;
    e -= low as i32;
    let x = if low { m + m - 1.0 } else { m - 1.0 };
    let z = x * x;
    let mut y =
        ((((((((7.037_683_629_2e-2 * x - 1.151_461_031_0e-1) * x + 1.167_699_874_0e-1) * x
            - 1.242_014_084_6e-1)
            * x
            + 1.424_932_278_7e-1)
            * x
            - 1.666_805_766_5e-1)
            * x
            + 2.000_071_476_5e-1)
            * x
            - 2.499_999_399_3e-1)
            * x
            + 3.333_333_117_4e-1)
            * x
            * z;
    let ef = e as f32;
    y += -2.121_944_4e-4 * ef;
    y += -0.5 * z;
    x + y + 0.693_359_375 * ef
}

/// `out[i] = ln(x[i])`, within 2 ulp for positive normal inputs (others use
/// `f32::ln`: zero, negatives, subnormals, infinities, NaN).
pub fn log(x: &[f32], out: &mut [f32]) {
    for (xs, os) in x.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
        if xs.iter().all(|v| v.is_normal() && *v > 0.0) {
            for (o, &v) in os.iter_mut().zip(xs) {
                *o = log_kernel(v);
            }
        } else {
            for (o, &v) in os.iter_mut().zip(xs) {
                *o = v.ln();
            }
        }
    }
}

/// Applies a vectorized function to `x` into `out` when there is one for
/// `op`; returns whether it did.
pub fn unary(op: pallas_ir::UnaryOp, x: &[f32], out: &mut Vec<f32>) -> bool {
    use pallas_ir::UnaryOp as U;
    let f: fn(&[f32], &mut [f32]) = match op {
        U::Sin => sin,
        U::Cos => cos,
        U::Exp => exp,
        U::Logistic => logistic,
        U::Tanh => tanh,
        U::Log => log,
        _ => return false,
    };
    out.resize(x.len(), 0.0);
    f(x, out);
    true
}

/// `out[i] = sin(x[i])`, within 2 ulp of the correctly rounded result for
/// |x| below 8192 (larger arguments use `f32::sin`); NaN and infinities
/// give NaN.
pub fn sin(x: &[f32], out: &mut [f32]) {
    for (xs, os) in x.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
        let fast = xs.iter().all(|v| v.abs() < SIN_FAST_LIMIT);
        if fast {
            for (o, &v) in os.iter_mut().zip(xs) {
                *o = sin_kernel(v);
            }
        } else {
            for (o, &v) in os.iter_mut().zip(xs) {
                *o = v.sin();
            }
        }
    }
}

/// In-place `sin`.
pub fn sin_in_place(x: &mut [f32]) {
    for chunk in x.chunks_mut(CHUNK) {
        if chunk.iter().all(|v| v.abs() < SIN_FAST_LIMIT) {
            for v in chunk.iter_mut() {
                *v = sin_kernel(*v);
            }
        } else {
            for v in chunk.iter_mut() {
                *v = v.sin();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f64) -> f64 {
        let b32 = b as f32;
        if a == b32 {
            return 0.0;
        }
        let ulp = (b32.abs().max(f32::MIN_POSITIVE) * f32::EPSILON) as f64;
        (a as f64 - b).abs() / ulp
    }

    #[test]
    fn sin_is_within_two_ulp() {
        let mut xs: Vec<f32> = (-200_000..200_000).map(|i| i as f32 * 1e-3).collect();
        let mut s = 12345u64;
        for _ in 0..200_000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            xs.push(((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * 8000.0);
        }
        let mut out = vec![0.0; xs.len()];
        sin(&xs, &mut out);
        let mut worst = 0.0f64;
        for (&x, &o) in xs.iter().zip(&out) {
            let want = (x as f64).sin();
            // Absolute error near the zeros of sin, where ulps of the
            // result are meaningless.
            let e = if want.abs() < 1e-3 {
                (o as f64 - want).abs() / f32::EPSILON as f64
            } else {
                ulps(o, want)
            };
            worst = worst.max(e);
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
    }

    fn worst_ulps(xs: &[f32], f: fn(&[f32], &mut [f32]), g: fn(f64) -> f64) -> f64 {
        let mut out = vec![0.0; xs.len()];
        f(xs, &mut out);
        xs.iter()
            .zip(&out)
            .map(|(&x, &o)| {
                let want = g(x as f64);
                if want.abs() < 1e-3 {
                    (o as f64 - want).abs() / f32::EPSILON as f64
                } else {
                    ulps(o, want)
                }
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn cos_exp_and_logistic_are_within_a_few_ulp() {
        let wide: Vec<f32> = (-400_000..400_000).map(|i| i as f32 * 1e-3).collect();
        assert!(worst_ulps(&wide, cos, f64::cos) <= 2.0);
        let e: Vec<f32> = (-870_000..887_000).map(|i| i as f32 * 1e-4).collect();
        let w = worst_ulps(&e, exp, f64::exp);
        assert!(w <= 3.0, "exp: {w} ulp");
        let l: Vec<f32> = (-300_000..300_000).map(|i| i as f32 * 1e-4).collect();
        let w = worst_ulps(&l, logistic, |x| 1.0 / (1.0 + (-x).exp()));
        assert!(w <= 3.0, "logistic: {w} ulp");
        let mut out = [0.0f32; 4];
        exp(&[f32::NAN, 100.0, -200.0, 0.0], &mut out);
        assert!(out[0].is_nan() && out[1] == f32::INFINITY && out[2] == 0.0 && out[3] == 1.0);
    }

    #[test]
    fn tanh_and_log_are_within_a_few_ulp() {
        let t: Vec<f32> = (-200_000..200_000).map(|i| i as f32 * 1e-4).collect();
        let w = worst_ulps(&t, tanh, f64::tanh);
        assert!(w <= 3.0, "tanh: {w} ulp");
        let l: Vec<f32> = (1..2_000_000)
            .map(|i| i as f32 * 1e-3)
            .chain((1..1000).map(|i| i as f32 * 1e-30))
            .collect();
        let w = worst_ulps(&l, log, f64::ln);
        assert!(w <= 2.0, "log: {w} ulp");
        let mut out = [0.0f32; 5];
        log(&[0.0, -1.0, f32::INFINITY, f32::NAN, 1.0], &mut out);
        assert!(
            out[0] == f32::NEG_INFINITY
                && out[1].is_nan()
                && out[2] == f32::INFINITY
                && out[3].is_nan()
                && out[4] == 0.0
        );
        tanh(&[f32::NAN, f32::INFINITY, -100.0], &mut out[..3]);
        assert!(out[0].is_nan() && out[1] == 1.0 && out[2] == -1.0);
    }

    #[test]
    fn special_values() {
        let xs = [
            0.0f32,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e30,
            -3e9,
        ];
        let mut out = [0.0f32; 7];
        sin(&xs, &mut out);
        assert_eq!(out[0], 0.0);
        assert!(out[2].is_nan() && out[3].is_nan() && out[4].is_nan());
        assert_eq!(out[5], 1e30f32.sin());
        assert_eq!(out[6], (-3e9f32).sin());
    }
}
