//! Fast mode for pallas-rs kernels: compiled, vectorized, rayon over the grid.
//!
//! Skeleton: the crate exists so the workspace has its final shape; the
//! backend itself is built in its own issue and implements
//! [`pallas_ir::exec::Executor`].

/// The backend's name as the run report and the command line spell it.
pub const BACKEND_NAME: &str = "cpu";
