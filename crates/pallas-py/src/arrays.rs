//! NumPy arrays to and from the IR's host arrays.

use numpy::{
    PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyReadwriteArrayDyn, PyUntypedArrayMethods,
};
use pallas::exec::launch_shape;
use pallas::{DType, HostArray, HostOut, HostView, Kernel, Param};
use pyo3::prelude::*;

use crate::errors::bad_argument;

/// What a launch argument must be: its parameter's name, dtype and shape.
#[derive(Clone)]
pub struct ParamSig {
    /// The parameter's name.
    pub name: String,
    /// Its dtype.
    pub dtype: DType,
    /// Its shape at launch (led by the device axis on a mesh kernel).
    pub shape: Vec<usize>,
}

impl ParamSig {
    /// The signature of a scalar-prefetch or input parameter of `kernel`
    /// (led by the device axis on a multi-device kernel).
    pub fn of(kernel: &Kernel, p: &Param) -> ParamSig {
        ParamSig {
            name: p.name.clone(),
            dtype: p.dtype().unwrap_or(DType::I32),
            shape: launch_shape(kernel, &p.shape),
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
    /// `i8` elements.
    I8(PyReadonlyArrayDyn<'py, i8>),
    /// `u8` elements.
    U8(PyReadonlyArrayDyn<'py, u8>),
    /// `i16` elements.
    I16(PyReadonlyArrayDyn<'py, i16>),
    /// `u16` elements.
    U16(PyReadonlyArrayDyn<'py, u16>),
    /// A float dtype NumPy's C API does not know (bf16, f16, fp8), sent as
    /// raw bits and converted once.
    Bits(HostArray),
}

impl Borrowed<'_> {
    /// The view the backend reads.
    pub fn view(&self) -> HostView<'_> {
        match self {
            Borrowed::F32(a) => HostView::F32(a.as_array()),
            Borrowed::I32(a) => HostView::I32(a.as_array()),
            Borrowed::U32(a) => HostView::U32(a.as_array()),
            Borrowed::Bool(a) => HostView::Bool(a.as_array()),
            Borrowed::I8(a) => HostView::I8(a.as_array()),
            Borrowed::U8(a) => HostView::U8(a.as_array()),
            Borrowed::I16(a) => HostView::I16(a.as_array()),
            Borrowed::U16(a) => HostView::U16(a.as_array()),
            Borrowed::Bits(a) => a.view(),
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
        DType::I8 => take!(i8, I8),
        DType::U8 => take!(u8, U8),
        DType::I16 => take!(i16, I16),
        DType::U16 => take!(u16, U16),
        d @ (DType::BF16 | DType::F16) => {
            let Borrowed::U16(bits) = take!(u16, U16) else {
                unreachable!()
            };
            Borrowed::Bits(from_bits(
                d,
                bits.as_array().iter().map(|&b| b as u32),
                &sig.shape,
            ))
        }
        d @ (DType::F8E4M3FN | DType::F8E5M2) => {
            let Borrowed::U8(bits) = take!(u8, U8) else {
                unreachable!()
            };
            Borrowed::Bits(from_bits(
                d,
                bits.as_array().iter().map(|&b| b as u32),
                &sig.shape,
            ))
        }
    })
}

/// A NumPy array held writable for a launch that writes into it.
pub enum Writable<'py> {
    /// `f32` elements.
    F32(PyReadwriteArrayDyn<'py, f32>),
    /// `i32` elements.
    I32(PyReadwriteArrayDyn<'py, i32>),
    /// `u32` elements.
    U32(PyReadwriteArrayDyn<'py, u32>),
    /// `bool` elements, as bytes.
    Bool(PyReadwriteArrayDyn<'py, bool>),
    /// `i8` elements.
    I8(PyReadwriteArrayDyn<'py, i8>),
    /// `u8` elements.
    U8(PyReadwriteArrayDyn<'py, u8>),
    /// `i16` elements.
    I16(PyReadwriteArrayDyn<'py, i16>),
    /// `u16` elements.
    U16(PyReadwriteArrayDyn<'py, u16>),
}

impl Writable<'_> {
    /// The buffer a launch writes into.
    pub fn out(&mut self) -> PyResult<HostOut<'_>> {
        let not_contiguous = |_| bad_argument("an output array must be C-contiguous".to_string());
        // NumPy's slices accept Fortran order too; the launch writes
        // row-major.
        let c_order = match self {
            Writable::F32(a) => a.is_c_contiguous(),
            Writable::I32(a) => a.is_c_contiguous(),
            Writable::U32(a) => a.is_c_contiguous(),
            Writable::Bool(a) => a.is_c_contiguous(),
            Writable::I8(a) => a.is_c_contiguous(),
            Writable::U8(a) => a.is_c_contiguous(),
            Writable::I16(a) => a.is_c_contiguous(),
            Writable::U16(a) => a.is_c_contiguous(),
        };
        if !c_order {
            return Err(bad_argument(
                "an output array must be C-contiguous".to_string(),
            ));
        }
        Ok(match self {
            Writable::F32(a) => HostOut::F32(a.as_slice_mut().map_err(not_contiguous)?),
            Writable::I32(a) => HostOut::I32(a.as_slice_mut().map_err(not_contiguous)?),
            Writable::U32(a) => HostOut::U32(a.as_slice_mut().map_err(not_contiguous)?),
            Writable::Bool(a) => {
                let s = a.as_slice_mut().map_err(not_contiguous)?;
                // SAFETY: a bool is one byte; the launch writes only 0 or 1.
                HostOut::Bool(unsafe {
                    std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut u8, s.len())
                })
            }
            Writable::I8(a) => HostOut::I8(a.as_slice_mut().map_err(not_contiguous)?),
            Writable::U8(a) => HostOut::U8(a.as_slice_mut().map_err(not_contiguous)?),
            Writable::I16(a) => HostOut::I16(a.as_slice_mut().map_err(not_contiguous)?),
            Writable::U16(a) => HostOut::U16(a.as_slice_mut().map_err(not_contiguous)?),
        })
    }
}

/// Borrows a writable NumPy array for an output of the parameter's dtype
/// and shape; a wrong dtype or shape, or a dtype `launch_into` does not
/// take, is an error naming the parameter.
pub fn borrow_mut<'py>(
    kernel: &str,
    sig: &ParamSig,
    a: &Bound<'py, PyAny>,
) -> PyResult<Writable<'py>> {
    let wrong = |found: String| {
        bad_argument(format!(
            "kernel `{kernel}`: output `{}`: expected a writable {}{:?}, found {found}",
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
                .try_readwrite()
                .map_err(|e| wrong(format!("an array that cannot be written now ({e})")))?;
            Writable::$variant(held)
        }};
    }
    Ok(match sig.dtype {
        DType::F32 => take!(f32, F32),
        DType::I32 => take!(i32, I32),
        DType::U32 => take!(u32, U32),
        DType::Bool => take!(bool, Bool),
        DType::I8 => take!(i8, I8),
        DType::U8 => take!(u8, U8),
        DType::I16 => take!(i16, I16),
        DType::U16 => take!(u16, U16),
        d => {
            return Err(bad_argument(format!(
                "kernel `{kernel}`: output `{}`: launch_into does not take {d} outputs; use launch",
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
        HostArray::I8(x) => PyArrayDyn::from_owned_array(py, x).into_any(),
        HostArray::U8(x) => PyArrayDyn::from_owned_array(py, x).into_any(),
        HostArray::I16(x) => PyArrayDyn::from_owned_array(py, x).into_any(),
        HostArray::U16(x) => PyArrayDyn::from_owned_array(py, x).into_any(),
        // Raw bits: the Python side views them as the dtype.
        HostArray::BF16(x) => PyArrayDyn::from_owned_array(py, x.mapv(|v| v.to_bits())).into_any(),
        HostArray::F16(x) => PyArrayDyn::from_owned_array(py, x.mapv(|v| v.to_bits())).into_any(),
        HostArray::F8E4M3FN(x) => {
            PyArrayDyn::from_owned_array(py, x.mapv(|v| v.to_bits())).into_any()
        }
        HostArray::F8E5M2(x) => {
            PyArrayDyn::from_owned_array(py, x.mapv(|v| v.to_bits())).into_any()
        }
    })
}

/// A host array of dtype `d` from raw bit patterns, row-major.
fn from_bits(d: DType, bits: impl Iterator<Item = u32>, shape: &[usize]) -> HostArray {
    HostArray::from_bits(d, shape, bits.collect()).expect("the shape was checked")
}
