//! pallas-rs: Pallas-style block kernels in Rust.
//!
//! The facade re-exports the IR (kernels, builder, text format, validator,
//! host arrays, the `Executor` trait). Backends join it as cargo features
//! as they land.

pub use pallas_ir::*;
