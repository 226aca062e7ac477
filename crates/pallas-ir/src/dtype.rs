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
}

impl DType {
    /// Every dtype, in a fixed order.
    pub const ALL: [DType; 4] = [DType::F32, DType::I32, DType::U32, DType::Bool];

    /// The name used in the text format (`f32`, `i32`, `u32`, `bool`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I32 => "i32",
            DType::U32 => "u32",
            DType::Bool => "bool",
        }
    }

    /// Parses a dtype name of the text format.
    pub fn from_name(name: &str) -> Option<DType> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Size of one element in bytes, as stored in memory.
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::Bool => 1,
        }
    }

    /// Whether this is a floating-point type.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32)
    }

    /// Whether this is an integer type (signed or unsigned).
    pub fn is_int(self) -> bool {
        matches!(self, DType::I32 | DType::U32)
    }

    /// Whether arithmetic (`add`, `mul`, ...) is defined on this type.
    pub fn is_numeric(self) -> bool {
        self.is_float() || self.is_int()
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
}

impl Scalar {
    /// The literal's dtype.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::F32(_) => DType::F32,
            Scalar::I32(_) => DType::I32,
            Scalar::U32(_) => DType::U32,
            Scalar::Bool(_) => DType::Bool,
        }
    }

    /// The literal's raw 32-bit pattern (bools as 0 or 1).
    pub fn to_bits(self) -> u32 {
        match self {
            Scalar::F32(v) => v.to_bits(),
            Scalar::I32(v) => v as u32,
            Scalar::U32(v) => v,
            Scalar::Bool(v) => v as u32,
        }
    }

    /// The zero of a dtype.
    pub fn zero(dtype: DType) -> Scalar {
        match dtype {
            DType::F32 => Scalar::F32(0.0),
            DType::I32 => Scalar::I32(0),
            DType::U32 => Scalar::U32(0),
            DType::Bool => Scalar::Bool(false),
        }
    }

    /// The value as an `f64` (bools as 0 or 1).
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::F32(v) => v as f64,
            Scalar::I32(v) => v as f64,
            Scalar::U32(v) => v as f64,
            Scalar::Bool(v) => v as u8 as f64,
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
    /// `-3:i32`, `7:u32`, `true`; NaN floats keep their bit pattern.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Scalar::F32(v) if v.is_nan() => write!(f, "nan(0x{:08x}):f32", v.to_bits()),
            Scalar::F32(v) if v.is_infinite() => {
                write!(f, "{}inf:f32", if v < 0.0 { "-" } else { "" })
            }
            Scalar::F32(v) => write!(f, "{v:?}:f32"),
            Scalar::I32(v) => write!(f, "{v}:i32"),
            Scalar::U32(v) => write!(f, "{v}:u32"),
            Scalar::Bool(v) => write!(f, "{v}"),
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
