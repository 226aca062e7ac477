//! pallas-sim: a faithful simulator of the TPU memory hierarchy for
//! pallas-rs kernels, without the callback cost of JAX's interpret mode.
//!
//! HBM, per-core VMEM/SMEM and semaphores are separate memories; blocks
//! move between them exactly as Pallas' pipelining rules say; parallel grid
//! dimensions split across simulated cores, each on its own thread; faults
//! (out-of-bounds accesses, bad block indices, non-consecutive output
//! revisits, deadlocks, leftover semaphores, DMAs never waited) are typed
//! errors naming the kernel, core, grid point and operation.
//!
//! ```
//! use pallas_corpus as corpus;
//! use pallas_exec::{Executor, HostArray};
//! use pallas_ir::validate;
//! use pallas_sim::Simulator;
//! let k = validate(&corpus::vector_add(10, 4)).unwrap();
//! let x = HostArray::F32(ndarray::ArrayD::from_elem(ndarray::IxDyn(&[10]), 1.5));
//! let out = Simulator::default().compile(&k).unwrap().launch(&[x.clone(), x]).unwrap();
//! assert_eq!(out.outputs[0].as_f32().unwrap()[[9]], 3.0);
//! ```

mod interp;
pub mod memory;
mod pipeline;

mod races;
mod sync;
mod tpu;
pub mod trace;

use std::sync::{Arc, Mutex};

pub use pallas_exec::options::{
    DmaExecutionMode, Options, OutOfBoundsReads, Progress, Target, UninitializedMemory,
};

/// The simulator's settings: every field of the shared [`Options`].
pub type SimConfig = Options;
pub use pallas_exec::{Fault, FaultKind};

use pallas_exec::{
    check_outs, check_views, copy_outputs, CompileCache, CompiledKernel, ExecError, Executor,
    Launch, RunReport,
};
use pallas_exec::{HostArray, HostOut, HostView};
use pallas_ir::{ParamKind, ValidatedKernel};

use interp::{Core, Counters, Shared};
use memory::{refill_uninit, uninit, Buffer};
use pallas_exec::eval::Data;
use pallas_exec::layout::{Home, Layout};
use pallas_exec::schedule::GridShape;
use pipeline::CoreWork;

/// The backend's name as the run report and the command line spell it.
pub const BACKEND_NAME: &str = "sim";

/// Largest total of inputs and outputs (bytes) whose buffers a compiled
/// kernel keeps between launches, so that a repeated launch reuses memory
/// already mapped; larger launches free theirs.
const POOL_LIMIT_BYTES: u128 = 1 << 30;

/// The simulator backend: compiles (lays out) kernels once, caching them.
#[derive(Default)]
pub struct Simulator {
    config: SimConfig,
    cache: CompileCache,
}

impl Simulator {
    /// A simulator with settings.
    pub fn new(config: SimConfig) -> Self {
        Simulator {
            config,
            cache: CompileCache::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }
}

impl Executor for Simulator {
    fn name(&self) -> &str {
        BACKEND_NAME
    }

    fn honours_checks(&self) -> bool {
        true
    }

    fn compile(&self, kernel: &ValidatedKernel) -> Result<Arc<dyn CompiledKernel>, ExecError> {
        self.cache.get_or_compile(kernel, |vk| {
            let plan = Layout::new(vk);
            let remote_locals = remote_destination_locals(vk, &plan);
            if self.config.target == Target::Tpu {
                if let Some(msg) = tpu::check(vk, &self.config).into_iter().next() {
                    return Err(ExecError::Fault(Box::new(Fault {
                        kernel: vk.kernel().name.clone(),
                        device: None,
                        core: Some(0),
                        grid_point: None,
                        op: "compile".into(),
                        loc: None,
                        kind: FaultKind::Tpu(msg),
                    })));
                }
            }
            Ok(Arc::new(CompiledSim {
                vk: vk.clone(),
                plan,
                config: self.config.clone(),
                remote_locals,
                pool: Mutex::new(Vec::new()),
                races: Mutex::new(None),
            }))
        })
    }
}

/// A kernel laid out for the simulator.
pub struct CompiledSim {
    vk: ValidatedKernel,
    plan: Layout,
    config: SimConfig,
    /// Input buffers kept from the last launch, so that a repeated launch
    /// copies its arguments into memory that is already mapped.
    pool: Mutex<Vec<Data>>,
    /// Which local buffers of the layout remote copies write.
    remote_locals: Vec<bool>,
    /// Race shadows kept from the last launch, with the next clock base.
    races: Mutex<Option<(races::RaceState, u32)>>,
}

impl CompiledSim {
    fn fault(&self, e: Box<Fault>) -> ExecError {
        ExecError::Fault(e)
    }

    /// Runs the kernel, returning the fault as a [`Fault`].
    pub fn run(&self, args: &[HostArray]) -> Result<Launch, ExecError> {
        let views: Vec<HostView<'_>> = args.iter().map(HostArray::view).collect();
        self.run_views(&views, None)
    }

    /// Runs the kernel on borrowed arguments. With `outs`, the outputs are
    /// written into the caller's buffers (one per output, of its dtype
    /// and element count) and the launch's `outputs` are empty; the
    /// output buffers then stay in the pool for the next launch.
    fn run_views(
        &self,
        args: &[HostView<'_>],
        mut outs: Option<&mut [HostOut<'_>]>,
    ) -> Result<Launch, ExecError> {
        let k = self.vk.kernel();
        check_views(k, args)?;
        if let Some(o) = &outs {
            check_outs(k, o)?;
        }
        let cfg = &self.config;
        let plan = &self.plan;
        let multi = k.is_multi_device();
        let devices = k.num_devices().unwrap_or(1).max(1);
        let cores = cfg.num_cores.max(1);
        let all_cores = devices * cores;
        let fault_at = |op: &str, kind| {
            Box::new(Fault {
                kernel: k.name.clone(),
                device: multi.then_some(0),
                core: Some(0),
                grid_point: None,
                op: op.into(),
                loc: None,
                kind,
            })
        };
        if all_cores > races::MAX_CORES {
            return Err(ExecError::Unsupported {
                backend: BACKEND_NAME.into(),
                kernel: k.name.clone(),
                what: format!(
                    "{devices} devices x {cores} cores: the simulator runs at most {} cores in all",
                    races::MAX_CORES
                ),
            });
        }
        let footprint: u128 = k
            .params
            .iter()
            .filter(|p| {
                matches!(
                    p.kind,
                    ParamKind::ScalarPrefetch | ParamKind::Input | ParamKind::Output
                ) || p.is_hbm_scratch()
            })
            .map(|p| {
                p.shape.iter().map(|&d| d as u128).product::<u128>()
                    * p.dtype().map_or(4, |d| d.size_bytes()) as u128
            })
            .sum::<u128>()
            * devices as u128;
        let local = k.local_bytes() * all_cores as u128;
        for (what, bytes) in [
            ("the kernel's inputs and outputs", footprint),
            ("the cores' block buffers, scratch and semaphores", local),
        ] {
            if bytes > cfg.memory_limit_bytes as u128 {
                return Err(self.fault(fault_at(
                    "launch",
                    FaultKind::TooLarge {
                        what: what.into(),
                        bytes,
                        limit: cfg.memory_limit_bytes as u128,
                    },
                )));
            }
        }
        // HBM, one set of buffers per device (device `d`'s buffer `h` is
        // `d * num_hbm + h`): arguments, then fresh outputs.
        let num_hbm = plan.num_hbm;
        let mut hbm: Vec<Option<Buffer>> = (0..num_hbm * devices).map(|_| None).collect();
        let mut pool = std::mem::take(&mut *self.pool.lock().unwrap_or_else(|e| e.into_inner()));
        for d in 0..devices {
            let arg_params = k
                .params
                .iter()
                .filter(|p| matches!(p.kind, ParamKind::ScalarPrefetch | ParamKind::Input));
            for ((p, a), &h) in arg_params.zip(args).zip(&plan.hbm_of_arg) {
                let a = if multi {
                    a.shard(d).expect("check_views checked the device axis")
                } else {
                    a.reborrow()
                };
                let a = &a;
                let data = match pool
                    .iter()
                    .position(|x| x.dtype() == a.dtype() && x.len() == a.len())
                {
                    Some(i) => {
                        let mut x = pool.swap_remove(i);
                        x.fill_from_view(a);
                        x
                    }
                    None => Data::from_view(a),
                };
                hbm[d * num_hbm + h] = Some(Buffer {
                    data,
                    shape: p.shape.clone(),
                    name: p.name.clone(),
                    init: cfg.report_uninitialized_reads.then(|| vec![true; a.len()]),
                });
            }
            for ((_, p), &h) in k.params_of(ParamKind::Output).zip(&plan.hbm_of_output) {
                if hbm[d * num_hbm + h].is_none() {
                    let dtype = p.dtype().unwrap_or(pallas_ir::DType::F32);
                    let n = p.shape.iter().product();
                    let wide = dtype.wide();
                    let data = match pool.iter().position(|x| x.dtype() == wide && x.len() == n) {
                        Some(i) => {
                            let mut x = pool.swap_remove(i);
                            refill_uninit(&mut x, dtype, cfg.uninitialized_memory);
                            x
                        }
                        None => uninit(dtype, n, cfg.uninitialized_memory),
                    };
                    hbm[d * num_hbm + h] = Some(Buffer {
                        data,
                        shape: p.shape.clone(),
                        name: p.name.clone(),
                        init: cfg.report_uninitialized_reads.then(|| vec![false; n]),
                    });
                }
            }
        }
        // HBM scratch: one fresh buffer per device, shared by its cores.
        for d in 0..devices {
            for &(i, h) in &plan.hbm_scratch {
                let p = &k.params[i];
                let dtype = p.dtype().unwrap_or(pallas_ir::DType::F32);
                let n = p.shape.iter().product();
                hbm[d * num_hbm + h] = Some(Buffer {
                    data: uninit(dtype, n, cfg.uninitialized_memory),
                    shape: p.shape.clone(),
                    name: p.name.clone(),
                    init: cfg.report_uninitialized_reads.then(|| vec![false; n]),
                });
            }
        }
        // Arguments no output aliases are read-only for the launch: the
        // cores read them without a lock.
        let mut read_only: Vec<Option<Buffer>> = (0..hbm.len()).map(|_| None).collect();
        for d in 0..devices {
            for &h in &plan.hbm_of_arg {
                if !plan.hbm_of_output.contains(&h) {
                    read_only[d * num_hbm + h] = hbm[d * num_hbm + h].take();
                }
            }
        }
        let hbm: Vec<Mutex<Buffer>> = hbm
            .into_iter()
            .map(|b| {
                Mutex::new(b.unwrap_or(Buffer {
                    data: Data::F32(Vec::new()),
                    shape: Vec::new(),
                    name: String::new(),
                    init: None,
                }))
            })
            .collect();
        // Within a core, program order orders every access but those of
        // DMAs in flight, which are checked on every run; the shadows
        // compare cores, so one core has nothing for them to find.
        let detect_races = cfg.detect_races && all_cores > 1;
        // The cores of a multi-device kernel take turns in a seeded order,
        // so that an interleaving-dependent fault reproduces with the seed.
        // A single device's cores still run freely, in parallel (turns
        // would serialize them).
        let turns = (devices > 1 && all_cores > 1).then_some(cfg.random_seed);
        let sems = sync::Semaphores::new(all_cores, plan.sem_slots, detect_races, turns);
        // Local buffers that remote copies write get race shadows too,
        // after the HBM buffers' (one per core).
        let mut lens: Vec<usize> = Vec::new();
        let mut local_shadows = Vec::new();
        if detect_races {
            lens = hbm
                .iter()
                .zip(&read_only)
                .map(|(b, r)| match r {
                    Some(r) => r.data.len(),
                    None => b.lock().unwrap_or_else(|e| e.into_inner()).data.len(),
                })
                .collect();
            if self.remote_locals.iter().any(|&r| r) {
                for _ in 0..all_cores {
                    for (l, (_, shape)) in plan.locals.iter().enumerate() {
                        local_shadows.push(self.remote_locals[l].then(|| {
                            lens.push(shape.iter().product());
                            lens.len() - 1
                        }));
                    }
                }
            }
        }
        // Race shadows are kept between launches: every clock of a new
        // launch starts above every clock the shadows hold, so old entries
        // count as ordered before everything and need no reset.
        let (race_state, clock_base) = if detect_races {
            let kept = self.races.lock().unwrap_or_else(|e| e.into_inner()).take();
            match kept {
                Some((rs, base)) if rs.fits(&lens, all_cores) && base < races::CLOCK_RESET => {
                    (Some(rs), base)
                }
                _ => (Some(races::RaceState::new(&lens, all_cores)), 0),
            }
        } else {
            (None, 0)
        };
        let inboxes: Vec<interp::Inbox> = if multi {
            (0..all_cores).map(|_| interp::Inbox::default()).collect()
        } else {
            Vec::new()
        };
        let owners = slot_owners(k, plan);
        let race_warnings = Mutex::new(interp::RaceWarnings::default());
        let shared = Shared {
            vk: &self.vk,
            cfg,
            plan,
            hbm: &hbm,
            read_only: &read_only,
            sems: &sems,
            races: race_state.as_ref(),
            grid: k.grid.iter().map(|d| d.size).collect(),
            t0: std::time::Instant::now(),
            clock_base,
            devices,
            cores,
            inboxes: &inboxes,
            slot_owners: &owners,
            local_shadows,
            race_warnings: &race_warnings,
        };
        // Split the parallel prefix contiguously across each device's
        // cores; every device runs the whole grid.
        let grid = GridShape::new(k.grid.iter().map(|d| d.size).collect(), plan);
        let split = grid.split(cores, cfg.random_seed);
        let works: Vec<CoreWork> = (0..devices)
            .flat_map(|_| split.iter().cloned())
            .map(|parallel| CoreWork { parallel })
            .collect();
        let results: Vec<CoreResult> = if all_cores == 1 {
            vec![run_core(&shared, 0, &works[0])]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = works
                    .iter()
                    .enumerate()
                    .map(|(c, w)| {
                        let sh = &shared;
                        s.spawn(move || run_core(sh, c, w))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        if let Some(rs) = race_state {
            let top = results
                .iter()
                .filter_map(|r| r.as_ref().ok().map(|r| r.0.clock))
                .max()
                .unwrap_or(clock_base);
            if results.iter().all(|r| r.is_ok()) {
                *self.races.lock().unwrap_or_else(|e| e.into_inner()) = Some((rs, top + 1));
            }
        }
        // Report the first fault that is not a consequence of another.
        let mut faults: Vec<Box<Fault>> = results
            .iter()
            .filter_map(|r| r.as_ref().err().cloned())
            .collect();
        faults.sort_by_key(|e| matches!(e.kind, FaultKind::Deadlock { .. }));
        if let Some(e) = faults.into_iter().next() {
            return Err(self.fault(e));
        }
        let mut report = RunReport::new(BACKEND_NAME);
        let mut events = Vec::new();
        for (g, r) in results.into_iter().enumerate() {
            let (counters, unwaited, pending, ev) = r.expect("faults returned above");
            events.extend(ev);
            let device = multi.then_some(g / cores);
            let c = g % cores;
            let end = |kind| {
                Box::new(Fault {
                    kernel: k.name.clone(),
                    device,
                    core: Some(c),
                    grid_point: None,
                    op: "end of kernel".into(),
                    loc: None,
                    kind,
                })
            };
            // A DMA never waited for is reported where it started.
            let never_waited = |s: interp::DmaStarted| {
                Box::new(Fault {
                    kernel: k.name.clone(),
                    device,
                    core: Some(c),
                    grid_point: (!k.grid.is_empty()).then_some(s.point),
                    op: "op `dma_start`".into(),
                    loc: s.loc,
                    kind: FaultKind::DmaNotWaited {
                        dst: s.dst_name,
                        sem: interp::slot_name(plan, &owners, s.sem),
                    },
                })
            };
            if let Some(s) = pending.into_iter().next() {
                return Err(self.fault(never_waited(s)));
            }
            if let Some((_, s)) = unwaited.into_iter().next() {
                return Err(self.fault(never_waited(s)));
            }
            let st = sems.lock();
            let left = owners.iter().zip(&st.values[g]).find(|(_, &v)| v != 0);
            if let Some(((name, index), &value)) = left {
                return Err(self.fault(end(FaultKind::SemaphoreLeftNonZero {
                    name: name.clone(),
                    index: *index,
                    value,
                })));
            }
            drop(st);
            report.add("grid_points", counters.grid_points);
            report.add("block_copies_in", counters.copies_in);
            report.add("block_copies_out", counters.copies_out);
            report.add("bytes_hbm_to_vmem", counters.bytes_in);
            report.add("bytes_vmem_to_hbm", counters.bytes_out);
            report.add("dmas", counters.dmas);
            report.add("dma_bytes", counters.dma_bytes);
            report.add("flops", counters.flops);
        }
        report.add("cores", cores as u64);
        let warned = race_warnings
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        if warned.count > 0 {
            report.add("races", warned.count);
            report
                .notes
                .extend(warned.reports.into_iter().map(|r| format!("race: {r}")));
        }
        if multi {
            report.add("devices", devices as u64);
        }
        if let Some(path) = &cfg.trace {
            let json = trace::to_json(&k.name, &events);
            std::fs::write(path, json).map_err(|e| ExecError::Backend {
                backend: BACKEND_NAME.into(),
                message: format!("cannot write the trace to {}: {e}", path.display()),
            })?;
            report.notes.push(format!(
                "trace with {} events written to {}",
                events.len(),
                path.display()
            ));
        }
        let mut hbm: Vec<Option<Buffer>> = hbm
            .into_iter()
            .zip(read_only)
            .map(|(m, r)| r.or_else(|| Some(m.into_inner().unwrap_or_else(|e| e.into_inner()))))
            .collect();
        let shared_buffer = || ExecError::Backend {
            backend: BACKEND_NAME.into(),
            message: "two outputs share one HBM buffer".into(),
        };
        // A multi-device output's shards are kept for the next launch
        // (their pages already mapped) when they are not large, and freed
        // one by one as they are stacked when they are.
        let keep_shards = footprint <= POOL_LIMIT_BYTES;
        let mut kept = Vec::new();
        let mut outputs = Vec::new();
        for (i, (&h, dt)) in plan
            .hbm_of_output
            .iter()
            .zip(self.vk.output_dtypes())
            .enumerate()
        {
            let mut shards = Vec::with_capacity(devices);
            for d in 0..devices {
                shards.push(hbm[d * num_hbm + h].take().ok_or_else(shared_buffer)?);
            }
            if let (Some(outs), false) = (outs.as_deref_mut(), multi) {
                // Into the caller's buffer; the buffer stays pooled.
                let b = shards.pop().ok_or_else(shared_buffer)?;
                let out = &mut outs[i];
                let copied = match (&b.data, &mut *out) {
                    (Data::F32(v), HostOut::F32(o)) if o.len() == v.len() => {
                        o.copy_from_slice(v);
                        true
                    }
                    (Data::I32(v), HostOut::I32(o)) if o.len() == v.len() => {
                        o.copy_from_slice(v);
                        true
                    }
                    (Data::U32(v), HostOut::U32(o)) if o.len() == v.len() => {
                        o.copy_from_slice(v);
                        true
                    }
                    _ => false,
                };
                if copied {
                    kept.push(b.data);
                } else {
                    let host = b.data.into_host(&b.shape, dt);
                    copy_outputs(&k.name, vec![host], std::slice::from_mut(out))?;
                }
                continue;
            }
            outputs.push(if multi {
                let shape: Vec<usize> = std::iter::once(devices)
                    .chain(shards[0].shape.iter().copied())
                    .collect();
                let total = shards.iter().map(|b| b.data.len()).sum();
                let mut all = shards[0].data.empty_like(total);
                for b in shards {
                    all.extend_range(&b.data, 0, b.data.len());
                    if keep_shards {
                        kept.push(b.data);
                    }
                }
                all.into_host(&shape, dt)
            } else {
                let b = shards.pop().ok_or_else(shared_buffer)?;
                b.data.into_host(&b.shape, dt)
            });
        }
        // Keep the input buffers (and small shards) for the next launch.
        kept.extend(hbm.into_iter().flatten().map(|b| b.data));
        *self.pool.lock().unwrap_or_else(|e| e.into_inner()) = kept;
        if let (Some(outs), true) = (outs, multi) {
            copy_outputs(&k.name, std::mem::take(&mut outputs), outs)?;
        }
        Ok(Launch { outputs, report })
    }
}

/// Which local buffers of the layout remote copies write (by local index).
fn remote_destination_locals(vk: &ValidatedKernel, plan: &Layout) -> Vec<bool> {
    let k = vk.kernel();
    let mut out = vec![false; plan.locals.len()];
    let body = &k.regions[k.body];
    for (_, inst) in k.insts.iter() {
        if let pallas_ir::Op::RemoteDmaStart { dst, .. } = &inst.op {
            if let Some(p) = body.args.iter().position(|&a| a == dst.r) {
                if let Home::Local(l) = plan.homes[p] {
                    out[l] = true;
                }
            }
        }
    }
    out
}

/// The semaphore each slot of the layout belongs to: the parameter's name
/// and the flat index in it, or the barrier semaphore.
fn slot_owners(k: &pallas_ir::Kernel, plan: &Layout) -> Vec<(String, usize)> {
    let mut owners = vec![(String::new(), 0); plan.sem_slots];
    for (i, p) in k.params.iter().enumerate() {
        if let Home::Sem(base) = plan.homes[i] {
            let n: usize = p.shape.iter().product();
            for j in 0..n {
                owners[base + j] = (p.name.clone(), j);
            }
        }
    }
    if let Some(b) = plan.barrier_slot {
        owners[b] = ("barrier semaphore".into(), 0);
    }
    owners
}

type CoreResult = Result<
    (
        Counters,
        Vec<(usize, interp::DmaStarted)>,
        Vec<interp::DmaStarted>,
        Vec<trace::Event>,
    ),
    Box<Fault>,
>;

fn run_core(sh: &Shared, id: usize, work: &CoreWork) -> CoreResult {
    sh.sems.begin(id);
    let mut core = Core::new(sh, id);
    let r = core.run_grid(work);
    sh.sems.finish(id);
    r?;
    let pending = core.pending.iter().map(|p| p.started.clone()).collect();
    let events = std::mem::take(&mut core.events);
    Ok((core.counters, core.unwaited, pending, events))
}

impl CompiledKernel for CompiledSim {
    fn kernel(&self) -> &pallas_ir::Kernel {
        self.vk.kernel()
    }

    fn launch(&self, args: &[HostArray]) -> Result<Launch, ExecError> {
        self.run(args)
    }

    fn launch_views(&self, args: &[HostView<'_>]) -> Result<Launch, ExecError> {
        self.run_views(args, None)
    }

    fn launch_into(
        &self,
        args: &[HostView<'_>],
        outs: &mut [HostOut<'_>],
    ) -> Result<RunReport, ExecError> {
        Ok(self.run_views(args, Some(outs))?.report)
    }
}
