//! The grid loop of one core: block index computation, copies in and out
//! per the pipelining rules, and the body at each grid point.

use std::collections::HashSet;

use crate::error::{SimError, SimErrorKind};
use crate::interp::{Core, RefId, Slot};
use crate::memory::{copy_rect, reset_uninit};
use crate::plan::Home;

/// The grid points of one core: the parallel-prefix indices it owns, each
/// followed by every point of the arbitrary suffix in order.
pub struct CoreWork {
    /// Flat parallel-prefix indices, in visiting order.
    pub parallel: Vec<usize>,
}

/// Per blocked param: the block index of the previous point.
struct BlockState {
    prev: Option<Vec<i64>>,
    written: HashSet<Vec<i64>>,
}

impl Core<'_> {
    fn bind_params(&mut self) {
        let k = self.sh.vk.kernel();
        let body = &k.regions[k.body];
        for (i, home) in self.sh.plan.homes.iter().enumerate() {
            let id = match *home {
                Home::Local(l) => RefId::Local(l),
                Home::Hbm(h) => RefId::Hbm(h),
                Home::Sem(s) => RefId::Sem(s),
            };
            self.set(body.args[i], Slot::Ref(id));
        }
    }

    /// Runs a core's share of the grid; returns when done or at the first
    /// fault.
    pub fn run_grid(&mut self, work: &CoreWork) -> Result<(), Box<SimError>> {
        let sh = self.sh;
        let k = sh.vk.kernel();
        let plan = sh.plan;
        self.bind_params();
        // Scalar prefetch: copy to this core's SMEM before the grid.
        for &(_, local, hbm) in &plan.prefetch {
            let src = sh.hbm(hbm).data.clone();
            self.local[local].data = src;
        }
        let prefetch: Vec<RefId> = plan
            .prefetch
            .iter()
            .map(|&(_, l, _)| RefId::Local(l))
            .collect();
        let mut states: Vec<BlockState> = plan
            .blocked
            .iter()
            .map(|_| BlockState {
                prev: None,
                written: HashSet::new(),
            })
            .collect();
        let pdims = plan.parallel_dims;
        let grid: Vec<usize> = k.grid.iter().map(|d| d.size).collect();
        let arb_points: usize = grid[pdims..].iter().product();
        let mut idx = Vec::new();
        self.point = vec![0; grid.len()];
        let body = k.body;
        for &p in &work.parallel {
            // Parallel prefix indices from the flat index.
            let mut rem = p;
            for d in (0..pdims).rev() {
                self.point[d] = rem % grid[d];
                rem /= grid[d];
            }
            for a in 0..arb_points {
                let mut rem = a;
                for d in (pdims..grid.len()).rev() {
                    self.point[d] = rem % grid[d];
                    rem /= grid[d];
                }
                for (bi, st) in states.iter_mut().enumerate() {
                    let b = &plan.blocked[bi];
                    match b.index_map {
                        Some(m) => self.index_map(m, &prefetch, &mut idx)?,
                        None => {
                            idx.clear();
                            idx.resize(b.block.len(), 0);
                        }
                    }
                    if st.prev.as_deref() == Some(&idx[..]) {
                        continue;
                    }
                    let name = &k.params[b.param].name;
                    for (d, (&i, &nb)) in idx.iter().zip(&b.nblocks).enumerate() {
                        if i < 0 || i as usize >= nb {
                            return Err(self.fail(
                                Some(&format!("index map of `{name}`")),
                                SimErrorKind::BlockIndexOutOfRange {
                                    name: name.clone(),
                                    dim: d,
                                    index: i,
                                    blocks: nb,
                                },
                            ));
                        }
                    }
                    if b.input {
                        self.copy_in(bi, &idx);
                    } else {
                        if let Some(prev) = st.prev.take() {
                            self.copy_out(bi, &prev);
                            st.written.insert(prev);
                        }
                        if !b.aliased && st.written.contains(&idx) {
                            return Err(self.fail(
                                Some(&format!("output `{name}`")),
                                SimErrorKind::Revisit {
                                    name: name.clone(),
                                    block: idx.clone(),
                                },
                            ));
                        }
                        reset_uninit(&mut self.local[b.local].data, sh.cfg.uninitialized_memory);
                    }
                    st.prev = Some(idx.clone());
                }
                self.run_insts(body)?;
                self.counters.grid_points += 1;
            }
        }
        for (bi, st) in states.iter_mut().enumerate() {
            if !plan.blocked[bi].input {
                if let Some(prev) = st.prev.take() {
                    self.copy_out(bi, &prev);
                }
            }
        }
        Ok(())
    }

    /// The block's origin and in-bounds extent in the array.
    fn block_rect(&self, bi: usize, idx: &[i64], array: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let b = &self.sh.plan.blocked[bi];
        let origin: Vec<usize> = idx
            .iter()
            .zip(&b.block)
            .map(|(&i, &bs)| i as usize * bs)
            .collect();
        let extent = origin
            .iter()
            .zip(&b.block)
            .zip(array)
            .map(|((&o, &bs), &n)| bs.min(n - o))
            .collect();
        (origin, extent)
    }

    fn copy_in(&mut self, bi: usize, idx: &[i64]) {
        let b = &self.sh.plan.blocked[bi];
        let hbm = self.sh.hbm(b.hbm);
        let (origin, extent) = self.block_rect(bi, idx, &hbm.shape);
        let local = &mut self.local[b.local];
        let partial = extent != b.block;
        if partial {
            reset_uninit(&mut local.data, self.sh.cfg.uninitialized_memory);
        }
        let zeros = vec![0; origin.len()];
        copy_rect(
            &hbm.data,
            &hbm.shape,
            &origin,
            &mut local.data,
            &b.block,
            &zeros,
            &extent,
        );
        let n: usize = extent.iter().product();
        self.counters.copies_in += 1;
        self.counters.bytes_in += (n * local_elem_bytes(&local.data)) as u64;
    }

    fn copy_out(&mut self, bi: usize, idx: &[i64]) {
        let b = &self.sh.plan.blocked[bi];
        let mut hbm = self.sh.hbm(b.hbm);
        let shape = hbm.shape.clone();
        let (origin, extent) = self.block_rect(bi, idx, &shape);
        let local = &self.local[b.local];
        let zeros = vec![0; origin.len()];
        copy_rect(
            &local.data,
            &b.block,
            &zeros,
            &mut hbm.data,
            &shape,
            &origin,
            &extent,
        );
        let n: usize = extent.iter().product();
        self.counters.copies_out += 1;
        self.counters.bytes_out += (n * local_elem_bytes(&local.data)) as u64;
    }
}

fn local_elem_bytes(d: &crate::tensor::Data) -> usize {
    d.dtype().size_bytes()
}
