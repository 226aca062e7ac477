//! What a backend reports when a kernel misbehaves: one [`Fault`] type
//! for every backend. The simulator fills every field it knows; the fast
//! mode and the GPU report the kinds they check (bounds, block indices,
//! waits that could never return) with as much of the place as they know.

use std::fmt;

use pallas_ir::Loc;

/// What went wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultKind {
    /// A read or write outside a ref.
    #[error("out-of-bounds {access} of `{name}`: {} on dimension {dim}, which has {extent} elements", index.map_or("an index".to_string(), |i| format!("index {i}")))]
    OutOfBounds {
        /// `read` or `write`.
        access: &'static str,
        /// Ref name.
        name: String,
        /// Dimension.
        dim: usize,
        /// Offending index (start + span for slices), where the backend
        /// records it (the GPU does not).
        index: Option<i64>,
        /// Extent of the dimension.
        extent: usize,
    },
    /// An index map gave a block index outside the array.
    #[error("{} on dimension {dim} of `{name}`, which has {blocks} blocks there", index.map_or("a block index out of range".to_string(), |i| format!("block index {i}")))]
    BlockIndexOutOfRange {
        /// Parameter.
        name: String,
        /// Dimension.
        dim: usize,
        /// Block index, where the backend records it (the GPU does not).
        index: Option<i64>,
        /// Number of blocks.
        blocks: usize,
    },
    /// An output block visited again after another block was written.
    #[error("output `{name}` revisits block {block:?} after other blocks were written (only aliased outputs may)")]
    Revisit {
        /// Output.
        name: String,
        /// Block index.
        block: Vec<i64>,
    },
    /// An output block the body writes stays resident across grid points
    /// that differ in a parallel coordinate: on the hardware the points may
    /// run on different cores, each writing the block back.
    #[error("output `{name}` block {block:?} is written at grid points {first:?} and {second:?}, which differ in dimension {dim}, declared parallel; a dimension along which an output block stays must be `arbitrary`")]
    OutputAcrossParallel {
        /// Output.
        name: String,
        /// Block index.
        block: Vec<i64>,
        /// The grid point at which the block became resident.
        first: Vec<usize>,
        /// The grid point that found it still resident.
        second: Vec<usize>,
        /// The parallel dimension that changed.
        dim: usize,
    },
    /// A core ran more loop iterations than `max_loop_iterations` allows.
    #[error("a core ran more than {limit} loop iterations (the configured limit); the kernel may never end")]
    LoopLimit {
        /// The limit.
        limit: u64,
    },
    /// Every core (of every device) is waiting on a semaphore.
    #[error("deadlock: every running core waits on a semaphore ({detail})")]
    Deadlock {
        /// Who waits for what.
        detail: String,
    },
    /// A device id outside the mesh.
    #[error("device id {device} out of range: the mesh has {devices} devices")]
    BadDevice {
        /// Device asked for.
        device: i64,
        /// Devices in the mesh.
        devices: usize,
    },
    /// A semaphore wait nothing could satisfy, on a backend that runs one
    /// program at a time (the fast mode, the GPU): no other core can
    /// signal it.
    #[error("a wait on semaphore `{sem}` would never return: {detail}")]
    WaitNeverReturns {
        /// The semaphore ref.
        sem: String,
        /// What it holds and what the wait asks, where known.
        detail: String,
    },
    /// A semaphore still counts at the end of the kernel.
    #[error("semaphore `{name}`[{index}] is {value} at the end of the kernel, expected 0 (a signal or DMA never waited for)")]
    SemaphoreLeftNonZero {
        /// Semaphore ref.
        name: String,
        /// Flat index.
        index: usize,
        /// Count.
        value: i64,
    },
    /// A DMA started and never waited for.
    #[error("DMA into `{dst}` started and never waited for (it signals {sem})")]
    DmaNotWaited {
        /// Destination ref.
        dst: String,
        /// The semaphore and slot it signals (`` `sem`[1] ``).
        sem: String,
    },
    /// A read of memory no one wrote.
    #[error("read of uninitialized memory in `{name}` at element {element:?}{detail}")]
    UninitializedRead {
        /// Ref.
        name: String,
        /// The element, one index per dimension of the ref as the kernel
        /// sees it (a block's own index for a block).
        element: Vec<usize>,
        /// For a block element: which array element it is, and whether it
        /// lies past the array's edge (empty otherwise).
        detail: String,
    },
    /// A semaphore signalled on a core that does not exist.
    #[error("core index {core} out of range: {cores} cores")]
    BadCore {
        /// Core asked for.
        core: i64,
        /// Cores simulated.
        cores: usize,
    },
    /// Two accesses to one element, at least one a write, not ordered by a
    /// semaphore or DMA completion.
    #[error("data race on `{name}` element {index}: {first} and {second} are not ordered by a semaphore or DMA completion")]
    Race {
        /// The buffer.
        name: String,
        /// Flat element index.
        index: usize,
        /// The earlier access (`write by core 0 at grid point [1]`).
        first: String,
        /// The later access.
        second: String,
    },
    /// A block or memory use the target hardware cannot have.
    #[error("TPU constraint: {0}")]
    Tpu(String),
    /// An array too large to simulate.
    #[error("{what} needs {bytes} bytes, over the limit of {limit}")]
    TooLarge {
        /// What.
        what: String,
        /// Bytes needed.
        bytes: u128,
        /// Limit.
        limit: u128,
    },
}

/// A kernel fault: the kernel, core, grid point and operation where it
/// happened, and what went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Kernel name.
    pub kernel: String,
    /// Simulated device of a kernel with a device mesh (`None` without
    /// one).
    pub device: Option<usize>,
    /// Simulated core; `None` on backends without cores (the fast mode and
    /// the GPU run the grid without a core model).
    pub core: Option<usize>,
    /// Grid point (one index per grid dimension), if inside the grid and
    /// known (the GPU does not record it).
    pub grid_point: Option<Vec<usize>>,
    /// The operation or phase (`load`, `copy-in of x`, `end of kernel`).
    pub op: String,
    /// Source location of the operation, for parsed kernels.
    pub loc: Option<Loc>,
    /// What went wrong.
    pub kind: FaultKind,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kernel `{}`", self.kernel)?;
        if let Some(d) = self.device {
            write!(f, ", device {d}")?;
        }
        if let Some(c) = self.core {
            write!(f, ", core {c}")?;
        }
        if let Some(p) = &self.grid_point {
            write!(f, ", grid point {p:?}")?;
        }
        write!(f, ", {}", self.op)?;
        if let Some(l) = self.loc {
            write!(f, " at {l}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for Fault {}
