//! The module's exceptions and how backend errors map onto them.
//!
//! Every exception's `args` are `(message, details)`: `details` is a dict of
//! the fault's fields (`kind`, `kernel`, `core`, `grid_point`, `op`,
//! `line`, `column`, `backend`) where the backend reports them, so that the
//! Python side can name the kernel's Python line.

use pallas::exec::ExecError;
use pallas::sim::SimError;
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

/// Finds the last ` at LINE:COL` in a message (the backends' way of naming
/// an operation's place in the `.pk` text).
fn location_in(message: &str) -> Option<(u32, u32)> {
    let mut found = None;
    let mut rest = message;
    while let Some(i) = rest.find(" at ") {
        let after = &rest[i + 4..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == ':'))
            .unwrap_or(after.len());
        if let Some((l, c)) = after[..end].split_once(':') {
            if let (Ok(l), Ok(c)) = (l.parse(), c.parse()) {
                found = Some((l, c));
            }
        }
        rest = after;
    }
    found
}

/// Turns a backend's error into the matching Python exception.
pub fn from_exec(backend: &str, e: ExecError) -> PyErr {
    let message = e.to_string();
    Python::attach(|py| {
        let (details, class) = match &e {
            ExecError::Fault(inner) => match inner.downcast_ref::<SimError>() {
                Some(s) => (
                    Details {
                        kind: Some(variant_name(&format!("{:?}", s.kind))),
                        kernel: Some(s.kernel.clone()),
                        core: Some(s.core),
                        grid_point: s.grid_point.clone(),
                        op: Some(s.op.clone()),
                        line: s.loc.map(|l| l.line),
                        column: s.loc.map(|l| l.col),
                    },
                    Class::Fault,
                ),
                None => (located(&message, "fault"), Class::Fault),
            },
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
            // pallas-cpu and pallas-wgpu report faults as backend errors
            // with the place in the message.
            ExecError::Backend { .. } => {
                if let Some(d) = fault_in_message(&message) {
                    (d, Class::Fault)
                } else {
                    (Details::default(), Class::Backend)
                }
            }
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

/// The details of a fault known only by its message.
fn located(message: &str, kind: &str) -> Details {
    let loc = location_in(message);
    Details {
        kind: Some(kind.into()),
        line: loc.map(|l| l.0),
        column: loc.map(|l| l.1),
        ..Default::default()
    }
}

/// A kernel fault that pallas-cpu or pallas-wgpu reported as a backend
/// error: out-of-bounds indices, block indices out of range, waits that
/// never return. `None` for failures of the backend itself.
fn fault_in_message(message: &str) -> Option<Details> {
    let lower = message.to_lowercase();
    let kinds = [
        ("out of bounds", "out_of_bounds"),
        ("out-of-bounds", "out_of_bounds"),
        ("block index", "block_index_out_of_range"),
        ("never return", "deadlock"),
        ("deadlock", "deadlock"),
    ];
    kinds
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|(_, kind)| located(message, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_locations() {
        assert_eq!(
            variant_name("OutOfBounds { access: \"read\" }"),
            "out_of_bounds"
        );
        assert_eq!(variant_name("Tpu(\"x\")"), "tpu");
        assert_eq!(location_in("load at 12:7: index 9"), Some((12, 7)));
        assert_eq!(location_in("no place"), None);
    }
}
