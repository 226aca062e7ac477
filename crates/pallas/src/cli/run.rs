//! `pallas run`: run a kernel file on one or every compiled-in backend.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use pallas_ir::exec::{ExecError, Executor};
use pallas_ir::{HostArray, ParamKind, RefElem, ValidatedKernel};

use super::check::load;
use super::Failure;

/// When DMAs move their data in the simulator.
#[derive(Clone, Copy, ValueEnum)]
pub enum DmaMode {
    /// At `dma_start`.
    Eager,
    /// At the matching `dma_wait` (exposes a missing wait).
    OnWait,
}

/// Arguments of `pallas run`.
#[derive(Args)]
pub struct RunArgs {
    /// The kernel file (`.pk`).
    kernel: PathBuf,
    /// An input as NAME=FILE.npy (one per scalar-prefetch and input
    /// parameter).
    #[arg(long = "input", value_name = "NAME=FILE.npy")]
    inputs: Vec<String>,
    /// Make the inputs that were not given: f32 uniform in [-1, 1),
    /// integers uniform in [0, 4), from this seed.
    #[arg(long, value_name = "SEED")]
    random: Option<u64>,
    /// Backend: a name from `pallas::backends()`, or `all`.
    #[arg(long, default_value = "sim")]
    backend: String,
    /// Write one NAME.npy per output into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Simulated cores (sim).
    #[arg(long, default_value_t = 1)]
    cores: usize,
    /// DMA execution mode (sim).
    #[arg(long, value_enum, default_value = "eager")]
    dma_mode: DmaMode,
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
            match dtype {
                pallas_ir::DType::F32 => {
                    let u = (r >> 40) as f32 / (1u64 << 24) as f32;
                    (2.0 * u - 1.0).to_bits()
                }
                _ => (r % 4) as u32,
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
        let a = HostArray::read_npy(Path::new(file)).map_err(|e| Failure::Input(e.to_string()))?;
        let p = params[pos];
        let want = match p.elem {
            RefElem::Data(d) => d,
            RefElem::Semaphore(_) => pallas_ir::DType::I32,
        };
        if a.dtype() != want || a.shape() != p.shape.as_slice() {
            return Err(Failure::Input(format!(
                "{file}: input `{name}` must be {want}{:?}, the file holds {}{:?}",
                p.shape,
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
                &p.shape,
                &mut state,
            )),
            (None, None) => Err(Failure::Input(format!(
                "input `{}` was not given: pass --input {}=FILE.npy or --random SEED",
                p.name, p.name
            ))),
        })
        .collect()
}

fn make_backend(name: &str, args: &RunArgs) -> Result<Box<dyn Executor>, Failure> {
    #[cfg(feature = "sim")]
    if name == "sim" {
        let cfg = pallas_sim::SimConfig::default()
            .num_cores(args.cores)
            .dma_execution_mode(match args.dma_mode {
                DmaMode::Eager => pallas_sim::DmaExecutionMode::Eager,
                DmaMode::OnWait => pallas_sim::DmaExecutionMode::OnWait,
            });
        return Ok(Box::new(pallas_sim::Simulator::new(cfg)));
    }
    let _ = args;
    pallas::backend(name).ok_or_else(|| {
        Failure::Input(format!(
            "unknown backend `{name}`: this build has {} (or `all`)",
            pallas::backends().join(", ")
        ))
    })
}

/// `pallas run`.
pub fn run(args: &RunArgs) -> Result<(), Failure> {
    let vk = load(&args.kernel)?;
    let inputs = arguments(&vk, args)?;
    let names: Vec<String> = if args.backend == "all" {
        pallas::backends().into_iter().map(String::from).collect()
    } else {
        vec![args.backend.clone()]
    };
    let mut results = Vec::new();
    for name in &names {
        let exec = make_backend(name, args)?;
        let start = Instant::now();
        let launch = pallas_ir::exec::run(exec.as_ref(), &vk, &inputs).map_err(|e| match e {
            ExecError::BadArgument { .. } => Failure::Input(e.to_string()),
            other => Failure::Kernel(format!("{name}: {other}")),
        })?;
        let secs = start.elapsed().as_secs_f64();
        println!("{name}: {:.3} ms, {:?}", secs * 1e3, launch.report.counters);
        results.push((name.clone(), launch));
    }
    let k = vk.kernel();
    let (_, first) = &results[0];
    for ((_, p), o) in k.params_of(ParamKind::Output).zip(&first.outputs) {
        println!("output `{}`: {}{:?}", p.name, o.dtype(), o.shape());
        if let Some(dir) = &args.out {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::Input(format!("{}: {e}", dir.display())))?;
            let path = dir.join(format!("{}.npy", p.name));
            o.write_npy(&path)
                .map_err(|e| Failure::Input(e.to_string()))?;
            println!("  wrote {}", path.display());
        }
    }
    Ok(())
}
