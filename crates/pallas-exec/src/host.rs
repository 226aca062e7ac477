//! Host arrays: one dtype-tagged type over `ndarray::ArrayD`, with `.npy`
//! reading and writing.

use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

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
    #[error("{path}: not a readable .npy array of f32, i32, u32 or bool ({reason})")]
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
}

macro_rules! each {
    ($self:expr, $a:ident => $body:expr) => {
        match $self {
            HostArray::F32($a) => $body,
            HostArray::I32($a) => $body,
            HostArray::U32($a) => $body,
            HostArray::Bool($a) => $body,
        }
    };
}

impl HostArray {
    /// An array filled with one value.
    pub fn full(value: Scalar, shape: &[usize]) -> HostArray {
        let s = IxDyn(shape);
        match value {
            Scalar::F32(v) => HostArray::F32(ArrayD::from_elem(s, v)),
            Scalar::I32(v) => HostArray::I32(ArrayD::from_elem(s, v)),
            Scalar::U32(v) => HostArray::U32(ArrayD::from_elem(s, v)),
            Scalar::Bool(v) => HostArray::Bool(ArrayD::from_elem(s, v)),
        }
    }

    /// An array of zeros.
    pub fn zeros(dtype: DType, shape: &[usize]) -> HostArray {
        HostArray::full(Scalar::zero(dtype), shape)
    }

    /// Makes an array from raw 32-bit patterns (bools: non-zero is true),
    /// row-major.
    pub fn from_bits(
        dtype: DType,
        shape: &[usize],
        bits: Vec<u32>,
    ) -> Result<HostArray, HostError> {
        let err = |len| HostError::Shape {
            shape: shape.to_vec(),
            len,
        };
        let len = bits.len();
        let s = IxDyn(shape);
        Ok(match dtype {
            DType::F32 => HostArray::F32(
                ArrayD::from_shape_vec(s, bits.into_iter().map(f32::from_bits).collect())
                    .map_err(|_| err(len))?,
            ),
            DType::I32 => HostArray::I32(
                ArrayD::from_shape_vec(s, bits.into_iter().map(|b| b as i32).collect())
                    .map_err(|_| err(len))?,
            ),
            DType::U32 => HostArray::U32(ArrayD::from_shape_vec(s, bits).map_err(|_| err(len))?),
            DType::Bool => HostArray::Bool(
                ArrayD::from_shape_vec(s, bits.into_iter().map(|b| b != 0).collect())
                    .map_err(|_| err(len))?,
            ),
        })
    }

    /// The elements as raw 32-bit patterns, row-major (bools as 0 or 1).
    pub fn to_bits(&self) -> Vec<u32> {
        match self {
            HostArray::F32(a) => a.iter().map(|v| v.to_bits()).collect(),
            HostArray::I32(a) => a.iter().map(|&v| v as u32).collect(),
            HostArray::U32(a) => a.iter().copied().collect(),
            HostArray::Bool(a) => a.iter().map(|&v| v as u32).collect(),
        }
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        match self {
            HostArray::F32(_) => DType::F32,
            HostArray::I32(_) => DType::I32,
            HostArray::U32(_) => DType::U32,
            HostArray::Bool(_) => DType::Bool,
        }
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
        match self {
            HostArray::F32(a) => a.iter().nth(i).map(|&v| Scalar::F32(v)),
            HostArray::I32(a) => a.iter().nth(i).map(|&v| Scalar::I32(v)),
            HostArray::U32(a) => a.iter().nth(i).map(|&v| Scalar::U32(v)),
            HostArray::Bool(a) => a.iter().nth(i).map(|&v| Scalar::Bool(v)),
        }
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

    /// Reads a `.npy` file of f32, i32, u32 or bool (little-endian).
    pub fn read_npy(path: impl AsRef<Path>) -> Result<HostArray, HostError> {
        let path = path.as_ref();
        let p = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| HostError::Io {
            path: p.clone(),
            source,
        })?;
        Self::read_npy_bytes(&bytes).map_err(|reason| HostError::Npy { path: p, reason })
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
        // A readable header with another dtype: name the file's dtype.
        if let Some(descr) = npy_descr(bytes) {
            return Err(format!(
                "it holds {} (`{descr}`); arrays of f32, i32, u32 or bool are read",
                describe_descr(&descr)
            ));
        }
        // Else the first error is about the header; the others repeat it
        // for each dtype. Keep the most specific one.
        let reason = errors
            .into_iter()
            .find(|e| !e.contains("type"))
            .unwrap_or_else(|| "its dtype is not one of f32, i32, u32, bool".into());
        Err(reason)
    }

    /// Writes a `.npy` file.
    pub fn write_npy(&self, path: impl AsRef<Path>) -> Result<(), HostError> {
        let path = path.as_ref();
        let p = path.display().to_string();
        let file = std::fs::File::create(path).map_err(|source| HostError::Io {
            path: p.clone(),
            source,
        })?;
        let w = std::io::BufWriter::new(file);
        let r = each!(self, a => a.write_npy(w).map_err(|e| e.to_string()));
        r.map_err(|reason| HostError::Write { path: p, reason })
    }
}

impl From<ArrayD<f32>> for HostArray {
    fn from(a: ArrayD<f32>) -> Self {
        HostArray::F32(a)
    }
}
impl From<ArrayD<i32>> for HostArray {
    fn from(a: ArrayD<i32>) -> Self {
        HostArray::I32(a)
    }
}
impl From<ArrayD<u32>> for HostArray {
    fn from(a: ArrayD<u32>) -> Self {
        HostArray::U32(a)
    }
}
impl From<ArrayD<bool>> for HostArray {
    fn from(a: ArrayD<bool>) -> Self {
        HostArray::Bool(a)
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
}

impl HostView<'_> {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            HostView::F32(_) => DType::F32,
            HostView::I32(_) => DType::I32,
            HostView::U32(_) => DType::U32,
            HostView::Bool(_) => DType::Bool,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            HostView::F32(a) => a.shape(),
            HostView::I32(a) => a.shape(),
            HostView::U32(a) => a.shape(),
            HostView::Bool(a) => a.shape(),
        }
    }

    /// An owned copy.
    pub fn to_owned(&self) -> HostArray {
        match self {
            HostView::F32(a) => HostArray::F32(a.to_owned()),
            HostView::I32(a) => HostArray::I32(a.to_owned()),
            HostView::U32(a) => HostArray::U32(a.to_owned()),
            HostView::Bool(a) => HostArray::Bool(a.to_owned()),
        }
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
        }
    }
}

/// The `descr` of a `.npy` header (`<f4`, `|i1`, `<V2`), if the bytes
/// start with a readable one.
fn npy_descr(bytes: &[u8]) -> Option<String> {
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
    let header = std::str::from_utf8(bytes.get(start..start.checked_add(len)?)?).ok()?;
    let rest = &header[header.find("'descr'")? + "'descr'".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let quote = rest.chars().next().filter(|&c| c == '\'' || c == '"')?;
    let body = &rest[1..];
    Some(body[..body.find(quote)?].to_string())
}

/// What NumPy type a `.npy` `descr` is, in words.
fn describe_descr(descr: &str) -> String {
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
    } else if descr.starts_with('>') {
        format!("big-endian {name}")
    } else {
        name.to_string()
    }
}
