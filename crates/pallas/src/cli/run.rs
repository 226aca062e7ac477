//! `pallas run`: run a kernel file on one or every compiled-in backend.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use pallas_exec::options::{DmaExecutionMode, OutOfBoundsReads, Target, UninitializedMemory};
use pallas_exec::HostArray;
use pallas_exec::{ExecError, Executor, Launch, Options};
use pallas_ir::{ParamKind, RefElem, ValidatedKernel};

use super::check::load;
use super::{say, Failure};

/// When DMAs move their data in the simulator.
#[derive(Clone, Copy, ValueEnum)]
pub enum DmaMode {
    /// At `dma_start`.
    Eager,
    /// At the matching `dma_wait` (exposes a missing wait).
    OnWait,
}

/// Which hardware's constraints the simulator checks.
#[derive(Clone, Copy, ValueEnum)]
pub enum TargetArg {
    /// None beyond JAX's interpret mode's.
    Interpret,
    /// TPU: (8, 128) tiling of 32-bit blocks, VMEM capacity.
    Tpu,
}

/// What an out-of-bounds read does in the simulator.
#[derive(Clone, Copy, ValueEnum)]
pub enum OobReads {
    /// An error naming the grid point, op, ref and index.
    Raise,
    /// Uninitialized values past the edge (as the hardware might).
    Uninitialized,
}

/// What fresh memory holds in the simulator.
#[derive(Clone, Copy, ValueEnum)]
pub enum FreshMemory {
    /// NaN for floats, a poison pattern for integers.
    Nan,
    /// Zeros.
    Zero,
}

/// Arguments of `pallas run`.
#[derive(Args)]
pub struct RunArgs {
    /// The kernel file (`.pk`).
    kernel: PathBuf,
    /// An input as NAME=FILE.npy (one per scalar-prefetch and input
    /// parameter; repeat the flag).
    #[arg(long = "input", value_name = "NAME=FILE.npy")]
    inputs: Vec<String>,
    /// Make the inputs that were not given: f32 uniform in [-1, 1),
    /// integers uniform in [0, 4), from this seed.
    #[arg(long, value_name = "SEED")]
    random: Option<u64>,
    /// Backend to run on, or `all` to run every compiled-in backend and
    /// compare their outputs (floats within 1e-5 + 1e-5 * |x|, integers
    /// exactly).
    #[arg(long, default_value = "sim")]
    backend: String,
    /// Write one NAME.npy per output into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Simulator: cores to split parallel grid dimensions across.
    #[arg(long, default_value_t = 1)]
    cores: usize,
    /// Simulator: when DMAs move their data.
    #[arg(long, value_enum, default_value = "eager")]
    dma_mode: DmaMode,
    /// Simulator: detect data races between cores (with --cores 2 or more;
    /// DMAs in flight are checked within a core on every run).
    #[arg(long)]
    detect_races: bool,
    /// Simulator: make reads of never-written memory errors.
    #[arg(long)]
    report_uninitialized_reads: bool,
    /// Simulator: seed for the order of parallel grid points (0: in order),
    /// and for the order in which a multi-device kernel's devices take
    /// turns.
    #[arg(long, default_value_t = 0)]
    order_seed: u64,
    /// Devices the kernel is expected to run on: a check, since the mesh
    /// is part of the kernel (`mesh(x 4)`); inputs and outputs of a mesh
    /// kernel lead with the device axis.
    #[arg(long, value_name = "N")]
    devices: Option<usize>,
    /// Simulator: write a Chrome trace (open it in Perfetto) to this file.
    #[arg(long, value_name = "FILE.json")]
    trace: Option<PathBuf>,
    /// Simulator: also check the target's hardware constraints.
    #[arg(long, value_enum, default_value = "interpret")]
    target: TargetArg,
    /// Simulator: VMEM per core for `--target tpu`, in bytes.
    #[arg(long, value_name = "BYTES")]
    vmem_capacity: Option<usize>,
    /// Simulator: what an out-of-bounds read does.
    #[arg(long, value_enum, default_value = "raise")]
    out_of_bounds_reads: OobReads,
    /// Simulator: what fresh memory holds.
    #[arg(long, value_enum, default_value = "nan")]
    uninitialized_memory: FreshMemory,
    /// Simulator: skip floating-point arithmetic (memory traffic only).
    #[arg(long)]
    skip_floating_point_ops: bool,
    /// Simulator: stop a core after this many loop iterations (a kernel
    /// that never ends becomes an error).
    #[arg(long, value_name = "N")]
    max_loop_iterations: Option<u64>,
    /// Simulator: refuse kernels whose memory would pass this many bytes.
    #[arg(long, value_name = "BYTES")]
    memory_limit: Option<usize>,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn random_array(dtype: pallas_ir::DType, shape: &[usize], state: &mut u64) -> HostArray {
    let n: usize = shape.iter().product();
    let bits: Vec<u32> = (0..n)
        .map(|_| {
            let r = splitmix(state);
            if dtype.is_float() {
                // Uniform in [-1, 1), rounded to the dtype.
                let u = (r >> 40) as f32 / (1u64 << 24) as f32;
                let v = pallas_exec::eval::Data::F32(vec![2.0 * u - 1.0]);
                pallas_exec::eval::narrow::to_bits(dtype, &v)[0]
            } else {
                (r % 4) as u32
            }
        })
        .collect();
    HostArray::from_bits(dtype, shape, bits).expect("length matches shape")
}

/// Builds the launch arguments from `--input` files and `--random`.
fn arguments(vk: &ValidatedKernel, args: &RunArgs) -> Result<Vec<HostArray>, Failure> {
    let k = vk.kernel();
    let params: Vec<_> = k
        .params
        .iter()
        .filter(|p| matches!(p.kind, ParamKind::ScalarPrefetch | ParamKind::Input))
        .collect();
    let mut given: Vec<Option<HostArray>> = vec![None; params.len()];
    for spec in &args.inputs {
        let Some((name, file)) = spec.split_once('=') else {
            return Err(Failure::Input(format!(
                "--input `{spec}`: expected NAME=FILE.npy"
            )));
        };
        let Some(pos) = params.iter().position(|p| p.name == name) else {
            let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
            return Err(Failure::Input(format!(
                "--input `{spec}`: kernel `{}` has no input named `{name}` (its inputs: {})",
                k.name,
                names.join(", ")
            )));
        };
        let p = params[pos];
        let want = match p.elem {
            RefElem::Data(d) => d,
            RefElem::Semaphore(_) => pallas_ir::DType::I32,
        };
        // Narrow dtypes are read by the declared one (bf16 and fp8 files
        // hold opaque values); a mismatch names both.
        let a = if want.is_narrow() {
            HostArray::read_npy_as(Path::new(file), want)
        } else {
            HostArray::read_npy(Path::new(file))
        }
        .map_err(|e| Failure::Input(e.to_string()))?;
        let shape = pallas_exec::launch_shape(k, &p.shape);
        if a.dtype() != want || a.shape() != shape.as_slice() {
            let devices = if k.is_multi_device() {
                " (a leading device axis, then one device's shard)"
            } else {
                ""
            };
            return Err(Failure::Input(format!(
                "{file}: input `{name}` must be {want}{shape:?}{devices}, the file holds {}{:?}",
                a.dtype(),
                a.shape()
            )));
        }
        given[pos] = Some(a);
    }
    let mut state = args.random.unwrap_or(0);
    params
        .iter()
        .zip(given)
        .map(|(p, g)| match (g, args.random) {
            (Some(a), _) => Ok(a),
            (None, Some(_)) => Ok(random_array(
                p.dtype().unwrap_or(pallas_ir::DType::I32),
                &pallas_exec::launch_shape(k, &p.shape),
                &mut state,
            )),
            (None, None) => Err(Failure::Input(format!(
                "input `{}` was not given: pass --input {}=FILE.npy or --random SEED",
                p.name, p.name
            ))),
        })
        .collect()
}

/// The one options value of a run, from the command line.
fn options(args: &RunArgs, progress: &pallas_sim::Progress) -> Options {
    let mut o = Options::default()
        .num_cores(args.cores)
        .dma_execution_mode(match args.dma_mode {
            DmaMode::Eager => DmaExecutionMode::Eager,
            DmaMode::OnWait => DmaExecutionMode::OnWait,
        })
        .detect_races(args.detect_races)
        .report_uninitialized_reads(args.report_uninitialized_reads)
        .random_seed(args.order_seed)
        .target(match args.target {
            TargetArg::Interpret => Target::Interpret,
            TargetArg::Tpu => Target::Tpu,
        })
        .out_of_bounds_reads(match args.out_of_bounds_reads {
            OobReads::Raise => OutOfBoundsReads::Raise,
            OobReads::Uninitialized => OutOfBoundsReads::Uninitialized,
        })
        .uninitialized_memory(match args.uninitialized_memory {
            FreshMemory::Nan => UninitializedMemory::Nan,
            FreshMemory::Zero => UninitializedMemory::Zero,
        })
        .skip_floating_point_ops(args.skip_floating_point_ops)
        .progress(progress.clone());
    if let Some(t) = &args.trace {
        o = o.trace(t);
    }
    if let Some(n) = args.vmem_capacity {
        o = o.vmem_capacity_bytes(n);
    }
    if let Some(n) = args.max_loop_iterations {
        o = o.max_loop_iterations(n);
    }
    if let Some(n) = args.memory_limit {
        o = o.memory_limit_bytes(n);
    }
    o
}

/// A backend by name, made from the run's options.
fn make_backend(name: &str, options: &Options) -> Result<Box<dyn Executor>, Failure> {
    pallas::backend_with(name, options).ok_or_else(|| {
        Failure::Input(format!(
            "unknown backend `{name}`: this build has {} (or `all`)",
            pallas::backends().join(", ")
        ))
    })
}

/// Runs `f` while a progress bar (on a terminal, after half a second)
/// follows the simulator's grid-point count.
fn with_progress<T>(total: u64, progress: &pallas_sim::Progress, f: impl FnOnce() -> T) -> T {
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let start = Instant::now();
            let mut bar: Option<indicatif::ProgressBar> = None;
            while !finished.load(Ordering::Relaxed) {
                // Woken early when the run ends, so that it never waits
                // for the next tick.
                std::thread::park_timeout(Duration::from_millis(50));
                if bar.is_none() && start.elapsed() > Duration::from_millis(500) {
                    let b = indicatif::ProgressBar::new(total);
                    if let Ok(style) = indicatif::ProgressStyle::with_template(
                        "{elapsed_precise} [{bar:40}] {pos}/{len} grid points",
                    ) {
                        b.set_style(style);
                    }
                    bar = Some(b);
                }
                if let Some(b) = &bar {
                    b.set_position(progress.done().min(total));
                }
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        });
        let r = f();
        finished.store(true, Ordering::Relaxed);
        watcher.thread().unpark();
        r
    })
}

/// The largest difference between two sets of outputs, and whether it is
/// within tolerance.
fn difference(a: &[HostArray], b: &[HostArray]) -> (f64, bool) {
    let mut worst = 0.0f64;
    let mut ok = true;
    for (x, y) in a.iter().zip(b) {
        if x.dtype() != y.dtype() || x.shape() != y.shape() {
            return (f64::INFINITY, false);
        }
        match (x, y) {
            (HostArray::F32(x), HostArray::F32(y)) => {
                for (&p, &q) in x.iter().zip(y.iter()) {
                    if p.is_nan() && q.is_nan() {
                        continue;
                    }
                    let d = (p as f64 - q as f64).abs();
                    if d.is_nan() || d > 1e-5 + 1e-5 * (q as f64).abs() {
                        ok = false;
                    }
                    worst = worst.max(if d.is_nan() { f64::INFINITY } else { d });
                }
            }
            _ => {
                if x.to_bits() != y.to_bits() {
                    ok = false;
                    worst = f64::INFINITY;
                }
            }
        }
    }
    (worst, ok)
}

/// An error's text without the "backend `NAME`: " it may start with, for
/// lines that already start with the backend's name.
fn without_backend_prefix(name: &str, e: &ExecError) -> String {
    let text = e.to_string();
    let prefix = format!("backend `{name}`: ");
    text.strip_prefix(&prefix)
        .map(str::to_string)
        .unwrap_or(text)
}

/// `pallas run`.
pub fn run(args: &RunArgs) -> Result<(), Failure> {
    let vk = load(&args.kernel)?;
    if let Some(want) = args.devices {
        let k = vk.kernel();
        let has = k.num_devices().unwrap_or(1);
        if has != want {
            let mesh = if k.is_multi_device() {
                let axes: Vec<String> = k
                    .mesh
                    .iter()
                    .map(|a| format!("{} {}", a.name, a.size))
                    .collect();
                format!("its mesh is ({})", axes.join(", "))
            } else {
                "it declares no mesh".into()
            };
            return Err(Failure::Input(format!(
                "--devices {want}: kernel `{}` runs on {has} device(s): {mesh}; the mesh is part of the kernel (`kernel {} grid(...) mesh(x {want})`)",
                k.name, k.name
            )));
        }
    }
    let inputs = arguments(&vk, args)?;
    let names: Vec<String> = if args.backend == "all" {
        pallas::backends().into_iter().map(String::from).collect()
    } else {
        vec![args.backend.clone()]
    };
    let k = vk.kernel();
    let total = k.num_grid_points().unwrap_or(0) as u64;
    let mut results: Vec<(String, Launch)> = Vec::new();
    // With `all`, every backend runs: the failures are gathered and
    // reported together with every disagreeing pair.
    let mut failures: Vec<String> = Vec::new();
    for name in &names {
        let progress = pallas_sim::Progress::default();
        let opts = options(args, &progress);
        let exec = make_backend(name, &opts)?;
        let unchecked = opts.simulator_only();
        if !exec.honours_checks() && !unchecked.is_empty() {
            say(&format!(
                "{name}: runs without the simulator's checks; leaves aside --{}",
                unchecked.join(", --")
            ));
        }
        // Timed inside: the progress watcher's wind-down is not the run's.
        let (result, elapsed) = with_progress(total, &progress, || {
            let start = Instant::now();
            let r = pallas_exec::run(exec.as_ref(), &vk, &inputs);
            (r, start.elapsed())
        });
        let launch = match result {
            Ok(l) => l,
            // With `all`, a backend that does not support the kernel, or
            // has no device, says so and the others go on.
            Err(e @ (ExecError::Unsupported { .. } | ExecError::NoDevice { .. }))
                if names.len() > 1 =>
            {
                say(&format!(
                    "{name}: skipped: {}",
                    without_backend_prefix(name, &e)
                ));
                continue;
            }
            // Not the kernel's fault: bad input, no device, a failing
            // backend (exit 2).
            Err(e) if !e.is_fault() && names.len() == 1 => {
                return Err(Failure::Input(format!(
                    "{name}: {}",
                    without_backend_prefix(name, &e)
                )))
            }
            Err(other) if names.len() > 1 => {
                let what = without_backend_prefix(name, &other);
                say(&format!("{name}: failed: {what}"));
                failures.push(format!("{name}: {what}"));
                continue;
            }
            Err(other) => {
                let what = without_backend_prefix(name, &other);
                return Err(Failure::Kernel(format!("{name}: {what}")));
            }
        };
        let secs = elapsed.as_secs_f64();
        let counters: Vec<String> = launch
            .report
            .counters
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        say(&format!(
            "{name}: {:.3} ms  ({})",
            secs * 1e3,
            counters.join(", ")
        ));
        for note in &launch.report.notes {
            say(&format!("  {note}"));
        }
        results.push((name.clone(), launch));
    }
    // Every pair: a backend that disagrees with one but not another shows.
    for (i, (a_name, a)) in results.iter().enumerate() {
        for (b_name, b) in &results[..i] {
            let (worst, ok) = difference(&a.outputs, &b.outputs);
            say(&format!(
                "largest difference {a_name} vs {b_name}: {worst:e}"
            ));
            if !ok {
                failures.push(format!(
                    "backends disagree: {a_name} and {b_name} differ by up to {worst:e}, beyond 1e-5 + 1e-5 * |x|"
                ));
            }
        }
    }
    if !failures.is_empty() {
        return Err(Failure::Kernel(failures.join("\n")));
    }
    let Some((_, first)) = results.first() else {
        return Err(Failure::Input(format!(
            "no backend of this build supports kernel `{}`",
            k.name
        )));
    };
    for ((_, p), o) in k.params_of(ParamKind::Output).zip(&first.outputs) {
        say(&format!(
            "output `{}`: {}{:?}",
            p.name,
            o.dtype(),
            o.shape()
        ));
        if let Some(dir) = &args.out {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::Input(format!("{}: {e}", dir.display())))?;
            let path = dir.join(format!("{}.npy", p.name));
            o.write_npy(&path)
                .map_err(|e| Failure::Input(e.to_string()))?;
            say(&format!("  wrote {}", path.display()));
        }
    }
    Ok(())
}
