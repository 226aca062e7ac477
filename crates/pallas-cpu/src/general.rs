//! The general path: kernels that are neither elementwise nor row-wise run
//! as per-grid-point programs without the simulator's checks. Parallel
//! grid points are split into chunks over rayon's workers (each with its
//! own block buffers and scratch, which persist across its points, like a
//! core's), arbitrary dimensions run in order inside a point's chunk, and
//! `dot` goes through ndarray's matrixmultiply. DMAs are local copies (done
//! at the start, so every wait is satisfied); cross-core semaphore signals
//! are refused as unsupported.
//!
//! A multi-device kernel (a mesh) runs each device's whole grid on a thread
//! of its own, with its own HBM buffers; remote copies write the other
//! device's HBM at their start, and semaphores live in one table shared by
//! the devices ([`crate::mesh`]), where a wait blocks until another device
//! signals. A remote copy into a local (VMEM) buffer goes to the target
//! device's inbox (its local buffers belong to its thread), which the
//! target applies when one of its waits returns and before it writes a
//! block back: the copy has landed by the time its receive semaphore
//! lets the target read it.

use std::sync::Mutex;

use crate::int8;
use crate::mesh::MeshSems;

use ndarray::{ArrayView2, ArrayViewMut2, Ix2};
use pallas_exec::analysis::ref_name;
use pallas_exec::eval::{self, shape, Data, Tensor};
use pallas_exec::layout::{Blocked, Home, Layout};
use pallas_exec::schedule::{BlockPipeline, BlockStep, GridShape};
use pallas_exec::walk::{self, Env, Machine, Span};
use pallas_exec::{copy_outputs, ExecError, Fault, FaultKind, HostOut, HostView};
use pallas_ir::{
    DType, Inst, InstData, Op, ParamKind, RefAt, RefElem, RefType, Region, Scalar, Type,
    ValidatedKernel, Value,
};

/// The compiled kernel: the shared layout, and each local buffer's dtype.
pub struct General {
    vk: ValidatedKernel,
    layout: Layout,
    local_dtypes: Vec<DType>,
    /// A multi-device launch's per-device output buffers, kept for the
    /// next launch (their pages already mapped) when they are not large.
    pool: Mutex<Vec<Data>>,
}

/// Largest total of per-device output buffers (bytes) a compiled kernel
/// keeps between multi-device launches.
const POOL_LIMIT_BYTES: usize = 1 << 30;

/// Most bytes of block buffers, scratch and semaphores one worker may
/// need; a kernel declaring more is refused before anything is allocated.
pub const MAX_LOCAL_BYTES: u128 = 8 << 30;

/// Compiles the layout, or says what is not supported.
pub fn compile(vk: &ValidatedKernel) -> Result<General, String> {
    let k = vk.kernel();
    let local = k.local_bytes();
    if local > MAX_LOCAL_BYTES {
        return Err(format!(
            "{local} bytes of block buffers, scratch and semaphores per worker (at most {MAX_LOCAL_BYTES})"
        ));
    }
    if let Some(p) = k.params.iter().find(|p| p.padded.is_some()) {
        // The fast mode keeps no uninitialized padding to read back.
        return Err(format!(
            "padded scratch (`{}`: JAX's buffer_bounds=\"padded\"; the simulator runs it)",
            p.name
        ));
    }
    for (_, inst) in k.insts.iter() {
        if let Op::SemaphoreSignal { core: Some(_), .. } = inst.op {
            return Err(
                "a semaphore signal to another core (the fast mode runs each core's program alone)"
                    .into(),
            );
        }
    }
    let layout = Layout::new(vk);
    let local_dtypes = layout
        .locals
        .iter()
        .map(|&(p, _)| k.params[p].dtype().unwrap_or(DType::I32))
        .collect();
    Ok(General {
        vk: vk.clone(),
        layout,
        local_dtypes,
        pool: Mutex::new(Vec::new()),
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum RefId {
    Local(usize),
    Hbm(usize),
    Sem(usize),
}

type Slot = walk::Slot<RefId>;

struct Buffer {
    data: Data,
    shape: Vec<usize>,
}

/// The devices of a multi-device launch, as one worker sees them.
#[derive(Clone, Copy)]
struct MeshCtx<'a> {
    /// Every device's semaphores.
    sems: &'a MeshSems,
    /// Every device's HBM buffers.
    hbm: &'a [Vec<Mutex<Buffer>>],
    /// Every device's remote copies into its local buffers, not yet
    /// applied.
    inboxes: &'a [Mutex<Vec<Incoming>>],
    /// This worker's device.
    device: usize,
}

/// A remote copy into a local buffer of another device: where, and the
/// data.
struct Incoming {
    local: usize,
    kept: Vec<usize>,
    base: usize,
    strides: Vec<usize>,
    data: Data,
}

/// A strided view of a buffer: kept shape, base offset, strides.
type View<'v> = (&'v [usize], usize, &'v [usize]);

/// Where a DMA writes: a local buffer of this worker, any device's HBM
/// buffer, or nothing (a semaphore ref, which the validator rejects).
enum Place<'a> {
    Local(usize),
    Hbm(&'a Mutex<Buffer>),
    Sem,
}

/// One worker: block buffers, scratch, values, semaphores.
struct Worker<'a> {
    g: &'a General,
    hbm: &'a [Mutex<Buffer>],
    /// Set on a multi-device launch: semaphores then live in the shared
    /// table, not in `sems`.
    mesh: Option<MeshCtx<'a>>,
    env: Env<RefId>,
    local: Vec<Buffer>,
    sems: Vec<i64>,
    /// Where each open `run_scoped` region's scratch starts: (locals,
    /// semaphore slots).
    scopes: Vec<(usize, usize)>,
    point: Vec<usize>,
    points: u64,
    /// The instruction running, for faults.
    op: Option<pallas_ir::Inst>,
}

impl Worker<'_> {
    /// A fault at the current grid point and operation.
    fn fail(&self, kind: FaultKind) -> ExecError {
        let k = self.g.vk.kernel();
        let (op, loc) = match self.op {
            Some(i) => (format!("op `{}`", k.insts[i].op.name()), k.inst_loc(i)),
            None => ("body".into(), None),
        };
        self.fault(op, loc, kind)
    }

    /// A fault of the block pipeline, in `phase`.
    fn fail_in(&self, phase: &str, kind: FaultKind) -> ExecError {
        self.fault(phase.to_string(), None, kind)
    }

    fn fault(&self, op: String, loc: Option<pallas_ir::Loc>, kind: FaultKind) -> ExecError {
        let k = self.g.vk.kernel();
        ExecError::from(Fault {
            device: self.mesh.map(|m| m.device),
            kernel: k.name.clone(),
            core: None,
            grid_point: (!k.grid.is_empty()).then(|| self.point.clone()),
            op,
            loc,
            kind,
        })
    }

    /// The name of a ref, for faults.
    fn ref_name(&self, id: RefId) -> String {
        let k = self.g.vk.kernel();
        let l = &self.g.layout;
        match id {
            RefId::Local(i) => l.locals.get(i).map_or_else(
                || "scoped scratch".into(),
                |&(p, _)| k.params[p].name.clone(),
            ),
            RefId::Hbm(h) => l
                .homes
                .iter()
                .position(|&home| home == Home::Hbm(h))
                .or_else(|| l.blocked.iter().find(|b| b.hbm == h).map(|b| b.param))
                .map_or_else(|| "hbm".into(), |p| k.params[p].name.clone()),
            RefId::Sem(_) => "semaphore".into(),
        }
    }
}

impl Worker<'_> {
    fn t(&self, v: Value) -> &Tensor {
        self.env.t(v)
    }

    fn r(&self, v: Value) -> RefId {
        self.env.r(v)
    }

    fn shape_of(&self, id: RefId, v: Value) -> Vec<usize> {
        match id {
            RefId::Local(i) => self.local[i].shape.clone(),
            RefId::Hbm(i) => self.hbm[i]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .shape
                .clone(),
            RefId::Sem(_) => match self.g.vk.value_type(v) {
                Type::Ref(t) => t.shape.clone(),
                Type::Value { shape, .. } => shape.clone(),
            },
        }
    }

    /// Resolves indexers to (kept shape, base offset, strides of kept dims).
    fn region(
        &self,
        at: &RefAt,
        write: bool,
    ) -> Result<(RefId, Vec<usize>, usize, Vec<usize>), ExecError> {
        let id = self.r(at.r);
        let shape = self.shape_of(id, at.r);
        let st = shape::strides(&shape);
        let (mut kept, mut base, mut kst) = (Vec::new(), 0usize, Vec::new());
        for (d, ix) in at.idx.iter().enumerate() {
            let span = Span::of(ix, shape[d], &self.env);
            if let Some(index) = span.out_of_bounds(shape[d]) {
                // Memory safety is the one check the fast mode keeps.
                return Err(self.fail(FaultKind::OutOfBounds {
                    access: if write { "write" } else { "read" },
                    name: self.ref_name(id),
                    dim: d,
                    index: Some(index),
                    extent: shape[d],
                }));
            }
            base += span.start as usize * st[d];
            if span.keep {
                kept.push(span.size);
                kst.push(span.stride * st[d]);
            }
        }
        Ok((id, kept, base, kst))
    }

    fn read(&self, id: RefId, kept: &[usize], base: usize, st: &[usize]) -> Data {
        match id {
            RefId::Local(i) => shape::strided_gather(&self.local[i].data, kept, base, st),
            RefId::Hbm(i) => shape::strided_gather(
                &self.hbm[i].lock().unwrap_or_else(|e| e.into_inner()).data,
                kept,
                base,
                st,
            ),
            RefId::Sem(_) => Data::I32(Vec::new()),
        }
    }

    fn write(&mut self, id: RefId, kept: &[usize], base: usize, st: &[usize], src: &Data) {
        match id {
            RefId::Local(i) => shape::strided_scatter(&mut self.local[i].data, kept, base, st, src),
            RefId::Hbm(i) => shape::strided_scatter(
                &mut self.hbm[i].lock().unwrap_or_else(|e| e.into_inner()).data,
                kept,
                base,
                st,
                src,
            ),
            RefId::Sem(_) => {}
        }
    }

    /// Bytes of `shape` elements of ref `r`'s dtype.
    fn ref_bytes(&self, r: Value, shape: &[usize]) -> i64 {
        let elem = match self.g.vk.value_type(r) {
            Type::Ref(t) => t.dtype().map_or(4, |d| d.size_bytes()),
            _ => 4,
        };
        (shape.iter().product::<usize>() * elem) as i64
    }

    /// Moves a DMA's data from `src` (this worker's) to `to` (a local
    /// buffer, or any device's HBM buffer): straight between buffers, one
    /// copy per contiguous stretch; two HBM buffers are locked in address
    /// order, so that devices copying in opposite directions cannot
    /// deadlock.
    fn copy(&mut self, src: RefId, sv: View, to: Place, dv: View) {
        let lock = |m: &Mutex<Buffer>| -> *const Mutex<Buffer> { m };
        match (src, to) {
            (RefId::Local(s), Place::Local(d)) if s == d => {
                let data = self.read(src, sv.0, sv.1, sv.2);
                shape::strided_scatter(&mut self.local[d].data, dv.0, dv.1, dv.2, &data);
            }
            (RefId::Local(s), Place::Local(d)) => {
                let (a, b) = eval::two_mut(&mut self.local, s, d);
                shape::copy_strided(&a.data, sv, &mut b.data, dv);
            }
            (RefId::Local(s), Place::Hbm(m)) => {
                let mut dst = m.lock().unwrap_or_else(|e| e.into_inner());
                shape::copy_strided(&self.local[s].data, sv, &mut dst.data, dv);
            }
            (RefId::Hbm(h), Place::Local(d)) => {
                let src = self.hbm[h].lock().unwrap_or_else(|e| e.into_inner());
                shape::copy_strided(&src.data, sv, &mut self.local[d].data, dv);
            }
            (RefId::Hbm(h), Place::Hbm(m)) if std::ptr::eq(lock(&self.hbm[h]), lock(m)) => {
                let mut b = m.lock().unwrap_or_else(|e| e.into_inner());
                let data = shape::strided_gather(&b.data, sv.0, sv.1, sv.2);
                shape::strided_scatter(&mut b.data, dv.0, dv.1, dv.2, &data);
            }
            (RefId::Hbm(h), Place::Hbm(m)) => {
                let sm = &self.hbm[h];
                let (src, mut dst) = if lock(sm) < lock(m) {
                    let a = sm.lock().unwrap_or_else(|e| e.into_inner());
                    (a, m.lock().unwrap_or_else(|e| e.into_inner()))
                } else {
                    let b = m.lock().unwrap_or_else(|e| e.into_inner());
                    (sm.lock().unwrap_or_else(|e| e.into_inner()), b)
                };
                shape::copy_strided(&src.data, sv, &mut dst.data, dv);
            }
            (RefId::Sem(_), _) | (_, Place::Sem) => {}
        }
    }

    fn offsets(kept: &[usize], base: usize, st: &[usize]) -> Vec<usize> {
        let mut out = Vec::new();
        shape::for_each_index(kept, |_, idx| {
            out.push(base + idx.iter().zip(st).map(|(i, s)| i * s).sum::<usize>())
        });
        out
    }

    fn with_data<T>(&mut self, id: RefId, f: impl FnOnce(&mut Data) -> T) -> Option<T> {
        match id {
            RefId::Local(i) => Some(f(&mut self.local[i].data)),
            RefId::Hbm(i) => Some(f(&mut self.hbm[i]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .data)),
            RefId::Sem(_) => None,
        }
    }

    fn sem_slot(&self, at: &RefAt) -> Result<usize, ExecError> {
        let (id, _, base, _) = self.region(at, false)?;
        Ok(match id {
            RefId::Sem(b) => b + base,
            _ => 0,
        })
    }

    fn run_region(&mut self, r: Region, args: Vec<Slot>) -> Result<Vec<Slot>, ExecError> {
        walk::run_region(self.g.vk.kernel(), self, r, args)
    }

    /// A masked store whose region leaves the buffer: only the lanes the
    /// mask enables are checked and written.
    fn store_past_edge(&mut self, dst: &RefAt, value: Value, mask: Value) -> Result<(), ExecError> {
        let id = self.r(dst.r);
        let shape = self.shape_of(id, dst.r);
        let spans: Vec<Span> = dst
            .idx
            .iter()
            .zip(&shape)
            .map(|(ix, &extent)| Span::of(ix, extent, &self.env))
            .collect();
        let m = self.mask(Some(mask)).unwrap_or_default();
        let lanes = walk::masked_lanes(&spans, &shape, &m).map_err(|(dim, index)| {
            self.fail(FaultKind::OutOfBounds {
                access: "masked store",
                name: self.ref_name(id),
                dim,
                index: Some(index),
                extent: shape[dim],
            })
        })?;
        let v = self.t(value).data.clone();
        let one = v.len() == 1;
        self.with_data(id, |d| {
            for &(lane, off) in &lanes {
                d.set_from(off, &v, if one { 0 } else { lane });
            }
        });
        Ok(())
    }

    fn mask(&self, m: Option<Value>) -> Option<Vec<bool>> {
        m.map(|m| match &self.t(m).data {
            Data::Bool(v) => v.clone(),
            _ => vec![true],
        })
    }

    /// Runs an operation with an effect (the walker runs the rest).
    fn effect(&mut self, data: &InstData) -> Result<(), ExecError> {
        let k = self.g.vk.kernel();
        let set = |w: &mut Self, t: Tensor| w.env[data.results[0].index()] = Slot::Val(t);
        match &data.op {
            Op::ProgramId { axis } => {
                set(self, Tensor::scalar(Scalar::I32(self.point[*axis] as i32)))
            }
            Op::NumPrograms { axis } => {
                set(self, Tensor::scalar(Scalar::I32(k.grid[*axis].size as i32)))
            }
            Op::Load { src, mask, other } => {
                let (id, kept, base, st) = self.region(src, false)?;
                let mut d = self.read(id, &kept, base, &st);
                if let Some(m) = self.mask(*mask) {
                    let fill = other
                        .map(|o| self.t(o).data.clone())
                        .unwrap_or_else(|| Data::filled(Scalar::zero(d.dtype()), 1));
                    eval::mask_fill(&mut d, &m, &fill);
                }
                set(
                    self,
                    Tensor {
                        data: d,
                        shape: kept,
                    },
                );
            }
            Op::Store { dst, value, mask } | Op::Swap { dst, value, mask } => {
                let (id, kept, base, st) = match (self.region(dst, true), mask, &data.op) {
                    (Ok(r), _, _) => r,
                    // Past the edge, a masked store checks only its
                    // enabled lanes.
                    (Err(ExecError::Fault(f)), Some(m), Op::Store { .. })
                        if matches!(f.kind, FaultKind::OutOfBounds { .. }) =>
                    {
                        return self.store_past_edge(dst, *value, *m);
                    }
                    (Err(e), _, _) => return Err(e),
                };
                let old =
                    matches!(data.op, Op::Swap { .. }).then(|| self.read(id, &kept, base, &st));
                let v = self.t(*value).data.clone();
                match self.mask(*mask) {
                    None => self.write(id, &kept, base, &st, &v),
                    Some(m) => {
                        let offs = Self::offsets(&kept, base, &st);
                        self.with_data(id, |d| eval::scatter_masked(d, &offs, &v, &m));
                    }
                }
                if let Some(old) = old {
                    set(
                        self,
                        Tensor {
                            data: old,
                            shape: kept,
                        },
                    );
                }
            }
            Op::Atomic {
                op,
                dst,
                value,
                mask,
            } => {
                let (id, kept, base, st) = self.region(dst, true)?;
                let old = self.read(id, &kept, base, &st);
                let v = self.t(*value).data.clone();
                let m = self.mask(*mask);
                let offs = Self::offsets(&kept, base, &st);
                self.with_data(id, |d| eval::atomic_rmw(*op, d, &offs, &v, m.as_deref()));
                set(
                    self,
                    Tensor {
                        data: old,
                        shape: kept,
                    },
                );
            }
            Op::AtomicCas { dst, expected, new } => {
                let (id, kept, base, st) = self.region(dst, true)?;
                let old = self.read(id, &kept, base, &st);
                let (e, n) = (self.t(*expected).data.clone(), self.t(*new).data.clone());
                let offs = Self::offsets(&kept, base, &st);
                self.with_data(id, |d| eval::compare_and_swap(d, &offs, &e, &n));
                set(
                    self,
                    Tensor {
                        data: old,
                        shape: kept,
                    },
                );
            }
            Op::DmaStart { src, dst, sem } => {
                let (sid, sk, sb, ss) = self.region(src, false)?;
                let (did, dk, db, ds) = self.region(dst, true)?;
                let bytes = self.ref_bytes(dst.r, &dk);
                let to = match did {
                    RefId::Hbm(h) => Place::Hbm(&self.hbm[h]),
                    RefId::Local(i) => Place::Local(i),
                    RefId::Sem(_) => Place::Sem,
                };
                self.copy(sid, (&sk, sb, &ss), to, (&dk, db, &ds));
                let slot = self.sem_slot(sem)?;
                self.sem_add(None, slot, bytes)?;
            }
            Op::RemoteDmaStart {
                src,
                dst,
                send,
                recv,
                device,
            } => {
                let target = self.device_arg(*device)?;
                let (sid, sk, sb, ss) = self.region(src, false)?;
                let (did, dk, db, ds) = self.region(dst, true)?;
                let bytes = self.ref_bytes(dst.r, &dk);
                let mesh = self.mesh.expect("a mesh kernel runs with its mesh");
                match did {
                    RefId::Hbm(h) => {
                        let to = Place::Hbm(&mesh.hbm[target][h]);
                        self.copy(sid, (&sk, sb, &ss), to, (&dk, db, &ds));
                    }
                    RefId::Local(local) => mesh.inboxes[target]
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(Incoming {
                            local,
                            kept: dk,
                            base: db,
                            strides: ds,
                            data: self.read(sid, &sk, sb, &ss),
                        }),
                    RefId::Sem(_) => unreachable!("the validator allows data refs only"),
                }
                let (send, recv) = (self.sem_slot(send)?, self.sem_slot(recv)?);
                self.sem_add(None, send, bytes)?;
                self.sem_add(Some(target), recv, bytes)?;
            }
            Op::AxisIndex { axis } => {
                let coord = k.mesh_coordinate(*axis, self.mesh.map_or(0, |m| m.device));
                set(self, Tensor::scalar(Scalar::I32(coord as i32)));
            }
            Op::BarrierSemaphore => {
                let slot = self
                    .g
                    .layout
                    .barrier_slot
                    .expect("the layout reserves the barrier slot");
                self.env[data.results[0].index()] = Slot::Ref(RefId::Sem(slot));
            }
            Op::DmaWait { dst, sem } => {
                let (_, dk, _, _) = self.region(dst, false)?;
                let elem = match self.g.vk.value_type(dst.r) {
                    Type::Ref(t) => t.dtype().map_or(4, |d| d.size_bytes()),
                    _ => 4,
                };
                let bytes = (dk.iter().product::<usize>() * elem) as i64;
                let slot = self.sem_slot(sem)?;
                self.wait(sem, slot, bytes)?;
            }
            Op::SemaphoreSignal {
                sem, inc, device, ..
            } => {
                let slot = self.sem_slot(sem)?;
                let target = match device {
                    Some(d) => Some(self.device_arg(*d)?),
                    None => None,
                };
                let n = self.t(*inc).as_i32() as i64;
                self.sem_add(target, slot, n)?;
            }
            Op::SemaphoreWait { sem, value } => {
                let slot = self.sem_slot(sem)?;
                let v = self.t(*value).as_i32() as i64;
                self.wait(sem, slot, v)?;
            }
            Op::SemaphoreRead { sem } => {
                let slot = self.sem_slot(sem)?;
                let v = match self.mesh {
                    Some(m) => m.sems.read(m.device, slot),
                    None => self.sems[slot],
                } as i32;
                set(self, Tensor::scalar(Scalar::I32(v)));
            }
            Op::DebugPrint { fmt, args } => {
                let vals: Vec<&Tensor> = args.iter().map(|&a| self.t(a)).collect();
                let out = pallas_exec::eval::debug_message(fmt, &vals);
                println!("[cpu {:?}] {out}", self.point);
            }
            other => unreachable!("the walker runs `{}`", other.name()),
        }
        Ok(())
    }

    /// Adds `n` to a semaphore slot of this device, or of `device`.
    fn sem_add(&mut self, device: Option<usize>, slot: usize, n: i64) -> Result<(), ExecError> {
        match self.mesh {
            Some(m) => m
                .sems
                .signal(device.unwrap_or(m.device), slot, n)
                .map_err(|detail| self.fail(FaultKind::Deadlock { detail })),
            None => {
                self.sems[slot] += n;
                Ok(())
            }
        }
    }

    /// A device id operand, checked against the mesh.
    fn device_arg(&self, v: Value) -> Result<usize, ExecError> {
        let d = self.t(v).as_i32() as i64;
        let devices = self.g.vk.kernel().num_devices().unwrap_or(1);
        if d < 0 || d as usize >= devices {
            return Err(self.fail(FaultKind::BadDevice { device: d, devices }));
        }
        Ok(d as usize)
    }

    /// Applies the remote copies other devices made into this device's
    /// local buffers.
    fn drain_inbox(&mut self) {
        let Some(m) = self.mesh else { return };
        let incoming = std::mem::take(
            &mut *m.inboxes[m.device]
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for c in incoming {
            let buf = &mut self.local[c.local].data;
            shape::strided_scatter(buf, &c.kept, c.base, &c.strides, &c.data);
        }
    }

    fn wait(&mut self, sem: &RefAt, slot: usize, n: i64) -> Result<(), ExecError> {
        if let Some(m) = self.mesh {
            m.sems.wait(m.device, slot, n).map_err(|waiters| {
                self.fail(FaultKind::Deadlock {
                    detail: format!(
                        "every device waits on a semaphore (device {} on `{}`): {waiters}",
                        m.device,
                        ref_name(self.g.vk.kernel(), sem.r)
                    ),
                })
            })?;
            self.drain_inbox();
            return Ok(());
        }
        if self.sems[slot] < n {
            return Err(self.fail(FaultKind::WaitNeverReturns {
                sem: ref_name(self.g.vk.kernel(), sem.r),
                detail: format!(
                    "it holds {} and the wait asks {n}; the fast mode runs one program at a time, so nothing else can signal it",
                    self.sems[slot]
                ),
            }));
        }
        self.sems[slot] -= n;
        Ok(())
    }

    fn index_map(&mut self, r: Region, prefetch: &[RefId]) -> Result<Vec<i64>, ExecError> {
        let k = self.g.vk.kernel();
        let g = k.grid.len();
        let args: Vec<Slot> = (0..k.regions[r].args.len())
            .map(|i| {
                if i < g {
                    Slot::Val(Tensor::scalar(Scalar::I32(self.point[i] as i32)))
                } else {
                    Slot::Ref(prefetch[i - g])
                }
            })
            .collect();
        let ys = self.run_region(r, args)?;
        Ok(ys
            .iter()
            .map(|y| match y {
                Slot::Val(t) => t.as_i32() as i64,
                _ => 0,
            })
            .collect())
    }

    /// Copies a block between a local buffer and HBM (`to_hbm` for
    /// write-back), only the part inside the array; the pipeline checked
    /// the block index.
    fn copy_block(&mut self, b: &Blocked, idx: &[i64], to_hbm: bool) {
        if to_hbm {
            self.drain_inbox();
        }
        let mut hbm = self.hbm[b.hbm].lock().unwrap_or_else(|e| e.into_inner());
        let shape = hbm.shape.clone();
        let origin: Vec<usize> = idx
            .iter()
            .zip(&b.block)
            .map(|(&i, &bs)| i as usize * bs)
            .collect();
        let extent: Vec<usize> = origin
            .iter()
            .zip(&b.block)
            .zip(&shape)
            .map(|((&o, &bs), &n)| bs.min(n.saturating_sub(o)))
            .collect();
        let hst = shape::strides(&shape);
        let bst = shape::strides(&b.block);
        let hbase: usize = origin.iter().zip(&hst).map(|(o, s)| o * s).sum();
        let local = &mut self.local[b.local];
        if to_hbm {
            let d = shape::strided_gather(&local.data, &extent, 0, &bst);
            shape::strided_scatter(&mut hbm.data, &extent, hbase, &hst, &d);
        } else {
            let d = shape::strided_gather(&hbm.data, &extent, hbase, &hst);
            shape::strided_scatter(&mut local.data, &extent, 0, &bst, &d);
        }
    }

    /// Runs a chunk of parallel points, each with every arbitrary point.
    fn run(&mut self, parallel: &[usize]) -> Result<(), ExecError> {
        let g = self.g;
        let k = g.vk.kernel();
        let body = &k.regions[k.body];
        let layout = &g.layout;
        for (i, home) in layout.homes.iter().enumerate() {
            let id = match *home {
                Home::Local(l) => RefId::Local(l),
                Home::Hbm(h) => RefId::Hbm(h),
                Home::Sem(s) => RefId::Sem(s),
            };
            self.env[body.args[i].index()] = Slot::Ref(id);
        }
        let mut prefetch = Vec::new();
        for &(_, l, h) in &layout.prefetch {
            self.local[l].data = self.hbm[h]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .data
                .clone();
            prefetch.push(RefId::Local(l));
        }
        let grid = GridShape::new(k.grid.iter().map(|d| d.size).collect(), layout);
        let mut pipeline = BlockPipeline::new(layout);
        let mut idx = Vec::new();
        self.point = vec![0; grid.dims.len()];
        for &p in parallel {
            for a in 0..grid.arbitrary_points() {
                grid.point(p, a, &mut self.point);
                for (bi, b) in layout.blocked.iter().enumerate() {
                    match (&b.direct_map, b.index_map) {
                        (Some(dims), _) => {
                            idx.clear();
                            idx.extend(dims.iter().map(|&d| self.point[d] as i64));
                        }
                        (None, Some(m)) => idx = self.index_map(m, &prefetch)?,
                        (None, None) => {
                            idx.clear();
                            idx.resize(b.block.len(), 0);
                        }
                    }
                    let name = &k.params[b.param].name;
                    let step = pipeline
                        .step(layout, bi, &idx, &self.point, name)
                        .map_err(|f| self.fail_in(&f.phase, f.kind))?;
                    match step {
                        BlockStep::Stay => {}
                        BlockStep::CopyIn => self.copy_block(b, &idx, false),
                        BlockStep::Replace { write_back: true } => {
                            self.copy_block(b, pipeline.previous(bi), true)
                        }
                        BlockStep::Replace { write_back: false } => {}
                    }
                }
                walk::run_insts(k, self, k.body)?;
                self.op = None;
                self.points += 1;
            }
        }
        for (bi, b) in layout.blocked.iter().enumerate() {
            if let Some(last) = pipeline.finish(layout, bi) {
                self.copy_block(b, &last, true);
            }
        }
        Ok(())
    }
}

impl<'k> Machine<'k> for Worker<'k> {
    type Ref = RefId;
    type Error = ExecError;

    #[inline]
    fn value_dtype(&self, v: Value) -> DType {
        self.g.vk.value_dtype(v).unwrap_or(DType::Bool)
    }

    fn env(&mut self) -> &mut Env<RefId> {
        &mut self.env
    }

    fn at(&mut self, inst: Inst) {
        self.op = Some(inst);
    }

    fn effect(&mut self, data: &'k InstData) -> Result<(), ExecError> {
        Worker::effect(self, data)
    }

    fn open_scope(&mut self, scratch: &'k [RefType]) -> Result<Vec<Slot>, ExecError> {
        let sem_base = match self.mesh {
            Some(m) => m.sems.open(m.device, 0),
            None => self.sems.len(),
        };
        self.scopes.push((self.local.len(), sem_base));
        let mut args = Vec::new();
        for t in scratch {
            let n: usize = t.shape.iter().product();
            match t.elem {
                RefElem::Data(d) => {
                    args.push(Slot::Ref(RefId::Local(self.local.len())));
                    self.local.push(Buffer {
                        data: Data::filled(Scalar::zero(d), n),
                        shape: t.shape.clone(),
                    });
                }
                RefElem::Semaphore(_) => match self.mesh {
                    Some(m) => args.push(Slot::Ref(RefId::Sem(m.sems.open(m.device, n)))),
                    None => {
                        args.push(Slot::Ref(RefId::Sem(self.sems.len())));
                        self.sems.resize(self.sems.len() + n, 0);
                    }
                },
            }
        }
        Ok(args)
    }

    fn close_scope(&mut self) -> Result<(), ExecError> {
        if let Some((locals, sems)) = self.scopes.pop() {
            self.local.truncate(locals);
            match self.mesh {
                Some(m) => m.sems.close(m.device, sems),
                None => self.sems.truncate(sems),
            }
        }
        Ok(())
    }

    /// `f32` elementwise math through the vectorized kernels of
    /// [`crate::math`], and `dot` through matrixmultiply.
    fn value_op(&mut self, data: &'k InstData) -> bool {
        let res = data.results[0];
        match &data.op {
            Op::Unary(op, x) => {
                let (out, rest) = self.env.result_and_rest(res);
                let xt = rest.t(*x);
                let (Data::F32(xs), Data::F32(o)) = (&xt.data, &mut out.data) else {
                    return false;
                };
                o.resize(xs.len(), 0.0);
                if !crate::math::unary(*op, xs, o) {
                    return false;
                }
                walk::assign(&mut out.shape, &xt.shape);
                true
            }
            // 8-bit integers through sgemm, exactly (see `dot_int8`); the
            // walker wraps a narrow result.
            Op::Dot {
                lhs,
                rhs,
                transpose_lhs,
                transpose_rhs,
                ..
            } if matches!(self.value_dtype(*lhs), DType::I8 | DType::U8) => {
                let out = self.value_dtype(res);
                // The previous grid point's result lends its storage.
                let old = match self.env.take(res).data {
                    Data::I32(v) => v,
                    _ => Vec::new(),
                };
                let chunk = exact_chunk(self.value_dtype(*lhs), self.value_dtype(*rhs));
                let t = dot_int8(
                    self.env.t(*lhs),
                    self.env.t(*rhs),
                    (*transpose_lhs, *transpose_rhs),
                    (out, chunk),
                    old,
                );
                self.env.put(res, t);
                true
            }
            // f32 values (of any float dtype) through matrixmultiply; the
            // walker rounds a narrow result.
            Op::Dot {
                lhs,
                rhs,
                transpose_lhs,
                transpose_rhs,
                ..
            } if matches!(self.env.t(*lhs).data, Data::F32(_)) => {
                let t = dot(
                    self.env.t(*lhs),
                    self.env.t(*rhs),
                    *transpose_lhs,
                    *transpose_rhs,
                );
                self.env.put(res, t);
                true
            }
            _ => false,
        }
    }
}

/// `dot` through ndarray (matrixmultiply) for f32; the shared semantics
/// otherwise.
fn dot(a: &Tensor, b: &Tensor, ta: bool, tb: bool) -> Tensor {
    if let (Data::F32(x), Data::F32(y)) = (&a.data, &b.data) {
        let va = ArrayView2::from_shape((a.shape[0], a.shape[1]), x);
        let vb = ArrayView2::from_shape((b.shape[0], b.shape[1]), y);
        if let (Ok(va), Ok(vb)) = (va, vb) {
            let va = if ta { va.reversed_axes() } else { va };
            let vb = if tb { vb.reversed_axes() } else { vb };
            let o = va.dot(&vb);
            let shape = vec![o.nrows(), o.ncols()];
            let data = match o.into_dimensionality::<Ix2>() {
                Ok(o) if o.is_standard_layout() => o.into_raw_vec_and_offset().0,
                Ok(o) => o.iter().copied().collect(),
                Err(_) => Vec::new(),
            };
            return Tensor {
                data: Data::F32(data),
                shape,
            };
        }
    }
    shape::dot(a, b, ta, tb)
}

/// How many products of 8-bit integers of these dtypes an f32 sum holds
/// exactly: the largest power of two `c` with `c * max|a * b| <= 2^24`
/// (every integer up to 2^24 is an f32, so no partial sum of at most `c`
/// products rounds, in any order). `i8 x i8`: products up to 2^14, 1024
/// terms; `i8 x u8`: 512; `u8 x u8`: 256.
fn exact_chunk(a: DType, b: DType) -> usize {
    let max = |d: DType| if d == DType::U8 { 255u64 } else { 128 };
    let limit = (1u64 << 24) / (max(a) * max(b));
    1usize << (63 - limit.leading_zeros())
}

/// `dot` of 8-bit integers (`i8` or `u8`, held in i32/u32) into `out`,
/// through sgemm and exact: K is cut into chunks of [`exact_chunk`] terms,
/// each multiplied in f32 (exact, see there), and the chunks are summed
/// in wrapping i32. The f32 copies live in per-thread scratch: allocating
/// them per grid point cost more than the product (each one a fresh
/// `mmap` and its page faults, once the allocator hands large blocks to
/// the kernel).
fn dot_int8(
    a: &Tensor,
    b: &Tensor,
    (ta, tb): (bool, bool),
    (out, chunk): (DType, usize),
    mut acc: Vec<i32>,
) -> Tensor {
    thread_local! {
        static SCRATCH: std::cell::RefCell<[Vec<f32>; 3]> = const {
            std::cell::RefCell::new([Vec::new(), Vec::new(), Vec::new()])
        };
    }
    fn fill(dst: &mut Vec<f32>, t: &Tensor) {
        dst.clear();
        match &t.data {
            Data::I32(v) => dst.extend(v.iter().map(|&x| x as f32)),
            Data::U32(v) => dst.extend(v.iter().map(|&x| x as f32)),
            _ => {}
        }
    }
    let (m, kd) = if ta {
        (a.shape[1], a.shape[0])
    } else {
        (a.shape[0], a.shape[1])
    };
    let n = if tb { b.shape[0] } else { b.shape[1] };
    let done = match (&a.data, &b.data) {
        (Data::I32(x), Data::I32(y)) => int8::gemm(x, y, (m, kd, n), (ta, tb), &mut acc),
        (Data::I32(x), Data::U32(y)) => int8::gemm(x, y, (m, kd, n), (ta, tb), &mut acc),
        (Data::U32(x), Data::I32(y)) => int8::gemm(x, y, (m, kd, n), (ta, tb), &mut acc),
        (Data::U32(x), Data::U32(y)) => int8::gemm(x, y, (m, kd, n), (ta, tb), &mut acc),
        _ => false,
    };
    if done {
        return int8_result(acc, out, vec![m, n]);
    }
    SCRATCH.with(|cell| {
        let [xs, ys, part] = &mut *cell.borrow_mut();
        fill(xs, a);
        fill(ys, b);
        let (Ok(xa), Ok(ya)) = (
            ArrayView2::from_shape((a.shape[0], a.shape[1]), &xs[..]),
            ArrayView2::from_shape((b.shape[0], b.shape[1]), &ys[..]),
        ) else {
            return shape::dot_typed(a, b, ta, tb, out);
        };
        let x = if ta { xa.reversed_axes() } else { xa };
        let y = if tb { ya.reversed_axes() } else { ya };
        part.clear();
        part.resize(m * n, 0.0);
        acc.clear();
        acc.resize(m * n, 0);
        let mut k0 = 0;
        while k0 < kd {
            let k1 = (k0 + chunk).min(kd);
            let mut p =
                ArrayViewMut2::from_shape((m, n), &mut part[..]).expect("the scratch holds m * n");
            ndarray::linalg::general_mat_mul(
                1.0,
                &x.slice(ndarray::s![.., k0..k1]),
                &y.slice(ndarray::s![k0..k1, ..]),
                0.0,
                &mut p,
            );
            for (s, &v) in acc.iter_mut().zip(part.iter()) {
                *s = s.wrapping_add(v as i32);
            }
            k0 = k1;
        }
        int8_result(acc, out, vec![m, n])
    })
}

/// The i32 sums of an 8-bit `dot` as a tensor of `out`.
fn int8_result(acc: Vec<i32>, out: DType, shape: Vec<usize>) -> Tensor {
    let mut data = Data::I32(acc);
    if out.wide() == DType::U32 {
        data = eval::cast(&data, DType::U32);
    }
    eval::narrow::narrow(out, &mut data);
    Tensor { data, shape }
}

impl General {
    /// One device's HBM buffers: its arguments, and its outputs (zero
    /// unless aliased to an argument).
    fn device_hbm(&self, inputs: Vec<Data>, pool: &mut Vec<Data>) -> Vec<Mutex<Buffer>> {
        let k = self.vk.kernel();
        let mut hbm: Vec<Option<Buffer>> = (0..self.layout.num_hbm).map(|_| None).collect();
        let arg_params = k
            .params
            .iter()
            .filter(|p| matches!(p.kind, ParamKind::ScalarPrefetch | ParamKind::Input));
        for ((p, d), &h) in arg_params.zip(inputs).zip(&self.layout.hbm_of_arg) {
            hbm[h] = Some(Buffer {
                data: d,
                shape: p.shape.clone(),
            });
        }
        for ((_, p), &h) in k
            .params_of(ParamKind::Output)
            .zip(&self.layout.hbm_of_output)
        {
            if hbm[h].is_none() {
                let n = p.shape.iter().product();
                let zero = Scalar::zero(p.dtype().unwrap_or(DType::F32));
                let data = match pool
                    .iter()
                    .position(|x| x.len() == n && x.dtype() == zero.dtype().wide())
                {
                    Some(i) => {
                        let mut x = pool.swap_remove(i);
                        x.fill(zero);
                        x
                    }
                    None => Data::filled(zero, n),
                };
                hbm[h] = Some(Buffer {
                    data,
                    shape: p.shape.clone(),
                });
            }
        }
        // HBM scratch: zeros, as the fast mode's fresh outputs.
        for &(i, h) in &self.layout.hbm_scratch {
            let p = &k.params[i];
            let zero = Scalar::zero(p.dtype().unwrap_or(DType::F32));
            hbm[h] = Some(Buffer {
                data: Data::filled(zero, p.shape.iter().product()),
                shape: p.shape.clone(),
            });
        }
        hbm.into_iter()
            .map(|b| {
                Mutex::new(b.unwrap_or(Buffer {
                    data: Data::F32(Vec::new()),
                    shape: vec![0],
                }))
            })
            .collect()
    }

    /// The outputs held in one device's HBM buffers.
    fn outputs(&self, hbm: Vec<Mutex<Buffer>>) -> Vec<Data> {
        self.outputs_and_rest(hbm).0
    }

    /// The output buffers, in output order, and the other HBM buffers.
    fn outputs_and_rest(&self, hbm: Vec<Mutex<Buffer>>) -> (Vec<Data>, Vec<Data>) {
        let mut hbm: Vec<Option<Buffer>> = hbm
            .into_iter()
            .map(|m| Some(m.into_inner().unwrap_or_else(|e| e.into_inner())))
            .collect();
        let outs = self
            .layout
            .hbm_of_output
            .iter()
            .map(|&h| {
                hbm[h]
                    .take()
                    .map(|b| b.data)
                    .unwrap_or(Data::F32(Vec::new()))
            })
            .collect();
        let rest = hbm
            .into_iter()
            .flatten()
            .map(|b| b.data)
            .filter(|d| !d.is_empty())
            .collect();
        (outs, rest)
    }

    /// A fresh worker on one device's HBM.
    fn worker<'a>(&'a self, hbm: &'a [Mutex<Buffer>], mesh: Option<MeshCtx<'a>>) -> Worker<'a> {
        let k = self.vk.kernel();
        Worker {
            g: self,
            hbm,
            mesh,
            env: Env::new(k.values.len()),
            scopes: Vec::new(),
            local: self
                .layout
                .locals
                .iter()
                .zip(&self.local_dtypes)
                .map(|((_, s), d)| Buffer {
                    data: Data::filled(Scalar::zero(*d), s.iter().product()),
                    shape: s.clone(),
                })
                .collect(),
            sems: vec![0; self.layout.sem_slots],
            point: Vec::new(),
            points: 0,
            op: None,
        }
    }

    /// Launches on borrowed arguments. A single-device launch copies them
    /// into buffers kept from the last launch (their pages already
    /// mapped) and keeps its input buffers for the next one; with `outs`
    /// it also copies each output into the caller's buffer and keeps the
    /// output's buffer (the returned outputs are then empty).
    pub fn launch_views(
        &self,
        args: &[HostView<'_>],
        outs: Option<&mut [HostOut<'_>]>,
    ) -> Result<(Vec<Data>, u64), ExecError> {
        let k = self.vk.kernel();
        if k.is_multi_device() {
            let (data, points) = self.launch_mesh(args.iter().map(Data::from_view).collect())?;
            return match outs {
                None => Ok((data, points)),
                Some(outs) => {
                    let hosts = data
                        .into_iter()
                        .zip(k.params_of(ParamKind::Output))
                        .map(|(d, (_, p))| {
                            let shape = pallas_exec::launch_shape(k, &p.shape);
                            d.into_host(&shape, p.dtype().unwrap_or(DType::F32))
                        })
                        .collect();
                    copy_outputs(&k.name, hosts, outs)?;
                    Ok((Vec::new(), points))
                }
            };
        }
        let mut pool = self.take_pool();
        let inputs = args
            .iter()
            .map(|a| {
                match pool
                    .iter()
                    .position(|x| x.dtype() == a.dtype() && x.len() == a.len())
                {
                    Some(i) => {
                        let mut x = pool.swap_remove(i);
                        x.fill_from_view(a);
                        x
                    }
                    None => Data::from_view(a),
                }
            })
            .collect();
        let (data, points, rest) = self.launch_one(inputs, &mut pool)?;
        pool.extend(rest);
        let Some(outs) = outs else {
            self.keep_pool(pool);
            return Ok((data, points));
        };
        for ((d, (_, p)), out) in data
            .into_iter()
            .zip(k.params_of(ParamKind::Output))
            .zip(outs)
        {
            let copied = match (&d, &mut *out) {
                (Data::F32(v), HostOut::F32(o)) if o.len() == v.len() => {
                    o.copy_from_slice(v);
                    true
                }
                (Data::I32(v), HostOut::I32(o)) if o.len() == v.len() => {
                    o.copy_from_slice(v);
                    true
                }
                (Data::U32(v), HostOut::U32(o)) if o.len() == v.len() => {
                    o.copy_from_slice(v);
                    true
                }
                _ => false,
            };
            if copied {
                pool.push(d);
            } else {
                let host = d.into_host(&p.shape, p.dtype().unwrap_or(DType::F32));
                copy_outputs(&k.name, vec![host], std::slice::from_mut(out))?;
            }
        }
        self.keep_pool(pool);
        Ok((Vec::new(), points))
    }

    fn take_pool(&self) -> Vec<Data> {
        std::mem::take(&mut *self.pool.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Keeps buffers for the next launch, up to [`POOL_LIMIT_BYTES`].
    fn keep_pool(&self, mut pool: Vec<Data>) {
        let mut bytes = 0;
        pool.retain(|d| {
            bytes += d.len() * d.dtype().size_bytes();
            bytes <= POOL_LIMIT_BYTES
        });
        *self.pool.lock().unwrap_or_else(|e| e.into_inner()) = pool;
    }

    /// One device's launch: its outputs, the grid points run and the
    /// launch's other HBM buffers (for the pool).
    fn launch_one(
        &self,
        inputs: Vec<Data>,
        pool: &mut Vec<Data>,
    ) -> Result<(Vec<Data>, u64, Vec<Data>), ExecError> {
        let k = self.vk.kernel();
        let hbm = self.device_hbm(inputs, pool);
        let grid = GridShape::new(k.grid.iter().map(|d| d.size).collect(), &self.layout);
        let ppoints = grid.parallel_points();
        let all: Vec<usize> = (0..ppoints).collect();
        let chunk = ppoints.div_ceil(rayon::current_num_threads() * 4).max(1);
        use rayon::prelude::*;
        let points: Result<Vec<u64>, ExecError> = if ppoints <= 1 {
            let mut w = self.worker(&hbm, None);
            w.run(&all).map(|_| vec![w.points])
        } else {
            // Every chunk's result, in grid order: the fault reported is
            // the one of the first chunk that faulted, whichever worker
            // finished first.
            let each: Vec<Result<u64, ExecError>> = all
                .par_chunks(chunk)
                .map(|c| {
                    let mut w = self.worker(&hbm, None);
                    w.run(c).map(|_| w.points)
                })
                .collect();
            each.into_iter().collect()
        };
        let points: u64 = points?.iter().sum();
        let (outs, rest) = self.outputs_and_rest(hbm);
        Ok((outs, points, rest))
    }

    /// A multi-device launch: each device's shard of every argument, its
    /// whole grid on a thread of its own, the outputs stacked again.
    fn launch_mesh(&self, inputs: Vec<Data>) -> Result<(Vec<Data>, u64), ExecError> {
        let k = self.vk.kernel();
        let devices = k.num_devices().unwrap_or(1).max(1);
        let shard = |d: usize, x: &Data| {
            let n = x.len() / devices;
            let mut part = x.empty_like(n);
            part.extend_range(x, d * n, n);
            part
        };
        let mut pool = std::mem::take(&mut *self.pool.lock().unwrap_or_else(|e| e.into_inner()));
        let hbm: Vec<Vec<Mutex<Buffer>>> = (0..devices)
            .map(|d| self.device_hbm(inputs.iter().map(|x| shard(d, x)).collect(), &mut pool))
            .collect();
        let sems = MeshSems::new(devices, self.layout.sem_slots);
        let inboxes: Vec<Mutex<Vec<Incoming>>> =
            (0..devices).map(|_| Mutex::new(Vec::new())).collect();
        let grid = GridShape::new(k.grid.iter().map(|d| d.size).collect(), &self.layout);
        let all: Vec<usize> = (0..grid.parallel_points()).collect();
        let results: Vec<Result<u64, ExecError>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..devices)
                .map(|device| {
                    let (hbm, sems, all, inboxes) = (&hbm, &sems, &all, &inboxes);
                    s.spawn(move || {
                        let mesh = MeshCtx {
                            sems,
                            hbm,
                            inboxes,
                            device,
                        };
                        let mut w = self.worker(&hbm[device], Some(mesh));
                        let r = w.run(all).map(|_| w.points);
                        sems.finish(device);
                        r
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        // The first fault that is not a consequence of another (a device
        // that failed leaves the others waiting: a deadlock).
        let mut points = 0;
        let mut faults = Vec::new();
        for r in results {
            match r {
                Ok(p) => points += p,
                Err(e) => faults.push(e),
            }
        }
        faults.sort_by_key(
            |e| matches!(e, ExecError::Fault(f) if matches!(f.kind, FaultKind::Deadlock { .. })),
        );
        if let Some(e) = faults.into_iter().next() {
            return Err(e);
        }
        let mut per_device: Vec<Vec<Option<Data>>> = hbm
            .into_iter()
            .map(|h| self.outputs(h).into_iter().map(Some).collect())
            .collect();
        let bytes: usize = per_device
            .iter()
            .flatten()
            .flatten()
            .map(|d| d.len() * d.dtype().size_bytes())
            .sum();
        let keep = bytes <= POOL_LIMIT_BYTES;
        let mut kept = Vec::new();
        let outs = (0..self.layout.hbm_of_output.len())
            .map(|o| {
                let mut all: Option<Data> = None;
                for outs in per_device.iter_mut() {
                    let part = outs[o].take().unwrap_or(Data::F32(Vec::new()));
                    let all = all.get_or_insert_with(|| part.empty_like(part.len() * devices));
                    all.extend_range(&part, 0, part.len());
                    // Large shards are freed as they are stacked.
                    if keep {
                        kept.push(part);
                    }
                }
                all.unwrap_or(Data::F32(Vec::new()))
            })
            .collect();
        *self.pool.lock().unwrap_or_else(|e| e.into_inner()) = kept;
        Ok((outs, points))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_chunks_keep_every_partial_sum_below_two_to_the_24() {
        for (a, b, want) in [
            (DType::I8, DType::I8, 1024),
            (DType::I8, DType::U8, 512),
            (DType::U8, DType::I8, 512),
            (DType::U8, DType::U8, 256),
        ] {
            let c = exact_chunk(a, b);
            assert_eq!(c, want, "{a:?} x {b:?}");
            let max = |d| if d == DType::U8 { 255u64 } else { 128 };
            assert!(c as u64 * max(a) * max(b) <= 1 << 24);
            assert!(2 * c as u64 * max(a) * max(b) > 1 << 24);
        }
    }
}
