//! pallas-cpu: the fast mode. No simulation: the kernel compiled once and
//! run as close to a hand-written loop as it can be.
//!
//! So far it compiles elementwise kernels (identity index maps: the seed
//! kernel, vector add) and row-wise ones (blocks of whole rows, bodies that
//! never mix rows: softmax, layer norm, RMS norm, row prefix sums): the
//! grid is coarsened away (a grid of 2,097,152 one-element blocks costs
//! what a grid of 512 costs), the body's operations are fused and run strip
//! by strip over the whole arrays on rayon's workers, and `sin` is a
//! vectorized polynomial within 2 ulp. Any other kernel gets an
//! `Unsupported` error naming the operation or feature, never wrong data.
//!
//! ```
//! use pallas_corpus as corpus;
//! use pallas_exec::{Executor, HostArray};
//! use pallas_ir::validate;
//! let k = validate(&corpus::vector_add(10, 4)).unwrap();
//! let x = HostArray::F32(ndarray::ArrayD::from_elem(ndarray::IxDyn(&[10]), 1.5));
//! let out = pallas_cpu::Cpu::default().compile(&k).unwrap().launch(&[x.clone(), x]).unwrap();
//! assert_eq!(out.outputs[0].as_f32().unwrap()[[9]], 3.0);
//! ```

mod fused;
mod general;
mod int8;
pub mod math;
mod mesh;

use std::sync::Arc;

use pallas_exec::eval::Data;
use pallas_exec::{
    check_outs, check_views, copy_outputs, CompileCache, CompiledKernel, ExecError, Executor,
    Launch, RunReport,
};
use pallas_exec::{HostArray, HostOut, HostView};
use pallas_ir::{DType, ParamKind, Scalar, ValidatedKernel};
use rayon::prelude::*;

/// The backend's name as the run report and the command line spell it.
pub const BACKEND_NAME: &str = "cpu";

/// Elements per strip: small enough that a strip's registers stay in cache.
const STRIP: usize = 4096;

/// The fast-mode backend, with a compile cache.
#[derive(Default)]
pub struct Cpu {
    cache: CompileCache,
}

impl Executor for Cpu {
    fn name(&self) -> &str {
        BACKEND_NAME
    }

    fn compile(&self, kernel: &ValidatedKernel) -> Result<Arc<dyn CompiledKernel>, ExecError> {
        self.cache.get_or_compile(kernel, |vk| {
            // A multi-device kernel runs per device on the general path,
            // and so does one that writes its copies of inputs (the fused
            // path reads inputs in place; the general one copies them into
            // worker-local buffers first).
            let fused = if vk.kernel().is_multi_device() || vk.written_input().is_some() {
                Err(())
            } else {
                fused::compile(vk).map_err(|_| ())
            };
            let plan = match fused {
                Ok(program) => Plan::Fused(program),
                Err(_) => {
                    let g = general::compile(vk).map_err(|what| ExecError::Unsupported {
                        backend: BACKEND_NAME.into(),
                        kernel: vk.kernel().name.clone(),
                        what,
                    })?;
                    Plan::General(Box::new(g))
                }
            };
            let outputs = vk
                .kernel()
                .params_of(ParamKind::Output)
                .map(|(_, p)| {
                    let shape = pallas_exec::launch_shape(vk.kernel(), &p.shape);
                    (p.dtype().unwrap_or(DType::F32), shape)
                })
                .collect();
            Ok(Arc::new(CompiledCpu {
                vk: vk.clone(),
                plan,
                outputs,
            }))
        })
    }
}

/// How a kernel runs: coarsened and fused, or per grid point.
enum Plan {
    Fused(fused::Fused),
    General(Box<general::General>),
}

/// A kernel compiled for the fast mode.
pub struct CompiledCpu {
    vk: ValidatedKernel,
    plan: Plan,
    outputs: Vec<(DType, Vec<usize>)>,
}

/// Raw output pointers shared by the workers, which write disjoint strips.
struct Outputs(Vec<(DType, *mut u8, usize)>);

// SAFETY: every worker writes only its own strip `[lo, hi)` of each output
// (strips are disjoint), and the buffers outlive the parallel loop.
unsafe impl Sync for Outputs {}
unsafe impl Send for Outputs {}

impl Outputs {
    /// Writes `n` elements of `src` (or its single element, broadcast) at
    /// `lo` of output `out`.
    fn write(&self, out: usize, lo: usize, src: &Data, n: usize) {
        let Some(&(dtype, ptr, len)) = self.0.get(out) else {
            return;
        };
        if lo + n > len || src.dtype() != dtype {
            return;
        }
        macro_rules! put {
            ($t:ty, $v:expr) => {{
                // SAFETY: `lo + n <= len` and the strip is this worker's.
                let dst = unsafe { std::slice::from_raw_parts_mut((ptr as *mut $t).add(lo), n) };
                if $v.len() == 1 {
                    dst.fill($v[0]);
                } else {
                    dst.copy_from_slice(&$v[..n]);
                }
            }};
        }
        match src {
            Data::F32(v) => put!(f32, v),
            Data::I32(v) => put!(i32, v),
            Data::U32(v) => put!(u32, v),
            Data::Bool(v) => put!(bool, v),
        }
    }
}

impl CompiledKernel for CompiledCpu {
    fn kernel(&self) -> &pallas_ir::Kernel {
        self.vk.kernel()
    }

    fn launch(&self, args: &[HostArray]) -> Result<Launch, ExecError> {
        let views: Vec<HostView<'_>> = args.iter().map(HostArray::view).collect();
        self.launch_views(&views)
    }

    fn launch_views(&self, args: &[HostView<'_>]) -> Result<Launch, ExecError> {
        let k = self.vk.kernel();
        check_views(k, args)?;
        let p = match &self.plan {
            Plan::Fused(p) => p,
            Plan::General(g) => {
                let (outs, points) = g.launch_views(args, None)?;
                let outputs = outs
                    .into_iter()
                    .zip(&self.outputs)
                    .map(|(d, (dtype, shape))| d.into_host(shape, *dtype))
                    .collect();
                let mut report = RunReport::new(BACKEND_NAME);
                report.add("grid_points", points);
                report.add("workers", rayon::current_num_threads() as u64);
                report
                    .notes
                    .push("general path: one program per grid point".into());
                return Ok(Launch { outputs, report });
            }
        };
        let mut outs: Vec<Data> = self
            .outputs
            .iter()
            .map(|(d, s)| Data::filled(Scalar::zero(*d), s.iter().product()))
            .collect();
        let ptrs = Outputs(
            outs.iter_mut()
                .map(|d| {
                    let len = d.len();
                    let p = match d {
                        Data::F32(v) => v.as_mut_ptr() as *mut u8,
                        Data::I32(v) => v.as_mut_ptr() as *mut u8,
                        Data::U32(v) => v.as_mut_ptr() as *mut u8,
                        Data::Bool(v) => v.as_mut_ptr() as *mut u8,
                    };
                    (d.dtype(), p, len)
                })
                .collect(),
        );
        let report = run_fused(p, args, ptrs);
        let outputs = outs
            .into_iter()
            .zip(&self.outputs)
            .map(|(d, (dtype, shape))| d.into_host(shape, *dtype))
            .collect();
        Ok(Launch { outputs, report })
    }

    /// A fused kernel whose outputs are all 32-bit, each stored by the
    /// program, computes straight into the caller's buffers; any other
    /// copies its outputs once.
    fn launch_into(
        &self,
        args: &[HostView<'_>],
        outs: &mut [HostOut<'_>],
    ) -> Result<RunReport, ExecError> {
        check_outs(self.vk.kernel(), outs)?;
        let direct = match &self.plan {
            Plan::Fused(p) => {
                let fits = outs
                    .iter()
                    .zip(&self.outputs)
                    .enumerate()
                    .all(|(i, (o, (d, s)))| {
                        o.dtype() == *d
                            && matches!(d, DType::F32 | DType::I32 | DType::U32)
                            && o.len() == s.iter().product::<usize>()
                            && p.stores(i)
                    });
                fits.then_some(p)
            }
            _ => None,
        };
        if let Plan::General(g) = &self.plan {
            check_views(self.vk.kernel(), args)?;
            let (_, points) = g.launch_views(args, Some(outs))?;
            let mut report = RunReport::new(BACKEND_NAME);
            report.add("grid_points", points);
            report.add("workers", rayon::current_num_threads() as u64);
            report
                .notes
                .push("general path: one program per grid point".into());
            return Ok(report);
        }
        let Some(p) = direct else {
            let launch = self.launch_views(args)?;
            copy_outputs(&self.vk.kernel().name, launch.outputs, outs)?;
            return Ok(launch.report);
        };
        check_views(self.vk.kernel(), args)?;
        let ptrs = Outputs(
            outs.iter_mut()
                .map(|o| {
                    let len = o.len();
                    let p = match o {
                        HostOut::F32(v) => v.as_mut_ptr() as *mut u8,
                        HostOut::I32(v) => v.as_mut_ptr() as *mut u8,
                        HostOut::U32(v) => v.as_mut_ptr() as *mut u8,
                        _ => unreachable!("checked above: 32-bit outputs"),
                    };
                    (o.dtype(), p, len)
                })
                .collect(),
        );
        Ok(run_fused(p, args, ptrs))
    }
}

/// Runs a fused program over the whole arrays on rayon's workers, writing
/// its outputs through `ptrs`, and returns the run report.
fn run_fused(p: &fused::Fused, args: &[HostView<'_>], ptrs: Outputs) -> RunReport {
    // Inputs are read in place; only an array in another layout than
    // row-major contiguous is copied first.
    let copies: Vec<Option<Data>> = args
        .iter()
        .map(|a| {
            fused::Input::borrow(a)
                .is_none()
                .then(|| Data::from_view(a))
        })
        .collect();
    let input_refs: Vec<fused::Input<'_>> = args
        .iter()
        .zip(&copies)
        .map(|(a, c)| match c {
            Some(d) => fused::Input::of(d),
            None => fused::Input::borrow(a).expect("checked above"),
        })
        .collect();
    // Rows per strip: about STRIP elements, at least one row.
    let rows_per = (STRIP / p.row_len.max(1)).max(1);
    let strips = p.rows.div_ceil(rows_per);
    let row_len = p.row_len.max(1);
    (0..strips).into_par_iter().for_each_init(
        || fused::registers(p),
        |regs, s| {
            let lo = s * rows_per;
            let hi = (lo + rows_per).min(p.rows);
            let n = (hi - lo) * row_len;
            fused::run_strip(p, regs, &input_refs, lo, hi, |out, e0, data| {
                ptrs.write(out, e0, data, n)
            });
        },
    );
    drop(ptrs);
    let mut report = RunReport::new(BACKEND_NAME);
    report.add("grid_points", p.grid_points as u64);
    report.add("coarsened_grid_points", p.grid_points as u64);
    report.add("strips", strips as u64);
    report.add("workers", rayon::current_num_threads() as u64);
    report.notes.push(format!(
        "coarsened ({}): {} grid points ran as {} strips of up to {} rows",
        p.kind, p.grid_points, strips, rows_per
    ));
    report
}
