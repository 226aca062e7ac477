//! The per-core interpreter: runs regions of the body over core-local
//! memory, shared HBM and shared semaphores.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use pallas_ir::{
    DType, Indexer, Inst, InstData, Op, RefAt, RefElem, RefType, Region as IrRegion, Type,
    ValidatedKernel, Value,
};

use crate::memory::{
    copy_region, copy_region_within, poison_padding, read_region, uninit, write_region, Buffer,
    DimRange, Dims, Region,
};
use crate::races::{self, Access, InFlight, RaceState};
use crate::sync::{Semaphores, WaitError};
use pallas_exec::eval::shape;
use pallas_exec::eval::{self as tensor, Data, Tensor};
use pallas_exec::layout::Layout;
use pallas_exec::options::{DmaExecutionMode, OnRace, Options as SimConfig, OutOfBoundsReads};
use pallas_exec::walk::{self, Env, Machine, Span};
use pallas_exec::{Fault, FaultKind};

/// What every core of one launch shares.
pub struct Shared<'a> {
    /// The kernel.
    pub vk: &'a ValidatedKernel,
    /// Settings.
    pub cfg: &'a SimConfig,
    /// The layout.
    pub plan: &'a Layout,
    /// HBM buffers that a launch writes (outputs, aliased inputs); a
    /// read-only buffer's slot holds an empty placeholder.
    pub hbm: &'a [Mutex<Buffer>],
    /// HBM buffers nothing writes during a launch (inputs and
    /// scalar-prefetch arrays not aliased to an output): read by every
    /// core without a lock.
    pub read_only: &'a [Option<Buffer>],
    /// Semaphores.
    pub sems: &'a Semaphores,
    /// Shadow state for race detection, when on.
    pub races: Option<&'a RaceState>,
    /// Grid sizes (for reports).
    pub grid: Vec<usize>,
    /// When the launch began (trace timestamps).
    pub t0: std::time::Instant,
    /// The value every vector-clock component starts at (race detection).
    pub clock_base: u32,
    /// Devices (1 without a mesh) and cores per device; a core's global
    /// index is `device * cores + core`.
    pub devices: usize,
    /// Cores per device.
    pub cores: usize,
    /// Remote copies into each core's local buffers, waiting to land.
    pub inboxes: &'a [Inbox],
    /// The semaphore each slot of the layout belongs to: its name and its
    /// flat index in it (the barrier semaphore is `("barrier semaphore",
    /// 0)`), for reports.
    pub slot_owners: &'a [(String, usize)],
    /// The race shadow of each core's local buffer that remote copies
    /// write (`global core * locals + local`), when race detection is on.
    pub local_shadows: Vec<Option<usize>>,
    /// Races recorded instead of raised (`OnRace::Warn`).
    pub race_warnings: &'a Mutex<RaceWarnings>,
}

/// Races found under [`OnRace::Warn`]: how many, and the first few in
/// full.
#[derive(Default)]
pub struct RaceWarnings {
    /// Races found.
    pub count: u64,
    /// The first [`RaceWarnings::KEPT`] reports.
    pub reports: Vec<String>,
}

impl RaceWarnings {
    /// Reports kept in full.
    pub const KEPT: usize = 16;
}

/// A buffer with a race shadow, named in a race report only.
#[derive(Clone, Copy)]
enum Shadowed {
    /// An HBM buffer (of any device).
    Hbm(usize),
    /// A local buffer of a core that remote copies write.
    Local {
        /// The owning core (global index).
        core: usize,
        /// The local buffer.
        local: usize,
    },
}

impl Shadowed {
    /// The buffer's name, with its device or core where there are several.
    fn name(self, sh: &Shared) -> String {
        match self {
            Shadowed::Hbm(h) if sh.devices > 1 => {
                let device = h / sh.plan.num_hbm.max(1);
                format!("{} (on device {device})", sh.hbm(h).name)
            }
            Shadowed::Hbm(h) => sh.hbm(h).name.clone(),
            Shadowed::Local { core, local } => format!(
                "{} (on {})",
                sh.vk.kernel().params[sh.plan.locals[local].0].name,
                sh.who(core)
            ),
        }
    }
}

/// The name of semaphore slot `slot` given the slots' owners (see
/// [`Shared::slot_owners`]).
pub fn slot_name(plan: &Layout, owners: &[(String, usize)], slot: usize) -> String {
    if plan.barrier_slot == Some(slot) {
        return "the barrier semaphore".into();
    }
    match owners.get(slot) {
        Some((name, i)) => format!("`{name}`[{i}]"),
        None => format!("a run_scoped semaphore (slot {slot})"),
    }
}

/// Remote copies into one core's local buffers that have not landed yet:
/// the core applies them between its operations (the receiving core owns
/// its memory; a copy lands before the receive semaphore is signalled, so
/// a core that waited for it sees it).
#[derive(Default)]
pub struct Inbox {
    pending: AtomicUsize,
    writes: Mutex<Vec<Incoming>>,
}

/// One remote copy into a local buffer.
pub struct Incoming {
    local: usize,
    region: Region,
    data: Data,
    init: Option<Vec<bool>>,
}

impl Inbox {
    fn push(&self, w: Incoming) {
        self.writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(w);
        self.pending.fetch_add(1, Ordering::Release);
    }
}

impl Shared<'_> {
    /// How reports name a core given its global index: `core 1`, or
    /// `device 2 core 1` for a kernel with a device mesh.
    pub fn who(&self, global: usize) -> String {
        if self.vk.kernel().is_multi_device() {
            format!(
                "device {} core {}",
                global / self.cores,
                global % self.cores
            )
        } else {
            format!("core {global}")
        }
    }

    /// The name of a semaphore slot: `` `sems`[1] ``, the barrier
    /// semaphore, or a `run_scoped` semaphore.
    pub fn slot_name(&self, slot: usize) -> String {
        slot_name(self.plan, self.slot_owners, slot)
    }

    /// An HBM buffer to read: read-only ones without a lock.
    pub fn hbm(&self, i: usize) -> HbmRead<'_> {
        match &self.read_only[i] {
            Some(b) => HbmRead::Shared(b),
            None => HbmRead::Locked(self.hbm_mut(i)),
        }
    }

    /// Locks an HBM buffer to write. The validator lets kernels write only
    /// outputs, scratch and aliased inputs, none of them read-only.
    pub fn hbm_mut(&self, i: usize) -> MutexGuard<'_, Buffer> {
        debug_assert!(self.read_only[i].is_none(), "a read-only buffer is written");
        self.hbm[i].lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An HBM buffer being read.
pub enum HbmRead<'a> {
    /// A read-only buffer, shared by the cores without a lock.
    Shared(&'a Buffer),
    /// A written buffer, locked.
    Locked(MutexGuard<'a, Buffer>),
}

impl std::ops::Deref for HbmRead<'_> {
    type Target = Buffer;
    fn deref(&self) -> &Buffer {
        match self {
            HbmRead::Shared(b) => b,
            HbmRead::Locked(g) => g,
        }
    }
}

/// Where a ref value points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefId {
    /// A core-local buffer.
    Local(usize),
    /// An HBM buffer.
    Hbm(usize),
    /// Semaphore slots from this base, on this core.
    Sem(usize),
}

/// An SSA value's current content.
pub type Slot = walk::Slot<RefId>;

/// A DMA waiting for its `dma_wait` (on-wait mode).
pub struct PendingDma {
    src: (RefId, Region),
    dst: (RefId, Region),
    /// Semaphore slot it signals.
    pub sem: usize,
    bytes: i64,
    /// Where it started, for errors.
    pub started: DmaStarted,
}

/// Where a DMA started: its destination's name, the `dma_start`'s place in
/// the kernel text and the grid point, so that a DMA never waited for is
/// reported where it began.
#[derive(Clone, Debug)]
pub struct DmaStarted {
    /// Destination ref name.
    pub dst_name: String,
    /// The semaphore slot it signals (named only when a fault is reported,
    /// see [`Shared::slot_name`]).
    pub sem: usize,
    /// Location of the `dma_start`.
    pub loc: Option<pallas_ir::Loc>,
    /// Grid point of the start (empty for a kernel without a grid).
    pub point: Vec<usize>,
}

/// Counters one core keeps.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// Grid points run.
    pub grid_points: u64,
    /// Block copies HBM to VMEM.
    pub copies_in: u64,
    /// Block copies VMEM to HBM.
    pub copies_out: u64,
    /// Bytes HBM to VMEM by block copies.
    pub bytes_in: u64,
    /// Bytes VMEM to HBM by block copies.
    pub bytes_out: u64,
    /// DMAs started.
    pub dmas: u64,
    /// Bytes moved by DMAs.
    pub dma_bytes: u64,
    /// Floating-point operations.
    pub flops: u64,
    /// The core's own clock at the end (race detection).
    pub clock: u32,
    /// `for`/`while` iterations run.
    pub loop_iterations: u64,
}

/// One simulated core.
pub struct Core<'a> {
    /// Shared state.
    pub sh: &'a Shared<'a>,
    /// Global core index (`device * cores + core`).
    pub id: usize,
    /// The first of this device's HBM buffers in `Shared::hbm`.
    pub hbm_base: usize,
    env: Env<RefId>,
    /// The shape of each HBM buffer (they never change; read without a
    /// lock).
    pub hbm_shapes: Vec<Vec<usize>>,
    /// Where each open `run_scoped` region's scratch starts: (locals,
    /// semaphore slots).
    scopes: Vec<(usize, usize)>,
    /// Core-local buffers.
    pub local: Vec<Buffer>,
    /// The grid point running (for errors).
    pub point: Vec<usize>,
    /// DMAs not yet executed (on-wait mode).
    pub pending: Vec<PendingDma>,
    /// Started DMAs not yet waited, by semaphore slot (eager mode).
    pub unwaited: Vec<(usize, DmaStarted)>,
    /// What this core counted.
    pub counters: Counters,
    /// Vector clock (race detection).
    pub vc: Vec<u32>,
    /// Scratch space for element runs (race detection).
    pub runs: Vec<(usize, usize)>,
    /// DMAs between start and wait (race detection).
    pub inflight: Vec<InFlight>,
    /// Trace events, when tracing.
    pub events: Vec<crate::trace::Event>,
    /// Open DMA trace events: (semaphore slot, name, start).
    pub dma_open: Vec<(usize, String, f64)>,
    op: Option<Inst>,
}

impl<'a> Core<'a> {
    /// A core with fresh local memory.
    pub fn new(sh: &'a Shared<'a>, id: usize) -> Self {
        let k = sh.vk.kernel();
        let local = sh
            .plan
            .locals
            .iter()
            .map(|(p, s)| {
                let param = &k.params[*p];
                let dtype = param.dtype().unwrap_or(pallas_ir::DType::I32);
                let n = s.iter().product();
                Buffer {
                    data: uninit(dtype, n, sh.cfg.uninitialized_memory),
                    shape: s.clone(),
                    name: param.name.clone(),
                    init: sh.cfg.report_uninitialized_reads.then(|| vec![false; n]),
                }
            })
            .collect();
        Core {
            sh,
            id,
            hbm_base: (id / sh.cores.max(1)) * sh.plan.num_hbm,
            env: Env::new(k.values.len()),
            hbm_shapes: (0..sh.hbm.len()).map(|i| sh.hbm(i).shape.clone()).collect(),
            scopes: Vec::new(),
            local,
            point: Vec::new(),
            pending: Vec::new(),
            unwaited: Vec::new(),
            counters: Counters::default(),
            vc: vec![sh.clock_base; sh.cores.max(1) * sh.devices],
            runs: Vec::new(),
            inflight: Vec::new(),
            events: Vec::new(),
            dma_open: Vec::new(),
            op: None,
        }
    }

    /// Counts one loop iteration against `max_loop_iterations`.
    fn count_iteration(&mut self) -> Result<(), Box<Fault>> {
        self.counters.loop_iterations += 1;
        match self.sh.cfg.max_loop_iterations {
            Some(limit) if self.counters.loop_iterations > limit => {
                Err(self.fail(None, FaultKind::LoopLimit { limit }))
            }
            _ => Ok(()),
        }
    }

    /// An error at the current grid point and operation.
    pub fn fail(&self, phase: Option<&str>, kind: FaultKind) -> Box<Fault> {
        let k = self.sh.vk.kernel();
        let (op, loc) = match (phase, self.op) {
            (Some(p), _) => (p.to_string(), None),
            (None, Some(i)) => (format!("op `{}`", k.insts[i].op.name()), k.inst_loc(i)),
            (None, None) => ("body".into(), None),
        };
        Box::new(Fault {
            kernel: k.name.clone(),
            device: k.is_multi_device().then_some(self.id / self.sh.cores),
            core: Some(self.id % self.sh.cores),
            grid_point: (!k.grid.is_empty()).then(|| self.point.clone()),
            op,
            loc,
            kind,
        })
    }

    /// Binds a value slot.
    pub fn set(&mut self, v: Value, s: Slot) {
        self.env[v.index()] = s;
    }

    fn t(&self, v: Value) -> &Tensor {
        self.env.t(v)
    }

    /// The ref a value points to.
    pub fn r(&self, v: Value) -> RefId {
        self.env.r(v)
    }

    fn take(&mut self, v: Value) -> Tensor {
        self.env.take(v)
    }

    fn put(&mut self, v: Value, t: Tensor) {
        self.env.put(v, t);
    }

    /// The name of a ref, for errors.
    fn ref_name(&self, id: RefId) -> String {
        match id {
            RefId::Local(i) => self.local[i].name.clone(),
            RefId::Hbm(i) => self.sh.hbm(i).name.clone(),
            RefId::Sem(_) => "semaphore".into(),
        }
    }

    fn ref_shape(&self, v: Value, id: RefId) -> &[usize] {
        match id {
            RefId::Local(i) => &self.local[i].shape,
            RefId::Hbm(i) => &self.hbm_shapes[i],
            RefId::Sem(_) => match self.sh.vk.value_type(v) {
                Type::Ref(t) => &t.shape,
                Type::Value { shape, .. } => shape,
            },
        }
    }

    /// The shape the kernel sees of a padded scratch buffer (whose local
    /// buffer has the padded shape), `None` for any other ref.
    fn logical_shape(&self, id: RefId) -> Option<&[usize]> {
        let padded = &self.sh.plan.padded_locals;
        match id {
            RefId::Local(i) if !padded.is_empty() => padded
                .iter()
                .find(|(l, _)| *l == i)
                .map(|(_, s)| s.as_slice()),
            _ => None,
        }
    }

    /// After a write into padded scratch: its padding is uninitialized
    /// again (a write there keeps nothing, as JAX's padded buffers do).
    fn repoison(&mut self, id: RefId) {
        let Some(logical) = self.logical_shape(id).map(<[usize]>::to_vec) else {
            return;
        };
        let RefId::Local(i) = id else {
            return;
        };
        let k = self.sh.vk.kernel();
        let dtype = k.params[self.sh.plan.locals[i].0]
            .dtype()
            .unwrap_or(pallas_ir::DType::F32);
        let poison = uninit(dtype, 1, self.sh.cfg.uninitialized_memory);
        poison_padding(&mut self.local[i], &logical, &poison);
    }

    /// Resolves indexers; `Ok(None)` for an out-of-bounds read when such
    /// reads give uninitialized values.
    fn resolve(&self, at: &RefAt, write: bool) -> Result<Option<(RefId, Region)>, Box<Fault>> {
        self.resolve_access(at, write, !write)
    }

    /// Resolves a DMA's source: out of bounds it is a read fault whatever
    /// `out_of_bounds_reads` says (a copy has no uninitialized fallback).
    fn resolve_copy_source(&self, at: &RefAt) -> Result<(RefId, Region), Box<Fault>> {
        Ok(self
            .resolve_access(at, false, false)?
            .expect("resolves or fails"))
    }

    /// Resolves indexers for an access (`write` or a read); `may_fall_back`:
    /// whether an out-of-bounds read may give uninitialized values.
    fn resolve_access(
        &self,
        at: &RefAt,
        write: bool,
        may_fall_back: bool,
    ) -> Result<Option<(RefId, Region)>, Box<Fault>> {
        let id = self.r(at.r);
        let shape = self.ref_shape(at.r, id);
        // Padded scratch: indexers see its shape, bounds are the padding's.
        let logical = self.logical_shape(id).unwrap_or(shape);
        let mut dims = Dims::new();
        for (d, (ix, &extent)) in at.idx.iter().zip(shape).enumerate() {
            let span = Span::of(ix, logical[d], &self.env);
            if let Some(index) = span.out_of_bounds(extent) {
                if may_fall_back
                    && self.sh.cfg.out_of_bounds_reads == OutOfBoundsReads::Uninitialized
                {
                    return Ok(None);
                }
                return Err(self.fail(
                    None,
                    FaultKind::OutOfBounds {
                        access: if write { "write" } else { "read" },
                        name: self.ref_name(id),
                        dim: d,
                        index: Some(index),
                        extent,
                    },
                ));
            }
            dims.push(DimRange {
                start: span.start as usize,
                size: span.size,
                stride: span.stride,
                keep: span.keep,
            });
        }
        Ok(Some((id, Region { dims })))
    }

    /// An access's ref, its buffer's shape and the span of each indexer
    /// (over the shape the kernel sees, for padded scratch too).
    fn spans(&self, at: &RefAt) -> (RefId, Vec<usize>, Vec<Span>) {
        let id = self.r(at.r);
        let shape = self.ref_shape(at.r, id).to_vec();
        let logical = self.logical_shape(id).unwrap_or(&shape);
        let spans = at
            .idx
            .iter()
            .zip(logical)
            .map(|(ix, &extent)| Span::of(ix, extent, &self.env))
            .collect();
        (id, shape, spans)
    }

    /// Reads the in-bounds elements of an out-of-bounds region into `out`
    /// (row-major over the region), leaving the others as they are.
    fn read_in_bounds(&mut self, at: &RefAt, out: &mut Data) {
        let (id, _, ranges) = self.spans(at);
        self.with_buf(id, |b| {
            let n: usize = ranges.iter().map(|r| r.size).product();
            let mut at = vec![0usize; ranges.len()];
            for flat in 0..n.min(out.len()) {
                let mut off = 0usize;
                let mut inside = true;
                for (d, r) in ranges.iter().enumerate() {
                    let c = r.start + (at[d] * r.stride) as i64;
                    if c < 0 || c >= b.shape[d] as i64 {
                        inside = false;
                        break;
                    }
                    off = off * b.shape[d] + c as usize;
                }
                if inside {
                    out.set_from(flat, &b.data, off);
                }
                for d in (0..ranges.len()).rev() {
                    at[d] += 1;
                    if at[d] < ranges[d].size {
                        break;
                    }
                    at[d] = 0;
                }
            }
        });
    }

    fn read(&self, id: RefId, r: &Region) -> Data {
        match id {
            RefId::Local(i) => read_region(&self.local[i], r),
            RefId::Hbm(i) => read_region(&self.sh.hbm(i), r),
            RefId::Sem(_) => Data::I32(Vec::new()),
        }
    }

    fn with_buf<T>(&mut self, id: RefId, f: impl FnOnce(&mut Buffer) -> T) -> Option<T> {
        match id {
            RefId::Local(i) => Some(f(&mut self.local[i])),
            RefId::Hbm(i) => Some(f(&mut self.sh.hbm_mut(i))),
            RefId::Sem(_) => None,
        }
    }

    fn dtype_of_ref(&self, v: Value) -> pallas_ir::DType {
        match self.sh.vk.value_type(v) {
            Type::Ref(t) => t.dtype().unwrap_or(pallas_ir::DType::I32),
            Type::Value { dtype, .. } => *dtype,
        }
    }

    /// Runs the instructions of a region (its args already bound).
    pub fn run_insts(&mut self, r: IrRegion) -> Result<(), Box<Fault>> {
        walk::run_insts(self.sh.vk.kernel(), self, r)
    }

    /// Evaluates an index map at the current grid point.
    pub fn index_map(
        &mut self,
        r: IrRegion,
        prefetch: &[RefId],
        out: &mut Vec<i64>,
    ) -> Result<(), Box<Fault>> {
        let k = self.sh.vk.kernel();
        let region = &k.regions[r];
        let g = k.grid.len();
        for (i, &a) in region.args.iter().enumerate() {
            if i < g {
                self.env.set_i32(a, self.point[i] as i32);
            } else if let Some(&p) = prefetch.get(i - g) {
                self.env[a.index()] = Slot::Ref(p);
            }
        }
        self.run_insts(r)?;
        out.clear();
        out.extend(region.yields.iter().map(|y| self.t(*y).as_i32() as i64));
        Ok(())
    }

    fn is_float(&self, v: Value) -> bool {
        matches!(self.t(v).data, Data::F32(_))
    }

    /// Runs an operation with an effect (the walker runs the rest).
    fn effect(&mut self, data: &InstData) -> Result<(), Box<Fault>> {
        let k = self.sh.vk.kernel();
        self.drain_inbox();
        let res = |i: usize| data.results[i];
        match &data.op {
            Op::ProgramId { axis } => {
                let p = self.point[*axis] as i32;
                self.env.set_i32(res(0), p);
            }
            Op::NumPrograms { axis } => {
                let n = k.grid[*axis].size as i32;
                self.env.set_i32(res(0), n);
            }
            Op::Load { src, mask, other } => {
                if mask.is_some() || !self.load_whole_block(src, res(0)) {
                    let old = self.take(res(0));
                    let t = self.load(src, *mask, *other, old)?;
                    self.put(res(0), t);
                }
            }
            Op::Store { dst, value, mask } => {
                if mask.is_some() || !self.store_whole_block(dst, *value) {
                    self.store(dst, *value, *mask, false)?;
                }
            }
            Op::Swap { dst, value, mask } => {
                let old = self.store(dst, *value, *mask, true)?;
                self.put(res(0), old);
            }
            Op::Atomic {
                op,
                dst,
                value,
                mask,
            } => {
                let old = self.atomic(*op, dst, *value, *mask)?;
                self.put(res(0), old);
            }
            Op::AtomicCas { dst, expected, new } => {
                let old = self.cas(dst, *expected, *new)?;
                self.put(res(0), old);
            }
            Op::DmaStart { src, dst, sem } => self.dma_start(src, dst, sem)?,
            Op::RemoteDmaStart {
                src,
                dst,
                send,
                recv,
                device,
            } => {
                let device = self.device_arg(*device)?;
                self.remote_dma_start(src, dst, send, recv, device)?;
            }
            Op::AxisIndex { axis } => {
                let coord = k.mesh_coordinate(*axis, self.id / self.sh.cores);
                self.env.set_i32(res(0), coord as i32);
            }
            Op::BarrierSemaphore => {
                let slot = self
                    .sh
                    .plan
                    .barrier_slot
                    .expect("the layout reserves the barrier slot");
                self.set(res(0), Slot::Ref(RefId::Sem(slot)));
            }
            Op::DmaWait { dst, sem } => self.dma_wait(dst, sem)?,
            Op::SemaphoreSignal {
                sem,
                inc,
                core,
                device,
            } => {
                let slot = self.sem_slot(sem)?;
                let n = self.t(*inc).as_i32() as i64;
                let cores = self.sh.cores;
                let target_core = match core {
                    Some(c) => {
                        let c = self.t(*c).as_i32() as i64;
                        if c < 0 || c as usize >= cores {
                            return Err(self.fail(None, FaultKind::BadCore { core: c, cores }));
                        }
                        c as usize
                    }
                    None => self.id % cores,
                };
                let target_device = match device {
                    Some(d) => self.device_arg(*d)?,
                    None => self.id / cores,
                };
                let target = target_device * cores + target_core;
                self.remote_slot_exists(target, slot)?;
                let vc = self.sh.races.is_some().then_some(&self.vc[..]);
                self.sh.sems.signal(target, slot, n, vc);
                if self.sh.races.is_some() {
                    self.vc[self.id] += 1;
                }
                self.sh.sems.yield_turn(self.id);
            }
            Op::SemaphoreWait { sem, value } => {
                let slot = self.sem_slot(sem)?;
                let n = self.t(*value).as_i32() as i64;
                self.wait_sem(slot, n, "semaphore_wait")?;
            }
            Op::SemaphoreRead { sem } => {
                let slot = self.sem_slot(sem)?;
                let v = self.sh.sems.read(self.id, slot) as i32;
                self.env.set_i32(res(0), v);
            }
            Op::DebugPrint { fmt, args } => {
                if self.sh.cfg.debug_print {
                    let vals: Vec<&Tensor> = args.iter().map(|&a| self.t(a)).collect();
                    let out = pallas_exec::eval::debug_message(fmt, &vals);
                    println!("[core {} {:?}] {out}", self.id, self.point);
                }
            }
            other => unreachable!("the walker runs `{}`", other.name()),
        }
        Ok(())
    }

    /// Errors on a read of never-written memory (when reported).
    fn check_init(
        &mut self,
        id: RefId,
        reg: &Region,
        mask: Option<&[bool]>,
    ) -> Result<(), Box<Fault>> {
        let hit = match id {
            RefId::Local(i) => self.local[i]
                .first_uninit(reg, mask)
                .map(|o| (self.local[i].name.clone(), self.local[i].shape.clone(), o)),
            RefId::Hbm(i) => {
                let b = self.sh.hbm(i);
                b.first_uninit(reg, mask)
                    .map(|o| (b.name.clone(), b.shape.clone(), o))
            }
            RefId::Sem(_) => None,
        };
        let Some((name, shape, flat)) = hit else {
            return Ok(());
        };
        let mut element = vec![0; shape.len()];
        let mut rest = flat;
        for (e, &n) in element.iter_mut().zip(&shape).rev() {
            *e = rest % n.max(1);
            rest /= n.max(1);
        }
        let detail = match id {
            RefId::Local(i) => self.block_element_detail(i, &element)?,
            _ => String::new(),
        };
        Err(self.fail(
            None,
            FaultKind::UninitializedRead {
                name,
                element,
                detail,
            },
        ))
    }

    /// For an element of the block buffer `local`, the array element it
    /// stands for at this grid point, and whether that lies past the
    /// array's edge (a partial block); empty for other buffers.
    fn block_element_detail(
        &mut self,
        local: usize,
        element: &[usize],
    ) -> Result<String, Box<Fault>> {
        let plan = self.sh.plan;
        let Some(b) = plan.blocked.iter().find(|b| b.local == local) else {
            return Ok(String::new());
        };
        let k = self.sh.vk.kernel();
        let param = &k.params[b.param];
        let mut idx = Vec::new();
        match b.index_map {
            Some(m) => {
                let prefetch: Vec<RefId> = plan
                    .prefetch
                    .iter()
                    .map(|&(_, l, _)| RefId::Local(l))
                    .collect();
                self.index_map(m, &prefetch, &mut idx)?;
            }
            None => idx.resize(b.block.len(), 0),
        }
        // The block's view drops squeezed dims; walk the array's dims.
        let squeezed: Vec<bool> = match &param.block {
            Some(spec) => spec
                .block_shape
                .iter()
                .map(|d| matches!(d, pallas_ir::BlockDim::Squeezed))
                .collect(),
            None => vec![false; param.shape.len()],
        };
        let mut view = element.iter();
        let mut array = Vec::with_capacity(param.shape.len());
        let mut past = None;
        for d in 0..param.shape.len() {
            let within = if squeezed.get(d).copied().unwrap_or(false) {
                0
            } else {
                view.next().copied().unwrap_or(0)
            };
            let at = idx.get(d).copied().unwrap_or(0).max(0) as usize * b.block[d] + within;
            if at >= param.shape[d] && past.is_none() {
                past = Some(d);
            }
            array.push(at);
        }
        Ok(match past {
            Some(d) => format!(
                " (array element {array:?}, past the array's edge: `{}` has {} elements on dimension {d}; a partial block)",
                param.name, param.shape[d]
            ),
            None => format!(" (array element {array:?})"),
        })
    }

    /// Linear (row-major) index of the grid point running, saturated to
    /// 32 bits (race reports and in-flight DMAs).
    pub fn lin_point(&self) -> u32 {
        self.point
            .iter()
            .zip(&self.sh.grid)
            .fold(0u64, |acc, (&i, &n)| acc * n as u64 + i as u64)
            .min(u32::MAX as u64) as u32
    }

    /// Microseconds since the launch began.
    pub fn now_us(&self) -> f64 {
        self.sh.t0.elapsed().as_secs_f64() * 1e6
    }

    /// Describes the current access for a race report.
    fn here(&self, what: &str) -> String {
        races::describe(what, &self.sh.who(self.id), self.lin_point(), &self.sh.grid)
    }

    /// Checks an HBM access (a region of buffer `hbm`) against the shadow
    /// state.
    pub fn check_hbm(
        &mut self,
        hbm: usize,
        reg: &Region,
        write: bool,
        kind: races::AccessKind,
    ) -> Result<(), Box<Fault>> {
        if self.sh.races.is_none() {
            return Ok(());
        }
        let mut runs = std::mem::take(&mut self.runs);
        runs.clear();
        reg.runs(&self.hbm_shapes[hbm], |o, n| runs.push((o, n)));
        self.runs = runs;
        self.check_hbm_runs(hbm, write, kind)
    }

    /// [`Core::check_hbm`] for the element runs already in `self.runs`
    /// (race detection on).
    pub fn check_hbm_runs(
        &mut self,
        hbm: usize,
        write: bool,
        kind: races::AccessKind,
    ) -> Result<(), Box<Fault>> {
        self.check_shadow_runs(hbm, Shadowed::Hbm(hbm), write, kind)
    }

    /// Checks the element runs in `self.runs` of the buffer behind race
    /// shadow `shadow` (`of` names it in a report).
    fn check_shadow_runs(
        &mut self,
        shadow: usize,
        of: Shadowed,
        write: bool,
        kind: races::AccessKind,
    ) -> Result<(), Box<Fault>> {
        let Some(rs) = self.sh.races else {
            return Ok(());
        };
        let runs = std::mem::take(&mut self.runs);
        let access = Access {
            core: self.id,
            vc: &self.vc,
            point: self.lin_point(),
            write,
            kind,
        };
        let hit = rs.shadows[shadow]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .access(&access, &runs);
        self.runs = runs;
        if let Some((e, was_write, index)) = hit {
            let first = races::describe(
                &format!(
                    "{} ({})",
                    if was_write { "write" } else { "read" },
                    e.kind.name()
                ),
                &self.sh.who(e.core1 as usize - 1),
                e.point,
                &self.sh.grid,
            );
            let second = self.here(&format!(
                "{} ({})",
                if write { "write" } else { "read" },
                kind.name()
            ));
            let name = of.name(self.sh);
            return self.race_found(self.fail(
                None,
                FaultKind::Race {
                    name,
                    index,
                    first,
                    second,
                },
            ));
        }
        Ok(())
    }

    /// A race found: the launch's fault, or under [`OnRace::Warn`] a
    /// recorded report, and the run goes on.
    fn race_found(&self, fault: Box<Fault>) -> Result<(), Box<Fault>> {
        if self.sh.cfg.on_race == OnRace::Raise {
            return Err(fault);
        }
        let mut w = self
            .sh
            .race_warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        w.count += 1;
        if w.reports.len() < RaceWarnings::KEPT {
            w.reports.push(fault.to_string());
        }
        Ok(())
    }

    /// Checks an access against the DMAs in flight on this core (started,
    /// not yet waited for): their destination may not be read or written,
    /// nor their source written, until the wait. On by default: it is
    /// cheap and it is the commonest DMA bug.
    fn check_inflight(
        &mut self,
        id: RefId,
        reg: &Region,
        write: bool,
        what: &str,
    ) -> Result<(), Box<Fault>> {
        if let (RefId::Local(l), Some(_)) = (id, self.sh.races) {
            if !self.sh.local_shadows.is_empty() {
                self.check_local(self.id, l, reg, write, races::AccessKind::Core)?;
            }
        }
        if self.inflight.is_empty() {
            return Ok(());
        }
        let shape = self.ref_shape_of(id);
        for d in &self.inflight {
            let mut hit = None;
            if d.dst.0 == id && !d.remote {
                hit = races::region_overlap(&d.dst.1, reg, &shape);
            }
            if hit.is_none() && write && d.src.0 == id {
                hit = races::region_overlap(&d.src.1, reg, &shape);
            }
            if let Some(index) = hit {
                let started = races::describe("", &self.sh.who(self.id), d.point, &self.sh.grid);
                let started = started.trim_start_matches(" by ").to_string();
                let second = self.here(what);
                return self.race_found(self.fail(
                    None,
                    races::dma_race(&self.ref_name(id), index, started, second),
                ));
            }
        }
        Ok(())
    }

    /// Whether an access is the commonest kind, the whole of a core-local
    /// buffer (`x_ref[...]` on a block), with nothing to check: it cannot
    /// be out of bounds, no DMA is in flight on this core, and written
    /// flags are not kept.
    fn whole_local(&self, at: &RefAt) -> Option<usize> {
        if !self.inflight.is_empty()
            || self.sh.cfg.report_uninitialized_reads
            || !self.sh.local_shadows.is_empty()
            || !self.sh.plan.padded_locals.is_empty()
        {
            return None;
        }
        match self.r(at.r) {
            RefId::Local(i) if at.idx.iter().all(|ix| matches!(ix, Indexer::Full)) => Some(i),
            _ => None,
        }
    }

    /// Loads a whole core-local buffer into value `res` (in its storage)
    /// without resolving a region; `false` when the access is not of that
    /// kind.
    fn load_whole_block(&mut self, src: &RefAt, res: Value) -> bool {
        let Some(i) = self.whole_local(src) else {
            return false;
        };
        let buf = &self.local[i];
        match &mut self.env[res.index()] {
            Slot::Val(out) if out.data.dtype() == buf.data.dtype() => {
                out.data.copy_all_from(&buf.data);
                walk::assign(&mut out.shape, &buf.shape);
            }
            slot => {
                *slot = Slot::Val(Tensor {
                    data: buf.data.clone(),
                    shape: buf.shape.clone(),
                })
            }
        }
        true
    }

    /// Stores a value into a whole core-local buffer without resolving a
    /// region; `false` when the access is not of that kind.
    fn store_whole_block(&mut self, dst: &RefAt, value: Value) -> bool {
        let Some(i) = self.whole_local(dst) else {
            return false;
        };
        let v = &self.env.t(value).data;
        let buf = &mut self.local[i];
        let n = buf.data.len();
        if v.len() == n {
            buf.data.copy_range(0, v, 0, n);
        } else {
            for e in 0..n {
                buf.data.set_from(e, v, 0);
            }
        }
        true
    }

    fn ref_shape_of(&self, id: RefId) -> Vec<usize> {
        match id {
            RefId::Local(i) => self.local[i].shape.clone(),
            RefId::Hbm(i) => self.sh.hbm(i).shape.clone(),
            RefId::Sem(_) => Vec::new(),
        }
    }

    fn load(
        &mut self,
        src: &RefAt,
        mask: Option<Value>,
        other: Option<Value>,
        mut reuse: Tensor,
    ) -> Result<Tensor, Box<Fault>> {
        let dtype = self.dtype_of_ref(src.r);
        let Some((id, reg)) = self.resolve(src, false)? else {
            // Out of bounds under `OutOfBoundsReads::Uninitialized`: the
            // elements past the edge are uninitialized, the others are read
            // (as JAX's interpret mode does).
            let shape = src_shape(self, src);
            let n = shape.iter().product();
            let mut data = uninit(dtype, n, self.sh.cfg.uninitialized_memory);
            self.read_in_bounds(src, &mut data);
            return Ok(Tensor { data, shape });
        };
        self.check_inflight(id, &reg, false, "load")?;
        if self.sh.cfg.report_uninitialized_reads {
            let mask_bits = mask.and_then(|m| match &self.t(m).data {
                Data::Bool(v) => Some(v.clone()),
                _ => None,
            });
            self.check_init(id, &reg, mask_bits.as_deref())?;
        }
        let whole_local = match id {
            RefId::Local(i) if reg.is_whole(&self.local[i].shape) => Some(i),
            _ => None,
        };
        let mut shape = std::mem::take(&mut reuse.shape);
        reg.shape_into(&mut shape);
        let mut data = match whole_local {
            Some(i) if reuse.data.dtype() == self.local[i].data.dtype() => {
                reuse.data.copy_all_from(&self.local[i].data);
                reuse.data
            }
            _ => self.read(id, &reg),
        };
        if let Some(m) = mask {
            let mv = match &self.t(m).data {
                Data::Bool(v) => v.clone(),
                _ => Vec::new(),
            };
            let fill = match other {
                Some(o) => self.t(o).data.clone(),
                None => uninit(dtype, 1, self.sh.cfg.uninitialized_memory),
            };
            tensor::mask_fill(&mut data, &mv, &fill);
        }
        Ok(Tensor { data, shape })
    }

    /// Stores (and returns the old values when `want_old`).
    /// A masked store whose region leaves the buffer: only the lanes the
    /// mask enables are checked and written.
    fn store_past_edge(
        &mut self,
        dst: &RefAt,
        value: Value,
        mask: Value,
    ) -> Result<Tensor, Box<Fault>> {
        let (id, shape, spans) = self.spans(dst);
        let lanes = match &self.t(mask).data {
            Data::Bool(m) => walk::masked_lanes(&spans, &shape, m),
            _ => walk::masked_lanes(&spans, &shape, &[true]),
        };
        let lanes = lanes.map_err(|(dim, index)| {
            self.fail(
                None,
                FaultKind::OutOfBounds {
                    access: "masked store",
                    name: self.ref_name(id),
                    dim,
                    index: Some(index),
                    extent: shape[dim],
                },
            )
        })?;
        let v = self.t(value).data.clone();
        let one = v.len() == 1;
        self.with_buf(id, |b| {
            for &(lane, off) in &lanes {
                b.data.set_from(off, &v, if one { 0 } else { lane });
                if let Some(init) = b.init.as_mut() {
                    init[off] = true;
                }
            }
        });
        self.repoison(id);
        Ok(Tensor {
            data: Data::F32(Vec::new()),
            shape: Vec::new(),
        })
    }

    fn store(
        &mut self,
        dst: &RefAt,
        value: Value,
        mask: Option<Value>,
        want_old: bool,
    ) -> Result<Tensor, Box<Fault>> {
        let (id, reg) = match self.resolve(dst, true) {
            Ok(r) => r.expect("writes always resolve or fail"),
            // Past the edge, a masked store checks only its enabled lanes.
            Err(e) if matches!(e.kind, FaultKind::OutOfBounds { .. }) && !want_old => match mask {
                Some(m) => return self.store_past_edge(dst, value, m),
                None => return Err(e),
            },
            Err(e) => return Err(e),
        };
        self.check_inflight(id, &reg, true, if want_old { "swap" } else { "store" })?;
        let (shape, old) = if want_old {
            (reg.shape(), self.read(id, &reg))
        } else {
            (Vec::new(), Data::F32(Vec::new()))
        };
        if want_old && self.sh.cfg.report_uninitialized_reads {
            self.check_init(id, &reg, None)?;
        }
        if self.sh.cfg.report_uninitialized_reads {
            let mb = mask.and_then(|m| match &self.t(m).data {
                Data::Bool(x) => Some(x.clone()),
                _ => None,
            });
            self.with_buf(id, |b| b.mark_init(&reg, mb.as_deref()));
        }
        // The stored value leaves its slot while the buffer is written (no
        // copy of it), and goes back after.
        // (The mask is read first: it may be the stored value itself.)
        let mask_bits = mask.map(|m| match &self.t(m).data {
            Data::Bool(x) => x.clone(),
            _ => Vec::new(),
        });
        let stored = self.env.take(value);
        let v = &stored.data;
        match mask_bits {
            None => {
                self.with_buf(id, |b| write_region(b, &reg, v));
            }
            Some(mv) => {
                self.with_buf(id, |b| {
                    let offs = reg.offsets(&b.shape);
                    tensor::scatter_masked(&mut b.data, &offs, v, &mv);
                });
            }
        }
        self.env.put(value, stored);
        self.repoison(id);
        Ok(Tensor { data: old, shape })
    }

    fn atomic(
        &mut self,
        op: pallas_ir::AtomicOp,
        dst: &RefAt,
        value: Value,
        mask: Option<Value>,
    ) -> Result<Tensor, Box<Fault>> {
        let (id, reg) = self
            .resolve(dst, true)?
            .expect("writes always resolve or fail");
        self.check_inflight(id, &reg, true, "atomic")?;
        let shape = reg.shape();
        let v = self.t(value).data.clone();
        let mv: Option<Vec<bool>> = mask.map(|m| match &self.t(m).data {
            Data::Bool(x) => x.clone(),
            _ => Vec::new(),
        });
        let old = self.with_buf(id, |b| {
            let offs = reg.offsets(&b.shape);
            let old = read_region(b, &reg);
            tensor::atomic_rmw(op, &mut b.data, &offs, &v, mv.as_deref());
            old
        });
        self.repoison(id);
        Ok(Tensor {
            data: old.unwrap_or(Data::F32(Vec::new())),
            shape,
        })
    }

    fn cas(&mut self, dst: &RefAt, expected: Value, new: Value) -> Result<Tensor, Box<Fault>> {
        let (id, reg) = self
            .resolve(dst, true)?
            .expect("writes always resolve or fail");
        let shape = reg.shape();
        let (e, n) = (self.t(expected).data.clone(), self.t(new).data.clone());
        let old = self.with_buf(id, |b| {
            let offs = reg.offsets(&b.shape);
            let old = read_region(b, &reg);
            tensor::compare_and_swap(&mut b.data, &offs, &e, &n);
            old
        });
        self.repoison(id);
        Ok(Tensor {
            data: old.unwrap_or(Data::F32(Vec::new())),
            shape,
        })
    }

    fn sem_slot(&self, at: &RefAt) -> Result<usize, Box<Fault>> {
        let (id, reg) = self
            .resolve(at, true)?
            .expect("writes always resolve or fail");
        let RefId::Sem(base) = id else {
            return Ok(0);
        };
        let st = shape::strides(self.ref_shape(at.r, id));
        Ok(base
            + reg
                .dims
                .iter()
                .zip(&st)
                .map(|(d, s)| d.start * s)
                .sum::<usize>())
    }

    fn wait_sem(&mut self, slot: usize, n: i64, what: &str) -> Result<(), Box<Fault>> {
        let sems = self.sh.sems;
        let vc = if self.sh.races.is_some() {
            Some(&mut self.vc[..])
        } else {
            None
        };
        let r = sems.wait(self.id, slot, n, vc);
        self.drain_inbox();
        r.map_err(|WaitError::Deadlock(waiters)| {
            let mut detail = format!(
                "{} in {what} for {n} on {}",
                self.sh.who(self.id),
                self.sh.slot_name(slot)
            );
            for w in waiters.iter().filter(|w| w.core != self.id) {
                detail.push_str(&format!(
                    "; {} waits for {} on {} (it holds {})",
                    self.sh.who(w.core),
                    w.wants,
                    self.sh.slot_name(w.slot),
                    w.has
                ));
            }
            self.fail(None, FaultKind::Deadlock { detail })
        })
    }

    fn dma_start(&mut self, src: &RefAt, dst: &RefAt, sem: &RefAt) -> Result<(), Box<Fault>> {
        let (sid, sreg) = self.resolve_copy_source(src)?;
        let (did, dreg) = self.resolve(dst, true)?.expect("resolves or fails");
        let slot = self.sem_slot(sem)?;
        let bytes = (dreg.len() * self.dtype_of_ref(dst.r).size_bytes()) as i64;
        self.counters.dmas += 1;
        self.counters.dma_bytes += bytes as u64;
        let dst_name = self.ref_name(did);
        let started = self.started(dst_name.clone(), slot);
        self.check_inflight(sid, &sreg, false, "dma_start source")?;
        self.check_inflight(did, &dreg, true, "dma_start destination")?;
        if self.sh.races.is_some() {
            if let RefId::Hbm(h) = sid {
                self.check_hbm(h, &sreg, false, races::AccessKind::Dma)?;
            }
            if let RefId::Hbm(h) = did {
                self.check_hbm(h, &dreg, true, races::AccessKind::Dma)?;
            }
        }
        self.inflight.push(InFlight {
            src: (sid, sreg.clone()),
            dst: (did, dreg.clone()),
            sem: slot,
            point: self.lin_point(),
            remote: false,
        });
        if self.sh.cfg.trace.is_some() {
            let name = format!("DMA {} -> {}", self.ref_name(sid), dst_name);
            let ts = self.now_us();
            self.dma_open.push((slot, name, ts));
        }
        match self.sh.cfg.dma_execution_mode {
            DmaExecutionMode::Eager => {
                self.copy_dma(sid, &sreg, did, &dreg);
                self.sh.sems.signal(self.id, slot, bytes, None);
                self.unwaited.push((slot, started));
            }
            DmaExecutionMode::OnWait => self.pending.push(PendingDma {
                src: (sid, sreg),
                dst: (did, dreg),
                sem: slot,
                bytes,
                started,
            }),
        }
        Ok(())
    }

    /// Moves a DMA's data: straight from buffer to buffer, one copy per
    /// contiguous stretch (HBM buffers locked in index order, so that two
    /// cores copying in opposite directions cannot deadlock).
    fn copy_dma(&mut self, sid: RefId, sreg: &Region, did: RefId, dreg: &Region) {
        let sh = self.sh;
        match (sid, did) {
            (a, b) if a == b => {
                self.with_buf(did, |buf| copy_region_within(buf, sreg, dreg));
            }
            (RefId::Local(s), RefId::Local(d)) => {
                let (src, dst) = pallas_exec::eval::two_mut(&mut self.local, s, d);
                copy_region(src, sreg, dst, dreg);
            }
            (RefId::Local(s), RefId::Hbm(d)) => {
                copy_region(&self.local[s], sreg, &mut sh.hbm_mut(d), dreg)
            }
            (RefId::Hbm(s), RefId::Local(d)) => {
                copy_region(&sh.hbm(s), sreg, &mut self.local[d], dreg)
            }
            (RefId::Hbm(s), RefId::Hbm(d)) => {
                if sh.read_only[s].is_some() {
                    copy_region(&sh.hbm(s), sreg, &mut sh.hbm_mut(d), dreg);
                } else if s < d {
                    let src = sh.hbm_mut(s);
                    copy_region(&src, sreg, &mut sh.hbm_mut(d), dreg);
                } else {
                    let mut dst = sh.hbm_mut(d);
                    copy_region(&sh.hbm_mut(s), sreg, &mut dst, dreg);
                }
            }
            (RefId::Sem(_), _) | (_, RefId::Sem(_)) => {}
        }
        self.repoison(did);
    }

    /// A copy's source data, with its written-flags when they are kept.
    fn read_with_init(&self, sid: RefId, sreg: &Region) -> (Data, Option<Vec<bool>>) {
        let init = match sid {
            RefId::Local(i) => self.local[i].init_of(sreg),
            RefId::Hbm(i) => self.sh.hbm(i).init_of(sreg),
            RefId::Sem(_) => None,
        };
        (self.read(sid, sreg), init)
    }

    /// Where a DMA into `dst_name` signalling `slot` starts: here.
    fn started(&self, dst_name: String, slot: usize) -> DmaStarted {
        DmaStarted {
            dst_name,
            sem: slot,
            loc: self.op.and_then(|i| self.sh.vk.kernel().inst_loc(i)),
            point: self.point.clone(),
        }
    }

    fn dma_wait(&mut self, dst: &RefAt, sem: &RefAt) -> Result<(), Box<Fault>> {
        let (_, dreg) = self.resolve(dst, true)?.expect("resolves or fails");
        let slot = self.sem_slot(sem)?;
        let bytes = (dreg.len() * self.dtype_of_ref(dst.r).size_bytes()) as i64;
        // Run the oldest pending DMA on this semaphore (on-wait mode).
        if let Some(pos) = self.pending.iter().position(|p| p.sem == slot) {
            let p = self.pending.remove(pos);
            self.copy_dma(p.src.0, &p.src.1, p.dst.0, &p.dst.1);
            self.sh.sems.signal(self.id, slot, p.bytes, None);
        }
        if let Some(pos) = self.inflight.iter().position(|d| d.sem == slot) {
            self.inflight.remove(pos);
        }
        if let Some(pos) = self.dma_open.iter().position(|d| d.0 == slot) {
            let (_, name, ts) = self.dma_open.remove(pos);
            let dur = self.now_us() - ts;
            self.events.push(crate::trace::Event {
                name,
                cat: "dma",
                ts_us: ts,
                dur_us: dur,
                core: self.id,
            });
        }
        if let Some(pos) = self.unwaited.iter().position(|(s, _)| *s == slot) {
            self.unwaited.remove(pos);
        }
        self.wait_sem(slot, bytes, "dma_wait")
    }
}

impl Core<'_> {
    /// A device id operand, checked against the mesh.
    fn device_arg(&self, v: Value) -> Result<usize, Box<Fault>> {
        let d = self.t(v).as_i32() as i64;
        if d < 0 || d as usize >= self.sh.devices {
            return Err(self.fail(
                None,
                FaultKind::BadDevice {
                    device: d,
                    devices: self.sh.devices,
                },
            ));
        }
        Ok(d as usize)
    }

    /// Errors when a semaphore slot this core names does not exist on the
    /// target core (a `run_scoped` semaphore the target has not opened) and
    /// the target can no longer open it (it has finished). A signal to a
    /// slot the target opens later is kept until it does, as JAX's
    /// interpret mode keeps it.
    fn remote_slot_exists(&self, target: usize, slot: usize) -> Result<(), Box<Fault>> {
        if target == self.id || slot < self.sh.plan.sem_slots {
            return Ok(());
        }
        if !self.sh.sems.finished(target) {
            return Ok(());
        }
        let have = self.sh.sems.lock().values[target].len();
        if slot < have {
            return Ok(());
        }
        Err(self.fail(
            None,
            FaultKind::Deadlock {
                detail: format!(
                    "{} signals {}, which {} has not opened",
                    self.sh.who(self.id),
                    self.sh.slot_name(slot),
                    self.sh.who(target)
                ),
            },
        ))
    }

    /// Applies the remote copies that have reached this core's local
    /// buffers.
    pub fn drain_inbox(&mut self) {
        let Some(inbox) = self.sh.inboxes.get(self.id) else {
            return;
        };
        if inbox.pending.load(Ordering::Acquire) == 0 {
            return;
        }
        let writes = std::mem::take(&mut *inbox.writes.lock().unwrap_or_else(|e| e.into_inner()));
        inbox.pending.fetch_sub(writes.len(), Ordering::AcqRel);
        for w in writes {
            let b = &mut self.local[w.local];
            write_region(b, &w.region, &w.data);
            if let Some(bits) = &w.init {
                b.set_init(&w.region, bits);
            }
            self.repoison(RefId::Local(w.local));
        }
    }

    /// The race shadow of local buffer `local` of core `core`, if remote
    /// copies write it and race detection is on.
    fn local_shadow(&self, core: usize, local: usize) -> Option<usize> {
        let n = self.sh.plan.locals.len();
        if local >= n {
            return None;
        }
        self.sh
            .local_shadows
            .get(core * n + local)
            .copied()
            .flatten()
    }

    /// Checks an access to local buffer `local` of core `core` (this core,
    /// or the target of a remote copy) against its race shadow, if remote
    /// copies write it.
    pub fn check_local(
        &mut self,
        core: usize,
        local: usize,
        reg: &Region,
        write: bool,
        kind: races::AccessKind,
    ) -> Result<(), Box<Fault>> {
        let Some(shadow) = self.local_shadow(core, local) else {
            return Ok(());
        };
        let sh = self.sh;
        let mut runs = std::mem::take(&mut self.runs);
        runs.clear();
        reg.runs(&sh.plan.locals[local].1, |o, n| runs.push((o, n)));
        self.runs = runs;
        self.check_shadow_runs(shadow, Shadowed::Local { core, local }, write, kind)
    }

    fn remote_dma_start(
        &mut self,
        src: &RefAt,
        dst: &RefAt,
        send: &RefAt,
        recv: &RefAt,
        device: usize,
    ) -> Result<(), Box<Fault>> {
        let (sid, sreg) = self.resolve_copy_source(src)?;
        let (did, dreg) = self.resolve(dst, true)?.expect("resolves or fails");
        let send_slot = self.sem_slot(send)?;
        let recv_slot = self.sem_slot(recv)?;
        let cores = self.sh.cores;
        let target = device * cores + self.id % cores;
        self.remote_slot_exists(target, recv_slot)?;
        let remote = match did {
            RefId::Hbm(h) => RefId::Hbm(h - self.hbm_base + device * self.sh.plan.num_hbm),
            RefId::Local(l) if l < self.sh.plan.locals.len() => RefId::Local(l),
            RefId::Local(_) | RefId::Sem(_) => {
                unreachable!("the validator allows parameter data refs only")
            }
        };
        let bytes = (dreg.len() * self.dtype_of_ref(dst.r).size_bytes()) as i64;
        self.counters.dmas += 1;
        self.counters.dma_bytes += bytes as u64;
        let dst_name = format!("{} (on {})", self.ref_name(did), self.sh.who(target));
        let started = self.started(dst_name.clone(), send_slot);
        self.check_inflight(sid, &sreg, false, "remote_dma_start source")?;
        if target == self.id {
            self.check_inflight(did, &dreg, true, "remote_dma_start destination")?;
        }
        if self.sh.races.is_some() {
            if let RefId::Hbm(h) = sid {
                self.check_hbm(h, &sreg, false, races::AccessKind::Dma)?;
            }
            match remote {
                RefId::Hbm(h) => self.check_hbm(h, &dreg, true, races::AccessKind::Dma)?,
                RefId::Local(l) => {
                    self.check_local(target, l, &dreg, true, races::AccessKind::Dma)?
                }
                RefId::Sem(_) => {}
            }
        }
        self.inflight.push(InFlight {
            src: (sid, sreg.clone()),
            dst: (did, dreg.clone()),
            sem: send_slot,
            point: self.lin_point(),
            remote: target != self.id,
        });
        if self.sh.cfg.trace.is_some() {
            let name = format!("remote DMA {} -> {}", self.ref_name(sid), dst_name);
            let ts = self.now_us();
            self.dma_open.push((send_slot, name, ts));
        }
        // Remote copies run at their start in every DMA mode: the receiver
        // waits on its own semaphore, which no wait of the sender's could
        // complete.
        match remote {
            RefId::Local(l) if target != self.id => {
                let (data, init) = self.read_with_init(sid, &sreg);
                self.sh.inboxes[target].push(Incoming {
                    local: l,
                    region: dreg,
                    data,
                    init,
                });
            }
            _ => self.copy_dma(sid, &sreg, remote, &dreg),
        }
        self.sh.sems.signal(self.id, send_slot, bytes, None);
        let vc = self.sh.races.is_some().then_some(&self.vc[..]);
        self.sh.sems.signal(target, recv_slot, bytes, vc);
        if self.sh.races.is_some() {
            self.vc[self.id] += 1;
        }
        self.unwaited.push((send_slot, started));
        self.sh.sems.yield_turn(self.id);
        Ok(())
    }
}

fn src_shape(core: &Core, at: &RefAt) -> Vec<usize> {
    let id = core.r(at.r);
    let shape = core.ref_shape(at.r, id);
    let shape = core.logical_shape(id).unwrap_or(shape);
    at.idx
        .iter()
        .zip(shape)
        .filter_map(|(ix, &n)| match ix {
            Indexer::Full => Some(n),
            Indexer::Index(_) => None,
            Indexer::Slice { size, .. } => Some(*size),
        })
        .collect()
}

impl<'k> Machine<'k> for Core<'k> {
    type Ref = RefId;
    type Error = Box<Fault>;

    #[inline]
    fn value_dtype(&self, v: Value) -> DType {
        self.sh.vk.value_dtype(v).unwrap_or(DType::Bool)
    }

    fn env(&mut self) -> &mut Env<RefId> {
        &mut self.env
    }

    fn at(&mut self, inst: Inst) {
        self.op = Some(inst);
    }

    fn effect(&mut self, data: &'k InstData) -> Result<(), Box<Fault>> {
        Core::effect(self, data)
    }

    fn loop_iteration(&mut self) -> Result<(), Box<Fault>> {
        self.count_iteration()
    }

    fn open_scope(&mut self, scratch: &'k [RefType]) -> Result<Vec<Slot>, Box<Fault>> {
        let nsem: usize = scratch
            .iter()
            .filter(|t| t.is_semaphore())
            .map(|t| t.shape.iter().product::<usize>())
            .sum();
        let sem_base = self.sh.sems.push_slots(self.id, nsem);
        self.scopes.push((self.local.len(), sem_base));
        let mut next_sem = sem_base;
        let mut args = Vec::new();
        for t in scratch {
            let n: usize = t.shape.iter().product();
            match t.elem {
                RefElem::Data(d) => {
                    args.push(Slot::Ref(RefId::Local(self.local.len())));
                    self.local.push(Buffer {
                        data: uninit(d, n, self.sh.cfg.uninitialized_memory),
                        shape: t.shape.clone(),
                        name: "scoped scratch".into(),
                        init: self
                            .sh
                            .cfg
                            .report_uninitialized_reads
                            .then(|| vec![false; n]),
                    });
                }
                RefElem::Semaphore(_) => {
                    args.push(Slot::Ref(RefId::Sem(next_sem)));
                    next_sem += n;
                }
            }
        }
        Ok(args)
    }

    fn close_scope(&mut self) -> Result<(), Box<Fault>> {
        let Some((locals, sem_base)) = self.scopes.pop() else {
            return Ok(());
        };
        self.local.truncate(locals);
        let left = self.sh.sems.pop_slots(self.id, sem_base);
        if let Some((i, &v)) = left.iter().enumerate().find(|(_, &v)| v != 0) {
            return Err(self.fail(
                None,
                FaultKind::SemaphoreLeftNonZero {
                    name: "scoped semaphore".into(),
                    index: i,
                    value: v,
                },
            ));
        }
        Ok(())
    }

    /// With `skip_floating_point_ops`, floating-point arithmetic gives
    /// fresh (uninitialized) memory instead of computing.
    #[inline]
    fn value_op(&mut self, data: &'k InstData) -> bool {
        self.sh.cfg.skip_floating_point_ops && self.skip_float_op(data)
    }

    fn count_flops(&mut self, n: u64) {
        self.counters.flops += n;
    }
}

impl Core<'_> {
    /// A floating-point op skipped: its result is fresh memory of its
    /// shape; `false` for ops that are not skipped.
    fn skip_float_op(&mut self, data: &InstData) -> bool {
        let mode = self.sh.cfg.uninitialized_memory;
        let res = data.results[0];
        let t = match &data.op {
            Op::Unary(_, x) | Op::Binary(_, x, _) if self.is_float(*x) => {
                let (n, shape) = match &data.op {
                    Op::Binary(_, a, b) => {
                        let (at, bt) = (self.t(*a), self.t(*b));
                        let shape = if at.shape.len() >= bt.shape.len() {
                            at.shape.clone()
                        } else {
                            bt.shape.clone()
                        };
                        (at.data.len().max(bt.data.len()), shape)
                    }
                    _ => {
                        let xt = self.t(*x);
                        (xt.data.len(), xt.shape.clone())
                    }
                };
                fresh_f32(self.env.take(res), n, shape, mode)
            }
            Op::Dot {
                lhs,
                rhs,
                transpose_lhs,
                transpose_rhs,
                ..
            } if self.is_float(*lhs) => {
                let (a, b) = (self.t(*lhs), self.t(*rhs));
                let m = if *transpose_lhs {
                    a.shape[1]
                } else {
                    a.shape[0]
                };
                let n = if *transpose_rhs {
                    b.shape[0]
                } else {
                    b.shape[1]
                };
                let depth = walk::dot_depth(a, *transpose_lhs);
                self.counters.flops += 2 * (m * n * depth) as u64;
                fresh_f32(self.env.take(res), m * n, vec![m, n], mode)
            }
            _ => return false,
        };
        if matches!(data.op, Op::Unary(..) | Op::Binary(..)) {
            self.counters.flops += t.data.len() as u64;
        }
        self.env.put(res, t);
        true
    }
}

/// `n` fresh (uninitialized) `f32`s of `shape`, in `reuse`'s storage when
/// it has the kind and size (a skipped op allocates nothing per point).
fn fresh_f32(
    mut reuse: Tensor,
    n: usize,
    shape: Vec<usize>,
    mode: crate::UninitializedMemory,
) -> Tensor {
    match &mut reuse.data {
        Data::F32(v) if v.len() == n => crate::memory::reset_uninit(&mut reuse.data, mode),
        _ => reuse.data = uninit(pallas_ir::DType::F32, n, mode),
    }
    reuse.shape = shape;
    reuse
}
