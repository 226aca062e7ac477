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

/// Elements per shadow page.
pub const PAGE: usize = 1024;

/// The core (+ 1) a packed epoch names (0: no access).
fn core1_of(v: u64) -> u64 {
    v >> (KIND_BITS + CLOCK_BITS + POINT_BITS)
}

/// The shadow of one page of a buffer. A page every element of which has
/// the same history (what bulk accesses leave: a DMA, a whole block) is
/// one entry; a page that accesses split is kept per element, in the
/// buffer-wide arrays of [`Shadow`].
#[derive(Clone)]
enum Page {
    /// Every element: the last write, and since then the last read of
    /// each core that read (packed epochs of distinct cores).
    Uniform { write: u64, reads: Vec<u64> },
    /// Per element, in `Shadow::write` and `Shadow::reads`.
    Detailed,
}

/// Race shadow state of one buffer: pages of [`PAGE`] elements, each one
/// entry while bulk accesses (DMAs, block copies) keep it uniform, so a
/// DMA costs per page, not per element; per element where accesses split
/// it, with the same answers.
pub struct Shadow {
    len: usize,
    cores: usize,
    pages: Vec<Page>,
    /// Each element's last write, for detailed pages (allocated, zeroed
    /// and so not yet mapped, when the first page is detailed).
    write: Vec<u64>,
    /// `reads[core]`: each element's last read by that core, for detailed
    /// pages (allocated when the core first reads in one).
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
                s.len == n && s.cores == cores
            })
    }

    /// Fresh shadows for buffers of these lengths.
    pub fn new(lens: &[usize], cores: usize) -> Self {
        let fresh = Page::Uniform {
            write: 0,
            reads: Vec::new(),
        };
        RaceState {
            shadows: lens
                .iter()
                .map(|&n| {
                    Mutex::new(Shadow {
                        len: n,
                        cores,
                        pages: vec![fresh.clone(); n.div_ceil(PAGE)],
                        write: Vec::new(),
                        reads: vec![Vec::new(); cores],
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
    /// Calls `f(page, lo, hi)` for the part `[lo, hi)` (offsets within
    /// the page) of each page the elements `[o, o + n)` touch, in order.
    fn pages_of(o: usize, n: usize, mut f: impl FnMut(usize, usize, usize)) {
        let mut at = o;
        while at < o + n {
            let p = at / PAGE;
            let lo = at - p * PAGE;
            let hi = (o + n - p * PAGE).min(PAGE);
            f(p, lo, hi);
            at = p * PAGE + hi;
        }
    }

    fn page_len(&self, p: usize) -> usize {
        PAGE.min(self.len - p * PAGE)
    }

    /// Makes page `p` per-element: its uniform history written into the
    /// buffer-wide arrays (over whatever an earlier detail left there).
    fn detail(&mut self, p: usize) {
        let Page::Uniform { write, reads } = std::mem::replace(&mut self.pages[p], Page::Detailed)
        else {
            return;
        };
        let r = p * PAGE..p * PAGE + self.page_len(p);
        if self.write.is_empty() {
            self.write = vec![0; self.len];
        }
        self.write[r.clone()].fill(write);
        for (c, arr) in self.reads.iter_mut().enumerate() {
            let epoch = reads
                .iter()
                .copied()
                .find(|&e| core1_of(e) == c as u64 + 1)
                .unwrap_or(0);
            if arr.is_empty() && epoch != 0 {
                *arr = vec![0; self.len];
            }
            if !arr.is_empty() {
                arr[r.clone()].fill(epoch);
            }
        }
    }

    /// Checks and records an access to the element runs `(start, len)`; on
    /// a race, returns the earlier side's epoch, whether it wrote, and the
    /// element: within each run, a conflicting write first, then the
    /// lowest core's conflicting read, each at its first element.
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
            let core1 = core1_of(v);
            core1 == 0
                || core1 == mine
                || ((v >> POINT_BITS) & ((1 << CLOCK_BITS) - 1)) as u32 <= vc[core1 as usize - 1]
        };
        for &(o, n) in runs {
            if n == 0 {
                continue;
            }
            // The commonest small access: inside one per-element page.
            let p = o / PAGE;
            if (o + n - 1) / PAGE == p && matches!(self.pages[p], Page::Detailed) {
                if let Some(hit) = self.detailed(o, o + n, a.write, me, a.core, &covered) {
                    return Some(hit);
                }
                continue;
            }
            if let Some(hit) = self.conflict(o, n, a.write, &covered) {
                return Some(hit);
            }
            self.record(o, n, a.write, me, a.core);
        }
        None
    }

    /// Checks and records an access to `[lo, hi)`, every element of it in
    /// detailed pages.
    fn detailed(
        &mut self,
        lo: usize,
        hi: usize,
        write: bool,
        me: u64,
        core: usize,
        covered: &impl Fn(u64) -> bool,
    ) -> Option<(Epoch, bool, usize)> {
        let w = &mut self.write[lo..hi];
        if let Some(j) = w.iter().position(|&x| !covered(x)) {
            return Some((Epoch::unpack(w[j]), true, lo + j));
        }
        if write {
            for rs in self.reads.iter().filter(|r| !r.is_empty()) {
                if let Some(j) = rs[lo..hi].iter().position(|&r| !covered(r)) {
                    return Some((Epoch::unpack(rs[lo + j]), false, lo + j));
                }
            }
            w.fill(me);
            return None;
        }
        let rs = &mut self.reads[core];
        if rs.is_empty() {
            *rs = vec![0; self.len];
        }
        rs[lo..hi].fill(me);
        None
    }

    /// The first conflict of an access to `[o, o + n)`, if any.
    fn conflict(
        &self,
        o: usize,
        n: usize,
        write: bool,
        covered: &impl Fn(u64) -> bool,
    ) -> Option<(Epoch, bool, usize)> {
        let mut hit = None;
        Self::pages_of(o, n, |p, lo, hi| {
            if hit.is_some() {
                return;
            }
            let base = p * PAGE;
            hit = match &self.pages[p] {
                Page::Uniform { write, .. } if !covered(*write) => Some((*write, base + lo)),
                Page::Uniform { .. } => None,
                Page::Detailed => self.write[base + lo..base + hi]
                    .iter()
                    .position(|&w| !covered(w))
                    .map(|j| (self.write[base + lo + j], base + lo + j)),
            };
        });
        if let Some((w, at)) = hit {
            return Some((Epoch::unpack(w), true, at));
        }
        if !write {
            return None;
        }
        // The lowest core's first conflicting read.
        let mut best: Option<(u64, u64, usize)> = None;
        Self::pages_of(o, n, |p, lo, hi| {
            let base = p * PAGE;
            let mut consider = |core1: u64, epoch: u64, at: usize| {
                if best.is_none_or(|(c, _, _)| core1 < c) {
                    best = Some((core1, epoch, at));
                }
            };
            match &self.pages[p] {
                Page::Uniform { reads, .. } => {
                    for &r in reads.iter().filter(|&&r| !covered(r)) {
                        consider(core1_of(r), r, base + lo);
                    }
                }
                Page::Detailed => {
                    let cores = self.reads.iter().enumerate().filter(|(_, r)| !r.is_empty());
                    for (c, rs) in cores {
                        let part = &rs[base + lo..base + hi];
                        if let Some(j) = part.iter().position(|&r| !covered(r)) {
                            consider(c as u64 + 1, part[j], base + lo + j);
                        }
                    }
                }
            }
        });
        best.map(|(_, r, at)| (Epoch::unpack(r), false, at))
    }

    /// Records an access to `[o, o + n)` at packed epoch `me` of `core`. A
    /// write over a whole page makes it uniform again: it follows every
    /// earlier access there (else it would have raced), so they are
    /// forgotten.
    fn record(&mut self, o: usize, n: usize, write: bool, me: u64, core: usize) {
        let mine = core as u64 + 1;
        Self::pages_of(o, n, |p, lo, hi| {
            let whole = lo == 0 && hi == self.page_len(p);
            let base = p * PAGE;
            if write && whole {
                self.pages[p] = Page::Uniform {
                    write: me,
                    reads: Vec::new(),
                };
                return;
            }
            if let (false, true, Page::Uniform { reads, .. }) = (write, whole, &mut self.pages[p]) {
                match reads.iter_mut().find(|r| core1_of(**r) == mine) {
                    Some(r) => *r = me,
                    None => reads.push(me),
                }
                return;
            }
            self.detail(p);
            if write {
                self.write[base + lo..base + hi].fill(me);
            } else {
                let rs = &mut self.reads[core];
                if rs.is_empty() {
                    *rs = vec![0; self.len];
                }
                rs[base + lo..base + hi].fill(me);
            }
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-element shadow the paged one must answer like: every
    /// element's last write and each core's last read.
    struct Naive {
        write: Vec<u64>,
        reads: Vec<Vec<u64>>,
    }

    impl Naive {
        fn access(&mut self, a: &Access, runs: &[(usize, usize)]) -> Option<(Epoch, bool, usize)> {
            let me = Epoch {
                core1: a.core as u16 + 1,
                kind: a.kind,
                clock: a.vc[a.core],
                point: a.point,
            }
            .pack();
            let covered = |v: u64| {
                let c = core1_of(v);
                c == 0
                    || c == a.core as u64 + 1
                    || ((v >> POINT_BITS) & ((1 << CLOCK_BITS) - 1)) as u32 <= a.vc[c as usize - 1]
            };
            for &(o, n) in runs {
                if let Some(j) = (o..o + n).find(|&i| !covered(self.write[i])) {
                    return Some((Epoch::unpack(self.write[j]), true, j));
                }
                if a.write {
                    for reads in &self.reads {
                        if let Some(j) = (o..o + n).find(|&i| !covered(reads[i])) {
                            return Some((Epoch::unpack(reads[j]), false, j));
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

    /// A small deterministic generator.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn paged_shadows_answer_like_per_element_ones() {
        let (len, cores) = (3 * PAGE + 100, 3);
        let (mut races, mut clean) = (0, 0);
        for seed in 1..40u64 {
            let mut rng = seed * 0x9E37_79B9_7F4A_7C15;
            let mut paged = RaceState::new(&[len], cores);
            let shadow = paged.shadows[0].get_mut().unwrap();
            let mut naive = Naive {
                write: vec![0; len],
                reads: vec![vec![0; len]; cores],
            };
            // Each core's clock, and what it has seen of the others.
            let mut vcs = vec![vec![1u32; cores]; cores];
            for step in 0..200 {
                let core = (next(&mut rng) % cores as u64) as usize;
                // Sometimes a core syncs with another (joins its clock).
                if next(&mut rng) % 4 == 0 {
                    let other = (next(&mut rng) % cores as u64) as usize;
                    let theirs = vcs[other].clone();
                    for (m, t) in vcs[core].iter_mut().zip(theirs) {
                        *m = (*m).max(t);
                    }
                }
                vcs[core][core] += 1;
                // Bulk runs (whole pages), partial runs, single elements.
                let runs: Vec<(usize, usize)> = match next(&mut rng) % 3 {
                    0 => {
                        let p = (next(&mut rng) % 3) as usize;
                        vec![(
                            p * PAGE,
                            PAGE * (1 + (next(&mut rng) % 2) as usize).min(3 - p),
                        )]
                    }
                    1 => {
                        let o = (next(&mut rng) % len as u64) as usize;
                        let n = 1 + (next(&mut rng) % 1500) as usize;
                        vec![(o, n.min(len - o))]
                    }
                    _ => (0..4)
                        .map(|_| ((next(&mut rng) % len as u64) as usize, 1))
                        .collect(),
                };
                let a = Access {
                    core,
                    vc: &vcs[core],
                    point: step,
                    write: next(&mut rng) % 2 == 0,
                    kind: AccessKind::Dma,
                };
                let got = shadow.access(&a, &runs);
                let want = naive.access(&a, &runs);
                assert_eq!(got, want, "seed {seed} step {step}: {runs:?}");
                if got.is_none() {
                    clean += 1;
                } else {
                    races += 1;
                    // A race ends a launch: start both over.
                    *shadow = RaceState::new(&[len], cores)
                        .shadows
                        .remove(0)
                        .into_inner()
                        .unwrap();
                    naive = Naive {
                        write: vec![0; len],
                        reads: vec![vec![0; len]; cores],
                    };
                }
            }
        }
        // Both answers were exercised, many times.
        assert!(races > 100 && clean > 1000, "{races} races, {clean} clean");
    }

    #[test]
    fn a_bulk_write_is_one_entry_per_page() {
        let mut rs = RaceState::new(&[8 * PAGE], 2);
        let s = rs.shadows[0].get_mut().unwrap();
        let vc = [5, 0];
        let a = Access {
            core: 0,
            vc: &vc,
            point: 0,
            write: true,
            kind: AccessKind::Dma,
        };
        assert_eq!(s.access(&a, &[(0, 8 * PAGE)]), None);
        assert!(s.pages.iter().all(|p| matches!(p, Page::Uniform { .. })));
        assert!(s.write.is_empty());
        // Core 1, not ordered after core 0's write, reads one element.
        let vc1 = [4, 1];
        let b = Access {
            core: 1,
            vc: &vc1,
            point: 1,
            write: false,
            kind: AccessKind::CopyIn,
        };
        let (first, was_write, at) = s.access(&b, &[(3 * PAGE + 7, 1)]).unwrap();
        assert!(was_write);
        assert_eq!((first.core1, first.clock, at), (1, 5, 3 * PAGE + 7));
    }
}
