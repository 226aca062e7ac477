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
//! list of in-flight DMAs.

use std::sync::Mutex;

use crate::error::SimErrorKind;
use crate::interp::RefId;

/// One access in time: which core, at which of its clocks, at which grid
/// point (a linear row-major index, for the report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Epoch {
    /// Core + 1 (0: no access yet).
    pub core1: u16,
    /// The core's own clock at the access.
    pub clock: u32,
    /// Linear grid point.
    pub point: u32,
}

/// Shadow state of one HBM buffer.
pub struct Shadow {
    cores: usize,
    write: Vec<Epoch>,
    reads: Vec<Epoch>,
}

/// Shadow state of every HBM buffer of a launch.
pub struct RaceState {
    /// Per HBM buffer.
    pub shadows: Vec<Mutex<Shadow>>,
}

impl RaceState {
    /// Fresh shadows for buffers of these lengths.
    pub fn new(lens: &[usize], cores: usize) -> Self {
        RaceState {
            shadows: lens
                .iter()
                .map(|&n| {
                    Mutex::new(Shadow {
                        cores,
                        write: vec![Epoch::default(); n],
                        reads: vec![Epoch::default(); n * cores],
                    })
                })
                .collect(),
        }
    }
}

/// Describes an access for a report.
pub fn describe(what: &str, core: usize, point: u32, grid: &[usize]) -> String {
    if grid.is_empty() {
        return format!("{what} by core {core}");
    }
    let mut idx = vec![0; grid.len()];
    let mut rem = point as usize;
    for d in (0..grid.len()).rev() {
        idx[d] = rem % grid[d].max(1);
        rem /= grid[d].max(1);
    }
    format!("{what} by core {core} at grid point {idx:?}")
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
}

impl Shadow {
    /// Checks and records an access to elements `offsets`; on a race,
    /// returns the first side (an epoch) and the element.
    pub fn access(
        &mut self,
        a: &Access,
        offsets: impl Iterator<Item = usize>,
    ) -> Option<(Epoch, bool, usize)> {
        let me = Epoch {
            core1: a.core as u16 + 1,
            clock: a.vc[a.core],
            point: a.point,
        };
        let covered = |e: &Epoch| {
            e.core1 == 0 || e.core1 == me.core1 || e.clock <= a.vc[e.core1 as usize - 1]
        };
        for i in offsets {
            let w = self.write[i];
            if !covered(&w) {
                return Some((w, true, i));
            }
            if a.write {
                for c in 0..self.cores {
                    let r = self.reads[i * self.cores + c];
                    if !covered(&r) {
                        return Some((r, false, i));
                    }
                }
                self.write[i] = me;
            } else {
                self.reads[i * self.cores + a.core] = me;
            }
        }
        None
    }
}

/// A DMA between its start and its wait.
pub struct InFlight {
    /// Source buffer and element offsets.
    pub src: (RefId, Vec<usize>),
    /// Destination buffer and element offsets.
    pub dst: (RefId, Vec<usize>),
    /// Semaphore slot it signals.
    pub sem: usize,
    /// Linear grid point of its start.
    pub point: u32,
}

/// Whether two sorted-or-not offset lists share an element; returns it.
pub fn overlap(a: &[usize], b: &[usize]) -> Option<usize> {
    let (amin, amax) = (a.iter().min()?, a.iter().max()?);
    let (bmin, bmax) = (b.iter().min()?, b.iter().max()?);
    if amax < bmin || bmax < amin {
        return None;
    }
    let set: std::collections::HashSet<usize> = a.iter().copied().collect();
    b.iter().copied().find(|x| set.contains(x))
}

/// The race error for an access that meets an in-flight DMA.
pub fn dma_race(name: &str, index: usize, dma_point: String, second: String) -> SimErrorKind {
    SimErrorKind::Race {
        name: name.to_string(),
        index,
        first: format!("a DMA in flight (started {dma_point})"),
        second,
    }
}
