//! The `Executor` trait every backend implements, the run report, and the
//! checks of launch arguments that every backend shares.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use crate::fault::Fault;
use crate::host::{HostArray, HostView};
use crate::host_out::HostOut;
use pallas_ir::types::{RefElem, ShapeDisplay};
use pallas_ir::DType;
use pallas_ir::ValidatedKernel;
use pallas_ir::{Kernel, ParamKind};

/// Errors of compiling or launching a kernel on a backend.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The backend does not support an operation or feature of this kernel.
    #[error("kernel `{kernel}`: backend `{backend}` does not support {what}")]
    Unsupported {
        /// Backend name.
        backend: String,
        /// Kernel name.
        kernel: String,
        /// The operation or feature, with the reason.
        what: String,
    },
    /// Launch arguments that do not match the kernel's parameters.
    #[error("kernel `{kernel}`: argument `{param}`: expected {expected}, found {found}")]
    BadArgument {
        /// Kernel name.
        kernel: String,
        /// Parameter name (or `arguments` for the count).
        param: String,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// The kernel misbehaved at run time (race, out-of-bounds access,
    /// deadlock, ...): the fault says what, and where.
    #[error(transparent)]
    Fault(Box<Fault>),
    /// The backend has no device to run on (no GPU adapter).
    #[error("backend `{backend}`: no device: {message}")]
    NoDevice {
        /// Backend name.
        backend: String,
        /// What was tried, and what failed.
        message: String,
    },
    /// The backend itself failed (out of memory, a lost device, ...).
    #[error("backend `{backend}`: {message}")]
    Backend {
        /// Backend name.
        backend: String,
        /// What went wrong.
        message: String,
    },
}

impl From<Fault> for ExecError {
    fn from(f: Fault) -> Self {
        ExecError::Fault(Box::new(f))
    }
}

impl From<Box<Fault>> for ExecError {
    fn from(f: Box<Fault>) -> Self {
        ExecError::Fault(f)
    }
}

impl ExecError {
    /// Whether the kernel or the machine is at fault: `false` for faults
    /// of the kernel (it ran and misbehaved), `true` for what stopped it
    /// from running (unsupported, bad arguments, no device, backend
    /// failure). The CLI maps the first to exit code 1, the rest to 2.
    pub fn is_fault(&self) -> bool {
        matches!(self, ExecError::Fault(_))
    }
}

/// What a launch did, as counted by the backend.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunReport {
    /// Backend name.
    pub backend: String,
    /// Named counters (`grid_points`, `bytes_hbm_to_vmem`, `dispatches`,
    /// ...); each backend documents the ones it fills.
    pub counters: BTreeMap<String, u64>,
    /// Free-form notes (e.g. "coarsened 4096 grid points per block").
    pub notes: Vec<String>,
}

impl RunReport {
    /// An empty report for a backend.
    pub fn new(backend: &str) -> Self {
        RunReport {
            backend: backend.to_string(),
            ..Default::default()
        }
    }

    /// Adds to a counter.
    pub fn add(&mut self, counter: &str, n: u64) {
        *self.counters.entry(counter.to_string()).or_insert(0) += n;
    }

    /// A counter's value (0 when never set).
    pub fn get(&self, counter: &str) -> u64 {
        self.counters.get(counter).copied().unwrap_or(0)
    }
}

/// The outputs of one launch and its report.
#[derive(Clone, Debug)]
pub struct Launch {
    /// One array per output parameter, in order.
    pub outputs: Vec<HostArray>,
    /// What the backend counted.
    pub report: RunReport,
}

/// A kernel compiled for one backend: launch it many times.
pub trait CompiledKernel: Send + Sync {
    /// The kernel it runs.
    fn kernel(&self) -> &Kernel;

    /// Runs the kernel. `args` holds one array per scalar-prefetch and input
    /// parameter, in parameter order (check them with [`check_args`]).
    fn launch(&self, args: &[HostArray]) -> Result<Launch, ExecError>;

    /// Runs the kernel on borrowed arrays. Backends that can read their
    /// inputs in place override it; the default copies them and calls
    /// [`CompiledKernel::launch`].
    fn launch_views(&self, args: &[HostView<'_>]) -> Result<Launch, ExecError> {
        let owned: Vec<HostArray> = args.iter().map(HostView::to_owned).collect();
        self.launch(&owned)
    }

    /// Runs the kernel on borrowed arrays and writes its outputs into the
    /// caller's buffers (one per output parameter, in order, each of the
    /// output's dtype and element count) and returns the run report.
    /// Backends that can compute into the caller's memory override it; the
    /// default launches and copies each output once.
    fn launch_into(
        &self,
        args: &[HostView<'_>],
        outs: &mut [HostOut<'_>],
    ) -> Result<RunReport, ExecError> {
        check_outs(self.kernel(), outs)?;
        let launch = self.launch_views(args)?;
        copy_outputs(&self.kernel().name, launch.outputs, outs)?;
        Ok(launch.report)
    }
}

/// Copies a launch's outputs into the caller's buffers
/// ([`CompiledKernel::launch_into`]'s default); a count, dtype or size
/// mismatch is a `BadArgument` naming the output.
pub fn copy_outputs(
    kernel: &str,
    outputs: Vec<HostArray>,
    outs: &mut [HostOut<'_>],
) -> Result<(), ExecError> {
    let bad = |param: String, expected: String, found: String| ExecError::BadArgument {
        kernel: kernel.to_string(),
        param,
        expected,
        found,
    };
    if outputs.len() != outs.len() {
        return Err(bad(
            "outputs".into(),
            format!("{} output buffers", outputs.len()),
            outs.len().to_string(),
        ));
    }
    for (i, (a, o)) in outputs.iter().zip(outs.iter_mut()).enumerate() {
        o.copy_from(a).map_err(|_| {
            bad(
                format!("output {i}"),
                format!("a buffer of {} {} elements", a.len(), a.dtype()),
                format!("{} {} elements", o.len(), o.dtype()),
            )
        })?;
    }
    Ok(())
}

/// A backend: compiles validated kernels.
pub trait Executor: Send + Sync {
    /// The backend's name (`sim`, `cpu`, `wgpu`).
    fn name(&self) -> &str;

    /// Compiles a kernel once, for many launches.
    fn compile(&self, kernel: &ValidatedKernel) -> Result<Arc<dyn CompiledKernel>, ExecError>;

    /// Whether the backend honours the checking options of
    /// [`crate::Options`] (the simulator does; the fast mode and the GPU
    /// run without them, see [`crate::Options::simulator_only`]).
    fn honours_checks(&self) -> bool {
        false
    }
}

/// Compiles through a cache keyed by the kernel, so a repeated launch of
/// the same kernel pays no compilation. Backends embed one. The cache
/// holds at most [`CompileCache::DEFAULT_CAPACITY`] kernels (or the
/// capacity given); past it the oldest entry goes, so a process that
/// compiles many distinct kernels does not keep them all.
pub struct CompileCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: HashMap<u64, Vec<CacheEntry>>,
    order: VecDeque<u64>,
    capacity: usize,
}

/// A kernel and its compiled form.
type CacheEntry = (Kernel, Arc<dyn CompiledKernel>);

impl Default for CompileCache {
    fn default() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }
}

impl CompileCache {
    /// How many kernels a default cache keeps.
    pub const DEFAULT_CAPACITY: usize = 256;

    /// An empty cache of the default capacity.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty cache that keeps at most `capacity` kernels (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        CompileCache {
            inner: Mutex::new(CacheInner {
                capacity: capacity.max(1),
                ..CacheInner::default()
            }),
        }
    }

    /// The cached compilation of `kernel`, or `compile`'s, stored.
    pub fn get_or_compile(
        &self,
        kernel: &ValidatedKernel,
        compile: impl FnOnce(&ValidatedKernel) -> Result<Arc<dyn CompiledKernel>, ExecError>,
    ) -> Result<Arc<dyn CompiledKernel>, ExecError> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        kernel.kernel().hash(&mut h);
        let key = h.finish();
        if let Some(hit) = self
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .get(&key)
            .and_then(|v| v.iter().find(|(k, _)| k == kernel.kernel()))
        {
            return Ok(hit.1.clone());
        }
        let compiled = compile(kernel)?;
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        while inner.order.len() >= inner.capacity {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(v) = inner.entries.get_mut(&old) {
                if !v.is_empty() {
                    v.remove(0);
                }
                if v.is_empty() {
                    inner.entries.remove(&old);
                }
            }
        }
        inner
            .entries
            .entry(key)
            .or_default()
            .push((kernel.kernel().clone(), compiled.clone()));
        inner.order.push_back(key);
        Ok(compiled)
    }

    /// Number of cached kernels.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .values()
            .map(Vec::len)
            .sum()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Checks launch arguments against the kernel's scalar-prefetch and input
/// parameters: count, dtype and shape.
pub fn check_args(kernel: &Kernel, args: &[HostArray]) -> Result<(), ExecError> {
    let sigs: Vec<(DType, &[usize])> = args.iter().map(|a| (a.dtype(), a.shape())).collect();
    check_arg_types(kernel, &sigs)
}

/// [`check_args`] for borrowed arrays.
pub fn check_views(kernel: &Kernel, args: &[HostView<'_>]) -> Result<(), ExecError> {
    let sigs: Vec<(DType, &[usize])> = args.iter().map(|a| (a.dtype(), a.shape())).collect();
    check_arg_types(kernel, &sigs)
}

/// Checks a caller's output buffers against the kernel's outputs: one per
/// output parameter, each of its dtype and element count (shapes are the
/// caller's: a buffer is row-major elements).
pub fn check_outs(kernel: &Kernel, outs: &[HostOut<'_>]) -> Result<(), ExecError> {
    let params: Vec<_> = kernel
        .params_of(ParamKind::Output)
        .map(|(_, p)| p)
        .collect();
    let bad = |param: &str, expected: String, found: String| ExecError::BadArgument {
        kernel: kernel.name.clone(),
        param: param.to_string(),
        expected,
        found,
    };
    if params.len() != outs.len() {
        return Err(bad(
            "outputs",
            format!("{} output buffers", params.len()),
            format!("{} buffers", outs.len()),
        ));
    }
    for (p, o) in params.iter().zip(outs) {
        let shape = launch_shape(kernel, &p.shape);
        let n: usize = shape.iter().product();
        let dtype = p.dtype().unwrap_or(DType::F32);
        if o.dtype() != dtype || o.len() != n {
            return Err(bad(
                &p.name,
                format!("a buffer of {n} {dtype} elements ({dtype}{shape:?})"),
                format!("a buffer of {} {} elements", o.len(), o.dtype()),
            ));
        }
    }
    Ok(())
}

/// Checks launch arguments given as (dtype, shape) pairs.
fn check_arg_types(kernel: &Kernel, args: &[(DType, &[usize])]) -> Result<(), ExecError> {
    let params: Vec<_> = kernel
        .params
        .iter()
        .filter(|p| matches!(p.kind, ParamKind::ScalarPrefetch | ParamKind::Input))
        .collect();
    let bad = |param: &str, expected: String, found: String| ExecError::BadArgument {
        kernel: kernel.name.clone(),
        param: param.to_string(),
        expected,
        found,
    };
    if params.len() != args.len() {
        return Err(bad(
            "arguments",
            format!(
                "{} arrays ({})",
                params.len(),
                params
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!("{} arrays", args.len()),
        ));
    }
    for (p, a) in params.iter().zip(args) {
        let want = match p.elem {
            RefElem::Data(d) => d,
            RefElem::Semaphore(_) => DType::I32,
        };
        let (dtype, shape) = *a;
        let expected = launch_shape(kernel, &p.shape);
        if dtype != want || shape != expected.as_slice() {
            let devices = if kernel.is_multi_device() {
                " (a leading device axis, then one device's shard)"
            } else {
                ""
            };
            return Err(bad(
                &p.name,
                format!("{want}{}{devices}", ShapeDisplay(&expected)),
                format!("{dtype}{}", ShapeDisplay(shape)),
            ));
        }
    }
    Ok(())
}

/// The shape a launch argument or output of a parameter of shape `shape`
/// has: the shape itself, or with a leading device axis for a kernel with a
/// device mesh (device `d`'s shard is `array[d]`).
pub fn launch_shape(kernel: &Kernel, shape: &[usize]) -> Vec<usize> {
    if kernel.is_multi_device() {
        let mut s = vec![kernel.num_devices().unwrap_or(0)];
        s.extend_from_slice(shape);
        s
    } else {
        shape.to_vec()
    }
}

/// Runs a kernel once on a backend: compile (through the backend's cache,
/// if it keeps one) and launch.
pub fn run(
    exec: &dyn Executor,
    kernel: &ValidatedKernel,
    args: &[HostArray],
) -> Result<Launch, ExecError> {
    exec.compile(kernel)?.launch(args)
}

#[cfg(test)]
mod cache_tests {
    use super::*;
    use pallas_ir::validate;

    struct Dummy(Kernel);
    impl CompiledKernel for Dummy {
        fn kernel(&self) -> &Kernel {
            &self.0
        }
        fn launch(&self, _: &[HostArray]) -> Result<Launch, ExecError> {
            Err(ExecError::Backend {
                backend: "dummy".into(),
                message: "not for running".into(),
            })
        }
    }

    #[test]
    fn the_cache_keeps_at_most_its_capacity_and_drops_the_oldest() {
        let cache = CompileCache::with_capacity(2);
        let compiles = std::cell::Cell::new(0);
        let get = |n: usize| {
            let vk = validate(&pallas_corpus::vector_add(n, 4)).unwrap();
            cache
                .get_or_compile(&vk, |_| {
                    compiles.set(compiles.get() + 1);
                    Ok(Arc::new(Dummy(vk.kernel().clone())))
                })
                .map(|_| ())
                .unwrap();
        };
        get(8);
        get(12);
        get(8);
        assert_eq!(compiles.get(), 2, "a hit compiles nothing");
        get(16);
        assert_eq!(compiles.get(), 3);
        get(8);
        assert_eq!(compiles.get(), 4, "the oldest entry (n = 8) was dropped");
        assert_eq!(cache.len(), 2);
    }
}
