//! NumPy arrays to and from the IR's host arrays.

use numpy::{PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pallas::{DType, HostArray, HostView, Param};
use pyo3::prelude::*;

use crate::errors::bad_argument;

/// What a launch argument must be: its parameter's name, dtype and shape.
pub struct ParamSig {
    name: String,
    dtype: DType,
    shape: Vec<usize>,
}

impl ParamSig {
    /// The signature of a scalar-prefetch or input parameter.
    pub fn of(p: &Param) -> ParamSig {
        ParamSig {
            name: p.name.clone(),
            dtype: p.dtype().unwrap_or(DType::I32),
            shape: p.shape.clone(),
        }
    }
}

/// A NumPy array held read-only for a launch: borrowed in place (the
/// backend reads it without a copy where it can).
pub enum Borrowed<'py> {
    /// `f32` elements.
    F32(PyReadonlyArrayDyn<'py, f32>),
    /// `i32` elements.
    I32(PyReadonlyArrayDyn<'py, i32>),
    /// `u32` elements.
    U32(PyReadonlyArrayDyn<'py, u32>),
    /// `bool` elements.
    Bool(PyReadonlyArrayDyn<'py, bool>),
}

impl Borrowed<'_> {
    /// The view the backend reads.
    pub fn view(&self) -> HostView<'_> {
        match self {
            Borrowed::F32(a) => HostView::F32(a.as_array()),
            Borrowed::I32(a) => HostView::I32(a.as_array()),
            Borrowed::U32(a) => HostView::U32(a.as_array()),
            Borrowed::Bool(a) => HostView::Bool(a.as_array()),
        }
    }
}

/// Borrows a NumPy array of the parameter's dtype and shape; a wrong dtype
/// or shape is an error naming the parameter.
pub fn borrow<'py>(kernel: &str, sig: &ParamSig, a: &Bound<'py, PyAny>) -> PyResult<Borrowed<'py>> {
    let wrong = |found: String| {
        bad_argument(format!(
            "kernel `{kernel}`: argument `{}`: expected {}{:?}, found {found}",
            sig.name, sig.dtype, sig.shape
        ))
    };
    macro_rules! take {
        ($t:ty, $variant:ident) => {{
            let Ok(arr) = a.cast::<PyArrayDyn<$t>>() else {
                return Err(wrong(describe(a)));
            };
            if arr.shape() != sig.shape.as_slice() {
                return Err(wrong(describe(a)));
            }
            let held = arr
                .try_readonly()
                .map_err(|e| wrong(format!("an array that cannot be read now ({e})")))?;
            Borrowed::$variant(held)
        }};
    }
    Ok(match sig.dtype {
        DType::F32 => take!(f32, F32),
        DType::I32 => take!(i32, I32),
        DType::U32 => take!(u32, U32),
        DType::Bool => take!(bool, Bool),
        d => {
            return Err(bad_argument(format!(
                "kernel `{kernel}`: argument `{}`: dtype {d} is not passed from Python yet \
                 (the Rust API, the CLI and `.npy` files take it)",
                sig.name
            )))
        }
    })
}

/// A short description of a Python object for error messages: NumPy's
/// dtype and shape when it is an array.
fn describe(a: &Bound<'_, PyAny>) -> String {
    let dtype = a
        .getattr("dtype")
        .and_then(|d| d.str())
        .map(|s| s.to_string());
    let shape = a
        .getattr("shape")
        .and_then(|s| s.str())
        .map(|s| s.to_string());
    match (dtype, shape) {
        (Ok(d), Ok(s)) => format!("{d}{s}"),
        _ => a
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "an object that is not an array".into()),
    }
}

/// Moves a host array into a new NumPy array.
pub fn to_numpy<'py>(py: Python<'py>, a: HostArray) -> PyResult<Bound<'py, PyAny>> {
    Ok(match a {
        HostArray::F32(x) => PyArrayDyn::from_owned_array(py, x).into_any(),
        HostArray::I32(x) => PyArrayDyn::from_owned_array(py, x).into_any(),
        HostArray::U32(x) => PyArrayDyn::from_owned_array(py, x).into_any(),
        HostArray::Bool(x) => PyArrayDyn::from_owned_array(py, x).into_any(),
        other => {
            return Err(bad_argument(format!(
                "an output of dtype {} is not passed to Python yet",
                other.dtype()
            )))
        }
    })
}
