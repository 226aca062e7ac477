//! The one plan of where each parameter lives (HBM, per-core buffers,
//! scratch, semaphores, prefetch copies, aliases), how many blocks each
//! dimension has, and how the grid splits into a parallel prefix: decided
//! once per compile, used by every backend.

use pallas_ir::{DimSemantics, MemorySpace, ParamKind, RefElem, Region, ValidatedKernel};

use crate::analysis::Analysis;

/// A blocked (VMEM/SMEM) input or output: its block buffer and mapping.
#[derive(Clone, Debug)]
pub struct Blocked {
    /// Parameter position.
    pub param: usize,
    /// Whether it is an input (else an output).
    pub input: bool,
    /// Whether this output aliases an input (revisits allowed).
    pub aliased: bool,
    /// The HBM buffer it maps.
    pub hbm: usize,
    /// Its core-local block buffer.
    pub local: usize,
    /// Block shape, one entry per array dim (squeezed dims as 1).
    pub block: Vec<usize>,
    /// Blocks per array dim.
    pub nblocks: Vec<usize>,
    /// The index map, or `None` for the whole array (block 0).
    pub index_map: Option<Region>,
    /// When the index map only passes grid coordinates through (no
    /// instructions; each yield is a grid argument), the grid dimension of
    /// each block dimension: the block index is read off the grid point
    /// without running the map.
    pub direct_map: Option<Vec<usize>>,
    /// Whether the body writes this output's block (a store, swap, atomic
    /// or DMA into it, anywhere in the body).
    pub body_writes: bool,
    /// When each whole block is one contiguous run of the array, how to
    /// find it (a block copy is then one slice copy).
    pub one_run: Option<OneRun>,
}

/// Where a block that is one contiguous run of its array lies: its
/// leading dimensions are 1 and its trailing ones span the array, up to
/// one dimension in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneRun {
    /// Per dimension, the array elements between consecutive blocks.
    pub step: Vec<usize>,
    /// Per dimension, the blocks that lie wholly inside the array (a block
    /// index below it on every dimension is a whole block).
    pub whole: Vec<usize>,
    /// Elements per block.
    pub len: usize,
}

impl OneRun {
    /// The run of a block of `block` elements per dimension in an array of
    /// `shape`, if it is one.
    pub fn new(block: &[usize], shape: &[usize]) -> Option<OneRun> {
        let nd = block.len();
        // The leading 1s, then one free dimension, then whole dimensions.
        let lead = block.iter().take_while(|&&b| b == 1).count();
        if (lead + 1..nd).any(|d| block[d] != shape[d]) {
            return None;
        }
        let mut step = vec![0; nd];
        let mut stride = 1;
        for d in (0..nd).rev() {
            step[d] = stride * block[d];
            stride *= shape[d];
        }
        Some(OneRun {
            step,
            whole: shape
                .iter()
                .zip(block)
                .map(|(&n, &b)| n / b.max(1))
                .collect(),
            len: block.iter().product(),
        })
    }

    /// The array offset of block `idx` when it lies wholly inside.
    #[inline]
    pub fn offset(&self, idx: &[i64]) -> Option<usize> {
        let mut off = 0;
        for ((&i, &w), &s) in idx.iter().zip(&self.whole).zip(&self.step) {
            if i < 0 || i as usize >= w {
                return None;
            }
            off += i as usize * s;
        }
        Some(off)
    }
}

/// Where a parameter lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    /// A core-local buffer.
    Local(usize),
    /// An HBM buffer (memory space `any`).
    Hbm(usize),
    /// Semaphore slots from this base.
    Sem(usize),
}

/// The compiled layout of a kernel.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Home of each parameter.
    pub homes: Vec<Home>,
    /// Blocked inputs and outputs, inputs first.
    pub blocked: Vec<Blocked>,
    /// HBM buffer of each scalar-prefetch and input parameter (by launch
    /// argument position), and of each output (by output position).
    pub hbm_of_arg: Vec<usize>,
    /// HBM buffer of each output, in output order.
    pub hbm_of_output: Vec<usize>,
    /// HBM scratch (data scratch in memory space `any`): (param, HBM
    /// buffer). One buffer per device, shared by its cores, fresh
    /// (uninitialized) at every launch.
    pub hbm_scratch: Vec<(usize, usize)>,
    /// Padded scratch: (local buffer, the shape the kernel sees). The
    /// local buffer has the padded shape; the rest of it beyond the shape
    /// is padding, which reads as uninitialized and keeps nothing written.
    pub padded_locals: Vec<(usize, Vec<usize>)>,
    /// Number of HBM buffers.
    pub num_hbm: usize,
    /// Local buffers: (param, shape) in creation order.
    pub locals: Vec<(usize, Vec<usize>)>,
    /// Prefetch params copied to local SMEM: (param, local, hbm).
    pub prefetch: Vec<(usize, usize, usize)>,
    /// Semaphore slots per core for scratch semaphores (and the barrier
    /// semaphore).
    pub sem_slots: usize,
    /// The barrier semaphore's slot, when the body asks for it.
    pub barrier_slot: Option<usize>,
    /// Grid dims in the parallel prefix.
    pub parallel_dims: usize,
}

impl Layout {
    /// Lays out a validated kernel.
    pub fn new(vk: &ValidatedKernel) -> Layout {
        let facts = Analysis::new(vk.kernel());
        let k = vk.kernel();
        let mut homes = Vec::new();
        let mut hbm_of_arg = Vec::new();
        let mut hbm_of_output = Vec::new();
        let mut input_hbm = Vec::new();
        let mut hbm_scratch = Vec::new();
        let mut padded_locals = Vec::new();
        let mut num_hbm = 0;
        let mut locals = Vec::new();
        let mut prefetch = Vec::new();
        let mut blocked = Vec::new();
        let mut sem_slots = 0;
        let mut out_pos = 0;
        for (i, p) in k.params.iter().enumerate() {
            let home = match p.kind {
                ParamKind::ScalarPrefetch => {
                    let h = num_hbm;
                    num_hbm += 1;
                    hbm_of_arg.push(h);
                    let l = locals.len();
                    locals.push((i, p.shape.clone()));
                    prefetch.push((i, l, h));
                    Home::Local(l)
                }
                ParamKind::Input | ParamKind::Output => {
                    let input = p.kind == ParamKind::Input;
                    let (h, aliased) = if input {
                        let h = num_hbm;
                        num_hbm += 1;
                        hbm_of_arg.push(h);
                        input_hbm.push(h);
                        (h, false)
                    } else {
                        let alias = k.aliases.iter().find(|&&(_, o)| o == out_pos);
                        out_pos += 1;
                        let h = match alias {
                            Some(&(inp, _)) => input_hbm[inp],
                            None => {
                                num_hbm += 1;
                                num_hbm - 1
                            }
                        };
                        hbm_of_output.push(h);
                        (h, alias.is_some())
                    };
                    if p.space == MemorySpace::Any {
                        Home::Hbm(h)
                    } else {
                        let block = p.block_full_shape();
                        let l = locals.len();
                        locals.push((i, p.block_view_shape()));
                        // Every dimension has at least one block, also an
                        // empty one (an unblocked array is one block): block
                        // 0 of an empty dimension lies wholly past the edge,
                        // like the end of a partial block. The rule of every
                        // backend (pallas-cpu and pallas-wgpu count alike).
                        let nblocks = p
                            .shape
                            .iter()
                            .zip(&block)
                            .map(|(&n, &b)| {
                                if p.block.is_none() {
                                    1
                                } else {
                                    n.div_ceil(b.max(1)).max(1)
                                }
                            })
                            .collect();
                        blocked.push(Blocked {
                            param: i,
                            input,
                            aliased,
                            hbm: h,
                            local: l,
                            block: block.clone(),
                            nblocks,
                            index_map: p.block.as_ref().map(|b| b.index_map),
                            direct_map: p.block.as_ref().and_then(|b| direct_map(k, b.index_map)),
                            body_writes: !input && facts.writes_param[i],
                            one_run: OneRun::new(&block, &p.shape),
                        });
                        Home::Local(l)
                    }
                }
                ParamKind::Scratch => match p.elem {
                    RefElem::Semaphore(_) => {
                        let base = sem_slots;
                        sem_slots += p.shape.iter().product::<usize>();
                        Home::Sem(base)
                    }
                    RefElem::Data(_) if p.is_hbm_scratch() => {
                        let h = num_hbm;
                        num_hbm += 1;
                        hbm_scratch.push((i, h));
                        Home::Hbm(h)
                    }
                    RefElem::Data(_) => {
                        let l = locals.len();
                        match &p.padded {
                            // The buffer is the padded allocation.
                            Some(padded) => {
                                locals.push((i, padded.clone()));
                                padded_locals.push((l, p.shape.clone()));
                            }
                            None => locals.push((i, p.shape.clone())),
                        }
                        Home::Local(l)
                    }
                },
            };
            homes.push(home);
        }
        blocked.sort_by_key(|b| !b.input);
        let parallel_dims = k
            .grid
            .iter()
            .take_while(|d| d.semantics == DimSemantics::Parallel)
            .count();
        let barrier_slot = k
            .insts
            .iter()
            .any(|(_, i)| matches!(i.op, pallas_ir::Op::BarrierSemaphore))
            .then(|| {
                sem_slots += 1;
                sem_slots - 1
            });
        Layout {
            barrier_slot,
            homes,
            blocked,
            hbm_of_arg,
            hbm_of_output,
            hbm_scratch,
            padded_locals,
            num_hbm,
            locals,
            prefetch,
            sem_slots,
            parallel_dims,
        }
    }
}

/// The grid dimension each yield of an index map passes through, when the
/// map is nothing but that.
fn direct_map(k: &pallas_ir::Kernel, map: Region) -> Option<Vec<usize>> {
    let r = k.regions.get(map)?;
    if !r.insts.is_empty() {
        return None;
    }
    let grid = k.grid.len().min(r.args.len());
    r.yields
        .iter()
        .map(|y| r.args[..grid].iter().position(|a| a == y))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::OneRun;

    #[test]
    fn one_run_blocks_are_found_and_located() {
        // (1, 1) blocks of (16, 8): one element each.
        let r = OneRun::new(&[1, 1], &[16, 8]).unwrap();
        assert_eq!((r.offset(&[3, 5]), r.len), (Some(3 * 8 + 5), 1));
        // (1, 4) row pieces; the last column block hangs over the edge.
        let r = OneRun::new(&[1, 4], &[16, 10]).unwrap();
        assert_eq!(r.offset(&[2, 1]), Some(2 * 10 + 4));
        assert_eq!(r.offset(&[2, 2]), None);
        // (2, 10) whole rows.
        let r = OneRun::new(&[2, 10], &[16, 10]).unwrap();
        assert_eq!((r.offset(&[3, 0]), r.len), (Some(60), 20));
        assert_eq!(r.offset(&[-1, 0]), None);
        // (2, 4) tiles are rows of runs, not one.
        assert_eq!(OneRun::new(&[2, 4], &[16, 10]), None);
        assert_eq!(OneRun::new(&[1, 2, 3], &[4, 5, 6]), None);
        assert!(OneRun::new(&[1, 2, 6], &[4, 5, 6]).is_some());
    }
}
