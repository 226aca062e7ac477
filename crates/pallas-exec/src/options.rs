//! The one typed options value every backend is made from: the knobs of
//! Pallas' TPU interpret mode. The simulator honours every field; the
//! fast mode and the GPU run without the simulator's checks, and
//! [`Options::simulator_only`] names what they leave aside, so that a
//! front end can say so.

/// What an out-of-bounds read does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutOfBoundsReads {
    /// Report an error naming the grid point, operation, ref and indices.
    Raise,
    /// Return uninitialized values, as the hardware might.
    Uninitialized,
}

/// What fresh memory holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UninitializedMemory {
    /// NaN for floats, a poison pattern for integers (`0x7fbadbad`).
    Nan,
    /// Zeros.
    Zero,
}

/// When DMAs move their data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaExecutionMode {
    /// At `dma_start`.
    Eager,
    /// At the matching `dma_wait`: a read of the destination before the
    /// wait sees stale data, which exposes a missing wait.
    OnWait,
}

/// What a detected data race does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnRace {
    /// Stop the launch with a `Race` fault naming both sides.
    Raise,
    /// Record the race (the run report's `races` counter and a note per
    /// race, the first few in full) and go on, as JAX's interpret mode
    /// does before JAX 0.12.
    Warn,
}

/// Which hardware's constraints to check beyond the interpret mode's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// No hardware constraints (what JAX's interpret mode checks).
    Interpret,
    /// TPU: the last two block dims of 32-bit VMEM blocks divisible by
    /// (8, 128) unless equal to the array's; VMEM use per core under
    /// `vmem_capacity_bytes`.
    Tpu,
}

/// A shared count of grid points done, for progress displays: cores add
/// to it as they go (in batches, so the cost is nil).
#[derive(Clone, Debug, Default)]
pub struct Progress(pub std::sync::Arc<std::sync::atomic::AtomicU64>);

impl PartialEq for Progress {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Progress {
    /// Grid points done so far.
    pub fn done(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The integer poison pattern of uninitialized memory.
pub const POISON: u32 = 0x7fba_dbad;

/// Backend options. `Options::default()` is the interpret mode's default:
/// one core, checks on, eager DMAs, natural order.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Simulated cores; parallel grid dimensions are split across them,
    /// each core on its own thread.
    pub num_cores: usize,
    /// Out-of-bounds reads: error or uninitialized values.
    pub out_of_bounds_reads: OutOfBoundsReads,
    /// Content of fresh memory (blocks past an array's edge, scratch,
    /// output blocks before they are written).
    pub uninitialized_memory: UninitializedMemory,
    /// When DMAs run.
    pub dma_execution_mode: DmaExecutionMode,
    /// Skip floating-point arithmetic (results are uninitialized), to time
    /// memory traffic alone.
    pub skip_floating_point_ops: bool,
    /// Seed for the order of parallel grid points within each core; 0 keeps
    /// row-major order.
    pub random_seed: u64,
    /// Print `debug_print` output to stdout.
    pub debug_print: bool,
    /// Detect data races between cores with vector clocks (FastTrack
    /// shadows of HBM). Within a core, DMAs in flight are checked against
    /// the core's own accesses on every run; on one core there is no other
    /// core to race with, so this adds nothing there.
    pub detect_races: bool,
    /// What a detected race does.
    pub on_race: OnRace,
    /// Make a read of memory nobody wrote an error.
    pub report_uninitialized_reads: bool,
    /// Write a Chrome trace (one event per grid point and DMA per core) to
    /// this file after each launch.
    pub trace: Option<std::path::PathBuf>,
    /// Hardware constraints to check.
    pub target: Target,
    /// VMEM per core for the `Tpu` target check (bytes).
    pub vmem_capacity_bytes: usize,
    /// Largest HBM footprint (all inputs and outputs) a launch may take.
    pub memory_limit_bytes: usize,
    /// Where to count grid points done (for a progress bar).
    pub progress: Option<Progress>,
    /// Most `for`/`while` iterations one core may run in a launch; past
    /// it the launch stops with an error instead of running on (a kernel
    /// that never ends). `None`: no limit.
    pub max_loop_iterations: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            num_cores: 1,
            out_of_bounds_reads: OutOfBoundsReads::Raise,
            uninitialized_memory: UninitializedMemory::Nan,
            dma_execution_mode: DmaExecutionMode::Eager,
            skip_floating_point_ops: false,
            random_seed: 0,
            debug_print: true,
            detect_races: false,
            on_race: OnRace::Raise,
            report_uninitialized_reads: false,
            trace: None,
            target: Target::Interpret,
            vmem_capacity_bytes: 16 << 20,
            memory_limit_bytes: 8 << 30,
            progress: None,
            max_loop_iterations: None,
        }
    }
}

impl Options {
    /// The default settings, to chain setters on.
    pub fn builder() -> Self {
        Self::default()
    }
    /// Sets the number of simulated cores (at least 1).
    pub fn num_cores(mut self, n: usize) -> Self {
        self.num_cores = n.max(1);
        self
    }
    /// Sets what out-of-bounds reads do.
    pub fn out_of_bounds_reads(mut self, v: OutOfBoundsReads) -> Self {
        self.out_of_bounds_reads = v;
        self
    }
    /// Sets what fresh memory holds.
    pub fn uninitialized_memory(mut self, v: UninitializedMemory) -> Self {
        self.uninitialized_memory = v;
        self
    }
    /// Sets when DMAs run.
    pub fn dma_execution_mode(mut self, v: DmaExecutionMode) -> Self {
        self.dma_execution_mode = v;
        self
    }
    /// Skips floating-point arithmetic.
    pub fn skip_floating_point_ops(mut self, v: bool) -> Self {
        self.skip_floating_point_ops = v;
        self
    }
    /// Sets the seed for the order of parallel grid points.
    pub fn random_seed(mut self, seed: u64) -> Self {
        self.random_seed = seed;
        self
    }
    /// Turns race detection on or off.
    pub fn detect_races(mut self, v: bool) -> Self {
        self.detect_races = v;
        self
    }
    /// Sets what a detected race does.
    pub fn on_race(mut self, v: OnRace) -> Self {
        self.on_race = v;
        self
    }
    /// Makes reads of uninitialized memory errors.
    pub fn report_uninitialized_reads(mut self, v: bool) -> Self {
        self.report_uninitialized_reads = v;
        self
    }
    /// Writes a Chrome trace to a file after each launch.
    pub fn trace(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.trace = Some(path.into());
        self
    }
    /// Sets the hardware target whose constraints are checked.
    pub fn target(mut self, t: Target) -> Self {
        self.target = t;
        self
    }
    /// Sets the VMEM capacity per core for the TPU check.
    pub fn vmem_capacity_bytes(mut self, n: usize) -> Self {
        self.vmem_capacity_bytes = n;
        self
    }
    /// Sets the largest HBM footprint a launch may take.
    pub fn memory_limit_bytes(mut self, n: usize) -> Self {
        self.memory_limit_bytes = n;
        self
    }
    /// Counts grid points done into `p`.
    pub fn progress(mut self, p: Progress) -> Self {
        self.progress = Some(p);
        self
    }
    /// Stops a launch with an error once a core has run `n` loop
    /// iterations.
    pub fn max_loop_iterations(mut self, n: u64) -> Self {
        self.max_loop_iterations = Some(n);
        self
    }
    /// Turns `debug_print` output on or off.
    pub fn debug_print(mut self, v: bool) -> Self {
        self.debug_print = v;
        self
    }

    /// The options set away from their defaults that only the simulator
    /// honours (the fast mode and the GPU run the kernel without them), by
    /// their CLI names.
    pub fn simulator_only(&self) -> Vec<&'static str> {
        let d = Options::default();
        let mut out = Vec::new();
        let mut note = |differs: bool, name: &'static str| {
            if differs {
                out.push(name);
            }
        };
        note(self.num_cores != d.num_cores, "cores");
        note(
            self.out_of_bounds_reads != d.out_of_bounds_reads,
            "out-of-bounds-reads",
        );
        note(
            self.uninitialized_memory != d.uninitialized_memory,
            "uninitialized-memory",
        );
        note(self.dma_execution_mode != d.dma_execution_mode, "dma-mode");
        note(
            self.skip_floating_point_ops != d.skip_floating_point_ops,
            "skip-floating-point-ops",
        );
        note(self.random_seed != d.random_seed, "order-seed");
        note(self.detect_races != d.detect_races, "detect-races");
        note(self.on_race != d.on_race, "on-race");
        note(
            self.report_uninitialized_reads != d.report_uninitialized_reads,
            "report-uninitialized-reads",
        );
        note(self.trace != d.trace, "trace");
        note(self.target != d.target, "target");
        note(
            self.vmem_capacity_bytes != d.vmem_capacity_bytes,
            "vmem-capacity",
        );
        note(
            self.memory_limit_bytes != d.memory_limit_bytes,
            "memory-limit",
        );
        note(
            self.max_loop_iterations != d.max_loop_iterations,
            "max-loop-iterations",
        );
        out
    }
}
