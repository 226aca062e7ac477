//! The narrow dtypes (`bf16`, `f16`, fp8, 8- and 16-bit integers), written
//! once for every backend that computes by the reference semantics.
//!
//! A narrow value is held in its 32-bit dtype ([`DType::wide`]): floats as
//! `f32`, signed integers sign-extended in `i32`, unsigned ones
//! zero-extended in `u32`, and it is always a value its dtype can
//! represent. An operation computes on the wide values and then rounds
//! (floats: to nearest even) or wraps (integers) once to the result dtype:
//! `bf16` and `f16` arithmetic computes in `f32` and rounds after each
//! operation, as XLA does. For `+ - * /` and `sqrt`, `f32` carries more
//! than twice the bits of either, so the double rounding is exact.

use half::{bf16, f16};
use microfloat::{f8e4m3fn, f8e5m2};
use pallas_ir::{BinaryOp, DType, Scalar, UnaryOp};

use super::Data;

/// The bf16 nearest to `v` (ties to even), as `f32`, without branches on
/// the value but one: NaN keeps its sign and top payload bits and becomes
/// quiet, as `half::bf16::from_f32` converts (the tests hold the two
/// equal).
#[inline(always)]
pub fn round_bf16(v: f32) -> f32 {
    let b = v.to_bits();
    let r = if b & 0x7fff_ffff > 0x7f80_0000 {
        (b | 0x0040_0000) & 0xffff_0000
    } else {
        b.wrapping_add(0x7fff + ((b >> 16) & 1)) & 0xffff_0000
    };
    f32::from_bits(r)
}

/// A float of dtype `d` nearest to `v` (ties to even), as `f32`; `f32`
/// and non-float dtypes leave `v` as it is.
#[inline]
pub fn round_f32(d: DType, v: f32) -> f32 {
    match d {
        DType::BF16 => round_bf16(v),
        DType::F16 => f16::from_f32(v).to_f32(),
        DType::F8E4M3FN => f8e4m3fn::from_f32(v).to_f32(),
        DType::F8E5M2 => f8e5m2::from_f32(v).to_f32(),
        _ => v,
    }
}

/// A signed integer wrapped to dtype `d`'s width, sign-extended.
#[inline]
pub fn wrap_i32(d: DType, v: i32) -> i32 {
    match d {
        DType::I8 => v as i8 as i32,
        DType::I16 => v as i16 as i32,
        _ => v,
    }
}

/// An unsigned integer wrapped to dtype `d`'s width.
#[inline]
pub fn wrap_u32(d: DType, v: u32) -> u32 {
    match d {
        DType::U8 => v as u8 as u32,
        DType::U16 => v as u16 as u32,
        _ => v,
    }
}

/// Rounds or wraps wide values in place to dtype `d` (nothing for the
/// 32-bit dtypes and bool).
pub fn narrow(d: DType, data: &mut Data) {
    if !d.is_narrow() {
        return;
    }
    match data {
        Data::F32(v) => match d {
            DType::BF16 => {
                for x in v.iter_mut() {
                    *x = round_bf16(*x);
                }
            }
            DType::F16 => {
                // Through half's slice conversions (F16C where the CPU has
                // it), a stack chunk at a time.
                use half::slice::HalfFloatSliceExt;
                let mut tmp = [f16::ZERO; 256];
                for chunk in v.chunks_mut(256) {
                    let t = &mut tmp[..chunk.len()];
                    t.convert_from_f32_slice(chunk);
                    t.convert_to_f32_slice(chunk);
                }
            }
            _ => {
                for x in v.iter_mut() {
                    *x = round_f32(d, *x);
                }
            }
        },
        Data::I32(v) => {
            for x in v.iter_mut() {
                *x = wrap_i32(d, *x);
            }
        }
        Data::U32(v) => {
            for x in v.iter_mut() {
                *x = wrap_u32(d, *x);
            }
        }
        Data::Bool(_) => {}
    }
}

/// The wide literal holding a scalar's value (itself for 32-bit dtypes).
pub fn widen(s: Scalar) -> Scalar {
    let d = s.dtype();
    match (s.as_f32(), s.as_i64()) {
        (Some(v), _) if d != DType::F32 => Scalar::F32(v),
        (_, Some(v)) if d.is_narrow() && d.is_signed_int() => Scalar::I32(v as i32),
        (_, Some(v)) if d.is_narrow() => Scalar::U32(v as u32),
        _ => s,
    }
}

/// Each element's bit pattern in dtype `d` (zero-extended), from wide
/// values of that dtype.
pub fn to_bits(d: DType, data: &Data) -> Vec<u32> {
    match data {
        Data::F32(v) => match d {
            DType::BF16 => v
                .iter()
                .map(|&x| bf16::from_f32(x).to_bits() as u32)
                .collect(),
            DType::F16 => v
                .iter()
                .map(|&x| f16::from_f32(x).to_bits() as u32)
                .collect(),
            DType::F8E4M3FN => v
                .iter()
                .map(|&x| f8e4m3fn::from_f32(x).to_bits() as u32)
                .collect(),
            DType::F8E5M2 => v
                .iter()
                .map(|&x| f8e5m2::from_f32(x).to_bits() as u32)
                .collect(),
            _ => v.iter().map(|x| x.to_bits()).collect(),
        },
        Data::I32(v) => {
            let mask = mask(d);
            v.iter().map(|&x| x as u32 & mask).collect()
        }
        Data::U32(v) => v.clone(),
        Data::Bool(v) => v.iter().map(|&b| b as u32).collect(),
    }
}

/// Wide values of dtype `d` from its bit patterns (the low bits of each).
pub fn from_bits(d: DType, bits: impl Iterator<Item = u32>) -> Data {
    match d {
        DType::F32 => Data::F32(bits.map(f32::from_bits).collect()),
        DType::BF16 => Data::F32(bits.map(|b| bf16::from_bits(b as u16).to_f32()).collect()),
        DType::F16 => Data::F32(bits.map(|b| f16::from_bits(b as u16).to_f32()).collect()),
        DType::F8E4M3FN => Data::F32(
            bits.map(|b| f8e4m3fn::from_bits(b as u8).to_f32())
                .collect(),
        ),
        DType::F8E5M2 => Data::F32(bits.map(|b| f8e5m2::from_bits(b as u8).to_f32()).collect()),
        DType::I32 | DType::I8 | DType::I16 => {
            let shift = 32 - d.bits();
            Data::I32(bits.map(|b| ((b << shift) as i32) >> shift).collect())
        }
        DType::U32 | DType::U8 | DType::U16 => {
            let mask = mask(d);
            Data::U32(bits.map(|b| b & mask).collect())
        }
        DType::Bool => Data::Bool(bits.map(|b| b != 0).collect()),
    }
}

/// The low `d.bits()` bits.
fn mask(d: DType) -> u32 {
    match d.bits() {
        32 => u32::MAX,
        w => (1u32 << w) - 1,
    }
}

/// Converts values of dtype `from` to dtype `to` by XLA's rules: float to
/// integer truncates toward zero and saturates at the target's range, NaN
/// gives 0; integer to narrower integer wraps; to a narrower float rounds
/// to nearest even (to `f8e4m3fn`, a value past its largest finite one
/// is NaN, as XLA and ml_dtypes convert); to bool is `!= 0`; from bool is
/// 0 or 1. Integers convert to a narrow float through `f32`.
pub fn cast(x: &Data, to: DType) -> Data {
    let mut out = match (x, to) {
        // Float to a narrow integer saturates at the narrow range.
        (Data::F32(v), DType::I8) => Data::I32(v.iter().map(|&e| e as i8 as i32).collect()),
        (Data::F32(v), DType::I16) => Data::I32(v.iter().map(|&e| e as i16 as i32).collect()),
        (Data::F32(v), DType::U8) => Data::U32(v.iter().map(|&e| e as u8 as u32).collect()),
        (Data::F32(v), DType::U16) => Data::U32(v.iter().map(|&e| e as u16 as u32).collect()),
        _ => super::cast(x, to.wide()),
    };
    narrow(to, &mut out);
    out
}

/// Reinterprets bit patterns between dtypes of one width.
pub fn bitcast(x: &Data, from: DType, to: DType) -> Data {
    from_bits(to, to_bits(from, x).into_iter())
}

/// Whether a unary op on a narrow integer needs its operand's own bits
/// (zero-extended) rather than the wide value.
fn needs_own_bits(op: UnaryOp) -> bool {
    matches!(op, UnaryOp::PopulationCount | UnaryOp::Clz)
}

/// A unary op on values of dtype `d`, rounded or wrapped to `d`.
pub fn unary(op: UnaryOp, d: DType, x: &Data, out: &mut Data) {
    if d.is_narrow() && d.is_int() && needs_own_bits(op) {
        let own = Data::U32(to_bits(d, x));
        let mut r = Data::U32(Vec::new());
        super::unary(op, &own, &mut r);
        if let Data::U32(v) = &mut r {
            if op == UnaryOp::Clz {
                for c in v.iter_mut() {
                    *c -= 32 - d.bits();
                }
            }
        }
        *out = from_bits(d, to_bits(DType::U32, &r).into_iter());
        return;
    }
    super::unary(op, x, out);
    narrow(d, out);
}

/// A binary op on values of dtype `d`, rounded or wrapped to `d`. Shifts
/// right see the operand's own bits: a logical shift of a narrow signed
/// value shifts in zeros at its width, an arithmetic one of a narrow
/// unsigned value copies its top bit.
pub fn binary(op: BinaryOp, d: DType, a: &Data, b: &Data, out: &mut Data) {
    if d.is_narrow() && d.is_int() && matches!(op, BinaryOp::ShrLogical | BinaryOp::ShrArith) {
        let own = if op == BinaryOp::ShrLogical {
            Data::U32(to_bits(d, a))
        } else {
            // Sign-extended from the dtype's width.
            let shift = 32 - d.bits();
            Data::U32(
                to_bits(d, a)
                    .into_iter()
                    .map(|v| (((v << shift) as i32) >> shift) as u32)
                    .collect(),
            )
        };
        let amount = Data::U32(to_bits(DType::U32, &super::cast(b, DType::U32)));
        let mut r = Data::U32(Vec::new());
        super::binary(op, &own, &amount, &mut r);
        *out = from_bits(d, to_bits(DType::U32, &r).into_iter());
        return;
    }
    super::binary(op, a, b, out);
    narrow(d, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_branchless_bf16_rounding_is_halfs() {
        // Every exponent with assorted mantissas, the halfway cases, NaNs
        // of both signs and payloads, infinities, the largest finites.
        let mut bits: Vec<u32> = Vec::new();
        for e in 0..=255u32 {
            for m in [
                0u32, 1, 0x7fff, 0x8000, 0x8001, 0x1_8000, 0x7f_ffff, 0x40_0000, 0x12_3456,
            ] {
                bits.push((e << 23) | m);
                bits.push(0x8000_0000 | (e << 23) | m);
            }
        }
        let mut x = 0x9e37_79b9u32;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            bits.push(x);
        }
        for b in bits {
            let v = f32::from_bits(b);
            let want = bf16::from_f32(v).to_f32().to_bits();
            assert_eq!(round_bf16(v).to_bits(), want, "{b:#010x}");
        }
    }

    #[test]
    fn f16_narrowing_by_slices_is_halfs_one_by_one() {
        let v: Vec<f32> = (0..1000u32)
            .map(|i| f32::from_bits(i.wrapping_mul(0x9e37_79b9)))
            .chain([65504.0, 65520.0, 1e-8, f32::INFINITY, f32::NAN])
            .collect();
        let mut d = Data::F32(v.clone());
        narrow(DType::F16, &mut d);
        let Data::F32(got) = d else { unreachable!() };
        for (a, g) in v.iter().zip(&got) {
            assert_eq!(g.to_bits(), f16::from_f32(*a).to_f32().to_bits(), "{a}");
        }
    }
}
