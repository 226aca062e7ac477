//! Element types and scalar literals.

use std::fmt;
use std::hash::{Hash, Hasher};

/// The element type of a value or a memory ref.
///
/// Exhaustive on purpose: the crates of the workspace version together,
/// and a new dtype must be met by every `match` that decides by dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// 32-bit IEEE float.
    F32,
    /// 32-bit signed integer (two's complement, wrapping arithmetic).
    I32,
    /// 32-bit unsigned integer (wrapping arithmetic).
    U32,
    /// Boolean.
    Bool,
    /// bfloat16: 8 exponent bits, 7 mantissa bits. Arithmetic computes in
    /// `f32` and rounds to nearest even after each operation.
    BF16,
    /// IEEE half precision: 5 exponent bits, 10 mantissa bits; computed
    /// like `bf16`.
    F16,
    /// 8-bit signed integer (wrapping arithmetic).
    I8,
    /// 8-bit unsigned integer (wrapping arithmetic).
    U8,
    /// 16-bit signed integer (wrapping arithmetic).
    I16,
    /// 16-bit unsigned integer (wrapping arithmetic).
    U16,
    /// 8-bit float, 4 exponent bits, 3 mantissa bits, finite (no
    /// infinities; overflow converts to NaN as XLA does). Storage only:
    /// load, store, DMA, cast, bitcast, select.
    F8E4M3FN,
    /// 8-bit float, 5 exponent bits, 2 mantissa bits, with infinities.
    /// Storage only, like `f8e4m3fn`.
    F8E5M2,
}

impl DType {
    /// Every dtype, in a fixed order.
    pub const ALL: [DType; 12] = [
        DType::F32,
        DType::I32,
        DType::U32,
        DType::Bool,
        DType::BF16,
        DType::F16,
        DType::I8,
        DType::U8,
        DType::I16,
        DType::U16,
        DType::F8E4M3FN,
        DType::F8E5M2,
    ];

    /// The name used in the text format (`f32`, `bf16`, `i8`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I32 => "i32",
            DType::U32 => "u32",
            DType::Bool => "bool",
            DType::BF16 => "bf16",
            DType::F16 => "f16",
            DType::I8 => "i8",
            DType::U8 => "u8",
            DType::I16 => "i16",
            DType::U16 => "u16",
            DType::F8E4M3FN => "f8e4m3fn",
            DType::F8E5M2 => "f8e5m2",
        }
    }

    /// Parses a dtype name of the text format.
    pub fn from_name(name: &str) -> Option<DType> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Every dtype name, for messages (`f32, i32, ...`).
    pub fn names() -> String {
        Self::ALL.map(|d| d.name()).join(", ")
    }

    /// Size of one element in bytes, as stored in memory.
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::BF16 | DType::F16 | DType::I16 | DType::U16 => 2,
            DType::Bool | DType::I8 | DType::U8 | DType::F8E4M3FN | DType::F8E5M2 => 1,
        }
    }

    /// Size of one element in bits.
    pub fn bits(self) -> u32 {
        self.size_bytes() as u32 * 8
    }

    /// Whether this is a floating-point type.
    pub fn is_float(self) -> bool {
        matches!(
            self,
            DType::F32 | DType::BF16 | DType::F16 | DType::F8E4M3FN | DType::F8E5M2
        )
    }

    /// Whether this is an 8-bit float (storage only: no arithmetic).
    pub fn is_fp8(self) -> bool {
        matches!(self, DType::F8E4M3FN | DType::F8E5M2)
    }

    /// Whether this is an integer type (signed or unsigned).
    pub fn is_int(self) -> bool {
        matches!(
            self,
            DType::I32 | DType::U32 | DType::I8 | DType::U8 | DType::I16 | DType::U16
        )
    }

    /// Whether this is a signed integer type.
    pub fn is_signed_int(self) -> bool {
        matches!(self, DType::I32 | DType::I8 | DType::I16)
    }

    /// Whether arithmetic (`add`, `mul`, ...) is defined on this type
    /// (every float but fp8, every integer).
    pub fn is_numeric(self) -> bool {
        (self.is_float() && !self.is_fp8()) || self.is_int()
    }

    /// The 32-bit dtype its values are held and computed in: `f32` for
    /// floats, `i32` for signed and `u32` for unsigned integers. A value
    /// of a narrower dtype is always one its dtype can represent.
    pub fn wide(self) -> DType {
        match self {
            DType::F32 | DType::BF16 | DType::F16 | DType::F8E4M3FN | DType::F8E5M2 => DType::F32,
            DType::I32 | DType::I8 | DType::I16 => DType::I32,
            DType::U32 | DType::U8 | DType::U16 => DType::U32,
            DType::Bool => DType::Bool,
        }
    }

    /// Whether values are narrower than their 32-bit holder ([`DType::wide`]).
    pub fn is_narrow(self) -> bool {
        self.wide() != self
    }

    /// The dtype `dot` accumulates and returns in when the kernel names
    /// none (JAX's default `preferred_element_type`): the operands' own.
    pub fn default_accumulator(self) -> DType {
        self
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scalar literal. Floats compare and hash by bit pattern, so that a
/// kernel holding a NaN constant still equals itself after a round trip.
#[derive(Clone, Copy, Debug)]
pub enum Scalar {
    /// An `f32` literal.
    F32(f32),
    /// An `i32` literal.
    I32(i32),
    /// A `u32` literal.
    U32(u32),
    /// A `bool` literal.
    Bool(bool),
    /// A `bf16` literal.
    BF16(half::bf16),
    /// An `f16` literal.
    F16(half::f16),
    /// An `i8` literal.
    I8(i8),
    /// A `u8` literal.
    U8(u8),
    /// An `i16` literal.
    I16(i16),
    /// A `u16` literal.
    U16(u16),
    /// An `f8e4m3fn` literal.
    F8E4M3FN(microfloat::f8e4m3fn),
    /// An `f8e5m2` literal.
    F8E5M2(microfloat::f8e5m2),
}

impl Scalar {
    /// The literal's dtype.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::F32(_) => DType::F32,
            Scalar::I32(_) => DType::I32,
            Scalar::U32(_) => DType::U32,
            Scalar::Bool(_) => DType::Bool,
            Scalar::BF16(_) => DType::BF16,
            Scalar::F16(_) => DType::F16,
            Scalar::I8(_) => DType::I8,
            Scalar::U8(_) => DType::U8,
            Scalar::I16(_) => DType::I16,
            Scalar::U16(_) => DType::U16,
            Scalar::F8E4M3FN(_) => DType::F8E4M3FN,
            Scalar::F8E5M2(_) => DType::F8E5M2,
        }
    }

    /// The literal's raw bit pattern in its own width, zero-extended to 32
    /// bits (bools as 0 or 1).
    pub fn to_bits(self) -> u32 {
        match self {
            Scalar::F32(v) => v.to_bits(),
            Scalar::I32(v) => v as u32,
            Scalar::U32(v) => v,
            Scalar::Bool(v) => v as u32,
            Scalar::BF16(v) => v.to_bits() as u32,
            Scalar::F16(v) => v.to_bits() as u32,
            Scalar::I8(v) => v as u8 as u32,
            Scalar::U8(v) => v as u32,
            Scalar::I16(v) => v as u16 as u32,
            Scalar::U16(v) => v as u32,
            Scalar::F8E4M3FN(v) => v.to_bits() as u32,
            Scalar::F8E5M2(v) => v.to_bits() as u32,
        }
    }

    /// The literal of a dtype with a raw bit pattern (the low bits of
    /// `bits`, as [`Scalar::to_bits`] gives them).
    pub fn from_bits(dtype: DType, bits: u32) -> Scalar {
        match dtype {
            DType::F32 => Scalar::F32(f32::from_bits(bits)),
            DType::I32 => Scalar::I32(bits as i32),
            DType::U32 => Scalar::U32(bits),
            DType::Bool => Scalar::Bool(bits != 0),
            DType::BF16 => Scalar::BF16(half::bf16::from_bits(bits as u16)),
            DType::F16 => Scalar::F16(half::f16::from_bits(bits as u16)),
            DType::I8 => Scalar::I8(bits as u8 as i8),
            DType::U8 => Scalar::U8(bits as u8),
            DType::I16 => Scalar::I16(bits as u16 as i16),
            DType::U16 => Scalar::U16(bits as u16),
            DType::F8E4M3FN => Scalar::F8E4M3FN(microfloat::f8e4m3fn::from_bits(bits as u8)),
            DType::F8E5M2 => Scalar::F8E5M2(microfloat::f8e5m2::from_bits(bits as u8)),
        }
    }

    /// The zero of a dtype.
    pub fn zero(dtype: DType) -> Scalar {
        Scalar::from_bits(dtype, 0)
    }

    /// A float literal's value, exactly, as `f32` (`None` for integers
    /// and bools).
    pub fn as_f32(self) -> Option<f32> {
        Some(match self {
            Scalar::F32(v) => v,
            Scalar::BF16(v) => v.to_f32(),
            Scalar::F16(v) => v.to_f32(),
            Scalar::F8E4M3FN(v) => v.to_f32(),
            Scalar::F8E5M2(v) => v.to_f32(),
            _ => return None,
        })
    }

    /// An integer or bool literal's value, exactly (`None` for floats).
    pub fn as_i64(self) -> Option<i64> {
        Some(match self {
            Scalar::I32(v) => v as i64,
            Scalar::U32(v) => v as i64,
            Scalar::Bool(v) => v as i64,
            Scalar::I8(v) => v as i64,
            Scalar::U8(v) => v as i64,
            Scalar::I16(v) => v as i64,
            Scalar::U16(v) => v as i64,
            _ => return None,
        })
    }

    /// The value as an `f64` (bools as 0 or 1).
    pub fn as_f64(self) -> f64 {
        match (self.as_f32(), self.as_i64()) {
            (Some(f), _) => f as f64,
            (_, Some(i)) => i as f64,
            _ => 0.0,
        }
    }
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.dtype() == other.dtype() && self.to_bits() == other.to_bits()
    }
}
impl Eq for Scalar {}
impl Hash for Scalar {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.dtype().hash(state);
        self.to_bits().hash(state);
    }
}

impl fmt::Display for Scalar {
    /// Prints the literal as the text format writes it: `2.0:f32`,
    /// `-3:i32`, `7:u32`, `0.5:bf16`, `true`; NaN floats keep their bit
    /// pattern in their own width (`nan(0x7fc0):bf16`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.dtype();
        if let Some(v) = self.as_f32() {
            let digits = d.bits() as usize / 4;
            return if v.is_nan() {
                write!(f, "nan(0x{:0digits$x}):{d}", self.to_bits())
            } else if v.is_infinite() {
                write!(f, "{}inf:{d}", if v < 0.0 { "-" } else { "" })
            } else {
                write!(f, "{v:?}:{d}")
            };
        }
        match *self {
            Scalar::Bool(v) => write!(f, "{v}"),
            s => write!(f, "{}:{d}", s.as_i64().unwrap_or(0)),
        }
    }
}

impl From<f32> for Scalar {
    fn from(v: f32) -> Self {
        Scalar::F32(v)
    }
}
impl From<i32> for Scalar {
    fn from(v: i32) -> Self {
        Scalar::I32(v)
    }
}
impl From<u32> for Scalar {
    fn from(v: u32) -> Self {
        Scalar::U32(v)
    }
}
impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}
