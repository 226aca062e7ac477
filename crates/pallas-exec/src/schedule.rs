//! The order of grid points and the block pipeline, decided once for every
//! backend.
//!
//! A grid splits into a parallel prefix (the leading `parallel`
//! dimensions) and an arbitrary suffix. Each core (a simulated TPU core, a
//! rayon worker of the fast mode) owns some parallel-prefix points, in a
//! seeded order, and runs every arbitrary point after each. At every point
//! the [`BlockPipeline`] decides, per blocked parameter, whether the block
//! stays resident, is copied in, or is written back and replaced, and
//! reports the pipeline's faults (block index out of range, an output
//! block revisited, an output block kept across a parallel dimension). The
//! simulator and pallas-cpu carry the decisions out; pallas-wgpu generates
//! WGSL for the same rules.

use crate::fault::FaultKind;
use crate::layout::Layout;
use crate::walk::assign;

/// The grid's shape and its split into parallel prefix and arbitrary
/// suffix.
#[derive(Clone, Debug)]
pub struct GridShape {
    /// Size of each grid dimension.
    pub dims: Vec<usize>,
    /// Number of leading parallel dimensions.
    pub parallel_dims: usize,
}

impl GridShape {
    /// The grid of a laid-out kernel.
    pub fn new(dims: Vec<usize>, layout: &Layout) -> GridShape {
        GridShape {
            dims,
            parallel_dims: layout.parallel_dims,
        }
    }

    /// Points of the parallel prefix (0 when any grid dimension is empty,
    /// 1 for a grid without parallel dimensions).
    pub fn parallel_points(&self) -> usize {
        if self.dims.contains(&0) {
            0
        } else {
            self.dims[..self.parallel_dims].iter().product()
        }
    }

    /// Points of the arbitrary suffix after each parallel point.
    pub fn arbitrary_points(&self) -> usize {
        self.dims[self.parallel_dims..].iter().product()
    }

    /// Writes the grid point of parallel index `p` and arbitrary index `a`
    /// (each row-major over its dimensions) into `point`.
    pub fn point(&self, p: usize, a: usize, point: &mut [usize]) {
        let (pd, n) = (self.parallel_dims, self.dims.len());
        let mut rem = p;
        for d in (0..pd).rev() {
            point[d] = rem % self.dims[d];
            rem /= self.dims[d];
        }
        let mut rem = a;
        for d in (pd..n).rev() {
            point[d] = rem % self.dims[d];
            rem /= self.dims[d];
        }
    }

    /// The parallel-prefix points of each of `cores` cores: contiguous
    /// shares, each visited in an order shuffled by `seed` (0 keeps
    /// row-major order).
    pub fn split(&self, cores: usize, seed: u64) -> Vec<Vec<usize>> {
        let n = self.parallel_points();
        let cores = cores.max(1);
        (0..cores)
            .map(|c| permute((c * n / cores..(c + 1) * n / cores).collect(), seed))
            .collect()
    }
}

/// A seeded Fisher-Yates shuffle (splitmix64); seed 0 keeps the order.
pub fn permute(mut v: Vec<usize>, seed: u64) -> Vec<usize> {
    if seed == 0 {
        return v;
    }
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..v.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

/// What the pipeline does with one blocked parameter at a grid point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockStep {
    /// The block is resident already: nothing moves.
    Stay,
    /// An input's new block: copy it in.
    CopyIn,
    /// An output's new block: write the previous one back first when
    /// `write_back` (it is [`BlockPipeline::previous`]), then start the
    /// new one fresh.
    Replace {
        /// Whether a previous block is to be written back.
        write_back: bool,
    },
}

/// A fault of the block pipeline: the phase it belongs to (`index map of
/// `x``, `output `o``) and what went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineFault {
    /// The phase, for the fault's `op`.
    pub phase: String,
    /// What went wrong.
    pub kind: FaultKind,
}

/// Per blocked parameter: the resident block, the previous one, the
/// blocks written back so far (a bitset over the linearized block index,
/// outputs only) and the point at which the resident block arrived.
#[derive(Clone, Debug)]
struct BlockState {
    current: Option<Vec<i64>>,
    previous: Vec<i64>,
    written: Vec<u64>,
    since: Vec<usize>,
}

/// The block pipeline of one core.
#[derive(Clone, Debug)]
pub struct BlockPipeline {
    states: Vec<BlockState>,
}

impl BlockPipeline {
    /// A pipeline with no block resident.
    pub fn new(layout: &Layout) -> BlockPipeline {
        BlockPipeline {
            states: layout
                .blocked
                .iter()
                .map(|b| BlockState {
                    current: None,
                    previous: Vec::new(),
                    written: if b.input {
                        Vec::new()
                    } else {
                        vec![0; b.nblocks.iter().product::<usize>().div_ceil(64)]
                    },
                    since: Vec::new(),
                })
                .collect(),
        }
    }

    /// Decides blocked parameter `bi`'s step at grid point `point`, where
    /// its index map gave `idx`; `name` is the parameter's, for faults.
    #[inline]
    pub fn step(
        &mut self,
        layout: &Layout,
        bi: usize,
        idx: &[i64],
        point: &[usize],
        name: &str,
    ) -> Result<BlockStep, Box<PipelineFault>> {
        let b = &layout.blocked[bi];
        let st = &mut self.states[bi];
        if st.current.as_deref().is_some_and(|c| same(c, idx)) {
            // An output block the body writes that stays put across a
            // change of a parallel coordinate would be written by two
            // cores on the hardware (or each core's copy written back
            // over the other's).
            if b.body_writes {
                if let Some(d) = (0..layout.parallel_dims).find(|&d| st.since[d] != point[d]) {
                    return Err(Box::new(PipelineFault {
                        phase: format!("output `{name}`"),
                        kind: FaultKind::OutputAcrossParallel {
                            name: name.to_string(),
                            block: idx.to_vec(),
                            first: st.since.clone(),
                            second: point.to_vec(),
                            dim: d,
                        },
                    }));
                }
            }
            return Ok(BlockStep::Stay);
        }
        for (d, (&i, &nb)) in idx.iter().zip(&b.nblocks).enumerate() {
            if i < 0 || i as usize >= nb {
                return Err(Box::new(PipelineFault {
                    phase: format!("index map of `{name}`"),
                    kind: FaultKind::BlockIndexOutOfRange {
                        name: name.to_string(),
                        dim: d,
                        index: Some(i),
                        blocks: nb,
                    },
                }));
            }
        }
        if b.body_writes {
            assign(&mut st.since, point);
        }
        let step = if b.input {
            BlockStep::CopyIn
        } else {
            let write_back = st.current.is_some();
            if let Some(prev) = &st.current {
                set_bit(&mut st.written, linear(prev, &b.nblocks));
            }
            if !b.aliased && bit(&st.written, linear(idx, &b.nblocks)) {
                return Err(Box::new(PipelineFault {
                    phase: format!("output `{name}`"),
                    kind: FaultKind::Revisit {
                        name: name.to_string(),
                        block: idx.to_vec(),
                    },
                }));
            }
            BlockStep::Replace { write_back }
        };
        match &mut st.current {
            Some(c) => {
                std::mem::swap(&mut st.previous, c);
                assign(c, idx);
            }
            None => st.current = Some(idx.to_vec()),
        }
        Ok(step)
    }

    /// The block an output's last [`BlockStep::Replace`] is to write back.
    pub fn previous(&self, bi: usize) -> &[i64] {
        &self.states[bi].previous
    }

    /// The block resident at the end of the core's points, to write back
    /// (outputs only); clears it.
    pub fn finish(&mut self, layout: &Layout, bi: usize) -> Option<Vec<i64>> {
        if layout.blocked[bi].input {
            return None;
        }
        self.states[bi].current.take()
    }
}

/// Element-wise equality of short index lists (no call into `memcmp`).
#[inline]
fn same(a: &[i64], b: &[i64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[inline]
fn linear(idx: &[i64], nblocks: &[usize]) -> usize {
    idx.iter()
        .zip(nblocks)
        .fold(0, |acc, (&i, &n)| acc * n + i as usize)
}

#[inline]
fn bit(set: &[u64], i: usize) -> bool {
    set.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

#[inline]
fn set_bit(set: &mut [u64], i: usize) {
    if let Some(w) = set.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pallas_ir::validate;

    #[test]
    fn an_output_block_is_written_back_once_when_it_changes() {
        let vk = validate(&pallas_corpus::vector_add(16, 4)).unwrap();
        let layout = Layout::new(&vk);
        let mut p = BlockPipeline::new(&layout);
        let out = 2; // inputs first: x, y, then o
        assert_eq!(
            p.step(&layout, out, &[0], &[0], "o").unwrap(),
            BlockStep::Replace { write_back: false }
        );
        assert_eq!(
            p.step(&layout, out, &[1], &[1], "o").unwrap(),
            BlockStep::Replace { write_back: true }
        );
        assert_eq!(p.previous(out), &[0]);
        let e = p.step(&layout, out, &[0], &[2], "o").unwrap_err();
        assert!(matches!(e.kind, FaultKind::Revisit { .. }), "{e:?}");
        assert_eq!(p.finish(&layout, out), Some(vec![1]));
        let e = p.step(&layout, 0, &[4], &[3], "x").unwrap_err();
        assert_eq!(e.phase, "index map of `x`");
    }

    #[test]
    fn split_and_decode() {
        let g = GridShape {
            dims: vec![2, 3, 2],
            parallel_dims: 2,
        };
        assert_eq!(g.parallel_points(), 6);
        assert_eq!(g.arbitrary_points(), 2);
        assert_eq!(
            g.split(4, 0),
            vec![vec![0], vec![1, 2], vec![3], vec![4, 5]]
        );
        let mut pt = [0; 3];
        g.point(5, 1, &mut pt);
        assert_eq!(pt, [1, 2, 1]);
        let mut all = g.split(1, 7).remove(0);
        all.sort_unstable();
        assert_eq!(all, (0..6).collect::<Vec<_>>());
    }
}
