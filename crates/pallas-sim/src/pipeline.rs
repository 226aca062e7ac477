//! The grid loop of one core: block index computation, copies in and out
//! per the pipelining rules, and the body at each grid point.

use crate::interp::{Core, RefId, Slot};
use crate::memory::{copy_rect, copy_rect_slice, rect_runs, reset_uninit};
use pallas_exec::layout::Home;
use pallas_exec::schedule::{BlockPipeline, BlockStep, GridShape};
use pallas_exec::Fault;

/// The grid points of one core: the parallel-prefix indices it owns, each
/// followed by every point of the arbitrary suffix in order.
pub struct CoreWork {
    /// Flat parallel-prefix indices, in visiting order.
    pub parallel: Vec<usize>,
}

impl Core<'_> {
    fn bind_params(&mut self) {
        let k = self.sh.vk.kernel();
        let body = &k.regions[k.body];
        for (i, home) in self.sh.plan.homes.iter().enumerate() {
            let id = match *home {
                Home::Local(l) => RefId::Local(l),
                Home::Hbm(h) => RefId::Hbm(self.hbm_base + h),
                Home::Sem(s) => RefId::Sem(s),
            };
            self.set(body.args[i], Slot::Ref(id));
        }
    }

    /// Runs a core's share of the grid; returns when done or at the first
    /// fault.
    pub fn run_grid(&mut self, work: &CoreWork) -> Result<(), Box<Fault>> {
        let sh = self.sh;
        let k = sh.vk.kernel();
        let plan = sh.plan;
        self.bind_params();
        // Scalar prefetch: copy to this core's SMEM before the grid.
        for &(_, local, hbm) in &plan.prefetch {
            let src = sh.hbm(self.hbm_base + hbm).data.clone();
            self.local[local].data = src;
            if let Some(init) = self.local[local].init.as_mut() {
                init.fill(true);
            }
        }
        let prefetch: Vec<RefId> = plan
            .prefetch
            .iter()
            .map(|&(_, l, _)| RefId::Local(l))
            .collect();
        let mut pipeline = BlockPipeline::new(plan);
        let grid = GridShape::new(k.grid.iter().map(|d| d.size).collect(), plan);
        let arb_points = grid.arbitrary_points();
        let mut idx = Vec::new();
        self.point = vec![0; grid.dims.len()];
        let body = k.body;
        for &p in &work.parallel {
            for a in 0..arb_points {
                grid.point(p, a, &mut self.point);
                if sh.races.is_some() {
                    self.vc[self.id] += 1;
                }
                let traced = sh.cfg.trace.is_some();
                let t_start = if traced { self.now_us() } else { 0.0 };
                for (bi, b) in plan.blocked.iter().enumerate() {
                    match (&b.direct_map, b.index_map) {
                        (Some(dims), _) => {
                            idx.clear();
                            idx.extend(dims.iter().map(|&d| self.point[d] as i64));
                        }
                        (None, Some(m)) => self.index_map(m, &prefetch, &mut idx)?,
                        (None, None) => {
                            idx.clear();
                            idx.resize(b.block.len(), 0);
                        }
                    }
                    let name = &k.params[b.param].name;
                    let step = pipeline
                        .step(plan, bi, &idx, &self.point, name)
                        .map_err(|f| self.fail(Some(&f.phase), f.kind))?;
                    match step {
                        BlockStep::Stay => {}
                        BlockStep::CopyIn => {
                            self.race_check_block(bi, &idx, false)?;
                            self.copy_in(bi, &idx);
                        }
                        BlockStep::Replace { write_back } => {
                            if write_back {
                                self.drain_inbox();
                                let prev = pipeline.previous(bi);
                                self.race_check_block(bi, prev, true)?;
                                self.copy_out(bi, prev);
                            }
                            let buf = &mut self.local[b.local];
                            reset_uninit(&mut buf.data, sh.cfg.uninitialized_memory);
                            if let Some(init) = buf.init.as_mut() {
                                init.fill(false);
                            }
                        }
                    }
                }
                self.run_insts(body)?;
                self.counters.grid_points += 1;
                if self.counters.grid_points % 1024 == 0 {
                    if let Some(p) = &sh.cfg.progress {
                        p.0.fetch_add(1024, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                if traced {
                    let dur = self.now_us() - t_start;
                    self.events.push(crate::trace::Event {
                        name: format!("grid point {:?}", self.point),
                        cat: "grid",
                        ts_us: t_start,
                        dur_us: dur,
                        core: self.id,
                    });
                }
            }
        }
        self.counters.clock = self.vc[self.id];
        if let Some(p) = &sh.cfg.progress {
            p.0.fetch_add(
                self.counters.grid_points % 1024,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        self.drain_inbox();
        for bi in 0..plan.blocked.len() {
            if let Some(last) = pipeline.finish(plan, bi) {
                self.race_check_block(bi, &last, true)?;
                self.copy_out(bi, &last);
            }
        }
        Ok(())
    }

    /// Checks a block copy's HBM elements against the race shadow.
    #[inline(always)]
    fn race_check_block(&mut self, bi: usize, idx: &[i64], write: bool) -> Result<(), Box<Fault>> {
        if self.sh.races.is_none() {
            return Ok(());
        }
        if !self.sh.local_shadows.is_empty() {
            // The block buffer is written by a copy-in and read by a
            // write-back.
            let b = &self.sh.plan.blocked[bi];
            let shape = &self.sh.plan.locals[b.local].1;
            let whole = crate::memory::Region::dense(&vec![0; shape.len()], shape);
            let kind = if write {
                crate::races::AccessKind::WriteBack
            } else {
                crate::races::AccessKind::CopyIn
            };
            self.check_local(self.id, b.local, &whole, !write, kind)?;
        }
        self.race_check_block_shadow(bi, idx, write)
    }

    /// [`Core::race_check_block`] with race detection on.
    fn race_check_block_shadow(
        &mut self,
        bi: usize,
        idx: &[i64],
        write: bool,
    ) -> Result<(), Box<Fault>> {
        let b = &self.sh.plan.blocked[bi];
        let w = Window::new(idx, &b.block, &self.hbm_shapes[self.hbm_base + b.hbm]);
        let (origin, extent, _) = w.parts();
        let mut runs = std::mem::take(&mut self.runs);
        runs.clear();
        rect_runs(
            origin,
            extent,
            &self.hbm_shapes[self.hbm_base + b.hbm],
            |o, n| runs.push((o, n)),
        );
        self.runs = runs;
        let kind = if write {
            crate::races::AccessKind::WriteBack
        } else {
            crate::races::AccessKind::CopyIn
        };
        // A race found by the pipeline is the pipeline's, not the last op's.
        self.check_hbm_runs(self.hbm_base + b.hbm, write, kind)
            .map_err(|mut e| {
                let name = &self.sh.vk.kernel().params[b.param].name;
                let phase = if write { "write-back" } else { "copy-in" };
                e.op = format!("{phase} of `{name}` block {idx:?}");
                e.loc = None;
                e
            })
    }

    fn copy_in(&mut self, bi: usize, idx: &[i64]) {
        let b = &self.sh.plan.blocked[bi];
        let hbm = self.sh.hbm(self.hbm_base + b.hbm);
        // A whole block that is one run of the array: one slice copy.
        if let Some((run, off)) = b.one_run.as_ref().and_then(|r| Some((r, r.offset(idx)?))) {
            let local = &mut self.local[b.local];
            if hbm.init.is_none() && local.init.is_none() {
                local.data.copy_range(0, &hbm.data, off, run.len);
                self.counters.copies_in += 1;
                self.counters.bytes_in += (run.len * local_elem_bytes(&local.data)) as u64;
                return;
            }
        }
        let w = Window::new(idx, &b.block, &self.hbm_shapes[self.hbm_base + b.hbm]);
        let (origin, extent, zeros) = w.parts();
        let local = &mut self.local[b.local];
        if extent.iter().zip(&b.block).any(|(e, b)| e != b) {
            reset_uninit(&mut local.data, self.sh.cfg.uninitialized_memory);
        }
        copy_rect(
            &hbm.data,
            &hbm.shape,
            origin,
            &mut local.data,
            &b.block,
            zeros,
            extent,
        );
        if let (Some(src), Some(dst)) = (hbm.init.as_ref(), local.init.as_mut()) {
            dst.fill(false);
            copy_rect_slice(src, &hbm.shape, origin, dst, &b.block, zeros, extent);
        }
        let elems: usize = extent.iter().product();
        self.counters.copies_in += 1;
        self.counters.bytes_in += (elems * local_elem_bytes(&local.data)) as u64;
    }

    fn copy_out(&mut self, bi: usize, idx: &[i64]) {
        let b = &self.sh.plan.blocked[bi];
        let mut guard = self.sh.hbm_mut(self.hbm_base + b.hbm);
        let hbm = &mut *guard;
        if let Some((run, off)) = b.one_run.as_ref().and_then(|r| Some((r, r.offset(idx)?))) {
            let local = &self.local[b.local];
            if hbm.init.is_none() && local.init.is_none() {
                hbm.data.copy_range(off, &local.data, 0, run.len);
                self.counters.copies_out += 1;
                self.counters.bytes_out += (run.len * local_elem_bytes(&local.data)) as u64;
                return;
            }
        }
        let w = Window::new(idx, &b.block, &self.hbm_shapes[self.hbm_base + b.hbm]);
        let (origin, extent, zeros) = w.parts();
        let local = &self.local[b.local];
        copy_rect(
            &local.data,
            &b.block,
            zeros,
            &mut hbm.data,
            &hbm.shape,
            origin,
            extent,
        );
        if let (Some(src), Some(dst)) = (local.init.as_ref(), hbm.init.as_mut()) {
            copy_rect_slice(src, &b.block, zeros, dst, &hbm.shape, origin, extent);
        }
        let elems: usize = extent.iter().product();
        self.counters.copies_out += 1;
        self.counters.bytes_out += (elems * local_elem_bytes(&local.data)) as u64;
    }
}

/// Most dimensions a block window keeps inline.
const WINDOW_DIMS: usize = 4;

/// The block's own origin: zeros.
static ZEROS: [usize; WINDOW_DIMS] = [0; WINDOW_DIMS];

/// A window of more than [`WINDOW_DIMS`] dimensions: origin, extent,
/// zeros.
type WideWindow = (Vec<usize>, Vec<usize>, Vec<usize>);

/// A block's place in its array: its origin and the extent of it that
/// lies inside the array, per dimension (inline up to [`WINDOW_DIMS`]
/// dimensions, so a block copy does not allocate).
struct Window {
    origin: [usize; WINDOW_DIMS],
    extent: [usize; WINDOW_DIMS],
    rank: usize,
    /// Ranks past [`WINDOW_DIMS`]: origin, extent and zeros (boxed, so
    /// that the common window stays small enough to move in registers).
    heap: Option<Box<WideWindow>>,
}

impl Window {
    #[inline(always)]
    fn new(idx: &[i64], block: &[usize], array: &[usize]) -> Window {
        let rank = idx.len();
        let mut w = Window {
            origin: [0; WINDOW_DIMS],
            extent: [0; WINDOW_DIMS],
            rank,
            heap: None,
        };
        if rank <= WINDOW_DIMS {
            for (d, ((&i, &b), &n)) in idx.iter().zip(block).zip(array).enumerate() {
                let o = i as usize * b;
                w.origin[d] = o;
                w.extent[d] = b.min(n - o);
            }
        } else {
            let (origin, extent) = idx
                .iter()
                .zip(block)
                .zip(array)
                .map(|((&i, &b), &n)| {
                    let o = i as usize * b;
                    (o, b.min(n - o))
                })
                .unzip();
            w.heap = Some(Box::new((origin, extent, vec![0; rank])));
        }
        w
    }

    /// (origin in the array, extent, origin in the block: zeros).
    #[inline]
    fn parts(&self) -> (&[usize], &[usize], &[usize]) {
        match &self.heap {
            None => (
                &self.origin[..self.rank],
                &self.extent[..self.rank],
                &ZEROS[..self.rank],
            ),
            Some(h) => (&h.0, &h.1, &h.2),
        }
    }
}

fn local_elem_bytes(d: &pallas_exec::eval::Data) -> usize {
    d.dtype().size_bytes()
}
