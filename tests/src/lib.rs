//! Cross-backend conformance: every corpus kernel, at a small and at the
//! full size, with deterministic inputs and an independent plain-ndarray
//! reference, compared within tolerances stated per case.
//!
//! A backend joins with one line in `tests/conformance.rs`:
//! `conformance_suite!(sim, pallas_sim::Simulator::default());`

pub mod cases;
pub mod compare;
pub mod data;
pub mod loops;
pub mod reference;

pub use cases::{case, case_names, Case, Size};
pub use compare::{compare_outputs, Tolerance};

use pallas_exec::Executor;
use pallas_ir::validate;

/// Runs one corpus case on a backend and compares with the reference.
/// Panics with a message naming the case, output and worst element.
pub fn run_case(exec: &dyn Executor, name: &str, size: Size) {
    let c = case(name, size).unwrap_or_else(|| panic!("no corpus case named {name}"));
    let vk = validate(&c.kernel).unwrap_or_else(|e| panic!("{name}: {e}"));
    let launch = pallas_exec::run(exec, &vk, &c.args)
        .unwrap_or_else(|e| panic!("{name} on {}: {e}", exec.name()));
    if let Err(msg) = compare_outputs(&launch.outputs, &c.expected, c.tolerance) {
        panic!("{name} ({size:?}) on {}: {msg}", exec.name());
    }
}

/// Asserts that a backend refuses a corpus case with `Unsupported` (and
/// does not return data).
pub fn assert_unsupported(exec: &dyn Executor, name: &str) {
    let c = case(name, Size::Small).unwrap_or_else(|| panic!("no corpus case named {name}"));
    let vk = validate(&c.kernel).unwrap_or_else(|e| panic!("{name}: {e}"));
    match pallas_exec::run(exec, &vk, &c.args) {
        Err(pallas_exec::ExecError::Unsupported { what, .. }) => assert!(!what.is_empty()),
        Err(other) => panic!(
            "{name} on {}: expected Unsupported, got {other}",
            exec.name()
        ),
        Ok(_) => panic!(
            "{name} on {}: expected Unsupported, got outputs",
            exec.name()
        ),
    }
}

/// Generates one `#[test]` per corpus case and size for a backend:
/// `conformance_suite!(module_name, backend_expression);`
#[macro_export]
macro_rules! conformance_suite {
    ($module:ident, $backend:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_suite!(@cases $backend;
                seed_grid_512, seed_grid_16384, seed_grid_2097152, vector_add, matmul,
                softmax, layer_norm, rms_norm, cumsum_rows, block_sum, flash_attention,
                gather, double_buffered_copy, histogram);
        }
    };
    ($module:ident, $backend:expr, only [$($case:ident),* $(,)?]) => {
        /// A backend that supports part of the corpus: the listed cases
        /// are compared with the references; every other case must be
        /// refused as `Unsupported`.
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_suite!(@cases $backend; $($case),*);
            #[test]
            fn the_other_cases_are_unsupported() {
                let supported = [$(stringify!($case)),*];
                for name in $crate::case_names() {
                    if !supported.contains(name) {
                        $crate::assert_unsupported(&$backend, name);
                    }
                }
            }
        }
    };
    ($module:ident, $backend:expr, when $cond:expr) => {
        /// A backend that needs something of the machine (a GPU adapter):
        /// each case runs only when `$cond` holds.
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_suite!(@when $backend; $cond;
                seed_grid_512, seed_grid_16384, seed_grid_2097152, vector_add, matmul,
                softmax, layer_norm, rms_norm, cumsum_rows, block_sum, flash_attention,
                gather, double_buffered_copy, histogram);
        }
    };
    (@when $backend:expr; $cond:expr; $($case:ident),*) => {
        mod small {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $case() {
                    if $cond {
                        $crate::run_case(&$backend, stringify!($case), $crate::Size::Small);
                    }
                }
            )*
        }
        mod full {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $case() {
                    if $cond {
                        $crate::run_case(&$backend, stringify!($case), $crate::Size::Full);
                    }
                }
            )*
        }
    };
    (@cases $backend:expr; $($case:ident),*) => {
        mod small {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $case() {
                    $crate::run_case(&$backend, stringify!($case), $crate::Size::Small);
                }
            )*
        }
        mod full {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $case() {
                    $crate::run_case(&$backend, stringify!($case), $crate::Size::Full);
                }
            )*
        }
    };
}
