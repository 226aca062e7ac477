//! Host arrays: one dtype-tagged type over `ndarray::ArrayD`, with `.npy`
//! reading and writing.

use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use half::{bf16, f16};
use microfloat::{f8e4m3fn, f8e5m2};
use pallas_ir::{DType, Scalar};

/// Errors reading, writing or converting host arrays.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The file could not be opened or written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a `.npy` array of a supported dtype.
    #[error("{path}: not a readable .npy array ({reason})")]
    Npy {
        /// File.
        path: String,
        /// Why.
        reason: String,
    },
    /// Writing failed.
    #[error("{path}: cannot write .npy: {reason}")]
    Write {
        /// File.
        path: String,
        /// Why.
        reason: String,
    },
    /// A shape whose element count overflows or data of the wrong length.
    #[error("cannot make an array of shape {shape:?} from {len} elements")]
    Shape {
        /// Shape asked for.
        shape: Vec<usize>,
        /// Elements given.
        len: usize,
    },
}

/// A host array of one of the supported dtypes.
#[derive(Clone, Debug, PartialEq)]
pub enum HostArray {
    /// `f32` data.
    F32(ArrayD<f32>),
    /// `i32` data.
    I32(ArrayD<i32>),
    /// `u32` data.
    U32(ArrayD<u32>),
    /// `bool` data.
    Bool(ArrayD<bool>),
    /// `bf16` data.
    BF16(ArrayD<bf16>),
    /// `f16` data.
    F16(ArrayD<f16>),
    /// `i8` data.
    I8(ArrayD<i8>),
    /// `u8` data.
    U8(ArrayD<u8>),
    /// `i16` data.
    I16(ArrayD<i16>),
    /// `u16` data.
    U16(ArrayD<u16>),
    /// `f8e4m3fn` data.
    F8E4M3FN(ArrayD<f8e4m3fn>),
    /// `f8e5m2` data.
    F8E5M2(ArrayD<f8e5m2>),
}

/// Applies `$body` to the inner array whatever its type, and names the
/// variant's element type `$t` where a body wants it (`each!(x, a: T => ..)`).
macro_rules! each {
    ($self:expr, $a:ident => $body:expr) => {
        match $self {
            HostArray::F32($a) => $body,
            HostArray::I32($a) => $body,
            HostArray::U32($a) => $body,
            HostArray::Bool($a) => $body,
            HostArray::BF16($a) => $body,
            HostArray::F16($a) => $body,
            HostArray::I8($a) => $body,
            HostArray::U8($a) => $body,
            HostArray::I16($a) => $body,
            HostArray::U16($a) => $body,
            HostArray::F8E4M3FN($a) => $body,
            HostArray::F8E5M2($a) => $body,
        }
    };
}

/// An element type of host arrays: its dtype and its bit pattern.
pub trait Element: Copy + 'static {
    /// Its dtype.
    const DTYPE: DType;
    /// The element of a bit pattern (its low bits).
    fn from_bits32(bits: u32) -> Self;
    /// Its bit pattern, zero-extended.
    fn to_bits32(self) -> u32;
}

macro_rules! element {
    ($t:ty, $d:ident, |$b:ident| $from:expr, |$v:ident| $to:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            #[inline]
            fn from_bits32($b: u32) -> Self {
                $from
            }
            #[inline]
            fn to_bits32(self) -> u32 {
                let $v = self;
                $to
            }
        }
    };
}
element!(f32, F32, |b| f32::from_bits(b), |v| v.to_bits());
element!(i32, I32, |b| b as i32, |v| v as u32);
element!(u32, U32, |b| b, |v| v);
element!(bool, Bool, |b| b != 0, |v| v as u32);
element!(bf16, BF16, |b| bf16::from_bits(b as u16), |v| v.to_bits()
    as u32);
element!(f16, F16, |b| f16::from_bits(b as u16), |v| v.to_bits()
    as u32);
element!(i8, I8, |b| b as u8 as i8, |v| v as u8 as u32);
element!(u8, U8, |b| b as u8, |v| v as u32);
element!(i16, I16, |b| b as u16 as i16, |v| v as u16 as u32);
element!(u16, U16, |b| b as u16, |v| v as u32);
element!(
    f8e4m3fn,
    F8E4M3FN,
    |b| f8e4m3fn::from_bits(b as u8),
    |v| v.to_bits() as u32
);
element!(
    f8e5m2,
    F8E5M2,
    |b| f8e5m2::from_bits(b as u8),
    |v| v.to_bits() as u32
);

/// Calls `$body` with `$t` bound to the element type of a dtype.
macro_rules! with_elem {
    ($d:expr, $t:ident => $body:expr) => {
        match $d {
            DType::F32 => {
                type $t = f32;
                $body
            }
            DType::I32 => {
                type $t = i32;
                $body
            }
            DType::U32 => {
                type $t = u32;
                $body
            }
            DType::Bool => {
                type $t = bool;
                $body
            }
            DType::BF16 => {
                type $t = half::bf16;
                $body
            }
            DType::F16 => {
                type $t = half::f16;
                $body
            }
            DType::I8 => {
                type $t = i8;
                $body
            }
            DType::U8 => {
                type $t = u8;
                $body
            }
            DType::I16 => {
                type $t = i16;
                $body
            }
            DType::U16 => {
                type $t = u16;
                $body
            }
            DType::F8E4M3FN => {
                type $t = microfloat::f8e4m3fn;
                $body
            }
            DType::F8E5M2 => {
                type $t = microfloat::f8e5m2;
                $body
            }
        }
    };
}

/// Wraps an array of a known element type.
pub trait IntoHost {
    /// The host array.
    fn into_host(self) -> HostArray;
}

macro_rules! into_host {
    ($($t:ty => $v:ident),*) => {$(
        impl IntoHost for ArrayD<$t> {
            fn into_host(self) -> HostArray {
                HostArray::$v(self)
            }
        }
        impl From<ArrayD<$t>> for HostArray {
            fn from(a: ArrayD<$t>) -> Self {
                HostArray::$v(a)
            }
        }
    )*};
}
into_host!(f32 => F32, i32 => I32, u32 => U32, bool => Bool, bf16 => BF16, f16 => F16,
    i8 => I8, u8 => U8, i16 => I16, u16 => U16, f8e4m3fn => F8E4M3FN, f8e5m2 => F8E5M2);

impl HostArray {
    /// An array filled with one value.
    pub fn full(value: Scalar, shape: &[usize]) -> HostArray {
        let bits = value.to_bits();
        with_elem!(value.dtype(), T => ArrayD::from_elem(IxDyn(shape), T::from_bits32(bits)).into_host())
    }

    /// Device `d`'s shard of an array with a leading device axis
    /// (`array[d]`), or `None` past the axis.
    pub fn shard(&self, d: usize) -> Option<HostArray> {
        if self.shape().first().is_none_or(|&n| d >= n) {
            return None;
        }
        Some(each!(self, a => a.index_axis(ndarray::Axis(0), d).to_owned().into_host()))
    }

    /// Stacks device shards along a new leading device axis; `None` when
    /// there are none or their dtypes or shapes differ.
    pub fn stack(shards: &[HostArray]) -> Option<HostArray> {
        macro_rules! stack_as {
            ($($v:ident),*) => {
                match shards.first()? {
                    $(HostArray::$v(_) => {
                        let views = shards
                            .iter()
                            .map(|s| match s {
                                HostArray::$v(a) => Some(a.view()),
                                _ => None,
                            })
                            .collect::<Option<Vec<_>>>()?;
                        HostArray::$v(ndarray::stack(ndarray::Axis(0), &views).ok()?)
                    })*
                }
            };
        }
        Some(stack_as!(
            F32, I32, U32, Bool, BF16, F16, I8, U8, I16, U16, F8E4M3FN, F8E5M2
        ))
    }

    /// An array of zeros.
    pub fn zeros(dtype: DType, shape: &[usize]) -> HostArray {
        HostArray::full(Scalar::zero(dtype), shape)
    }

    /// Makes an array from raw bit patterns, one per element in its low
    /// bits (bools: non-zero is true), row-major.
    pub fn from_bits(
        dtype: DType,
        shape: &[usize],
        bits: Vec<u32>,
    ) -> Result<HostArray, HostError> {
        let len = bits.len();
        let err = || HostError::Shape {
            shape: shape.to_vec(),
            len,
        };
        with_elem!(dtype, T => {
            let v: Vec<T> = bits.into_iter().map(T::from_bits32).collect();
            Ok(ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|_| err())?.into_host())
        })
    }

    /// The elements as raw bit patterns, zero-extended, row-major (bools
    /// as 0 or 1).
    pub fn to_bits(&self) -> Vec<u32> {
        each!(self, a => a.iter().map(|v| v.to_bits32()).collect())
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        fn d<T: Element>(_: &ArrayD<T>) -> DType {
            T::DTYPE
        }
        each!(self, a => d(a))
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        each!(self, a => a.shape())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        each!(self, a => a.len())
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element at a flat row-major position, as a scalar.
    pub fn get_flat(&self, i: usize) -> Option<Scalar> {
        let d = self.dtype();
        each!(self, a => a.iter().nth(i).map(|v| Scalar::from_bits(d, v.to_bits32())))
    }

    /// The `f32` data, if this is an `f32` array.
    pub fn as_f32(&self) -> Option<&ArrayD<f32>> {
        match self {
            HostArray::F32(a) => Some(a),
            _ => None,
        }
    }

    /// The `i32` data, if this is an `i32` array.
    pub fn as_i32(&self) -> Option<&ArrayD<i32>> {
        match self {
            HostArray::I32(a) => Some(a),
            _ => None,
        }
    }

    /// The `u32` data, if this is a `u32` array.
    pub fn as_u32(&self) -> Option<&ArrayD<u32>> {
        match self {
            HostArray::U32(a) => Some(a),
            _ => None,
        }
    }

    /// The `bool` data, if this is a `bool` array.
    pub fn as_bool(&self) -> Option<&ArrayD<bool>> {
        match self {
            HostArray::Bool(a) => Some(a),
            _ => None,
        }
    }

    /// Reads a `.npy` file (little-endian) of any supported dtype but
    /// `bf16` and the fp8 types, which NumPy saves as opaque `<V2`/`|V1`
    /// values: read those with [`HostArray::read_npy_as`].
    pub fn read_npy(path: impl AsRef<Path>) -> Result<HostArray, HostError> {
        Self::read_npy_file(path.as_ref(), None)
    }

    /// Reads a `.npy` file for a parameter of dtype `declared`: the file's
    /// dtype must be that one (opaque `<V2` is read as `bf16`, `|V1` as
    /// the declared fp8 type); a mismatch names both.
    pub fn read_npy_as(path: impl AsRef<Path>, declared: DType) -> Result<HostArray, HostError> {
        Self::read_npy_file(path.as_ref(), Some(declared))
    }

    fn read_npy_file(path: &Path, declared: Option<DType>) -> Result<HostArray, HostError> {
        let p = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| HostError::Io {
            path: p.clone(),
            source,
        })?;
        let a = match declared {
            Some(d) => Self::read_npy_bytes_as(&bytes, d),
            None => Self::read_npy_bytes(&bytes),
        };
        a.map_err(|reason| HostError::Npy { path: p, reason })
    }

    /// Reads `.npy` data from memory; the error says why it is unreadable.
    pub fn read_npy_bytes(bytes: &[u8]) -> Result<HostArray, String> {
        let mut errors = Vec::new();
        macro_rules! attempt {
            ($t:ty, $variant:ident) => {
                match ArrayD::<$t>::read_npy(bytes) {
                    Ok(a) => return Ok(HostArray::$variant(a)),
                    Err(e) => errors.push(e.to_string()),
                }
            };
        }
        attempt!(f32, F32);
        attempt!(i32, I32);
        attempt!(u32, U32);
        attempt!(bool, Bool);
        // A readable header of another dtype: read it by hand, or name it.
        if let Some(h) = npy::Header::parse(bytes) {
            return match npy::dtype_of(&h.descr, None) {
                Some(d) => npy::read_raw(bytes, &h, d),
                None => Err(format!(
                    "it holds {} (`{}`); {}",
                    npy::describe_descr(&h.descr),
                    h.descr,
                    npy::READABLE
                )),
            };
        }
        // Else the first error is about the header; the others repeat it
        // for each dtype. Keep the most specific one.
        let reason = errors
            .into_iter()
            .find(|e| !e.contains("type"))
            .unwrap_or_else(|| format!("its dtype is not readable; {}", npy::READABLE));
        Err(reason)
    }

    /// [`HostArray::read_npy_bytes`] for a parameter of dtype `declared`.
    pub fn read_npy_bytes_as(bytes: &[u8], declared: DType) -> Result<HostArray, String> {
        let Some(h) = npy::Header::parse(bytes) else {
            return Self::read_npy_bytes(bytes);
        };
        match npy::dtype_of(&h.descr, Some(declared)) {
            Some(d) if d == declared => match declared {
                DType::F32 | DType::I32 | DType::U32 | DType::Bool => Self::read_npy_bytes(bytes),
                _ => npy::read_raw(bytes, &h, d),
            },
            _ => Err(format!(
                "it holds {} (`{}`), and the kernel declares {declared}",
                npy::describe_descr(&h.descr),
                h.descr
            )),
        }
    }

    /// Writes a `.npy` file (`bf16` as `<V2` and fp8 as `|V1`, as NumPy
    /// saves ml_dtypes' types).
    pub fn write_npy(&self, path: impl AsRef<Path>) -> Result<(), HostError> {
        let path = path.as_ref();
        let p = path.display().to_string();
        let file = std::fs::File::create(path).map_err(|source| HostError::Io {
            path: p.clone(),
            source,
        })?;
        let mut w = std::io::BufWriter::new(file);
        let r = match self {
            HostArray::F32(a) => a.write_npy(w).map_err(|e| e.to_string()),
            HostArray::I32(a) => a.write_npy(w).map_err(|e| e.to_string()),
            HostArray::U32(a) => a.write_npy(w).map_err(|e| e.to_string()),
            HostArray::Bool(a) => a.write_npy(w).map_err(|e| e.to_string()),
            other => {
                use std::io::Write;
                let bytes = npy::write_raw(other);
                w.write_all(&bytes)
                    .and_then(|_| w.flush())
                    .map_err(|e| e.to_string())
            }
        };
        r.map_err(|reason| HostError::Write { path: p, reason })
    }
}

/// A borrowed host array: a caller's elements, for launches that read their
/// inputs in place (the Python front end hands NumPy arrays over this way).
#[derive(Clone, Debug)]
pub enum HostView<'a> {
    /// `f32` data.
    F32(ndarray::ArrayViewD<'a, f32>),
    /// `i32` data.
    I32(ndarray::ArrayViewD<'a, i32>),
    /// `u32` data.
    U32(ndarray::ArrayViewD<'a, u32>),
    /// `bool` data.
    Bool(ndarray::ArrayViewD<'a, bool>),
    /// `bf16` data.
    BF16(ndarray::ArrayViewD<'a, bf16>),
    /// `f16` data.
    F16(ndarray::ArrayViewD<'a, f16>),
    /// `i8` data.
    I8(ndarray::ArrayViewD<'a, i8>),
    /// `u8` data.
    U8(ndarray::ArrayViewD<'a, u8>),
    /// `i16` data.
    I16(ndarray::ArrayViewD<'a, i16>),
    /// `u16` data.
    U16(ndarray::ArrayViewD<'a, u16>),
    /// `f8e4m3fn` data.
    F8E4M3FN(ndarray::ArrayViewD<'a, f8e4m3fn>),
    /// `f8e5m2` data.
    F8E5M2(ndarray::ArrayViewD<'a, f8e5m2>),
}

/// Applies `$body` to the inner view whatever its element type.
#[macro_export]
macro_rules! each_view {
    ($self:expr, $a:ident => $body:expr) => {
        match $self {
            $crate::HostView::F32($a) => $body,
            $crate::HostView::I32($a) => $body,
            $crate::HostView::U32($a) => $body,
            $crate::HostView::Bool($a) => $body,
            $crate::HostView::BF16($a) => $body,
            $crate::HostView::F16($a) => $body,
            $crate::HostView::I8($a) => $body,
            $crate::HostView::U8($a) => $body,
            $crate::HostView::I16($a) => $body,
            $crate::HostView::U16($a) => $body,
            $crate::HostView::F8E4M3FN($a) => $body,
            $crate::HostView::F8E5M2($a) => $body,
        }
    };
}

impl HostView<'_> {
    /// The element type.
    pub fn dtype(&self) -> DType {
        fn d<T: Element>(_: &ndarray::ArrayViewD<'_, T>) -> DType {
            T::DTYPE
        }
        each_view!(self, a => d(a))
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        each_view!(self, a => a.shape())
    }

    /// An owned copy.
    pub fn to_owned(&self) -> HostArray {
        each_view!(self, a => a.to_owned().into_host())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        each_view!(self, a => a.len())
    }

    /// Whether the view has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same elements with a shorter borrow (views are invariant in
    /// their lifetime, so this is how a longer one becomes shorter).
    pub fn reborrow(&self) -> HostView<'_> {
        macro_rules! each {
            ($($v:ident),*) => {
                match self {
                    $(HostView::$v(a) => HostView::$v(a.view()),)*
                }
            };
        }
        each!(F32, I32, U32, Bool, BF16, F16, I8, U8, I16, U16, F8E4M3FN, F8E5M2)
    }

    /// Device `d`'s shard of a view with a leading device axis
    /// (`view[d]`, borrowed), or `None` past the axis.
    pub fn shard(&self, d: usize) -> Option<HostView<'_>> {
        if self.shape().first().is_none_or(|&n| d >= n) {
            return None;
        }
        let ax = ndarray::Axis(0);
        macro_rules! each {
            ($($v:ident),*) => {
                match self {
                    $(HostView::$v(a) => HostView::$v(a.index_axis(ax, d)),)*
                }
            };
        }
        Some(each!(
            F32, I32, U32, Bool, BF16, F16, I8, U8, I16, U16, F8E4M3FN, F8E5M2
        ))
    }
}

impl HostArray {
    /// A borrowed view of this array.
    pub fn view(&self) -> HostView<'_> {
        match self {
            HostArray::F32(a) => HostView::F32(a.view()),
            HostArray::I32(a) => HostView::I32(a.view()),
            HostArray::U32(a) => HostView::U32(a.view()),
            HostArray::Bool(a) => HostView::Bool(a.view()),
            HostArray::BF16(a) => HostView::BF16(a.view()),
            HostArray::F16(a) => HostView::F16(a.view()),
            HostArray::I8(a) => HostView::I8(a.view()),
            HostArray::U8(a) => HostView::U8(a.view()),
            HostArray::I16(a) => HostView::I16(a.view()),
            HostArray::U16(a) => HostView::U16(a.view()),
            HostArray::F8E4M3FN(a) => HostView::F8E4M3FN(a.view()),
            HostArray::F8E5M2(a) => HostView::F8E5M2(a.view()),
        }
    }
}

/// `.npy` headers and the dtypes ndarray-npy does not read.
mod npy {
    use super::{Element, HostArray};
    use ndarray::{ArrayD, IxDyn, ShapeBuilder};
    use pallas_ir::DType;

    /// What the reader takes, for messages.
    pub const READABLE: &str = "arrays of f32, i32, u32, bool, float16, int8, uint8, int16, \
        uint16, and (for a parameter that declares bf16 or an fp8 type) 2- or 1-byte \
        opaque values are read";

    /// A parsed `.npy` header.
    pub struct Header {
        /// The dtype's `descr` (`<f2`).
        pub descr: String,
        /// Whether the data is column-major.
        pub fortran: bool,
        /// The shape.
        pub shape: Vec<usize>,
        /// Where the data starts.
        pub data: usize,
    }

    impl Header {
        /// The header, if the bytes start with a readable one.
        pub fn parse(bytes: &[u8]) -> Option<Header> {
            let magic = b"\x93NUMPY";
            if !bytes.starts_with(magic) || bytes.len() < 10 {
                return None;
            }
            let (len, start): (usize, usize) = match bytes[6] {
                1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
                _ if bytes.len() >= 12 => (
                    u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                    12,
                ),
                _ => return None,
            };
            let end = start.checked_add(len)?;
            let header = std::str::from_utf8(bytes.get(start..end)?).ok()?;
            let descr = quoted(field(header, "descr")?)?;
            let fortran = field(header, "fortran_order")?.starts_with("True");
            let shape_text = field(header, "shape")?.strip_prefix('(')?;
            let shape_text = &shape_text[..shape_text.find(')')?];
            let shape = shape_text
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| t.trim_end_matches('L').parse().ok())
                .collect::<Option<Vec<usize>>>()?;
            Some(Header {
                descr,
                fortran,
                shape,
                data: end,
            })
        }
    }

    /// The text after `'key':` in a header dict.
    fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
        let k = format!("'{key}'");
        let rest = &header[header.find(&k)? + k.len()..];
        Some(rest.trim_start().strip_prefix(':')?.trim_start())
    }

    /// A quoted string at the start of `text`.
    fn quoted(text: &str) -> Option<String> {
        let quote = text.chars().next().filter(|&c| c == '\'' || c == '"')?;
        let body = &text[1..];
        Some(body[..body.find(quote)?].to_string())
    }

    /// The dtype a `descr` holds: opaque values take the declared dtype
    /// of their width.
    pub fn dtype_of(descr: &str, declared: Option<DType>) -> Option<DType> {
        let little = !descr.starts_with('>');
        let kind = descr.trim_start_matches(['<', '>', '|', '=']);
        let one_byte = kind.ends_with('1');
        if !little && !one_byte {
            return None;
        }
        Some(match kind {
            "f4" => DType::F32,
            "i4" => DType::I32,
            "u4" => DType::U32,
            "b1" => DType::Bool,
            "f2" => DType::F16,
            "i1" => DType::I8,
            "u1" => DType::U8,
            "i2" => DType::I16,
            "u2" => DType::U16,
            "V2" if declared == Some(DType::BF16) => DType::BF16,
            "V1" if declared.is_some_and(DType::is_fp8) => declared?,
            _ => return None,
        })
    }

    /// Reads the data of a file of dtype `d` (1- or 2-byte elements).
    pub fn read_raw(bytes: &[u8], h: &Header, d: DType) -> Result<HostArray, String> {
        let n = h
            .shape
            .iter()
            .try_fold(1usize, |a, &b| a.checked_mul(b))
            .ok_or("its shape overflows")?;
        let w = d.size_bytes();
        let data = &bytes[h.data..];
        if data.len() != n.checked_mul(w).ok_or("its shape overflows")? {
            return Err(format!(
                "it holds {} bytes of data where shape {:?} of {d} needs {}",
                data.len(),
                h.shape,
                n.saturating_mul(w)
            ));
        }
        let shape = IxDyn(&h.shape);
        fn build<T: Element>(
            data: &[u8],
            w: usize,
            shape: IxDyn,
            fortran: bool,
        ) -> Result<ArrayD<T>, String> {
            let v: Vec<T> = data
                .chunks_exact(w)
                .map(|c| {
                    let mut b = [0u8; 4];
                    b[..w].copy_from_slice(c);
                    T::from_bits32(u32::from_le_bytes(b))
                })
                .collect();
            let a = if fortran {
                ArrayD::from_shape_vec(shape.f(), v).map(|a| a.as_standard_layout().into_owned())
            } else {
                ArrayD::from_shape_vec(shape, v)
            };
            a.map_err(|e| e.to_string())
        }
        use super::IntoHost;
        with_elem!(d, T => build::<T>(data, w, shape, h.fortran).map(IntoHost::into_host))
    }

    /// A whole `.npy` file of a dtype ndarray-npy does not write.
    pub fn write_raw(a: &HostArray) -> Vec<u8> {
        let d = a.dtype();
        let descr = match d {
            DType::BF16 => "<V2",
            DType::F16 => "<f2",
            DType::I8 => "|i1",
            DType::U8 => "|u1",
            DType::I16 => "<i2",
            DType::U16 => "<u2",
            DType::F8E4M3FN | DType::F8E5M2 => "|V1",
            DType::F32 => "<f4",
            DType::I32 => "<i4",
            DType::U32 => "<u4",
            DType::Bool => "|b1",
        };
        let shape = a.shape();
        let shape_text = match shape.len() {
            1 => format!("({},)", shape[0]),
            _ => format!(
                "({})",
                shape
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
        // Magic (6) + version (2) + length (2) + header + newline: a
        // multiple of 64.
        let pad = (64 - (10 + header.len() + 1) % 64) % 64;
        header.push_str(&" ".repeat(pad));
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        let w = d.size_bytes();
        for bits in a.to_bits() {
            out.extend(&bits.to_le_bytes()[..w]);
        }
        out
    }

    /// What NumPy type a `.npy` `descr` is, in words.
    pub fn describe_descr(descr: &str) -> String {
        let kind = descr.trim_start_matches(['<', '>', '|', '=']);
        let name = match kind {
            "f2" => "float16",
            "f4" => "float32",
            "f8" => "float64",
            "i1" => "int8",
            "u1" => "uint8",
            "i2" => "int16",
            "u2" => "uint16",
            "i4" => "int32",
            "u4" => "uint32",
            "i8" => "int64",
            "u8" => "uint64",
            "b1" => "bool",
            "V2" => "2-byte opaque values (how NumPy saves ml_dtypes' bfloat16)",
            "V1" => "1-byte opaque values (how NumPy saves ml_dtypes' float8 types)",
            _ => "",
        };
        if name.is_empty() {
            format!("the NumPy dtype `{descr}`")
        } else if descr.starts_with('>') && !kind.ends_with('1') {
            format!("big-endian {name}")
        } else {
            name.to_string()
        }
    }
}
