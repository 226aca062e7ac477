//! pallas-wgpu: kernels translated to WGSL and run by wgpu, the whole grid
//! in one `dispatch_workgroups` call.
//!
//! [`wgsl`] turns a validated kernel into one compute module (elementwise
//! kernels coarsened to one invocation per element; every other kernel as
//! one workgroup per parallel grid point with the arbitrary dimensions
//! looped inside the shader); [`runtime`] validates the module with naga,
//! builds the pipeline once, keeps its buffers across launches and reads
//! the outputs back. Where there is no GPU, Mesa's software Vulkan driver
//! (lavapipe) runs it. `WGPU_BACKEND` picks the wgpu backend.
//!
//! The run report counts `dispatches` (always 1), `grid_points`,
//! `workgroups` and, when the adapter has timestamp queries,
//! `device_ns`.

pub mod disk_cache;
pub mod runtime;
pub mod wgsl;

use std::sync::Arc;

use pallas_exec::{
    check_outs, check_views, CompileCache, CompiledKernel, ExecError, Executor, Launch, RunReport,
};
use pallas_exec::{HostArray, HostOut, HostView};
use pallas_ir::{DType, ParamKind, ValidatedKernel};
use wgsl::ShaderFault;

pub use runtime::{validate_wgsl, Gpu};
pub use wgsl::{generate, Limits, Plan, Shader};

/// The backend's name as the run report and the command line spell it.
pub const BACKEND_NAME: &str = "wgpu";

/// The wgpu backend, with a compile cache. Creating it opens no device;
/// the first compile does (once per process).
#[derive(Default)]
pub struct Wgpu {
    cache: CompileCache,
}

impl Wgpu {
    /// The WGSL the backend would run for a kernel, for the device limits
    /// (or the WebGPU defaults when there is no device).
    pub fn wgsl(kernel: &ValidatedKernel) -> Result<String, ExecError> {
        let limits = match Gpu::shared() {
            Ok(g) => g.gen_limits(),
            Err(_) => Limits::default(),
        };
        generate(kernel, &limits)
            .map(|s| s.source)
            .map_err(|e| gen_error(kernel, e))
    }
}

fn gen_error(vk: &ValidatedKernel, e: wgsl::GenError) -> ExecError {
    match e {
        wgsl::GenError::Unsupported(what) => ExecError::Unsupported {
            backend: BACKEND_NAME.into(),
            kernel: vk.kernel().name.clone(),
            what,
        },
        wgsl::GenError::Limit(message) => ExecError::Backend {
            backend: BACKEND_NAME.into(),
            message,
        },
    }
}

impl Executor for Wgpu {
    fn name(&self) -> &str {
        BACKEND_NAME
    }

    fn compile(&self, kernel: &ValidatedKernel) -> Result<Arc<dyn CompiledKernel>, ExecError> {
        self.cache.get_or_compile(kernel, |vk| {
            if let Some(name) = vk.written_input() {
                return Err(ExecError::Unsupported {
                    backend: BACKEND_NAME.into(),
                    kernel: vk.kernel().name.clone(),
                    what: format!(
                        "a store into input `{name}` (inputs are bound read-only; the simulator runs such a kernel)"
                    ),
                });
            }
            // Unsupported operations are reported before a device is needed.
            generate(vk, &Limits::default()).map_err(|e| gen_error(vk, e))?;
            let gpu = Gpu::shared()?;
            let shader = generate(vk, &gpu.gen_limits()).map_err(|e| gen_error(vk, e))?;
            let name = vk.kernel().name.clone();
            let pipeline = runtime::Pipeline::new(gpu.clone(), shader, &name)?;
            let outputs = vk
                .kernel()
                .params_of(ParamKind::Output)
                .map(|(_, p)| (p.dtype().unwrap_or(DType::F32), p.shape.clone()))
                .collect();
            Ok(Arc::new(CompiledWgpu {
                vk: vk.clone(),
                pipeline,
                outputs,
                adapter: gpu.describe(),
            }))
        })
    }
}

/// A kernel compiled to a pipeline.
struct CompiledWgpu {
    vk: ValidatedKernel,
    pipeline: runtime::Pipeline,
    outputs: Vec<(DType, Vec<usize>)>,
    adapter: String,
}

impl CompiledKernel for CompiledWgpu {
    fn kernel(&self) -> &pallas_ir::Kernel {
        self.vk.kernel()
    }

    fn launch(&self, args: &[HostArray]) -> Result<Launch, ExecError> {
        let views: Vec<HostView<'_>> = args.iter().map(HostArray::view).collect();
        self.launch_views(&views)
    }

    /// Uploads borrowed arrays straight from the caller's memory (32-bit
    /// row-major ones without a copy on the host).
    fn launch_views(&self, args: &[HostView<'_>]) -> Result<Launch, ExecError> {
        self.dispatch(args, None)
    }

    /// Reads the results back from the GPU's mapped memory straight into
    /// the caller's buffers.
    fn launch_into(
        &self,
        args: &[HostView<'_>],
        outs: &mut [HostOut<'_>],
    ) -> Result<RunReport, ExecError> {
        check_outs(self.vk.kernel(), outs)?;
        Ok(self.dispatch(args, Some(outs))?.report)
    }
}

impl CompiledWgpu {
    /// One launch; with `into`, the outputs land in the caller's buffers
    /// and the launch's `outputs` are empty.
    fn dispatch(
        &self,
        args: &[HostView<'_>],
        into: Option<&mut [HostOut<'_>]>,
    ) -> Result<Launch, ExecError> {
        let k = self.vk.kernel();
        check_views(k, args)?;
        let bytes: Vec<_> = args.iter().map(runtime::arg_bytes_of_view).collect();
        let d = self.pipeline.run(&bytes, &self.outputs, into)?;
        let s = &self.pipeline.shader;
        if d.fault != 0 {
            return Err(match s.faults.get(d.fault as usize - 1) {
                Some(ShaderFault::Kernel(f)) => ExecError::Fault(f.clone()),
                Some(ShaderFault::Driver(what)) => ExecError::Backend {
                    backend: BACKEND_NAME.into(),
                    message: format!("kernel `{}`: {what}", k.name),
                },
                None => ExecError::Backend {
                    backend: BACKEND_NAME.into(),
                    message: format!("kernel `{}`: unknown fault code {}", k.name, d.fault),
                },
            });
        }
        let outputs = d.outputs;
        let mut report = RunReport::new(BACKEND_NAME);
        report.add("dispatches", 1);
        report.add("grid_points", s.grid_points);
        report.add("workgroups", s.workgroups as u64);
        if let Some(ns) = d.device_ns {
            report.add("device_ns", ns);
        }
        report.notes.push(format!(
            "{} module, {} workgroups of {} invocations on {}",
            s.plan.name(),
            s.workgroups,
            s.workgroup_size,
            self.adapter
        ));
        Ok(Launch { outputs, report })
    }
}
