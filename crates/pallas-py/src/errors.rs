//! The module's exceptions and how backend errors map onto them.
//!
//! Every exception's `args` are `(message, details)`: `details` is a dict of
//! the fault's fields (`kind`, `kernel`, `device`, `core`, `grid_point`, `op`,
//! `line`, `column`, `backend`) where the backend reports them, so that the
//! Python side can name the kernel's Python line.

use pallas::exec::{ExecError, Fault as KernelFault};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

pyo3::create_exception!(
    _native,
    Fault,
    PyRuntimeError,
    "The kernel misbehaved: out-of-bounds access, race, deadlock, ..."
);
pyo3::create_exception!(
    _native,
    Unsupported,
    PyRuntimeError,
    "The backend does not support an operation of the kernel."
);
pyo3::create_exception!(
    _native,
    InvalidKernel,
    PyValueError,
    "The kernel text does not parse or validate."
);
pyo3::create_exception!(
    _native,
    BadArgument,
    PyValueError,
    "Launch arguments that do not match the kernel's parameters."
);
pyo3::create_exception!(
    _native,
    BackendFailure,
    PyRuntimeError,
    "The backend itself failed (no device, out of memory, ...)."
);

/// Adds the exception types to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Fault", py.get_type::<Fault>())?;
    m.add("Unsupported", py.get_type::<Unsupported>())?;
    m.add("InvalidKernel", py.get_type::<InvalidKernel>())?;
    m.add("BadArgument", py.get_type::<BadArgument>())?;
    m.add("BackendFailure", py.get_type::<BackendFailure>())?;
    Ok(())
}

/// A `BadArgument` with a message.
pub fn bad_argument(message: String) -> PyErr {
    BadArgument::new_err((message, ()))
}

/// An `InvalidKernel` with a message.
pub fn invalid_kernel(message: String) -> PyErr {
    InvalidKernel::new_err((message, ()))
}

/// A bad option value.
pub fn bad_option(message: String) -> PyErr {
    PyValueError::new_err(message)
}

/// The fields of a fault the Python side reads, owned so that they can be
/// built without the GIL's lifetime.
#[derive(Default)]
struct Details {
    kind: Option<String>,
    kernel: Option<String>,
    device: Option<usize>,
    core: Option<usize>,
    grid_point: Option<Vec<usize>>,
    op: Option<String>,
    line: Option<u32>,
    column: Option<u32>,
}

impl Details {
    fn into_dict<'py>(self, py: Python<'py>, backend: &str) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("backend", backend)?;
        d.set_item("kind", self.kind)?;
        d.set_item("kernel", self.kernel)?;
        d.set_item("device", self.device)?;
        d.set_item("core", self.core)?;
        d.set_item("grid_point", self.grid_point)?;
        d.set_item("op", self.op)?;
        d.set_item("line", self.line)?;
        d.set_item("column", self.column)?;
        Ok(d)
    }
}

/// The name of an enum variant as snake case, from its `Debug` text
/// (`OutOfBounds { .. }` gives `out_of_bounds`).
fn variant_name(debug: &str) -> String {
    let head: String = debug
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let mut out = String::new();
    for (i, c) in head.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Turns a backend's error into the matching Python exception.
pub fn from_exec(backend: &str, e: ExecError) -> PyErr {
    let message = e.to_string();
    Python::attach(|py| {
        let (details, class) = match &e {
            ExecError::Fault(f) => (fault_details(f), Class::Fault),
            ExecError::Unsupported { kernel, what, .. } => (
                Details {
                    kind: Some("unsupported".into()),
                    kernel: Some(kernel.clone()),
                    op: Some(what.clone()),
                    ..Default::default()
                },
                Class::Unsupported,
            ),
            ExecError::BadArgument { kernel, .. } => (
                Details {
                    kind: Some("bad_argument".into()),
                    kernel: Some(kernel.clone()),
                    ..Default::default()
                },
                Class::BadArgument,
            ),
            ExecError::NoDevice { .. } => (
                Details {
                    kind: Some("no_device".into()),
                    ..Default::default()
                },
                Class::Backend,
            ),
            ExecError::Backend { .. } => (Details::default(), Class::Backend),
        };
        let dict = match details.into_dict(py, backend) {
            Ok(d) => d,
            Err(err) => return err,
        };
        let args = (message, dict.unbind());
        match class {
            Class::Fault => Fault::new_err(args),
            Class::Unsupported => Unsupported::new_err(args),
            Class::BadArgument => BadArgument::new_err(args),
            Class::Backend => BackendFailure::new_err(args),
        }
    })
}

/// Which of the module's exceptions an error becomes.
enum Class {
    Fault,
    Unsupported,
    BadArgument,
    Backend,
}

/// The fields of a kernel fault, as every backend reports it.
fn fault_details(f: &KernelFault) -> Details {
    Details {
        kind: Some(variant_name(&format!("{:?}", f.kind))),
        kernel: Some(f.kernel.clone()),
        device: f.device,
        core: f.core,
        grid_point: f.grid_point.clone(),
        op: Some(f.op.clone()),
        line: f.loc.map(|l| l.line),
        column: f.loc.map(|l| l.col),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_are_snake_case() {
        assert_eq!(
            variant_name("OutOfBounds { access: \"read\" }"),
            "out_of_bounds"
        );
        assert_eq!(variant_name("Tpu(\"x\")"), "tpu");
    }
}
