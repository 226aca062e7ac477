//! `pallas_rs._native`: the Rust side of the `pallas_rs` Python package.
//!
//! The Python front end lowers a JAX `pallas_call` to `.pk` text once per
//! kernel and shape; this module parses, validates and compiles that text
//! on a backend (`compile`) and launches it on NumPy arrays
//! (`Compiled.launch`), one call per kernel launch with the GIL released
//! while the backend runs. Faults come back as Python exceptions carrying
//! the fault's fields (the `errors` module).

mod arrays;
mod errors;
mod ffi;
mod options;
mod xla_ffi;

use std::sync::{Arc, OnceLock};

use pallas::exec::CompiledKernel;
use pallas::text::parse_and_validate;
use pallas::ParamKind;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A kernel compiled for one backend: launch it many times.
#[pyclass(frozen, module = "pallas_rs._native")]
pub struct Compiled {
    kernel: String,
    backend: String,
    inputs: Vec<arrays::ParamSig>,
    outputs: Vec<arrays::ParamSig>,
    compiled: Arc<dyn CompiledKernel>,
    /// Its id with the XLA FFI handler, once registered.
    ffi_id: OnceLock<u64>,
}

#[pymethods]
impl Compiled {
    /// The kernel's name.
    #[getter]
    fn kernel(&self) -> &str {
        &self.kernel
    }

    /// The backend it was compiled for.
    #[getter]
    fn backend(&self) -> &str {
        &self.backend
    }

    /// Runs the kernel on one array per scalar-prefetch and input parameter
    /// (in parameter order) and returns one array per output. Raises the
    /// module's exceptions on bad arguments and kernel faults.
    fn launch<'py>(
        &self,
        py: Python<'py>,
        args: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        Ok(self.run(py, args)?.0)
    }

    /// Like `launch`, and also the run report: `(outputs, counters,
    /// notes)`, the counters a dict (`grid_points`, `races` where races
    /// were recorded rather than raised, ...) and the notes a list of
    /// strings.
    #[allow(clippy::type_complexity)]
    fn launch_with_report<'py>(
        &self,
        py: Python<'py>,
        args: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<(Vec<Bound<'py, PyAny>>, Bound<'py, PyDict>, Vec<String>)> {
        let (outputs, report) = self.run(py, args)?;
        let counters = PyDict::new(py);
        for (k, v) in &report.counters {
            counters.set_item(k, v)?;
        }
        Ok((outputs, counters, report.notes))
    }

    /// Runs the kernel and writes its outputs into `outs`: writable,
    /// C-contiguous NumPy arrays, one per output, of its dtype and shape
    /// (f32, i32, u32, i8, u8, i16, u16 or bool; other dtypes use
    /// `launch`). Returns nothing; raises as `launch` does.
    fn launch_into<'py>(
        &self,
        py: Python<'py>,
        args: Vec<Bound<'py, PyAny>>,
        outs: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        if args.len() != self.inputs.len() || outs.len() != self.outputs.len() {
            return Err(errors::bad_argument(format!(
                "kernel `{}`: expected {} arrays (scalar prefetch and inputs) and {} outputs, found {} and {}",
                self.kernel,
                self.inputs.len(),
                self.outputs.len(),
                args.len(),
                outs.len()
            )));
        }
        let held = args
            .iter()
            .zip(&self.inputs)
            .map(|(a, sig)| arrays::borrow(&self.kernel, sig, a))
            .collect::<PyResult<Vec<_>>>()?;
        let views: Vec<_> = held.iter().map(arrays::Borrowed::view).collect();
        let mut writable = outs
            .iter()
            .zip(&self.outputs)
            .map(|(o, sig)| arrays::borrow_mut(&self.kernel, sig, o))
            .collect::<PyResult<Vec<_>>>()?;
        let mut bufs = writable
            .iter_mut()
            .map(arrays::Writable::out)
            .collect::<PyResult<Vec<_>>>()?;
        let compiled = &self.compiled;
        py.detach(|| compiled.launch_into(&views, &mut bufs))
            .map_err(|e| errors::from_exec(&self.backend, e))?;
        Ok(())
    }

    /// The launch signature: `(inputs, outputs)`, each a list of
    /// `(name, dtype, shape)` (dtypes as the `.pk` text names them),
    /// inputs being the scalar-prefetch and input parameters in order.
    #[allow(clippy::type_complexity)]
    fn signature(
        &self,
    ) -> (
        Vec<(String, &'static str, Vec<usize>)>,
        Vec<(String, &'static str, Vec<usize>)>,
    ) {
        let list = |sigs: &[arrays::ParamSig]| {
            sigs.iter()
                .map(|s| (s.name.clone(), s.dtype.name(), s.shape.clone()))
                .collect()
        };
        (list(&self.inputs), list(&self.outputs))
    }

    /// The kernel's id with the XLA FFI handler (registered on first
    /// use): the `kernel` attribute of a `jax.ffi.ffi_call` to
    /// `ffi_handler()`'s target.
    fn ffi_id(&self) -> u64 {
        *self.ffi_id.get_or_init(|| {
            ffi::register(ffi::FfiKernel {
                kernel: self.kernel.clone(),
                backend: self.backend.clone(),
                inputs: self.inputs.clone(),
                outputs: self.outputs.clone(),
                compiled: self.compiled.clone(),
            })
        })
    }
}

impl Compiled {
    /// One launch: the outputs as NumPy arrays, and the run report.
    fn run<'py>(
        &self,
        py: Python<'py>,
        args: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<(Vec<Bound<'py, PyAny>>, pallas::exec::RunReport)> {
        if args.len() != self.inputs.len() {
            return Err(errors::bad_argument(format!(
                "kernel `{}`: expected {} arrays (scalar prefetch and inputs), found {}",
                self.kernel,
                self.inputs.len(),
                args.len()
            )));
        }
        // Borrowed, not copied: the backend reads NumPy's memory in place
        // where it can, with the GIL released.
        let held = args
            .iter()
            .zip(&self.inputs)
            .map(|(a, sig)| arrays::borrow(&self.kernel, sig, a))
            .collect::<PyResult<Vec<_>>>()?;
        let views: Vec<_> = held.iter().map(arrays::Borrowed::view).collect();
        let compiled = &self.compiled;
        let launched = py.detach(|| compiled.launch_views(&views));
        let launch = launched.map_err(|e| errors::from_exec(&self.backend, e))?;
        let outputs = launch
            .outputs
            .into_iter()
            .map(|a| arrays::to_numpy(py, a))
            .collect::<PyResult<Vec<_>>>()?;
        Ok((outputs, launch.report))
    }
}

/// Parses, validates and compiles `.pk` text on `backend` (`sim`, `cpu` or
/// `wgpu`) with the given options (see the Python `pallas_rs.interpret`).
#[pyfunction]
#[pyo3(signature = (text, backend, options=None))]
fn compile(
    py: Python<'_>,
    text: &str,
    backend: &str,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Compiled> {
    let vk = parse_and_validate(text).map_err(|e| errors::invalid_kernel(e.to_string()))?;
    let executor = options::executor(backend, options)?;
    let kernel = vk.kernel().name.clone();
    let inputs = vk
        .kernel()
        .params
        .iter()
        .filter(|p| matches!(p.kind, ParamKind::ScalarPrefetch | ParamKind::Input))
        .map(|p| arrays::ParamSig::of(vk.kernel(), p))
        .collect();
    let outputs = vk
        .kernel()
        .params
        .iter()
        .filter(|p| matches!(p.kind, ParamKind::Output))
        .map(|p| arrays::ParamSig::of(vk.kernel(), p))
        .collect();
    let compiled = py
        .detach(|| executor.compile(&vk))
        .map_err(|e| errors::from_exec(backend, e))?;
    Ok(Compiled {
        kernel,
        backend: backend.to_string(),
        inputs,
        outputs,
        compiled,
        ffi_id: OnceLock::new(),
    })
}

/// The XLA FFI handler as a `PyCapsule`, for
/// `jax.ffi.register_ffi_target(name, capsule, platform="cpu")`. It
/// reports FFI API version `major.minor` to XLA (the running jaxlib's,
/// which XLA requires).
#[pyfunction]
fn ffi_handler(py: Python<'_>, major: i32, minor: i32) -> PyResult<Bound<'_, PyAny>> {
    ffi::set_api_version(major, minor);
    // SAFETY: a capsule around a function pointer, without a name or a
    // destructor, as XLA's registration expects.
    unsafe {
        let raw = pyo3::ffi::PyCapsule_New(ffi::handler_address(), std::ptr::null(), None);
        Bound::from_owned_ptr_or_err(py, raw)
    }
}

/// Launches the FFI handler has made since the process started.
#[pyfunction]
fn ffi_launches() -> u64 {
    ffi::launches()
}

/// Takes back the fault behind an error XLA raised from the FFI handler,
/// found by its message in `text`: `(kernel id, exception)`, the
/// exception as `Compiled.launch` would have raised it; `None` when no
/// recent fault matches.
#[pyfunction]
fn ffi_take_fault(py: Python<'_>, text: &str) -> Option<(u64, Py<PyAny>)> {
    let fault = ffi::take_fault(text)?;
    let err = errors::from_exec(&fault.backend, fault.error);
    Some((fault.id, err.into_value(py).into_any()))
}

/// Checks `.pk` text: `None` when valid, else the parse or validation
/// errors as text.
#[pyfunction]
fn check(text: &str) -> Option<String> {
    parse_and_validate(text).err().map(|e| e.to_string())
}

/// The backends compiled into this module.
#[pyfunction]
fn backends() -> Vec<&'static str> {
    pallas::backends()
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Compiled>()?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(backends, m)?)?;
    m.add_function(wrap_pyfunction!(ffi_handler, m)?)?;
    m.add_function(wrap_pyfunction!(ffi_launches, m)?)?;
    m.add_function(wrap_pyfunction!(ffi_take_fault, m)?)?;
    errors::register(m)?;
    Ok(())
}
