//! The execution model every pallas-rs backend shares.
//!
//! `pallas-ir` says what a kernel is; this crate says how one runs, once
//! for all backends: the [`Executor`] trait and its compile cache, host
//! arrays and `.npy`, the reference semantics of every operation
//! ([`eval`]), and the one [`Fault`] type a misbehaving kernel produces on
//! any backend.

pub mod analysis;
pub mod big_vec;
pub mod eval;
pub mod executor;
pub mod fault;
pub mod host;
pub mod host_out;
pub mod layout;
pub mod options;
pub mod schedule;
pub mod walk;

pub use executor::{
    check_args, check_outs, check_views, copy_outputs, launch_shape, run, CompileCache,
    CompiledKernel, ExecError, Executor, Launch, RunReport,
};
pub use fault::{Fault, FaultKind};
pub use host::{HostArray, HostError, HostView};
pub use host_out::HostOut;
pub use options::Options;
