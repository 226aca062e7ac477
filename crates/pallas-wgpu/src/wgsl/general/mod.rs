//! The general module: one workgroup per parallel grid point.
//!
//! The leading parallel grid dimensions are spread over the workgroups
//! (each strides over the points when there are more points than
//! workgroups); the remaining dimensions run in order inside the shader,
//! so a workgroup is what a core is to the simulator: its block buffers,
//! scratch and semaphores persist across its points, a block is copied in
//! when its index changes and written back when it changes or at the end.
//!
//! Every array value and every block and scratch buffer has a fixed
//! offset in the workgroup's memory area (`var<workgroup>` when it fits,
//! else the workgroup's slice of a global buffer). An operation with an
//! array result is a loop over its elements spread over the invocations,
//! then a barrier; scalars are registers every invocation computes alike.
//! Conditions of control flow go through `workgroupUniformLoad`, so
//! barriers stay in uniform control flow. Faults (a dynamic index out of
//! bounds, a block index out of range, a semaphore wait that would never
//! return) set an error word the runtime reads back.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use pallas_exec::analysis::ref_name;
use pallas_exec::eval::shape::strides;
use pallas_exec::{Fault, FaultKind};
use pallas_ir::{
    AtomicOp, BinaryOp, DType, Indexer, Inst, Offset, Op, ParamKind, RefAt, RefElem, Region,
    Scalar, Type, ValidatedKernel, Value,
};

use pallas_ir::validate::RefOrigin;

use super::fuse;
use super::scalar::{self, from_bits, to_bits, Helpers};
use super::{GenError, ShaderFault};

mod atomic;
mod dot;
mod expr;
mod reduce;
mod shader;

pub use shader::generate;

/// Invocations per workgroup.
const WORKGROUP: u32 = 256;

/// The register tile of a tiled `dot` (rows = columns) and the fewest
/// result elements it takes, largest first: the largest that divides the
/// result and still keeps the invocations busy wins (more multiply-adds
/// per read: reads are what lavapipe pays for, lane by lane).
const TILES: [(usize, usize); 2] = [(8, 64 * WORKGROUP as usize), (4, 4 * WORKGROUP as usize)];

/// Which memory a ref or value lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mem {
    /// The workgroup's plain area.
    Area,
    /// The workgroup's atomic area.
    Atomic,
    /// A global buffer (index), atomic or not.
    Global(usize, bool),
    /// The per-invocation semaphore counters.
    Sem,
}

/// Where a ref's elements are.
#[derive(Clone, Debug)]
struct RefLoc {
    mem: Mem,
    off: usize,
    shape: Vec<usize>,
    dtype: DType,
}

/// Where a value is.
#[derive(Clone, Debug)]
enum Val {
    /// A scalar register.
    Reg(String),
    /// An array at an area offset.
    Arr(usize),
    /// An array computed where it is read: the instruction's expression
    /// at the element index (see [`fuse`]).
    Deferred(Inst),
}

/// A resolved ref region: the ref, the flat base index (a `u32`
/// expression), and the size and element stride of each kept dimension.
#[derive(Clone)]
struct Span {
    loc: RefLoc,
    base: String,
    kept: Vec<(usize, usize)>,
}

/// A blocked input or output.
struct Blocked {
    param: usize,
    input: bool,
    buf: usize,
    loc: RefLoc,
    block: Vec<usize>,
    array: Vec<usize>,
    map: Option<Region>,
}

struct Gen<'a> {
    vk: &'a ValidatedKernel,
    h: Helpers,
    body: String,
    decls: String,
    indent: usize,
    vals: Vec<Option<Val>>,
    refs: Vec<Option<RefLoc>>,
    area: usize,
    atomic_area: usize,
    sems: usize,
    tmp: usize,
    faults: Vec<ShaderFault>,
    /// The instruction being generated, for fault codes.
    cur: Option<Inst>,
    dirty: bool,
    area_in_workgroup: bool,
    storage_barrier: bool,
    atomic_refs: HashSet<Value>,
    written_refs: HashSet<Value>,
    /// Instructions whose results are computed where they are used.
    deferred: HashSet<Inst>,
    /// The resolved region of each load, from its definition.
    spans: HashMap<Inst, Span>,
    /// Whether the area may also be read as `vec4<u32>` (`la4`): a
    /// global area with a binding to spare.
    vec4_allowed: bool,
    /// Whether the module reads `la4`.
    vec4_used: bool,
}

fn unsupported(what: String) -> GenError {
    GenError::Unsupported(what)
}

/// How many steps of an inner loop of `n` iterations to write out per
/// iteration (fewer loop iterations: lavapipe caps them per shader).
fn unroll(n: usize) -> usize {
    [8, 4, 2].into_iter().find(|u| n % u == 0).unwrap_or(1)
}

/// `(e / stride) % size` for a coordinate of a flat index, simplified.
/// (A zero-size shape has no elements to index; `max(1)` keeps the
/// constants divisible.)
fn coord(e: &str, shape: &[usize], d: usize) -> String {
    let st: usize = shape[d + 1..].iter().product::<usize>().max(1);
    let q = if st == 1 {
        e.to_string()
    } else {
        format!("({e} / {st}u)")
    };
    if d == 0 {
        q
    } else {
        format!("({q} % {}u)", shape[d].max(1))
    }
}

impl<'a> Gen<'a> {
    fn line(&mut self, s: impl AsRef<str>) {
        for _ in 0..self.indent {
            self.body.push_str("  ");
        }
        self.body.push_str(s.as_ref());
        self.body.push('\n');
    }

    fn open(&mut self, s: impl AsRef<str>) {
        self.line(s);
        self.indent += 1;
    }

    fn close(&mut self) {
        self.indent -= 1;
        self.line("}");
    }

    /// Opens a loop over `n` elements spread over the invocations, with
    /// the element index in `e`. The loop's bounds are the same for every
    /// invocation (a uniform loop; lavapipe caps the iterations of
    /// divergent loops per shader at 65,535), a bounds test inside.
    fn open_elems(&mut self, n: usize) {
        if n <= WORKGROUP as usize {
            self.open("{");
            self.line("let e = lid;");
            self.open(format!("if (e < {n}u) {{"));
            return;
        }
        self.open(format!(
            "for (var e0 = 0u; e0 < {n}u; e0 = e0 + {WORKGROUP}u) {{"
        ));
        self.line("let e = e0 + lid;");
        if n % WORKGROUP as usize == 0 {
            self.open("{");
        } else {
            self.open(format!("if (e < {n}u) {{"));
        }
    }

    /// Closes [`Gen::open_elems`].
    fn close_elems(&mut self) {
        self.close();
        self.close();
    }

    fn barrier(&mut self) {
        if self.storage_barrier {
            self.line("storageBarrier();");
        }
        self.line("workgroupBarrier();");
        self.dirty = false;
    }

    /// A barrier when something was read since the last one (before a
    /// write that could overwrite it).
    fn settle(&mut self) {
        if self.dirty {
            self.barrier();
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.tmp += 1;
        format!("{prefix}_{}", self.tmp)
    }

    /// A fault code for a fault of the kernel at the current instruction.
    fn fault(&mut self, kind: FaultKind) -> usize {
        let k = self.vk.kernel();
        let (op, loc) = match self.cur {
            Some(i) => (format!("op `{}`", k.insts[i].op.name()), k.inst_loc(i)),
            None => ("block pipeline".into(), None),
        };
        self.faults.push(ShaderFault::Kernel(Box::new(Fault {
            device: None,
            kernel: k.name.clone(),
            core: None,
            grid_point: None,
            op,
            loc,
            kind,
        })));
        self.faults.len()
    }

    /// A fault code for a limit of the driver.
    fn driver_fault(&mut self, what: String) -> usize {
        self.faults.push(ShaderFault::Driver(what));
        self.faults.len()
    }

    /// Whether `at` is what the current instruction writes.
    fn writes(&self, at: &RefAt) -> bool {
        let k = self.vk.kernel();
        self.cur
            .and_then(|i| k.insts[i].op.written_ref())
            .is_some_and(|w| std::ptr::eq(w, at))
    }

    fn ty(&self, v: Value) -> (DType, Vec<usize>) {
        match self.vk.value_type(v) {
            Type::Value { dtype, shape } => (*dtype, shape.clone()),
            Type::Ref(r) => (r.dtype().unwrap_or(DType::I32), r.shape.clone()),
        }
    }

    /// A slot of `words` words in the area, at a multiple of 4 (so that
    /// it can be read as `vec4<u32>`).
    fn alloc(&mut self, words: usize) -> usize {
        let off = self.area;
        self.area += words.max(1).next_multiple_of(4);
        off
    }

    /// Gives a value its home: a register for scalars, an area slot for
    /// arrays.
    fn define(&mut self, v: Value) -> Val {
        let (d, shape) = self.ty(v);
        let val = if shape.is_empty() {
            let name = format!("v{}", v.index());
            let _ = writeln!(self.decls, "  var {name}: {};", scalar::ty(d));
            Val::Reg(name)
        } else {
            Val::Arr(self.alloc(shape.iter().product()))
        };
        self.vals[v.index()] = Some(val.clone());
        val
    }

    fn val(&self, v: Value) -> Result<Val, GenError> {
        self.vals[v.index()].clone().ok_or_else(|| {
            GenError::Unsupported(format!("value %{} used before it is defined", v.index()))
        })
    }

    fn refloc(&self, v: Value) -> Result<RefLoc, GenError> {
        self.refs[v.index()].clone().ok_or_else(|| {
            GenError::Unsupported(format!(
                "ref %{} that is not a parameter or run_scoped scratch",
                v.index()
            ))
        })
    }

    /// The `u32` word at `idx` of a memory.
    fn read(&mut self, mem: Mem, idx: &str) -> String {
        self.dirty = true;
        match mem {
            Mem::Area if self.area_in_workgroup => format!("wa[{idx}]"),
            Mem::Area => format!("la[ab + {idx}]"),
            Mem::Atomic if self.area_in_workgroup => format!("atomicLoad(&wat[{idx}])"),
            Mem::Atomic => format!("atomicLoad(&lat[aab + {idx}])"),
            Mem::Global(b, false) => format!("g{b}[{idx}]"),
            Mem::Global(b, true) => format!("atomicLoad(&g{b}[{idx}])"),
            Mem::Sem => format!("bitcast<u32>(sems[{idx}])"),
        }
    }

    fn ptr(&self, mem: Mem, idx: &str) -> String {
        match mem {
            Mem::Atomic if self.area_in_workgroup => format!("&wat[{idx}]"),
            Mem::Atomic => format!("&lat[aab + {idx}]"),
            Mem::Global(b, _) => format!("&g{b}[{idx}]"),
            _ => String::new(),
        }
    }

    fn write_stmt(&self, mem: Mem, idx: &str, w: &str) -> String {
        match mem {
            Mem::Area if self.area_in_workgroup => format!("wa[{idx}] = {w};"),
            Mem::Area => format!("la[ab + {idx}] = {w};"),
            Mem::Atomic | Mem::Global(_, true) => {
                format!("atomicStore({}, {w});", self.ptr(mem, idx))
            }
            Mem::Global(b, false) => format!("g{b}[{idx}] = {w};"),
            Mem::Sem => format!("sems[{idx}] = bitcast<i32>({w});"),
        }
    }

    /// Element `e` (a `u32` expression) of value `v`; scalars broadcast.
    fn elem(&mut self, v: Value, e: &str) -> Result<String, GenError> {
        let (d, _) = self.ty(v);
        Ok(match self.val(v)? {
            Val::Reg(r) => r,
            Val::Arr(off) => {
                let w = self.read(Mem::Area, &format!("{off}u + {e}"));
                from_bits(d, &w)
            }
            Val::Deferred(inst) => self.expr(inst, e)?,
        })
    }

    /// Writes `expr` (a function of the element index `e`) into value
    /// `v`: a register assignment for scalars (every invocation), a loop
    /// over the elements for arrays.
    fn produce(
        &mut self,
        v: Value,
        mut expr: impl FnMut(&mut Self, &str) -> Result<String, GenError>,
    ) -> Result<(), GenError> {
        let (d, shape) = self.ty(v);
        match self.vals[v.index()]
            .clone()
            .unwrap_or_else(|| self.define(v))
        {
            Val::Reg(r) => {
                let x = expr(self, "0u")?;
                self.line(format!("{r} = {x};"));
            }
            Val::Deferred(_) => {
                return Err(GenError::Unsupported(format!(
                    "value %{} computed twice",
                    v.index()
                )))
            }
            Val::Arr(off) => {
                let n: usize = shape.iter().product();
                self.settle();
                self.open_elems(n);
                let x = expr(self, "e")?;
                let w = to_bits(d, &x);
                let st = self.write_stmt(Mem::Area, &format!("{off}u + e"), &w);
                self.line(st);
                self.close_elems();
                self.barrier();
            }
        }
        Ok(())
    }

    /// Copies value `src` into value `dst` (same type).
    fn assign(&mut self, dst: Value, src: Value) -> Result<(), GenError> {
        if dst == src {
            return Ok(());
        }
        self.produce(dst, |g, e| g.elem(src, e))
    }

    /// A scalar every invocation provably agrees on, for control flow.
    fn uniform(&mut self, d: DType, x: &str) -> String {
        let name = self.fresh("u");
        self.open("if (lid == 0u) {");
        self.line(format!("ub = {};", to_bits(d, x)));
        self.close();
        self.line(format!(
            "let {name} = {};",
            from_bits(d, "workgroupUniformLoad(&ub)")
        ));
        self.line("workgroupBarrier();");
        name
    }

    fn offset(&mut self, o: &Offset) -> Result<String, GenError> {
        Ok(match o {
            Offset::Static(s) => format!("{s}i"),
            Offset::Dynamic(v) => self.elem(*v, "0u")?,
        })
    }

    /// Resolves a ref region; dynamic starts out of bounds fault (and
    /// read or write at 0 instead).
    fn span(&mut self, at: &RefAt) -> Result<Span, GenError> {
        let loc = self.refloc(at.r)?;
        let st = strides(&loc.shape);
        let mut base = vec![format!("{}u", loc.off)];
        let mut kept = Vec::new();
        for (d, ix) in at.idx.iter().enumerate() {
            let (start, size, stride, keep) = match ix {
                Indexer::Full => (None, loc.shape[d], 1, true),
                Indexer::Index(o) => (Some(o), 1, 1, false),
                Indexer::Slice {
                    start,
                    size,
                    stride,
                } => (Some(start), *size, *stride, true),
            };
            if let Some(o) = start {
                let span = if size == 0 {
                    0
                } else {
                    (size - 1) * stride + 1
                };
                let limit = loc.shape[d] as i64 - span as i64;
                match o {
                    Offset::Static(s) => {
                        if *s > 0 {
                            base.push(format!("{}u", *s as usize * st[d]));
                        }
                    }
                    Offset::Dynamic(_) => {
                        let x = self.offset(o)?;
                        let name = self.fresh("o");
                        let code = self.fault(FaultKind::OutOfBounds {
                            access: if self.writes(at) { "write" } else { "read" },
                            name: ref_name(self.vk.kernel(), at.r),
                            dim: d,
                            index: None,
                            extent: loc.shape[d],
                        });
                        self.line(format!("var {name}: u32 = 0u;"));
                        self.open(format!("if ({x} >= 0i && {x} <= {limit}i) {{"));
                        self.line(format!("{name} = u32({x});"));
                        self.close();
                        self.open("else {");
                        self.line(format!("fault({code}u);"));
                        self.close();
                        base.push(format!("{name} * {}u", st[d]));
                    }
                }
            }
            if keep {
                kept.push((size, stride * st[d]));
            }
        }
        Ok(Span {
            loc,
            base: base.join(" + "),
            kept,
        })
    }

    /// The flat index of element `e` of a span.
    fn at(span: &Span, e: &str) -> String {
        let shape: Vec<usize> = span.kept.iter().map(|k| k.0).collect();
        let mut s = format!("({}", span.base);
        for (d, &(_, st)) in span.kept.iter().enumerate() {
            if shape[d] > 1 {
                let _ = write!(s, " + {} * {st}u", coord(e, &shape, d));
            }
        }
        s.push(')');
        s
    }

    fn region(&mut self, r: Region) -> Result<(), GenError> {
        let k = self.vk.kernel();
        for &inst in &k.regions[r].insts {
            self.inst(inst)?;
        }
        Ok(())
    }

    /// Copies a region's yields into the values `dst`.
    fn yields_to(&mut self, r: Region, dst: &[Value]) -> Result<(), GenError> {
        let ys = self.vk.kernel().regions[r].yields.clone();
        for (&d, &y) in dst.iter().zip(&ys) {
            self.assign(d, y)?;
        }
        Ok(())
    }

    fn define_all(&mut self, vs: &[Value]) {
        for &v in vs {
            if !matches!(self.vk.value_type(v), Type::Ref(_)) && self.vals[v.index()].is_none() {
                self.define(v);
            }
        }
    }

    fn inst(&mut self, inst: pallas_ir::Inst) -> Result<(), GenError> {
        let vk = self.vk;
        let k = vk.kernel();
        let data = &k.insts[inst];
        self.cur = Some(inst);
        let what = match k.inst_loc(inst) {
            Some(l) => format!("`{}` at {l}", data.op.name()),
            None => format!("`{}` (instruction {})", data.op.name(), inst.index()),
        };
        let res = data.results.first().copied();
        let result =
            || res.ok_or_else(|| GenError::Unsupported(format!("{what} without a result")));
        if self.deferred.contains(&inst) {
            return self.defer(inst);
        }
        match &data.op {
            Op::Reshape { x, .. }
                if matches!(self.val(*x)?, Val::Arr(_)) && !self.ty(result()?).1.is_empty() =>
            {
                // Same elements in the same order: share the slot.
                let off = self.val(*x)?;
                self.vals[result()?.index()] = Some(off);
            }
            Op::ProgramId { axis } => {
                let a = *axis;
                self.produce(result()?, |_, _| Ok(format!("pt{a}")))?;
            }
            Op::NumPrograms { axis } => {
                let n = k.grid[*axis].size;
                self.produce(result()?, |_, _| Ok(format!("{n}i")))?;
            }
            Op::AxisIndex { .. } | Op::BarrierSemaphore | Op::RemoteDmaStart { .. } => {
                return Err(unsupported(format!(
                    "`{}` (a multi-device operation; this backend runs one device)",
                    data.op.name()
                )));
            }
            Op::Load { .. } => {
                if !self.resolve_load(inst)? {
                    self.produce(result()?, |g, e| g.expr(inst, e))?;
                }
            }
            // (What `fuse::deferrable` accepts, less loads; listed so the
            // match stays exhaustive.)
            Op::Const(_)
            | Op::Full { .. }
            | Op::Iota { .. }
            | Op::Unary(..)
            | Op::Binary(..)
            | Op::Compare(..)
            | Op::Select { .. }
            | Op::Cast { .. }
            | Op::Bitcast { .. }
            | Op::Reshape { .. }
            | Op::BroadcastInDim { .. }
            | Op::Transpose { .. }
            | Op::Slice { .. } => self.produce(result()?, |g, e| g.expr(inst, e))?,
            Op::Concatenate { xs, axis } => {
                let r = result()?;
                let (d, rs) = self.ty(r);
                let (xs, axis) = (xs.clone(), *axis);
                self.produce(r, |g, e| {
                    // Walk the operands along the axis; the last one whose
                    // start is at or before the coordinate holds it.
                    let c = coord(e, &rs, axis);
                    let mut acc = scalar::literal(Scalar::zero(d));
                    let mut start = 0usize;
                    let mut parts = Vec::new();
                    for &x in &xs {
                        let (_, s) = g.ty(x);
                        let st = strides(&s);
                        let mut idx = vec!["0u".to_string()];
                        for dd in 0..rs.len() {
                            let cd = if dd == axis {
                                format!("({c} - {start}u)")
                            } else {
                                coord(e, &rs, dd)
                            };
                            idx.push(format!("min({cd}, {}u) * {}u", s[dd].max(1) - 1, st[dd]));
                        }
                        let v = g.elem(x, &format!("({})", idx.join(" + ")))?;
                        parts.push((start, v));
                        start += s[axis];
                    }
                    for (st, v) in parts {
                        acc = format!("select({acc}, {v}, {c} >= {st}u)");
                    }
                    Ok(acc)
                })?;
            }
            Op::Reduce { op, x, axes } => self.reduce(result()?, *op, *x, axes)?,
            Op::Cumsum { x, axis } => {
                // One invocation per line along the axis, summing in
                // order (the sequential order of the other backends).
                let (d, xs) = self.ty(*x);
                let st = strides(&xs)[*axis];
                let len = xs[*axis];
                let r = result()?;
                let Val::Arr(off) = self.vals[r.index()]
                    .clone()
                    .unwrap_or_else(|| self.define(r))
                else {
                    return Err(GenError::Unsupported(format!("{what} of a scalar")));
                };
                let lines: usize = xs.iter().product::<usize>() / len.max(1);
                let mut outer = xs.clone();
                outer[*axis] = 1;
                let acc = self.fresh("cs");
                self.settle();
                self.open_elems(lines);
                // The line's first element: its coordinates with the axis at 0.
                let ost = strides(&xs);
                let mut base = vec!["0u".to_string()];
                for dd in 0..xs.len() {
                    if dd != *axis && xs[dd] > 1 {
                        base.push(format!("{} * {}u", coord("e", &outer, dd), ost[dd]));
                    }
                }
                self.line(format!("let lb = {};", base.join(" + ")));
                self.line(format!(
                    "var {acc}: {} = {};",
                    scalar::ty(d),
                    scalar::literal(Scalar::zero(d))
                ));
                let u = unroll(len);
                self.open(format!("for (var j0 = 0u; j0 < {len}u; j0 = j0 + {u}u) {{"));
                for q in 0..u {
                    self.line(format!("{{ let j = lb + (j0 + {q}u) * {st}u;"));
                    let xe = self.elem(*x, "j")?;
                    // Summed wide; each output rounded (or wrapped) once.
                    let step = scalar::binary(&mut self.h, BinaryOp::Add, d.wide(), &acc, &xe);
                    self.line(format!("{acc} = {step};"));
                    let out = scalar::narrow(&mut self.h, d, &acc);
                    let w = self.write_stmt(Mem::Area, &format!("{off}u + j"), &to_bits(d, &out));
                    self.line(format!("{w} }}"));
                }
                self.close();
                self.close_elems();
                self.barrier();
            }
            Op::Dot {
                lhs,
                rhs,
                transpose_lhs,
                transpose_rhs,
                ..
            } => self.dot(result()?, *lhs, *rhs, *transpose_lhs, *transpose_rhs)?,
            Op::Store { dst, value, mask } => self.store(dst, *value, *mask)?,
            Op::Swap { dst, value, mask } => {
                let span = self.span(dst)?;
                let d = span.loc.dtype;
                self.produce(result()?, |g, e| {
                    let w = g.read(span.loc.mem, &Self::at(&span, e));
                    Ok(from_bits(d, &w))
                })?;
                self.barrier();
                self.store(dst, *value, *mask)?;
            }
            Op::Atomic {
                op,
                dst,
                value,
                mask,
            } => self.atomic(result()?, *op, dst, *value, *mask, None, &what)?,
            Op::AtomicCas { dst, expected, new } => self.atomic(
                result()?,
                AtomicOp::Xchg,
                dst,
                *new,
                None,
                Some(*expected),
                &what,
            )?,
            Op::For {
                lower,
                upper,
                step,
                inits,
                body,
            } => {
                let rs = data.results.clone();
                self.define_all(&rs);
                for (&r, &i) in rs.iter().zip(inits) {
                    self.assign(r, i)?;
                }
                let args = k.regions[*body].args.clone();
                self.define_all(&args);
                let lo = self.elem(*lower, "0u")?;
                let hi = self.elem(*upper, "0u")?;
                let trips_static = match (self.const_i32(*lower), self.const_i32(*upper)) {
                    (Some(l), Some(h)) if h > l => Some((h as i64 - l as i64 + step - 1) / step),
                    (Some(_), Some(_)) => Some(0),
                    _ => None,
                };
                let (lo, hi) = (self.uniform(DType::I32, &lo), self.uniform(DType::I32, &hi));
                // A static trip count is unrolled (lavapipe caps loop
                // iterations per shader).
                let u = trips_static.map_or(1, |t| unroll(t as usize)) as u32;
                let trips = self.fresh("n");
                self.line(format!(
                    "let {trips} = select(0u, (bitcast<u32>({hi} - {lo}) - 1u) / {step}u + 1u, {hi} > {lo});"
                ));
                let t = self.fresh("t");
                self.settle();
                self.open(format!(
                    "for (var {t} = 0u; {t} < {trips}; {t} = {t} + {u}u) {{"
                ));
                for q in 0..u {
                    let iv = self.val(args[0])?;
                    if let Val::Reg(iv) = iv {
                        self.line(format!(
                            "{iv} = {lo} + bitcast<i32>(({t} + {q}u) * {step}u);"
                        ));
                    }
                    for (&a, &r) in args[1..].iter().zip(&rs) {
                        self.assign(a, r)?;
                    }
                    self.region(*body)?;
                    self.yields_to(*body, &rs)?;
                    self.barrier();
                }
                self.close();
            }
            Op::While { inits, cond, body } => {
                let rs = data.results.clone();
                self.define_all(&rs);
                for (&r, &i) in rs.iter().zip(inits) {
                    self.assign(r, i)?;
                }
                let (cargs, bargs) = (k.regions[*cond].args.clone(), k.regions[*body].args.clone());
                self.define_all(&cargs);
                self.define_all(&bargs);
                self.settle();
                self.open("loop {");
                for (&a, &r) in cargs.iter().zip(&rs) {
                    self.assign(a, r)?;
                }
                self.region(*cond)?;
                let c = k.regions[*cond].yields[0];
                let c = self.elem(c, "0u")?;
                let u = self.uniform(DType::Bool, &c);
                self.line(format!("if (!{u}) {{ break; }}"));
                for (&a, &r) in bargs.iter().zip(&rs) {
                    self.assign(a, r)?;
                }
                self.region(*body)?;
                self.yields_to(*body, &rs)?;
                self.barrier();
                self.close();
            }
            Op::If {
                cond,
                then_region,
                else_region,
            } => {
                let rs = data.results.clone();
                self.define_all(&rs);
                let c = self.elem(*cond, "0u")?;
                let u = self.uniform(DType::Bool, &c);
                self.settle();
                self.open(format!("if ({u}) {{"));
                self.region(*then_region)?;
                self.yields_to(*then_region, &rs)?;
                self.settle();
                self.close();
                self.open("else {");
                self.region(*else_region)?;
                self.yields_to(*else_region, &rs)?;
                self.settle();
                self.close();
            }
            Op::RunScoped { scratch, body } => {
                let args = k.regions[*body].args.clone();
                self.settle();
                for (&a, t) in args.iter().zip(scratch) {
                    let n: usize = t.shape.iter().product();
                    match t.elem {
                        RefElem::Data(d) => {
                            let atomic = self.atomic_refs.contains(&a);
                            let (mem, off) = if atomic {
                                let off = self.atomic_area;
                                self.atomic_area += n.max(1);
                                (Mem::Atomic, off)
                            } else {
                                (Mem::Area, self.alloc(n))
                            };
                            self.refs[a.index()] = Some(RefLoc {
                                mem,
                                off,
                                shape: t.shape.clone(),
                                dtype: d,
                            });
                            self.open_elems(n);
                            let st = self.write_stmt(mem, &format!("{off}u + e"), "0u");
                            self.line(st);
                            self.close_elems();
                        }
                        RefElem::Semaphore(_) => {
                            let off = self.sems;
                            self.sems += n.max(1);
                            self.refs[a.index()] = Some(RefLoc {
                                mem: Mem::Sem,
                                off,
                                shape: t.shape.clone(),
                                dtype: DType::I32,
                            });
                            self.line(format!(
                                "for (var s = 0u; s < {n}u; s = s + 1u) {{ sems[{off}u + s] = 0i; }}"
                            ));
                        }
                    }
                }
                self.barrier();
                let rs = data.results.clone();
                self.define_all(&rs);
                self.region(*body)?;
                self.yields_to(*body, &rs)?;
            }
            Op::DmaStart { src, dst, sem } => {
                // A local copy done now; the wait finds it complete.
                let (s, d) = (self.span(src)?, self.span(dst)?);
                let n: usize = s.kept.iter().map(|k| k.0).product();
                self.settle();
                self.open_elems(n);
                let w = self.read(s.loc.mem, &Self::at(&s, "e"));
                let st = self.write_stmt(d.loc.mem, &Self::at(&d, "e"), &w);
                self.line(st);
                self.close_elems();
                self.barrier();
                let bytes = n * s.loc.dtype.size_bytes();
                let slot = self.span(sem)?;
                self.line(format!(
                    "sems[{}] = sems[{}] + {bytes}i;",
                    slot.base, slot.base
                ));
            }
            Op::DmaWait { dst, sem } => {
                let d = self.span(dst)?;
                let n: usize = d.kept.iter().map(|k| k.0).product();
                let bytes = (n * d.loc.dtype.size_bytes()) as i64;
                self.sem_wait(sem, &format!("{bytes}i"))?;
            }
            Op::SemaphoreSignal { sem, inc, core, .. } => {
                if core.is_some() {
                    return Err(unsupported(format!(
                        "{what} to another core (one dispatch cannot hand off between workgroups)"
                    )));
                }
                let inc = self.elem(*inc, "0u")?;
                let slot = self.span(sem)?;
                self.line(format!(
                    "sems[{}] = sems[{}] + {inc};",
                    slot.base, slot.base
                ));
            }
            Op::SemaphoreWait { sem, value } => {
                let v = self.elem(*value, "0u")?;
                self.sem_wait(sem, &v)?;
            }
            Op::SemaphoreRead { sem } => {
                let slot = self.span(sem)?;
                let base = slot.base.clone();
                self.produce(result()?, |_, _| Ok(format!("sems[{base}]")))?;
            }
            Op::DebugPrint { .. } => {
                return Err(unsupported(format!(
                    "{what} (a shader cannot print; run the kernel on `sim` to see it)"
                )))
            }
        }
        Ok(())
    }

    /// Whether `at` is the whole of a blocked input's buffer that nothing
    /// in the kernel writes.
    fn read_only_block(&self, at: &RefAt) -> bool {
        let k = self.vk.kernel();
        let whole = at.idx.iter().all(|i| *i == Indexer::Full);
        let input = matches!(
            self.vk.ref_origin(at.r),
            Some(RefOrigin::Param(i)) if k.params[i].kind == ParamKind::Input
        );
        let in_area = self.refs[at.r.index()]
            .as_ref()
            .is_some_and(|l| l.mem == Mem::Area);
        whole && input && in_area && !self.written_refs.contains(&at.r)
    }

    /// The value of an `i32` constant.
    fn const_i32(&self, v: Value) -> Option<i32> {
        let k = self.vk.kernel();
        match &k.insts[k.def_inst(v)?].op {
            Op::Const(Scalar::I32(c)) => Some(*c),
            _ => None,
        }
    }

    fn sem_wait(&mut self, sem: &RefAt, n: &str) -> Result<(), GenError> {
        let slot = self.span(sem)?;
        let code = self.fault(FaultKind::WaitNeverReturns {
            sem: ref_name(self.vk.kernel(), sem.r),
            detail: "it holds less than the wait asks, and one workgroup runs each program alone, so nothing else can signal it".into(),
        });
        let b = slot.base;
        self.open(format!("if (sems[{b}] < {n}) {{"));
        self.line(format!("fault({code}u);"));
        self.close();
        self.line(format!("sems[{b}] = sems[{b}] - {n};"));
        Ok(())
    }

    fn store(&mut self, dst: &RefAt, value: Value, mask: Option<Value>) -> Result<(), GenError> {
        let span = self.span(dst)?;
        let n: usize = span.kept.iter().map(|k| k.0).product();
        let d = span.loc.dtype;
        self.settle();
        self.open_elems(n);
        let v = self.elem(value, "e")?;
        let st = self.write_stmt(span.loc.mem, &Self::at(&span, "e"), &to_bits(d, &v));
        match mask {
            Some(m) => {
                let c = self.elem(m, "e")?;
                self.line(format!("if ({c}) {{ {st} }}"));
            }
            None => self.line(st),
        }
        self.close_elems();
        self.barrier();
        Ok(())
    }
}
