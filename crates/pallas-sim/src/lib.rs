//! Faithful simulator of the TPU memory hierarchy for pallas-rs kernels.
//!
//! Skeleton: the crate exists so the workspace has its final shape; the
//! backend itself is built in its own issue and implements
//! [`pallas_ir::exec::Executor`].

/// The backend's name as the run report and the command line spell it.
pub const BACKEND_NAME: &str = "sim";
