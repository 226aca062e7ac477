//! Race detection with vector clocks (in the style of FastTrack): each HBM
//! element remembers its last write and each core's last read as epochs;
//! an access races with a remembered one that the accessing core's vector
//! clock does not cover. The cost is constant per element accessed, so it
//! grows linearly with the accesses (JAX's interpret mode compares each
//! access with every earlier one).
//!
//! Within a core, program order orders everything except DMAs in flight:
//! between `dma_start` and its `dma_wait`, the DMA's destination (and, for
//! writes, its source) may not be touched; those are checked against the
//! list of in-flight DMAs, with or without race detection (a region
//! overlap per access, cheap enough to be on by default).

use crate::memory::{DimRange, Region};
use std::sync::Mutex;

use crate::interp::RefId;
use pallas_exec::FaultKind;

/// What moved an element: the kinds of HBM access (kernels reach HBM
/// only through DMAs and the block pipeline), and a core's own access to a
/// local buffer that remote copies write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccessKind {
    /// A DMA's source or destination.
    #[default]
    Dma,
    /// A block copied in before a grid point.
    CopyIn,
    /// A block written back after its last grid point.
    WriteBack,
    /// A core's own access to a local buffer that remote copies write.
    Core,
}

impl AccessKind {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            AccessKind::Dma => "DMA",
            AccessKind::CopyIn => "block copy-in",
            AccessKind::WriteBack => "block write-back",
            AccessKind::Core => "by the kernel body",
        }
    }

    fn bits(self) -> u64 {
        self as u64
    }

    fn from_bits(b: u64) -> AccessKind {
        match b {
            1 => AccessKind::CopyIn,
            2 => AccessKind::WriteBack,
            3 => AccessKind::Core,
            _ => AccessKind::Dma,
        }
    }
}

/// One access in time: which core, at which of its clocks, at which grid
/// point (a linear row-major index, for the report), and what it was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Epoch {
    /// Core + 1 (0: no access yet).
    pub core1: u16,
    /// What the access was.
    pub kind: AccessKind,
    /// The core's own clock at the access.
    pub clock: u32,
    /// Linear grid point.
    pub point: u32,
}

/// Most cores (of all devices together) an epoch can name: 10 bits of
/// core + 1.
pub const MAX_CORES: usize = 1023;

const CLOCK_BITS: u32 = 25;
const KIND_BITS: u32 = 2;
/// Past this clock base, kept shadows are dropped and clocks restart.
pub const CLOCK_RESET: u32 = 1 << (CLOCK_BITS - 1);
const POINT_BITS: u32 = 27;

impl Epoch {
    /// Packs into 64 bits (10 bits of core, 2 of kind, 25 of clock, 27
    /// of grid point; larger values saturate), so that shadows of zeros
    /// cost nothing until touched.
    fn pack(self) -> u64 {
        let clock = self.clock.min((1 << CLOCK_BITS) - 1) as u64;
        let point = self.point.min((1 << POINT_BITS) - 1) as u64;
        ((self.core1 as u64) << (KIND_BITS + CLOCK_BITS + POINT_BITS))
            | (self.kind.bits() << (CLOCK_BITS + POINT_BITS))
            | (clock << POINT_BITS)
            | point
    }

    fn unpack(v: u64) -> Epoch {
        Epoch {
            core1: (v >> (KIND_BITS + CLOCK_BITS + POINT_BITS)) as u16,
            kind: AccessKind::from_bits((v >> (CLOCK_BITS + POINT_BITS)) & 3),
            clock: ((v >> POINT_BITS) & ((1 << CLOCK_BITS) - 1)) as u32,
            point: (v & ((1 << POINT_BITS) - 1)) as u32,
        }
    }
}

/// Shadow state of one HBM buffer.
pub struct Shadow {
    write: Vec<u64>,
    /// `reads[core][element]`.
    reads: Vec<Vec<u64>>,
}

/// Shadow state of every HBM buffer of a launch.
pub struct RaceState {
    /// Per HBM buffer.
    pub shadows: Vec<Mutex<Shadow>>,
}

impl RaceState {
    /// Whether these shadows cover buffers of these lengths and cores.
    pub fn fits(&self, lens: &[usize], cores: usize) -> bool {
        self.shadows.len() == lens.len()
            && self.shadows.iter().zip(lens).all(|(s, &n)| {
                let s = s.lock().unwrap_or_else(|e| e.into_inner());
                s.write.len() == n && s.reads.len() == cores
            })
    }

    /// Fresh shadows for buffers of these lengths.
    pub fn new(lens: &[usize], cores: usize) -> Self {
        RaceState {
            shadows: lens
                .iter()
                .map(|&n| {
                    Mutex::new(Shadow {
                        write: vec![0; n],
                        reads: (0..cores).map(|_| vec![0; n]).collect(),
                    })
                })
                .collect(),
        }
    }
}

/// Describes an access for a report.
pub fn describe(what: &str, who: &str, point: u32, grid: &[usize]) -> String {
    if grid.is_empty() {
        return format!("{what} by {who}");
    }
    let mut idx = vec![0; grid.len()];
    let mut rem = point as usize;
    for d in (0..grid.len()).rev() {
        idx[d] = rem % grid[d].max(1);
        rem /= grid[d].max(1);
    }
    format!("{what} by {who} at grid point {idx:?}")
}

/// What a checked access is.
pub struct Access<'a> {
    /// Accessing core.
    pub core: usize,
    /// Its vector clock.
    pub vc: &'a [u32],
    /// Its linear grid point.
    pub point: u32,
    /// Whether it writes.
    pub write: bool,
    /// What it is.
    pub kind: AccessKind,
}

impl Shadow {
    /// Checks and records an access to the element runs `(start, len)`; on
    /// a race, returns the earlier side's epoch, whether it wrote, and the
    /// element.
    pub fn access(&mut self, a: &Access, runs: &[(usize, usize)]) -> Option<(Epoch, bool, usize)> {
        let me = Epoch {
            core1: a.core as u16 + 1,
            kind: a.kind,
            clock: a.vc[a.core],
            point: a.point,
        }
        .pack();
        let vc = a.vc;
        let mine = a.core as u64 + 1;
        let covered = |v: u64| {
            let core1 = v >> (KIND_BITS + CLOCK_BITS + POINT_BITS);
            core1 == 0
                || core1 == mine
                || ((v >> POINT_BITS) & ((1 << CLOCK_BITS) - 1)) as u32 <= vc[core1 as usize - 1]
        };
        for &(o, n) in runs {
            if let Some(j) = self.write[o..o + n].iter().position(|&w| !covered(w)) {
                return Some((Epoch::unpack(self.write[o + j]), true, o + j));
            }
            if a.write {
                for reads in &self.reads {
                    if let Some(j) = reads[o..o + n].iter().position(|&r| !covered(r)) {
                        return Some((Epoch::unpack(reads[o + j]), false, o + j));
                    }
                }
                self.write[o..o + n].fill(me);
            } else {
                self.reads[a.core][o..o + n].fill(me);
            }
        }
        None
    }
}

/// A DMA between its start and its wait.
pub struct InFlight {
    /// Source buffer and region.
    pub src: (RefId, Region),
    /// Destination buffer and region.
    pub dst: (RefId, Region),
    /// Semaphore slot it signals.
    pub sem: usize,
    /// Linear grid point of its start.
    pub point: u32,
    /// Whether the destination is on another core (a remote copy): only
    /// its source is this core's to check.
    pub remote: bool,
}

/// The first element (row-major flat index in a buffer of `shape`) that
/// two regions of that buffer share, if any. A region is a product of
/// arithmetic progressions, one per dimension, so they share an element
/// exactly when every dimension's progressions meet.
pub fn region_overlap(a: &Region, b: &Region, shape: &[usize]) -> Option<usize> {
    let mut flat = 0usize;
    for ((x, y), &n) in a.dims.iter().zip(b.dims.iter()).zip(shape) {
        flat = flat * n + first_common(x, y)?;
    }
    Some(flat)
}

/// The smallest coordinate two progressions share.
fn first_common(x: &DimRange, y: &DimRange) -> Option<usize> {
    if x.size == 0 || y.size == 0 {
        return None;
    }
    let last = |d: &DimRange| d.start + (d.size - 1) * d.stride;
    let (lo, hi) = (x.start.max(y.start), last(x).min(last(y)));
    if lo > hi {
        return None;
    }
    // Walk the sparser progression over the common interval.
    let (walk, test) = if x.stride >= y.stride { (x, y) } else { (y, x) };
    let mut c = if walk.start >= lo {
        walk.start
    } else {
        walk.start + (lo - walk.start).div_ceil(walk.stride) * walk.stride
    };
    while c <= hi {
        if (c - test.start) % test.stride.max(1) == 0 {
            return Some(c);
        }
        c += walk.stride.max(1);
    }
    None
}

/// The race error for an access that meets an in-flight DMA.
pub fn dma_race(name: &str, index: usize, dma_point: String, second: String) -> FaultKind {
    FaultKind::Race {
        name: name.to_string(),
        index,
        first: format!("a DMA in flight (started on {dma_point})"),
        second,
    }
}
