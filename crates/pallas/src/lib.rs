//! pallas-rs: Pallas-style block kernels in Rust.
//!
//! The facade re-exports the IR (kernels, builder, text format,
//! validator), the shared execution layer (host arrays, the `Executor`
//! trait, faults) and each backend under a cargo feature: `sim` (the
//! simulator), `cpu` (the fast mode), `wgpu` (the GPU); all three by
//! default.

pub use pallas_exec as exec;
pub use pallas_exec::{
    eval, host, CompileCache, CompiledKernel, ExecError, Executor, HostArray, HostError, HostOut,
    HostView, Launch, RunReport,
};
pub use pallas_ir::*;

/// The backends compiled into this build, by name.
pub fn backends() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "sim") {
        v.push("sim");
    }
    if cfg!(feature = "cpu") {
        v.push("cpu");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    v
}

/// The simulator backend (feature `sim`).
#[cfg(feature = "sim")]
pub use pallas_sim as sim;

/// The fast-mode backend (feature `cpu`).
#[cfg(feature = "cpu")]
pub use pallas_cpu as cpu;

/// The GPU backend (feature `wgpu`).
#[cfg(feature = "wgpu")]
pub use pallas_wgpu as wgpu;

/// A backend by name, with default settings; `None` if it was not compiled
/// in.
pub fn backend(name: &str) -> Option<Box<dyn exec::Executor>> {
    backend_with(name, &exec::Options::default())
}

/// A backend by name, made from the one options value; `None` if it was
/// not compiled in. The simulator honours every option; the fast mode and
/// the GPU run without the checks ([`exec::Options::simulator_only`]
/// names the ones set).
pub fn backend_with(name: &str, options: &exec::Options) -> Option<Box<dyn exec::Executor>> {
    let _ = options;
    match name {
        #[cfg(feature = "sim")]
        "sim" => Some(Box::new(pallas_sim::Simulator::new(options.clone()))),
        #[cfg(feature = "cpu")]
        "cpu" => Some(Box::new(pallas_cpu::Cpu::default())),
        #[cfg(feature = "wgpu")]
        "wgpu" => Some(Box::new(pallas_wgpu::Wgpu::default())),
        _ => None,
    }
}
