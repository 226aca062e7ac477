//! WGSL for one element: literals, storage-word conversions and the
//! elementwise operations, with the exact semantics of `pallas_exec::eval`
//! (XLA's integer division, saturating float-to-int casts, NaN-propagating
//! max/min, shifts of 32 or more). Operations whose WGSL builtin differs
//! from those semantics go through helper functions, emitted once per
//! module by [`Helpers`].

use std::collections::BTreeSet;

use pallas_ir::{BinaryOp, CmpOp, DType, ReduceOp, Scalar, UnaryOp};

/// The WGSL type of a scalar of `d`.
pub fn ty(d: DType) -> &'static str {
    match d.wide() {
        DType::F32 => "f32",
        DType::I32 => "i32",
        DType::U32 => "u32",
        _ => "bool",
    }
}

/// A WGSL literal, exact for every value (NaN, infinities and subnormals
/// through their bits).
pub fn literal(s: Scalar) -> String {
    // (Narrow dtypes are refused before generation; their wide values
    // would print the same way.)
    match pallas_exec::eval::narrow::widen(s) {
        Scalar::F32(v) if v.is_finite() && (v == 0.0 || v.is_normal()) => {
            if v == 0.0 && v.is_sign_negative() {
                "(-0.0f)".into()
            } else {
                format!("{v:?}f")
            }
        }
        Scalar::F32(v) => format!("bitcast<f32>({:#010x}u)", v.to_bits()),
        Scalar::I32(i32::MIN) => "bitcast<i32>(0x80000000u)".into(),
        Scalar::I32(v) => format!("{v}i"),
        Scalar::U32(v) => format!("{v}u"),
        Scalar::Bool(v) => format!("{v}"),
        _ => unreachable!("widened scalars are 32-bit or bool"),
    }
}

/// A value of dtype `d` from a `u32` storage word.
pub fn from_bits(d: DType, w: &str) -> String {
    match d.wide() {
        DType::F32 => format!("bitcast<f32>({w})"),
        DType::I32 => format!("bitcast<i32>({w})"),
        DType::U32 => w.to_string(),
        _ => format!("({w} != 0u)"),
    }
}

/// The `u32` storage word of a value of dtype `d`.
pub fn to_bits(d: DType, v: &str) -> String {
    match d.wide() {
        DType::F32 | DType::I32 => format!("bitcast<u32>({v})"),
        DType::U32 => v.to_string(),
        _ => format!("select(0u, 1u, {v})"),
    }
}

/// Helper functions a module uses; each is emitted once, in a fixed order.
#[derive(Clone, Debug, Default)]
pub struct Helpers(BTreeSet<&'static str>);

impl Helpers {
    /// Marks a helper as used (and the helpers it calls).
    pub fn use_(&mut self, name: &'static str) {
        self.0.insert(name);
        match name {
            "max_f32" | "min_f32" | "sign_f32" | "cast_f32_i32" | "cast_f32_u32" | "pow_f32"
            | "gt_nan_f32" | "lt_nan_f32" | "erfinv_f32" | "round_f16" => {
                self.0.insert("is_nan");
            }
            "atan2_f32" => {
                self.0.insert("is_nan");
                self.0.insert("atan_pos_f32");
            }
            _ => {}
        }
    }

    /// The WGSL source of every used helper.
    pub fn source(&self) -> String {
        self.0
            .iter()
            .map(|h| helper_source(h))
            .collect::<Vec<_>>()
            .join("")
    }
}

fn helper_source(name: &str) -> &'static str {
    match name {
        "is_nan" => "fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }\n",
        "max_f32" => "fn max_f32(a: f32, b: f32) -> f32 { if (is_nan(a) || is_nan(b)) { return bitcast<f32>(0x7fc00000u); } return max(a, b); }\n",
        "min_f32" => "fn min_f32(a: f32, b: f32) -> f32 { if (is_nan(a) || is_nan(b)) { return bitcast<f32>(0x7fc00000u); } return min(a, b); }\n",
        "sign_f32" => "fn sign_f32(x: f32) -> f32 { if (is_nan(x) || x == 0.0f) { return x; } return select(-1.0f, 1.0f, x > 0.0f); }\n",
        "round_f32" => "fn round_f32(x: f32) -> f32 { let t = trunc(x); if (abs(x - t) >= 0.5f) { return t + select(-1.0f, 1.0f, x > 0.0f); } return t; }\n",
        "log1p_f32" => "fn log1p_f32(x: f32) -> f32 { let u = 1.0f + x; if (u == 1.0f) { return x; } return log(u) * (x / (u - 1.0f)); }\n",
        "tanh_f32" => "fn tanh_f32(x: f32) -> f32 { return tanh(clamp(x, -16.0f, 16.0f)); }\n",
        "erf_f32" => "fn erf_f32(x: f32) -> f32 {\n  let a = abs(x);\n  if (a > 4.0f) { return sign(x); }\n  if (a < 0.5f) {\n    let z = x * x;\n    return x * (1.1283791671f + z * (-0.3761263890f + z * (0.1128379167f + z * (-0.0268661706f + z * (0.0052239776f + z * (-0.0008548327f))))));\n  }\n  let t = 1.0f / (1.0f + 0.5f * a);\n  let y = t * exp(-a * a - 1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f)))))))));\n  return select(y - 1.0f, 1.0f - y, x >= 0.0f);\n}\n",
        "pow_f32" => "fn pow_f32(a: f32, b: f32) -> f32 {\n  if (b == 0.0f) { return 1.0f; }\n  if (a == 1.0f) { return 1.0f; }\n  if (is_nan(a) || is_nan(b)) { return bitcast<f32>(0x7fc00000u); }\n  if (a < 0.0f) {\n    if (b != floor(b)) { return bitcast<f32>(0x7fc00000u); }\n    let r = pow(-a, b);\n    let odd = abs(b) < 16777216.0f && (i32(abs(b)) & 1) == 1;\n    return select(r, -r, odd);\n  }\n  if (a == 0.0f) { return select(0.0f, bitcast<f32>(0x7f800000u), b < 0.0f); }\n  return pow(a, b);\n}\n",
        "expm1_f32" => "fn expm1_f32(x: f32) -> f32 {\n  if (x == 0.0f) { return x; }\n  if (abs(x) < 0.5f) {\n    var p = 2.7557319e-6f;\n    p = 2.4801587e-5f + p * x; p = 1.9841270e-4f + p * x; p = 1.3888889e-3f + p * x;\n    p = 8.3333333e-3f + p * x; p = 4.1666667e-2f + p * x; p = 1.6666667e-1f + p * x;\n    p = 0.5f + p * x;\n    return x + x * x * p;\n  }\n  return exp(x) - 1.0f;\n}\n",
        "atan_pos_f32" => "fn atan_pos_f32(t: f32) -> f32 {\n  var x = t;\n  var base = 0.0f;\n  if (x > 2.4142135f) { base = 1.5707964f; x = -1.0f / x; } else if (x > 0.41421357f) { base = 0.78539819f; x = (x - 1.0f) / (x + 1.0f); }\n  let z = x * x;\n  return base + ((((8.05374449538e-2f * z - 1.38776856032e-1f) * z + 1.99777106478e-1f) * z - 3.33329491539e-1f) * z * x + x);\n}\n",
        "atan2_f32" => "fn atan2_f32(y: f32, x: f32) -> f32 {\n  if (is_nan(x) || is_nan(y)) { return bitcast<f32>(0x7fc00000u); }\n  let ys = select(1.0f, -1.0f, (bitcast<u32>(y) & 0x80000000u) != 0u);\n  let xneg = (bitcast<u32>(x) & 0x80000000u) != 0u;\n  let pi = 3.1415927f;\n  let inf = bitcast<f32>(0x7f800000u);\n  let ay = abs(y);\n  let ax = abs(x);\n  if (ay == 0.0f) { return select(y, ys * pi, xneg); }\n  if (ax == inf) {\n    if (ay == inf) { return ys * select(0.78539819f, 2.3561945f, xneg); }\n    return select(ys * 0.0f, ys * pi, xneg);\n  }\n  if (ax == 0.0f || ay == inf) { return ys * 1.5707964f; }\n  var a: f32;\n  if (ay <= ax) { a = atan_pos_f32(ay / ax); } else { a = 1.5707964f - atan_pos_f32(ax / ay); }\n  return ys * select(a, pi - a, xneg);\n}\n",
        "erfinv_f32" => "fn erfinv_f32(y: f32) -> f32 {\n  if (abs(y) > 1.0f || is_nan(y)) { return bitcast<f32>(0x7fc00000u); }\n  if (abs(y) == 1.0f) { return y * bitcast<f32>(0x7f800000u); }\n  var w = -log((1.0f - y) * (1.0f + y));\n  var p: f32;\n  if (w < 5.0f) {\n    w = w - 2.5f;\n    p = 2.81022636e-08f;\n    p = 3.43273939e-07f + p * w; p = -3.5233877e-06f + p * w; p = -4.39150654e-06f + p * w;\n    p = 0.00021858087f + p * w; p = -0.00125372503f + p * w; p = -0.00417768164f + p * w;\n    p = 0.246640727f + p * w; p = 1.50140941f + p * w;\n  } else {\n    w = sqrt(w) - 3.0f;\n    p = -0.000200214257f;\n    p = 0.000100950558f + p * w; p = 0.00134934322f + p * w; p = -0.00367342844f + p * w;\n    p = 0.00573950773f + p * w; p = -0.0076224613f + p * w; p = 0.00943887047f + p * w;\n    p = 1.00167406f + p * w; p = 2.83297682f + p * w;\n  }\n  return p * y;\n}\n",
        "rem_f32" => "fn rem_f32(a: f32, b: f32) -> f32 { return a - b * trunc(a / b); }\n",
        "round_bf16" => "fn round_bf16(x: f32) -> f32 { let b = bitcast<u32>(x); if ((b & 0x7fffffffu) > 0x7f800000u) { return bitcast<f32>((b | 0x400000u) & 0xffff0000u); } return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u); }\n",
        "round_f16" => "fn round_f16(x: f32) -> f32 {\n  if (is_nan(x)) { return bitcast<f32>(0x7fc00000u); }\n  let b = bitcast<u32>(x);\n  let s = b & 0x80000000u;\n  let a = b & 0x7fffffffu;\n  if (a >= 0x477ff000u) { return bitcast<f32>(s | 0x7f800000u); }\n  if (a >= 0x38800000u) { return bitcast<f32>(s | ((a + 0xfffu + ((a >> 13u) & 1u)) & 0xffffe000u)); }\n  let r = round(abs(x) * 16777216.0f);\n  return bitcast<f32>(s | bitcast<u32>(r * 5.9604645e-8f));\n}\n",
        "e4m3_bits" => "fn e4m3_bits(x: f32) -> u32 {\n  let b = bitcast<u32>(x);\n  let s = (b >> 24u) & 0x80u;\n  let a = b & 0x7fffffffu;\n  if (a > 0x43e80000u) { return s | 0x7fu; }\n  if (a >= 0x3c800000u) {\n    let r = (a + 0x7ffffu + ((a >> 20u) & 1u)) & 0xfff00000u;\n    return s | ((((r >> 23u) - 120u) << 3u) | ((r >> 20u) & 7u));\n  }\n  return s | u32(round(bitcast<f32>(a) * 512.0f));\n}\n",
        "e4m3_value" => "fn e4m3_value(h: u32) -> f32 {\n  let s = (h & 0x80u) << 24u;\n  let e = (h >> 3u) & 0xfu;\n  let m = h & 7u;\n  if (e == 15u && m == 7u) { return bitcast<f32>(s | 0x7fc00000u); }\n  if (e == 0u) { return bitcast<f32>(s | bitcast<u32>(f32(m) * 0.001953125f)); }\n  return bitcast<f32>(s | ((e + 120u) << 23u) | (m << 20u));\n}\n",
        "e5m2_bits" => "fn e5m2_bits(x: f32) -> u32 {\n  let b = bitcast<u32>(x);\n  let s = (b >> 24u) & 0x80u;\n  let a = b & 0x7fffffffu;\n  if (a > 0x7f800000u) { return s | 0x7fu; }\n  if (a >= 0x47700000u) { return s | 0x7cu; }\n  if (a >= 0x38800000u) {\n    let r = (a + 0xfffffu + ((a >> 21u) & 1u)) & 0xffe00000u;\n    return s | ((((r >> 23u) - 112u) << 2u) | ((r >> 21u) & 3u));\n  }\n  return s | u32(round(bitcast<f32>(a) * 65536.0f));\n}\n",
        "e5m2_value" => "fn e5m2_value(h: u32) -> f32 {\n  let s = (h & 0x80u) << 24u;\n  let e = (h >> 2u) & 0x1fu;\n  let m = h & 3u;\n  if (e == 31u) { return bitcast<f32>(s | select(0x7fc00000u, 0x7f800000u, m == 0u)); }\n  if (e == 0u) { return bitcast<f32>(s | bitcast<u32>(f32(m) * 1.52587890625e-5f)); }\n  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 21u));\n}\n",
        "f16_bits" => "fn f16_bits(x: f32) -> u32 {\n  let b = bitcast<u32>(x);\n  let s = (b >> 16u) & 0x8000u;\n  let a = b & 0x7fffffffu;\n  if (a > 0x7f800000u) { return s | 0x7e00u; }\n  if (a >= 0x47800000u) { return s | 0x7c00u; }\n  if (a >= 0x38800000u) { return s | ((((a >> 23u) - 112u) << 10u) | ((a >> 13u) & 0x3ffu)); }\n  return s | u32(bitcast<f32>(a) * 16777216.0f);\n}\n",
        "f16_value" => "fn f16_value(h: u32) -> f32 {\n  let s = (h & 0x8000u) << 16u;\n  let e = (h >> 10u) & 0x1fu;\n  let m = h & 0x3ffu;\n  if (e == 0u) { return bitcast<f32>(s | bitcast<u32>(f32(m) * 5.9604645e-8f)); }\n  if (e == 31u) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }\n  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));\n}\n",
        "div_i32" => "fn div_i32(a: i32, b: i32) -> i32 { if (b == 0i) { return -1i; } return a / b; }\n",
        "rem_i32" => "fn rem_i32(a: i32, b: i32) -> i32 { if (b == 0i) { return a; } if (b == -1i) { return 0i; } return a % b; }\n",
        "div_u32" => "fn div_u32(a: u32, b: u32) -> u32 { if (b == 0u) { return 0xffffffffu; } return a / b; }\n",
        "rem_u32" => "fn rem_u32(a: u32, b: u32) -> u32 { if (b == 0u) { return a; } return a % b; }\n",
        "shl_i32" => "fn shl_i32(a: i32, b: i32) -> i32 { if (bitcast<u32>(b) >= 32u) { return 0i; } return a << bitcast<u32>(b); }\n",
        "shrl_i32" => "fn shrl_i32(a: i32, b: i32) -> i32 { if (bitcast<u32>(b) >= 32u) { return 0i; } return bitcast<i32>(bitcast<u32>(a) >> bitcast<u32>(b)); }\n",
        "shra_i32" => "fn shra_i32(a: i32, b: i32) -> i32 { if (bitcast<u32>(b) >= 32u) { return select(0i, -1i, a < 0i); } return a >> bitcast<u32>(b); }\n",
        "shl_u32" => "fn shl_u32(a: u32, b: u32) -> u32 { if (b >= 32u) { return 0u; } return a << b; }\n",
        "shrl_u32" => "fn shrl_u32(a: u32, b: u32) -> u32 { if (b >= 32u) { return 0u; } return a >> b; }\n",
        "shra_u32" => "fn shra_u32(a: u32, b: u32) -> u32 { if (b >= 32u) { return select(0u, 0xffffffffu, bitcast<i32>(a) < 0i); } return bitcast<u32>(bitcast<i32>(a) >> b); }\n",
        "cast_f32_i32" => "fn cast_f32_i32(x: f32) -> i32 { if (is_nan(x)) { return 0i; } if (x >= 2147483648.0f) { return 2147483647i; } if (x <= -2147483648.0f) { return bitcast<i32>(0x80000000u); } return i32(x); }\n",
        "cast_f32_u32" => "fn cast_f32_u32(x: f32) -> u32 { if (is_nan(x) || x <= 0.0f) { return 0u; } if (x >= 4294967296.0f) { return 0xffffffffu; } return u32(x); }\n",
        "gt_nan_f32" => "fn gt_nan_f32(a: f32, b: f32) -> bool { return a > b || (is_nan(a) && !is_nan(b)); }\n",
        "lt_nan_f32" => "fn lt_nan_f32(a: f32, b: f32) -> bool { return a < b || (is_nan(a) && !is_nan(b)); }\n",
        _ => "",
    }
}

/// `op x` for a scalar of dtype `d`.
pub fn unary(h: &mut Helpers, op: UnaryOp, d: DType, x: &str) -> String {
    if !d.is_narrow() {
        return unary_wide(h, op, d, x);
    }
    let w = d.bits();
    match op {
        // A narrow integer's own bits: zero-extended, counted, the count
        // of a 32-bit word less the bits above the dtype's.
        UnaryOp::PopulationCount | UnaryOp::Clz if d.is_int() => {
            let own = format!("({} & {:#x}u)", to_bits(d, x), mask(d));
            let count = if op == UnaryOp::Clz {
                format!("(countLeadingZeros({own}) - {}u)", 32 - w)
            } else {
                format!("countOneBits({own})")
            };
            from_bits(d, &count)
        }
        _ => {
            let r = unary_wide(h, op, d.wide(), x);
            narrow(h, d, &r)
        }
    }
}

/// The low `d.bits()` bits set.
fn mask(d: DType) -> u32 {
    match d.bits() {
        32 => u32::MAX,
        w => (1u32 << w) - 1,
    }
}

/// A wide value rounded (floats, to nearest even) or wrapped (integers)
/// to a narrow dtype `d`; the value itself for 32-bit dtypes and bool.
/// Narrow values are held in their wide dtype, one storage word each.
pub fn narrow(h: &mut Helpers, d: DType, x: &str) -> String {
    match d {
        DType::BF16 => {
            h.use_("round_bf16");
            format!("round_bf16({x})")
        }
        DType::F16 => {
            h.use_("round_f16");
            format!("round_f16({x})")
        }
        DType::F8E4M3FN => {
            h.use_("e4m3_bits");
            h.use_("e4m3_value");
            format!("e4m3_value(e4m3_bits({x}))")
        }
        DType::F8E5M2 => {
            h.use_("e5m2_bits");
            h.use_("e5m2_value");
            format!("e5m2_value(e5m2_bits({x}))")
        }
        DType::I8 => format!("(({x} << 24u) >> 24u)"),
        DType::I16 => format!("(({x} << 16u) >> 16u)"),
        DType::U8 => format!("({x} & 0xffu)"),
        DType::U16 => format!("({x} & 0xffffu)"),
        _ => x.to_string(),
    }
}

/// [`unary`] on a 32-bit dtype or bool.
fn unary_wide(h: &mut Helpers, op: UnaryOp, d: DType, x: &str) -> String {
    use UnaryOp::*;
    match d {
        DType::F32 => {
            let call = |h: &mut Helpers, f: &'static str| {
                h.use_(f);
                format!("{f}({x})")
            };
            match op {
                Neg => format!("(-{x})"),
                Abs => format!("abs({x})"),
                Exp => format!("exp({x})"),
                Exp2 => format!("exp2({x})"),
                Log => format!("log({x})"),
                Log1p => call(h, "log1p_f32"),
                Sqrt => format!("sqrt({x})"),
                Rsqrt => format!("(1.0f / sqrt({x}))"),
                Sin => format!("sin({x})"),
                Cos => format!("cos({x})"),
                Tan => format!("tan({x})"),
                Tanh => call(h, "tanh_f32"),
                Logistic => format!("(1.0f / (1.0f + exp(-{x})))"),
                Erf => call(h, "erf_f32"),
                Floor => format!("floor({x})"),
                Ceil => format!("ceil({x})"),
                Round => call(h, "round_f32"),
                Sign => call(h, "sign_f32"),
                Expm1 => call(h, "expm1_f32"),
                // WGSL's round() rounds half to even.
                RoundEven => format!("round({x})"),
                ErfInv => call(h, "erfinv_f32"),
                Not | PopulationCount | Clz => x.to_string(),
            }
        }
        DType::I32 => match op {
            Neg => format!("(0i - {x})"),
            Abs => format!("abs({x})"),
            Sign => format!("sign({x})"),
            PopulationCount => format!("countOneBits({x})"),
            Clz => format!("countLeadingZeros({x})"),
            _ => format!("(~{x})"),
        },
        DType::U32 => match op {
            Neg => format!("(0u - {x})"),
            Abs => x.to_string(),
            Sign => format!("select(0u, 1u, {x} != 0u)"),
            PopulationCount => format!("countOneBits({x})"),
            Clz => format!("countLeadingZeros({x})"),
            _ => format!("(~{x})"),
        },
        _ => format!("(!{x})"),
    }
}

/// `a op b` for scalars of dtype `d`.
pub fn binary(h: &mut Helpers, op: BinaryOp, d: DType, a: &str, b: &str) -> String {
    if !d.is_narrow() {
        return binary_wide(h, op, d, a, b);
    }
    match op {
        // Right shifts see the operand's own bits: zero-extended for a
        // logical shift, sign-extended from the dtype's top bit for an
        // arithmetic one; shifted as u32, wrapped back to the dtype.
        BinaryOp::ShrLogical | BinaryOp::ShrArith if d.is_int() => {
            let sh = 32 - d.bits();
            let own = format!("({} & {:#x}u)", to_bits(d, a), mask(d));
            let own = if op == BinaryOp::ShrArith {
                format!("bitcast<u32>(bitcast<i32>({own} << {sh}u) >> {sh}u)")
            } else {
                own
            };
            let amount = to_bits(d, b);
            let f = if op == BinaryOp::ShrArith {
                "shra_u32"
            } else {
                "shrl_u32"
            };
            h.use_(f);
            of_own_bits(d, &format!("{f}({own}, {amount})"))
        }
        _ => {
            let r = binary_wide(h, op, d.wide(), a, b);
            narrow(h, d, &r)
        }
    }
}

/// [`binary`] on a 32-bit dtype or bool.
fn binary_wide(h: &mut Helpers, op: BinaryOp, d: DType, a: &str, b: &str) -> String {
    use BinaryOp::*;
    let mut call = |f: &'static str| {
        h.use_(f);
        format!("{f}({a}, {b})")
    };
    match (d, op) {
        (_, Add) => format!("({a} + {b})"),
        (_, Sub) => format!("({a} - {b})"),
        (_, Mul) => format!("({a} * {b})"),
        (DType::F32, Div) => format!("({a} / {b})"),
        (DType::F32, Rem) => call("rem_f32"),
        (DType::F32, Pow) => call("pow_f32"),
        // WGSL's atan2 may be 4096 ulp off and leaves zeros undefined.
        (DType::F32, Atan2) => call("atan2_f32"),
        (DType::F32, Max) => call("max_f32"),
        (DType::F32, Min) => call("min_f32"),
        (DType::I32, Div) => call("div_i32"),
        (DType::I32, Rem) => call("rem_i32"),
        (DType::U32, Div) => call("div_u32"),
        (DType::U32, Rem) => call("rem_u32"),
        (DType::I32, Shl) => call("shl_i32"),
        (DType::I32, ShrLogical) => call("shrl_i32"),
        (DType::I32, ShrArith) => call("shra_i32"),
        (DType::U32, Shl) => call("shl_u32"),
        (DType::U32, ShrLogical) => call("shrl_u32"),
        (DType::U32, ShrArith) => call("shra_u32"),
        (_, Max) => format!("max({a}, {b})"),
        (_, Min) => format!("min({a}, {b})"),
        (DType::Bool, And) => format!("({a} && {b})"),
        (DType::Bool, Or) => format!("({a} || {b})"),
        (DType::Bool, Xor) => format!("({a} != {b})"),
        (_, And) => format!("({a} & {b})"),
        (_, Or) => format!("({a} | {b})"),
        (_, Xor) => format!("({a} ^ {b})"),
        _ => format!("({a} * {b})"),
    }
}

/// `a cmp b` for scalars of dtype `d` (a `bool`).
pub fn compare(op: CmpOp, d: DType, a: &str, b: &str) -> String {
    let d = d.wide();
    let sym = match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    };
    if d == DType::F32 && op == CmpOp::Ne {
        // Not-equal is true for NaN; WGSL's `!=` may be an ordered
        // comparison (false for NaN), `==` is false for NaN either way.
        format!("(!({a} == {b}))")
    } else if d == DType::Bool && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
        format!("(select(0u, 1u, {a}) {sym} select(0u, 1u, {b}))")
    } else {
        format!("({a} {sym} {b})")
    }
}

/// `x as to`, from dtype `from`, with Rust's `as` semantics.
pub fn cast(h: &mut Helpers, from: DType, to: DType, x: &str) -> String {
    if !(from.is_narrow() || to.is_narrow()) {
        return cast_wide(h, from, to, x);
    }
    let wide = cast_wide(h, from.wide(), to.wide(), x);
    match to {
        // Float to a narrow integer saturates at the narrow range.
        DType::I8 | DType::I16 if from.is_float() => {
            let hi = (1i64 << (to.bits() - 1)) - 1;
            format!("clamp({wide}, {}i, {hi}i)", -hi - 1)
        }
        DType::U8 | DType::U16 if from.is_float() => format!("min({wide}, {:#x}u)", mask(to)),
        _ => narrow(h, to, &wide),
    }
}

/// [`cast`] between 32-bit dtypes and bool.
fn cast_wide(h: &mut Helpers, from: DType, to: DType, x: &str) -> String {
    use DType::*;
    match (from, to) {
        (a, b) if a == b => x.to_string(),
        (F32, I32) => {
            h.use_("cast_f32_i32");
            format!("cast_f32_i32({x})")
        }
        (F32, U32) => {
            h.use_("cast_f32_u32");
            format!("cast_f32_u32({x})")
        }
        (I32 | U32, F32) => format!("f32({x})"),
        (I32, U32) | (U32, I32) => format!("bitcast<{}>({x})", ty(to)),
        (Bool, F32) => format!("select(0.0f, 1.0f, {x})"),
        (Bool, I32) => format!("select(0i, 1i, {x})"),
        (Bool, U32) => format!("select(0u, 1u, {x})"),
        (F32, Bool) => format!("(!({x} == 0.0f))"),
        (I32, Bool) => format!("({x} != 0i)"),
        _ => format!("({x} != 0u)"),
    }
}

/// Reinterprets the 32 bits of `x` (dtype `from`) as dtype `to`.
pub fn bitcast(h: &mut Helpers, from: DType, to: DType, x: &str) -> String {
    for (d, pair) in [
        (from, ["f16_bits", "e4m3_bits", "e5m2_bits"]),
        (to, ["f16_value", "e4m3_value", "e5m2_value"]),
    ] {
        match d {
            DType::F16 => h.use_(pair[0]),
            DType::F8E4M3FN => h.use_(pair[1]),
            DType::F8E5M2 => h.use_(pair[2]),
            _ => {}
        }
    }
    if from.bits() == 32 {
        return from_bits(to, &to_bits(from, x));
    }
    // A narrow value's own bits (a `u32`), then the other dtype's value of
    // them (f16 by hand: WGSL's pack2x16float needs a capability).
    let bits = match from {
        DType::BF16 => format!("(bitcast<u32>({x}) >> 16u)"),
        DType::F16 => format!("f16_bits({x})"),
        DType::F8E4M3FN => format!("e4m3_bits({x})"),
        DType::F8E5M2 => format!("e5m2_bits({x})"),
        d => format!("({} & {:#x}u)", to_bits(d, x), mask(d)),
    };
    of_own_bits(to, &bits)
}

/// The value of a narrow dtype `d` whose own bits are the low bits of the
/// `u32` expression `bits` (higher bits ignored), held in its wide dtype.
fn of_own_bits(d: DType, bits: &str) -> String {
    match d {
        DType::BF16 => format!("bitcast<f32>({bits} << 16u)"),
        DType::F16 => format!("f16_value({bits})"),
        DType::F8E4M3FN => format!("e4m3_value({bits})"),
        DType::F8E5M2 => format!("e5m2_value({bits})"),
        DType::I8 | DType::I16 => {
            let sh = 32 - d.bits();
            format!("(bitcast<i32>({bits} << {sh}u) >> {sh}u)")
        }
        _ => format!("({bits} & {:#x}u)", mask(d)),
    }
}

/// The identity of a fold reduction (`None` for argmax/argmin).
pub fn reduce_init(op: ReduceOp, d: DType) -> Option<Scalar> {
    use ReduceOp::*;
    Some(match (d.wide(), op) {
        (DType::F32, Sum) => Scalar::F32(0.0),
        (DType::F32, Prod) => Scalar::F32(1.0),
        (DType::F32, Max) => Scalar::F32(f32::NEG_INFINITY),
        (DType::F32, Min) => Scalar::F32(f32::INFINITY),
        (DType::I32, Sum | Or) => Scalar::I32(0),
        (DType::I32, Prod) => Scalar::I32(1),
        (DType::I32, Max) => Scalar::I32(i32::MIN),
        (DType::I32, Min) => Scalar::I32(i32::MAX),
        (DType::I32, And) => Scalar::I32(-1),
        (DType::U32, Sum | Or | Max) => Scalar::U32(0),
        (DType::U32, Prod) => Scalar::U32(1),
        (DType::U32, Min | And) => Scalar::U32(u32::MAX),
        (DType::Bool, And | Min | Prod) => Scalar::Bool(true),
        (DType::Bool, Or | Max | Sum) => Scalar::Bool(false),
        _ => return None,
    })
}

/// One fold step `acc <- acc op x`.
pub fn reduce_step(h: &mut Helpers, op: ReduceOp, d: DType, acc: &str, x: &str) -> String {
    use ReduceOp::*;
    let bin = match (d, op) {
        (DType::Bool, And | Min | Prod) => BinaryOp::And,
        (DType::Bool, _) => BinaryOp::Or,
        (_, Sum) => BinaryOp::Add,
        (_, Prod) => BinaryOp::Mul,
        (_, Max) => BinaryOp::Max,
        (_, Min) => BinaryOp::Min,
        (_, And) => BinaryOp::And,
        _ => BinaryOp::Or,
    };
    // Narrow dtypes accumulate wide and round once, at the end.
    binary(h, bin, d.wide(), acc, x)
}

/// Whether `x` beats the best so far `b` for argmax (`max`) or argmin.
pub fn arg_better(h: &mut Helpers, max: bool, d: DType, x: &str, b: &str) -> String {
    match (d.wide(), max) {
        (DType::F32, true) => {
            h.use_("gt_nan_f32");
            format!("gt_nan_f32({x}, {b})")
        }
        (DType::F32, false) => {
            h.use_("lt_nan_f32");
            format!("lt_nan_f32({x}, {b})")
        }
        (_, true) => compare(CmpOp::Gt, d, x, b),
        (_, false) => compare(CmpOp::Lt, d, x, b),
    }
}
