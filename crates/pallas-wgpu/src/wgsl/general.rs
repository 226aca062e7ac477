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

use pallas_ir::eval::shape::strides;
use pallas_ir::{
    AtomicOp, BinaryOp, DType, DimSemantics, Indexer, Inst, MemorySpace, Offset, Op, ParamKind,
    ReduceOp, RefAt, RefElem, Region, Scalar, Type, ValidatedKernel, Value,
};

use pallas_ir::validate::RefOrigin;

use super::fuse;
use super::scalar::{self, from_bits, to_bits, Helpers};
use super::{buffer_decls, buffer_of_param, global_buffers, GenError, Limits, Plan, Shader};

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
    faults: Vec<String>,
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

    fn fault(&mut self, what: String) -> usize {
        self.faults.push(what);
        self.faults.len()
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
    fn span(&mut self, at: &RefAt, what: &str) -> Result<Span, GenError> {
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
                        let code = self.fault(format!(
                            "{what}: index out of bounds on dimension {d} (size {}, {} elements from the start)",
                            loc.shape[d], span
                        ));
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
        let what = match k.inst_loc(inst) {
            Some(l) => format!("`{}` at {l}", data.op.name()),
            None => format!("`{}` (instruction {})", data.op.name(), inst.index()),
        };
        let res = data.results.first().copied();
        let result =
            || res.ok_or_else(|| GenError::Unsupported(format!("{what} without a result")));
        if self.deferred.contains(&inst) {
            return self.defer(inst, &what);
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
                    let step = scalar::binary(&mut self.h, BinaryOp::Add, d, &acc, &xe);
                    self.line(format!("{acc} = {step};"));
                    let w = self.write_stmt(Mem::Area, &format!("{off}u + j"), &to_bits(d, &acc));
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
            } => self.dot(result()?, *lhs, *rhs, *transpose_lhs, *transpose_rhs)?,
            Op::Load {
                src,
                mask: None,
                other: None,
            } if self.read_only_block(src) && !self.ty(result()?).1.is_empty() => {
                // The whole block of an input the body never writes: the
                // value is the block itself until the next block moves in.
                let loc = self.refloc(src.r)?;
                self.vals[result()?.index()] = Some(Val::Arr(loc.off));
            }
            Op::Load { src, .. } => {
                let span = self.span(src, &what)?;
                self.spans.insert(inst, span);
                self.produce(result()?, |g, e| g.expr(inst, e))?;
            }
            Op::Store { dst, value, mask } => self.store(dst, *value, *mask, &what)?,
            Op::Swap { dst, value, mask } => {
                let span = self.span(dst, &what)?;
                let d = span.loc.dtype;
                self.produce(result()?, |g, e| {
                    let w = g.read(span.loc.mem, &Self::at(&span, e));
                    Ok(from_bits(d, &w))
                })?;
                self.barrier();
                self.store(dst, *value, *mask, &what)?;
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
                let (s, d) = (self.span(src, &what)?, self.span(dst, &what)?);
                let n: usize = s.kept.iter().map(|k| k.0).product();
                self.settle();
                self.open_elems(n);
                let w = self.read(s.loc.mem, &Self::at(&s, "e"));
                let st = self.write_stmt(d.loc.mem, &Self::at(&d, "e"), &w);
                self.line(st);
                self.close_elems();
                self.barrier();
                let bytes = n * s.loc.dtype.size_bytes();
                let slot = self.span(sem, &what)?;
                self.line(format!(
                    "sems[{}] = sems[{}] + {bytes}i;",
                    slot.base, slot.base
                ));
            }
            Op::DmaWait { dst, sem } => {
                let d = self.span(dst, &what)?;
                let n: usize = d.kept.iter().map(|k| k.0).product();
                let bytes = (n * d.loc.dtype.size_bytes()) as i64;
                self.sem_wait(sem, &format!("{bytes}i"), &what)?;
            }
            Op::SemaphoreSignal { sem, inc, core } => {
                if core.is_some() {
                    return Err(unsupported(format!(
                        "{what} to another core (one dispatch cannot hand off between workgroups)"
                    )));
                }
                let inc = self.elem(*inc, "0u")?;
                let slot = self.span(sem, &what)?;
                self.line(format!(
                    "sems[{}] = sems[{}] + {inc};",
                    slot.base, slot.base
                ));
            }
            Op::SemaphoreWait { sem, value } => {
                let v = self.elem(*value, "0u")?;
                self.sem_wait(sem, &v, &what)?;
            }
            Op::SemaphoreRead { sem } => {
                let slot = self.span(sem, &what)?;
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

    /// Element `e` (a `u32` expression) of the result of `inst`, an
    /// elementwise, indexing, constant or load operation, as an
    /// expression of its operands' elements.
    fn expr(&mut self, inst: Inst, e: &str) -> Result<String, GenError> {
        let k = self.vk.kernel();
        let data = &k.insts[inst];
        let r = data.results[0];
        Ok(match &data.op {
            Op::Const(s) | Op::Full { value: s, .. } => scalar::literal(*s),
            Op::Iota { dtype, shape, dim } => {
                let c = coord(e, shape, *dim);
                match dtype {
                    DType::F32 => format!("f32({c})"),
                    DType::U32 => c,
                    _ => format!("i32({c})"),
                }
            }
            Op::Unary(op, x) => {
                let (d, _) = self.ty(*x);
                let a = self.elem(*x, e)?;
                scalar::unary(&mut self.h, *op, d, &a)
            }
            Op::Binary(op, a, b) => {
                let (d, _) = self.ty(*a);
                let (x, y) = (self.elem(*a, e)?, self.elem(*b, e)?);
                scalar::binary(&mut self.h, *op, d, &x, &y)
            }
            Op::Compare(op, a, b) => {
                let (d, _) = self.ty(*a);
                let (x, y) = (self.elem(*a, e)?, self.elem(*b, e)?);
                scalar::compare(*op, d, &x, &y)
            }
            Op::Select {
                cond,
                on_true,
                on_false,
            } => {
                let c = self.elem(*cond, e)?;
                let t = self.elem(*on_true, e)?;
                let f = self.elem(*on_false, e)?;
                format!("select({f}, {t}, {c})")
            }
            Op::Cast { x, to } => {
                let (d, _) = self.ty(*x);
                let a = self.elem(*x, e)?;
                scalar::cast(&mut self.h, d, *to, &a)
            }
            Op::Bitcast { x, to } => {
                let (d, _) = self.ty(*x);
                let a = self.elem(*x, e)?;
                scalar::bitcast(d, *to, &a)
            }
            Op::Reshape { x, .. } => self.elem(*x, e)?,
            Op::BroadcastInDim { x, shape, dims } => {
                let (_, xs) = self.ty(*x);
                let xst = strides(&xs);
                let mut idx = vec!["0u".to_string()];
                for (i, &rd) in dims.iter().enumerate() {
                    if xs[i] != 1 {
                        idx.push(format!("{} * {}u", coord(e, shape, rd), xst[i]));
                    }
                }
                self.elem(*x, &format!("({})", idx.join(" + ")))?
            }
            Op::Transpose { x, perm } => {
                let (_, xs) = self.ty(*x);
                let xst = strides(&xs);
                let (_, rs) = self.ty(r);
                let mut idx = vec!["0u".to_string()];
                for (i, &p) in perm.iter().enumerate() {
                    idx.push(format!("{} * {}u", coord(e, &rs, i), xst[p]));
                }
                self.elem(*x, &format!("({})", idx.join(" + ")))?
            }
            Op::Slice {
                x,
                start,
                strides: step,
                ..
            } => {
                let (_, xs) = self.ty(*x);
                let xst = strides(&xs);
                let (_, rs) = self.ty(r);
                let mut idx = vec!["0u".to_string()];
                for d in 0..rs.len() {
                    idx.push(format!(
                        "({}u + {} * {}u) * {}u",
                        start[d],
                        coord(e, &rs, d),
                        step[d],
                        xst[d]
                    ));
                }
                self.elem(*x, &format!("({})", idx.join(" + ")))?
            }
            Op::Load { mask, other, .. } => {
                let span = self.spans.get(&inst).cloned().ok_or_else(|| {
                    GenError::Unsupported(format!(
                        "load (instruction {}) read before its region was resolved",
                        inst.index()
                    ))
                })?;
                let d = span.loc.dtype;
                let w = self.read(span.loc.mem, &Self::at(&span, e));
                let v = from_bits(d, &w);
                match mask {
                    None => v,
                    Some(m) => {
                        let fill = match other {
                            Some(o) => self.elem(*o, e)?,
                            None => scalar::literal(Scalar::zero(d)),
                        };
                        let c = self.elem(*m, e)?;
                        format!("select({fill}, {v}, {c})")
                    }
                }
            }
            op => {
                return Err(GenError::Unsupported(format!(
                    "`{}` as an inlined expression",
                    op.name()
                )))
            }
        })
    }

    /// Defers `inst`: its result becomes an expression its one use
    /// inlines (a whole-block load of a read-only input still aliases
    /// the block).
    fn defer(&mut self, inst: Inst, what: &str) -> Result<(), GenError> {
        let k = self.vk.kernel();
        let data = &k.insts[inst];
        let r = data.results[0];
        if let Op::Load {
            src,
            mask: None,
            other: None,
        } = &data.op
        {
            if self.read_only_block(src) {
                let loc = self.refloc(src.r)?;
                self.vals[r.index()] = Some(Val::Arr(loc.off));
                return Ok(());
            }
        }
        if let Op::Load { src, .. } = &data.op {
            let span = self.span(src, what)?;
            self.spans.insert(inst, span);
        }
        self.vals[r.index()] = Some(Val::Deferred(inst));
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

    fn sem_wait(&mut self, sem: &RefAt, n: &str, what: &str) -> Result<(), GenError> {
        let slot = self.span(sem, what)?;
        let code = self.fault(format!(
            "{what}: a wait on a semaphore that holds less than it asks would never return"
        ));
        let b = slot.base;
        self.open(format!("if (sems[{b}] < {n}) {{"));
        self.line(format!("fault({code}u);"));
        self.close();
        self.line(format!("sems[{b}] = sems[{b}] - {n};"));
        Ok(())
    }

    fn store(
        &mut self,
        dst: &RefAt,
        value: Value,
        mask: Option<Value>,
        what: &str,
    ) -> Result<(), GenError> {
        let span = self.span(dst, what)?;
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

    #[allow(clippy::too_many_arguments)]
    fn atomic(
        &mut self,
        r: Value,
        op: AtomicOp,
        dst: &RefAt,
        value: Value,
        mask: Option<Value>,
        expected: Option<Value>,
        what: &str,
    ) -> Result<(), GenError> {
        let span = self.span(dst, what)?;
        if !matches!(span.loc.mem, Mem::Atomic | Mem::Global(_, true)) {
            return Err(GenError::Unsupported(format!(
                "{what} on a ref the generator did not place in atomic memory"
            )));
        }
        let d = span.loc.dtype;
        let (_, rshape) = self.ty(r);
        let n: usize = rshape.iter().product();
        // Old values go to an area slot, then to the result.
        let slot = self.alloc(n);
        self.settle();
        self.open_elems(n);
        let p = self.ptr(span.loc.mem, &Self::at(&span, "e"));
        let v = self.elem(value, "e")?;
        let vb = to_bits(d, &v);
        let old = self.fresh("old");
        let m = match mask {
            Some(m) => self.elem(m, "e")?,
            None => "true".into(),
        };
        self.line(format!("var {old}: u32 = 0u;"));
        self.open(format!("if ({m}) {{"));
        if let Some(x) = expected {
            let xb = to_bits(d, &self.elem(x, "e")?);
            self.line(format!("{old} = atomicLoad({p});"));
            self.open("loop {");
            self.line(format!("if ({old} != {xb}) {{ break; }}"));
            self.line(format!(
                "let r = atomicCompareExchangeWeak({p}, {old}, {vb});"
            ));
            self.line("if (r.exchanged) { break; }");
            self.line(format!("{old} = r.old_value;"));
            self.close();
        } else {
            let native = match (op, d) {
                (AtomicOp::Add, DType::I32 | DType::U32) => Some("atomicAdd"),
                (AtomicOp::And, _) => Some("atomicAnd"),
                (AtomicOp::Or, _) => Some("atomicOr"),
                (AtomicOp::Xor, _) => Some("atomicXor"),
                (AtomicOp::Xchg, _) => Some("atomicExchange"),
                (AtomicOp::Max, DType::U32) => Some("atomicMax"),
                (AtomicOp::Min, DType::U32) => Some("atomicMin"),
                _ => None,
            };
            match (native, pallas_ir::eval::atomic_as_binary(op)) {
                (Some(f), _) => self.line(format!("{old} = {f}({p}, {vb});")),
                (None, Some(bin)) => {
                    self.line(format!("{old} = atomicLoad({p});"));
                    self.open("loop {");
                    let cur = from_bits(d, &old);
                    let nv = scalar::binary(&mut self.h, bin, d, &cur, &v);
                    self.line(format!(
                        "let r = atomicCompareExchangeWeak({p}, {old}, {});",
                        to_bits(d, &nv)
                    ));
                    self.line("if (r.exchanged) { break; }");
                    self.line(format!("{old} = r.old_value;"));
                    self.close();
                }
                (None, None) => self.line(format!("{old} = atomicExchange({p}, {vb});")),
            }
        }
        self.close();
        let st = self.write_stmt(Mem::Area, &format!("{slot}u + e"), &old);
        self.line(st);
        self.close_elems();
        self.barrier();
        self.produce(r, |g, e| {
            let w = g.read(Mem::Area, &format!("{slot}u + {e}"));
            Ok(from_bits(d, &w))
        })
    }

    fn reduce(&mut self, r: Value, op: ReduceOp, x: Value, axes: &[usize]) -> Result<(), GenError> {
        let (d, xs) = self.ty(x);
        let xst = strides(&xs);
        let kept: Vec<usize> = (0..xs.len()).filter(|a| !axes.contains(a)).collect();
        let kshape: Vec<usize> = kept.iter().map(|&a| xs[a]).collect();
        let rshape: Vec<usize> = axes.iter().map(|&a| xs[a]).collect();
        let rn: usize = rshape.iter().product();
        let on: usize = kshape.iter().product();
        let fold = !matches!(op, ReduceOp::Argmax | ReduceOp::Argmin);
        // Few results over long reductions: split each over invocations.
        let parts = (WORKGROUP as usize / on.max(1)).min(rn / 4);
        let parts = if parts >= 4 { 1 << parts.ilog2() } else { 1 };
        if fold && parts > 1 {
            return self.reduce_split(r, op, x, axes, parts);
        }
        let acc = self.fresh("acc");
        let best = self.fresh("bi");
        let _ = writeln!(self.decls, "  var {acc}: {};", scalar::ty(d));
        let _ = writeln!(self.decls, "  var {best}: i32;");
        self.produce(r, |g, e| {
            let mut base = vec!["0u".to_string()];
            for (i, &a) in kept.iter().enumerate() {
                base.push(format!("{} * {}u", coord(e, &kshape, i), xst[a]));
            }
            let mut inner = vec!["0u".to_string()];
            for (i, &a) in axes.iter().enumerate() {
                inner.push(format!("{} * {}u", coord("j", &rshape, i), xst[a]));
            }
            let idx = format!("({} + {})", base.join(" + "), inner.join(" + "));
            match scalar::reduce_init(op, d) {
                Some(init) if !matches!(op, ReduceOp::Argmax | ReduceOp::Argmin) => {
                    g.line(format!("{acc} = {};", scalar::literal(init)));
                    let u = unroll(rn);
                    g.open(format!("for (var j0 = 0u; j0 < {rn}u; j0 = j0 + {u}u) {{"));
                    for q in 0..u {
                        g.line(format!("{{ let j = j0 + {q}u;"));
                        let xe = g.elem(x, &idx)?;
                        let step = scalar::reduce_step(&mut g.h, op, d, &acc, &xe);
                        g.line(format!("{acc} = {step}; }}"));
                    }
                    g.close();
                    Ok(acc.clone())
                }
                _ => {
                    let max = op == ReduceOp::Argmax;
                    g.line(format!("{best} = 0i;"));
                    let first = g.elem(x, &idx.replace('j', "0u"))?;
                    g.line(format!("{acc} = {first};"));
                    g.open(format!("for (var j = 1u; j < {rn}u; j = j + 1u) {{"));
                    let xe = g.elem(x, &idx)?;
                    let better = scalar::arg_better(&mut g.h, max, d, "xj", &acc);
                    g.line(format!("let xj = {xe};"));
                    g.line(format!("if ({better}) {{ {acc} = xj; {best} = i32(j); }}"));
                    g.close();
                    Ok(best.clone())
                }
            }
        })
    }

    /// A fold reduction with each result's elements split over `parts`
    /// invocations: each folds a strided share into a partial, then one
    /// invocation per result folds the partials in order.
    fn reduce_split(
        &mut self,
        r: Value,
        op: ReduceOp,
        x: Value,
        axes: &[usize],
        parts: usize,
    ) -> Result<(), GenError> {
        let (d, xs) = self.ty(x);
        let xst = strides(&xs);
        let kept: Vec<usize> = (0..xs.len()).filter(|a| !axes.contains(a)).collect();
        let kshape: Vec<usize> = kept.iter().map(|&a| xs[a]).collect();
        let rshape: Vec<usize> = axes.iter().map(|&a| xs[a]).collect();
        let rn: usize = rshape.iter().product();
        let on: usize = kshape.iter().product::<usize>().max(1);
        let init = scalar::literal(
            scalar::reduce_init(op, d).ok_or_else(|| GenError::Unsupported("reduction".into()))?,
        );
        let slot = self.alloc(on * parts);
        let acc = self.fresh("part");
        self.settle();
        self.open_elems(on * parts);
        self.line(format!("let o = e / {parts}u;"));
        self.line(format!("let p = e % {parts}u;"));
        let mut base = vec!["0u".to_string()];
        for (i, &a) in kept.iter().enumerate() {
            base.push(format!("{} * {}u", coord("o", &kshape, i), xst[a]));
        }
        let mut inner = vec!["0u".to_string()];
        for (i, &a) in axes.iter().enumerate() {
            inner.push(format!("{} * {}u", coord("j", &rshape, i), xst[a]));
        }
        let idx = format!("({} + {})", base.join(" + "), inner.join(" + "));
        self.line(format!("var {acc}: {} = {init};", scalar::ty(d)));
        self.open(format!(
            "for (var j0 = 0u; j0 < {rn}u; j0 = j0 + {parts}u) {{"
        ));
        self.line("let j = j0 + p;");
        self.open(format!("if (j < {rn}u) {{"));
        let xe = self.elem(x, &idx)?;
        let step = scalar::reduce_step(&mut self.h, op, d, &acc, &xe);
        self.line(format!("{acc} = {step};"));
        self.close();
        self.close();
        let w = self.write_stmt(Mem::Area, &format!("{slot}u + e"), &to_bits(d, &acc));
        self.line(w);
        self.close_elems();
        self.barrier();
        let total = self.fresh("total");
        let _ = writeln!(self.decls, "  var {total}: {};", scalar::ty(d));
        self.produce(r, |g, e| {
            g.line(format!("{total} = {init};"));
            let u = unroll(parts);
            g.open(format!(
                "for (var q0 = 0u; q0 < {parts}u; q0 = q0 + {u}u) {{"
            ));
            for q in 0..u {
                let w = g.read(Mem::Area, &format!("{slot}u + {e} * {parts}u + q0 + {q}u"));
                let step = scalar::reduce_step(&mut g.h, op, d, &total, &from_bits(d, &w));
                g.line(format!("{total} = {step};"));
            }
            g.close();
            Ok(total.clone())
        })
    }

    fn dot(&mut self, r: Value, a: Value, b: Value, ta: bool, tb: bool) -> Result<(), GenError> {
        let (d, ash) = self.ty(a);
        let (_, bsh) = self.ty(b);
        let (_, rs) = self.ty(r);
        let kd = if ta { ash[0] } else { ash[1] };
        let n = rs[1].max(1);
        if let Some((t, _)) = TILES
            .into_iter()
            .find(|&(t, least)| rs[0] % t == 0 && n % t == 0 && rs[0] * n >= least)
        {
            return self.dot_tiled(r, a, b, ta, tb, t);
        }
        let acc = self.fresh("dacc");
        let _ = writeln!(self.decls, "  var {acc}: {};", scalar::ty(d));
        self.produce(r, |g, e| {
            let (i, j) = (format!("({e} / {n}u)"), format!("({e} % {n}u)"));
            let ai = if ta {
                format!("(k * {}u + {i})", ash[1])
            } else {
                format!("({i} * {kd}u + k)")
            };
            let bi = if tb {
                format!("({j} * {kd}u + k)")
            } else {
                format!("(k * {}u + {j})", bsh[1])
            };
            g.line(format!("{acc} = {};", scalar::literal(Scalar::zero(d))));
            let u = unroll(kd);
            g.open(format!("for (var k0 = 0u; k0 < {kd}u; k0 = k0 + {u}u) {{"));
            for q in 0..u {
                g.line(format!("{{ let k = k0 + {q}u;"));
                let (x, y) = (g.elem(a, &ai)?, g.elem(b, &bi)?);
                let m = scalar::binary(&mut g.h, BinaryOp::Mul, d, &x, &y);
                let s = scalar::binary(&mut g.h, BinaryOp::Add, d, &acc, &m);
                g.line(format!("{acc} = {s}; }}"));
            }
            g.close();
            Ok(acc.clone())
        })
    }
}

impl Gen<'_> {
    /// `dot` with each invocation computing a `tile x tile` block of the
    /// result in registers: per step of the contraction, `2 * tile` reads
    /// feed `tile * tile` multiply-adds. Each element still sums its
    /// products in order of the contraction index.
    fn dot_tiled(
        &mut self,
        r: Value,
        a: Value,
        b: Value,
        ta: bool,
        tb: bool,
        tile: usize,
    ) -> Result<(), GenError> {
        let (d, ash) = self.ty(a);
        let (_, bsh) = self.ty(b);
        let (_, rs) = self.ty(r);
        let (m, n) = (rs[0], rs[1]);
        let kd = if ta { ash[0] } else { ash[1] };
        let Val::Arr(off) = self.vals[r.index()]
            .clone()
            .unwrap_or_else(|| self.define(r))
        else {
            return Err(GenError::Unsupported("dot with a scalar result".into()));
        };
        let tiles_per_row = n / tile;
        let zero = scalar::literal(Scalar::zero(d));
        self.settle();
        self.open_elems(m * n / (tile * tile));
        self.line(format!("let i0 = (e / {tiles_per_row}u) * {tile}u;"));
        self.line(format!("let j0 = (e % {tiles_per_row}u) * {tile}u;"));
        for p in 0..tile {
            for q in 0..tile {
                self.line(format!("var c{p}{q}: {} = {zero};", scalar::ty(d)));
            }
        }
        let u = unroll(kd).min(4);
        // Operands in a global area are read four words at a time where
        // four steps of the contraction (or four tile rows) lie side by
        // side: a quarter of the loads (lavapipe pays per load and lane).
        let wide = |g: &Self, v: Value| match g.val(v) {
            Ok(Val::Arr(off)) if g.vec4_allowed && u == 4 => Some(off),
            _ => None,
        };
        let ops = [
            // (name, value, its offset if wide, contiguous along k, row
            // length, tile origin)
            (
                "a",
                a,
                wide(self, a),
                !ta,
                if ta { ash[1] } else { kd },
                "i0",
            ),
            (
                "b",
                b,
                wide(self, b),
                tb,
                if tb { kd } else { bsh[1] },
                "j0",
            ),
        ];
        self.vec4_used |= ops.iter().any(|o| o.2.is_some());
        self.open(format!("for (var k0 = 0u; k0 < {kd}u; k0 = k0 + {u}u) {{"));
        for &(nm, _, off4, along_k, row, o0) in &ops {
            if let (Some(off), true) = (off4, along_k) {
                for p in 0..tile {
                    self.line(format!(
                        "let {nm}{p} = la4[ab / 4u + {}u + ({o0} + {p}u) * {}u + k0 / 4u];",
                        off / 4,
                        row / 4
                    ));
                }
            }
        }
        for step in 0..u {
            self.line(format!("{{ let k = k0 + {step}u;"));
            // The element names of this step, per operand.
            let mut names: Vec<Vec<String>> = Vec::new();
            for &(nm, v, off4, along_k, row, o0) in &ops {
                let mut elems = Vec::new();
                match (off4, along_k) {
                    (Some(_), true) => {
                        for p in 0..tile {
                            elems.push(from_bits(d, &format!("{nm}{p}[{step}u]")));
                        }
                    }
                    (Some(off), false) => {
                        for q4 in 0..tile / 4 {
                            self.line(format!(
                                "let {nm}{step}_{q4} = la4[ab / 4u + {}u + k * {}u + {o0} / 4u + {q4}u];",
                                off / 4,
                                row / 4
                            ));
                        }
                        for p in 0..tile {
                            elems.push(from_bits(d, &format!("{nm}{step}_{}[{}u]", p / 4, p % 4)));
                        }
                    }
                    (None, _) => {
                        for p in 0..tile {
                            let idx = if along_k {
                                format!("(({o0} + {p}u) * {row}u + k)")
                            } else {
                                format!("(k * {row}u + {o0} + {p}u)")
                            };
                            let x = self.elem(v, &idx)?;
                            self.line(format!("let {nm}{p} = {x};"));
                            elems.push(format!("{nm}{p}"));
                        }
                    }
                }
                names.push(elems);
            }
            for p in 0..tile {
                for q in 0..tile {
                    let prod =
                        scalar::binary(&mut self.h, BinaryOp::Mul, d, &names[0][p], &names[1][q]);
                    let sum =
                        scalar::binary(&mut self.h, BinaryOp::Add, d, &format!("c{p}{q}"), &prod);
                    self.line(format!("c{p}{q} = {sum};"));
                }
            }
            self.line("}");
        }
        self.close();
        for p in 0..tile {
            for q in 0..tile {
                let w = self.write_stmt(
                    Mem::Area,
                    &format!("{off}u + (i0 + {p}u) * {n}u + j0 + {q}u"),
                    &to_bits(d, &format!("c{p}{q}")),
                );
                self.line(w);
            }
        }
        self.close_elems();
        self.barrier();
        Ok(())
    }
}

/// Generates the general module: the memory area in workgroup memory
/// when it fits the adapter's limit, else in a global buffer.
pub fn generate(vk: &ValidatedKernel, limits: &Limits) -> Result<Shader, GenError> {
    match build(vk, limits, true)? {
        Some(s) => Ok(s),
        None => build(vk, limits, false)?.ok_or_else(|| {
            GenError::Limit(format!(
                "kernel `{}`: no placement of its memory fits",
                vk.kernel().name
            ))
        }),
    }
}

/// Generates with the area in workgroup memory (`in_workgroup`) or in a
/// global buffer; `None` when it does not fit workgroup memory.
fn build(
    vk: &ValidatedKernel,
    limits: &Limits,
    in_workgroup: bool,
) -> Result<Option<Shader>, GenError> {
    let k = vk.kernel();
    let (buffers, arg_buffers, out_buffers) = global_buffers(vk);
    let mut atomic_refs = HashSet::new();
    let mut atomic_params = HashSet::new();
    let mut written_refs = HashSet::new();
    for (_, inst) in k.insts.iter() {
        if let Op::Store { dst, .. }
        | Op::Swap { dst, .. }
        | Op::Atomic { dst, .. }
        | Op::AtomicCas { dst, .. }
        | Op::DmaStart { dst, .. } = &inst.op
        {
            written_refs.insert(dst.r);
        }
        if let Op::Atomic { dst, .. } | Op::AtomicCas { dst, .. } = &inst.op {
            atomic_refs.insert(dst.r);
            if let Some(RefOrigin::Param(i)) = vk.ref_origin(dst.r) {
                atomic_params.insert(i);
            }
        }
    }
    let mut g = Gen {
        vk,
        h: Helpers::default(),
        body: String::new(),
        decls: String::new(),
        indent: 1,
        vals: vec![None; k.values.len()],
        refs: vec![None; k.values.len()],
        area: 0,
        atomic_area: 0,
        sems: 0,
        tmp: 0,
        faults: Vec::new(),
        dirty: false,
        area_in_workgroup: in_workgroup,
        storage_barrier: !in_workgroup,
        atomic_refs,
        written_refs,
        deferred: fuse::deferred(vk),
        spans: HashMap::new(),
        // Area, atomic area, error words and `la4` after the arrays.
        vec4_allowed: !in_workgroup && buffers.len() + 4 <= limits.max_storage_buffers as usize,
        vec4_used: false,
    };
    // Homes of the parameters.
    let body_args = k.regions[k.body].args.clone();
    let mut blocked = Vec::new();
    let mut prefetch = Vec::new();
    for (i, p) in k.params.iter().enumerate() {
        let dtype = p.dtype().unwrap_or(DType::I32);
        let loc = match (p.kind, p.elem) {
            (ParamKind::ScalarPrefetch, _) => {
                let b = buffer_of_param(k, i, &arg_buffers, &out_buffers).unwrap_or(0);
                let loc = RefLoc {
                    mem: Mem::Global(b, false),
                    off: 0,
                    shape: p.shape.clone(),
                    dtype,
                };
                prefetch.push(loc.clone());
                loc
            }
            (ParamKind::Input | ParamKind::Output, _) if p.space == MemorySpace::Any => {
                let b = buffer_of_param(k, i, &arg_buffers, &out_buffers).unwrap_or(0);
                g.storage_barrier = true;
                RefLoc {
                    mem: Mem::Global(b, buffers[b].atomic),
                    off: 0,
                    shape: p.shape.clone(),
                    dtype,
                }
            }
            (ParamKind::Input | ParamKind::Output, _) => {
                let n: usize = p.block_full_shape().iter().product();
                let (mem, off) = if atomic_params.contains(&i) {
                    let off = g.atomic_area;
                    g.atomic_area += n.max(1);
                    (Mem::Atomic, off)
                } else {
                    (Mem::Area, g.alloc(n))
                };
                let loc = RefLoc {
                    mem,
                    off,
                    shape: p.block_view_shape(),
                    dtype,
                };
                blocked.push(Blocked {
                    param: i,
                    input: p.kind == ParamKind::Input,
                    buf: buffer_of_param(k, i, &arg_buffers, &out_buffers).unwrap_or(0),
                    loc: loc.clone(),
                    block: p.block_full_shape(),
                    array: p.shape.clone(),
                    map: p.block.as_ref().map(|b| b.index_map),
                });
                loc
            }
            (ParamKind::Scratch, RefElem::Semaphore(_)) => {
                let n: usize = p.shape.iter().product();
                let off = g.sems;
                g.sems += n.max(1);
                RefLoc {
                    mem: Mem::Sem,
                    off,
                    shape: p.shape.clone(),
                    dtype: DType::I32,
                }
            }
            (ParamKind::Scratch, RefElem::Data(_)) => {
                let n: usize = p.shape.iter().product();
                let (mem, off) = if atomic_params.contains(&i) {
                    let off = g.atomic_area;
                    g.atomic_area += n.max(1);
                    (Mem::Atomic, off)
                } else {
                    (Mem::Area, g.alloc(n))
                };
                RefLoc {
                    mem,
                    off,
                    shape: p.shape.clone(),
                    dtype,
                }
            }
        };
        if let Some(&a) = body_args.get(i) {
            g.refs[a.index()] = Some(loc);
        }
    }
    let grid: Vec<usize> = k.grid.iter().map(|d| d.size).collect();
    let par = k
        .grid
        .iter()
        .take_while(|d| d.semantics == DimSemantics::Parallel)
        .count();
    let ppoints: usize = grid[..par].iter().product();
    let arb: usize = grid[par..].iter().product();
    let empty = grid.contains(&0);

    // The per-point program: block moves, then the body. Generated first
    // into `g.body` at depth 3 (inside the two grid loops).
    let blocks_code = |g: &mut Gen, first_indent: usize| -> Result<(), GenError> {
        g.indent = first_indent;
        for (bi, b) in blocked.iter().enumerate() {
            let nd = b.block.len();
            // The block index, from the index map (or 0s).
            let idx: Vec<String> = match b.map {
                Some(m) => {
                    let r = &k.regions[m];
                    let args = r.args.clone();
                    for (ai, &a) in args.iter().enumerate() {
                        if ai < grid.len() {
                            g.vals[a.index()] = Some(Val::Reg(format!("pt{ai}")));
                        } else if let Some(loc) = prefetch.get(ai - grid.len()) {
                            g.refs[a.index()] = Some(loc.clone());
                        }
                    }
                    g.region(m)?;
                    let ys = r.yields.clone();
                    let mut out = Vec::new();
                    for y in ys {
                        out.push(g.elem(y, "0u")?);
                    }
                    out
                }
                None => vec!["0i".to_string(); nd],
            };
            let name = &k.params[b.param].name;
            let nb: Vec<usize> = b
                .array
                .iter()
                .zip(&b.block)
                .map(|(&n, &s)| n.div_ceil(s.max(1)).max(1))
                .collect();
            let code = g.fault(format!(
                "the index map of `{name}` gave a block index out of range (blocks per dimension: {nb:?})"
            ));
            let mut changed = vec![format!("!have{bi}")];
            let mut ok = Vec::new();
            for (d, x) in idx.iter().enumerate() {
                g.line(format!("nb{bi}_{d} = {x};"));
                changed.push(format!("nb{bi}_{d} != bi{bi}_{d}"));
                ok.push(format!("(nb{bi}_{d} >= 0i && nb{bi}_{d} < {}i)", nb[d]));
            }
            if !ok.is_empty() {
                g.line(format!("if (!({})) {{ fault({code}u); }}", ok.join(" && ")));
            }
            let u = g.uniform(DType::Bool, &changed.join(" || "));
            g.settle();
            g.open(format!("if ({u}) {{"));
            if !b.input {
                g.open(format!("if (have{bi}) {{"));
                copy_block(g, b, bi, "bi", true);
                g.close();
            }
            for d in 0..nd {
                g.line(format!("bi{bi}_{d} = nb{bi}_{d};"));
            }
            g.line(format!("have{bi} = true;"));
            if b.input {
                copy_block(g, b, bi, "bi", false);
            }
            g.barrier();
            g.close();
        }
        g.region(k.body)?;
        g.settle();
        Ok(())
    };
    blocks_code(&mut g, 3)?;
    let point_code = std::mem::take(&mut g.body);
    // Final write-back of the outputs.
    g.indent = 1;
    for (bi, b) in blocked.iter().enumerate() {
        if !b.input {
            g.open(format!("if (have{bi}) {{"));
            copy_block(&mut g, b, bi, "bi", true);
            g.close();
        }
    }
    let tail = std::mem::take(&mut g.body);

    // Memory placement.
    let area_bytes = (g.area + g.atomic_area + 1) * 4;
    if in_workgroup && area_bytes > limits.workgroup_storage_bytes as usize {
        return Ok(None);
    }
    let per_wg_bytes = (g.area.max(g.atomic_area).max(1) * 4) as u64;
    let by_memory = if in_workgroup {
        u64::MAX
    } else {
        limits.max_binding_bytes / per_wg_bytes
    };
    if by_memory == 0 {
        return Err(GenError::Limit(format!(
            "kernel `{}`: a workgroup needs {} bytes of block and value memory, more than the adapter's largest storage binding ({} bytes)",
            k.name, per_wg_bytes, limits.max_binding_bytes
        )));
    }
    let workgroups = (ppoints.max(1) as u64)
        .min(limits.max_workgroups as u64)
        .min(by_memory)
        .max(1) as u32;
    finish(
        vk,
        limits,
        g,
        &buffers,
        arg_buffers,
        out_buffers,
        &blocked,
        point_code,
        tail,
        workgroups,
        par,
        arb,
        empty,
    )
    .map(Some)
}

#[allow(clippy::too_many_arguments)]
fn finish(
    vk: &ValidatedKernel,
    limits: &Limits,
    g: Gen,
    buffers: &[super::GlobalBuffer],
    arg_buffers: Vec<usize>,
    out_buffers: Vec<usize>,
    blocked: &[Blocked],
    point_code: String,
    tail: String,
    workgroups: u32,
    par: usize,
    arb: usize,
    empty: bool,
) -> Result<Shader, GenError> {
    let k = vk.kernel();
    let grid: Vec<usize> = k.grid.iter().map(|d| d.size).collect();
    let ppoints: usize = grid[..par].iter().product();
    let nbuf = buffers.len();
    let mut g = g;
    let _ = limits;
    let loop_code = g.fault(
        "the driver cut the shader's loops short (Mesa's lavapipe stops every loop once a shader has run 65,535 loop iterations in all; the results would be wrong): use smaller blocks or fewer arbitrary grid steps per parallel point, or a real GPU".to_string(),
    );
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// kernel `{}`: general, grid {grid:?} ({par} parallel dims over workgroups), {} area words{}\n",
        k.name,
        g.area + g.atomic_area,
        if g.area_in_workgroup { " in workgroup memory" } else { " per workgroup in a global buffer" }
    );
    s.push_str(&buffer_decls(buffers));
    let mut next = nbuf;
    let (mut area_words, mut atomic_words) = (0, 0);
    if g.area_in_workgroup {
        let _ = writeln!(s, "var<workgroup> wa: array<u32, {}>;", g.area.max(1));
        if g.atomic_area > 0 {
            let _ = writeln!(
                s,
                "var<workgroup> wat: array<atomic<u32>, {}>;",
                g.atomic_area
            );
        }
    } else {
        area_words = g.area.max(1).next_multiple_of(4);
        let _ = writeln!(
            s,
            "@group(0) @binding({next}) var<storage, read_write> la: array<u32>;"
        );
        next += 1;
        if g.atomic_area > 0 {
            atomic_words = g.atomic_area;
            let _ = writeln!(
                s,
                "@group(0) @binding({next}) var<storage, read_write> lat: array<atomic<u32>>;"
            );
            next += 1;
        }
    }
    let _ = writeln!(
        s,
        "@group(0) @binding({next}) var<storage, read_write> err: array<atomic<u32>>;"
    );
    if g.vec4_used {
        let _ = writeln!(
            s,
            "@group(0) @binding({}) var<storage, read_write> la4: array<vec4<u32>>;",
            next + 1
        );
    }
    s.push_str("var<workgroup> ub: u32;\n");
    let _ = writeln!(s, "var<private> sems: array<i32, {}>;", g.sems.max(1));
    s.push('\n');
    // The first fault is kept.
    // Fault `c` sets bit `c % 32` of word `1 + c / 32` (no loop: lavapipe
    // runs masked-off branches and would spend its loop budget); the
    // runtime reports the lowest code set, the first in program order.
    s.push_str("fn fault(c: u32) { atomicOr(&err[1u + c / 32u], 1u << (c % 32u)); }\n");
    s.push_str(&g.h.source());
    let _ = writeln!(
        s,
        "\n@compute @workgroup_size({WORKGROUP})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{\n  let w = wid.x;"
    );
    if !g.area_in_workgroup {
        let _ = writeln!(s, "  let ab = w * {area_words}u;");
        if atomic_words > 0 {
            let _ = writeln!(s, "  let aab = w * {atomic_words}u;");
        }
    }
    for d in 0..grid.len() {
        let _ = writeln!(s, "  var pt{d}: i32 = 0i;");
    }
    for (bi, b) in blocked.iter().enumerate() {
        let _ = writeln!(s, "  var have{bi}: bool = false;");
        for d in 0..b.block.len() {
            let _ = writeln!(
                s,
                "  var bi{bi}_{d}: i32 = 0i;\n  var nb{bi}_{d}: i32 = 0i;"
            );
        }
    }
    s.push_str(&g.decls);
    let pp = if empty { 0 } else { ppoints.max(1) };
    let ar = if empty { 0 } else { arb.max(1) };
    let _ = writeln!(
        s,
        "  for (var pp = w; pp < {pp}u; pp = pp + {workgroups}u) {{"
    );
    for d in (0..par).rev() {
        // (An empty grid runs no point; `max(1)` keeps the constants
        // divisible.)
        let inner: usize = grid[d + 1..par].iter().product::<usize>().max(1);
        let _ = writeln!(s, "    pt{d} = i32((pp / {inner}u) % {}u);", grid[d].max(1));
    }
    let _ = writeln!(s, "    for (var ai = 0u; ai < {ar}u; ai = ai + 1u) {{");
    for d in (par..grid.len()).rev() {
        let inner: usize = grid[d + 1..].iter().product::<usize>().max(1);
        let _ = writeln!(
            s,
            "      pt{d} = i32((ai / {inner}u) % {}u);",
            grid[d].max(1)
        );
    }
    s.push_str(&point_code);
    s.push_str("    }\n  }\n");
    s.push_str(&tail);
    // A loop the driver cut short leaves its loop budget spent: then this
    // probe (whose trip count the compiler cannot see) stops early too.
    let _ = writeln!(
        s,
        "  var probe = 0u;\n  let probe_trips = 2u + atomicLoad(&err[0]);\n  for (var i = 0u; i < probe_trips; i = i + 1u) {{ probe = probe + 1u; }}\n  if (probe != probe_trips) {{ fault({loop_code}u); }}"
    );
    s.push_str("}\n");
    let _ = vk;
    Ok(Shader {
        source: s,
        plan: Plan::General,
        workgroup_size: WORKGROUP,
        workgroups,
        buffers: buffers.to_vec(),
        arg_buffers,
        out_buffers,
        area_words,
        atomic_area_words: atomic_words,
        area_vec4: g.vec4_used,
        faults: g.faults,
        has_error_word: true,
        grid_points: k.num_grid_points().unwrap_or(0) as u64,
        outputs_fully_written: false,
    })
}

/// Copies block `bi` between its area buffer and its global array:
/// `to_global` for a write-back (the part inside the array), else a fill
/// (zeros past the array's edge). The block index is in `{idx}{bi}_{d}`.
fn copy_block(g: &mut Gen, b: &Blocked, bi: usize, idx: &str, to_global: bool) {
    let n: usize = b.block.iter().product();
    let ast = strides(&b.array);
    g.open_elems(n);
    let mut inb = Vec::new();
    let mut gidx = vec!["0u".to_string()];
    for (d, (&bs, &st)) in b.block.iter().zip(&ast).enumerate() {
        let c = coord("e", &b.block, d);
        let gd = format!("(u32({idx}{bi}_{d}) * {bs}u + {c})");
        inb.push(format!("{gd} < {}u", b.array[d]));
        gidx.push(format!("{gd} * {st}u"));
    }
    let lidx = format!("{}u + e", b.loc.off);
    let gi = gidx.join(" + ");
    let cond = if inb.is_empty() {
        "true".to_string()
    } else {
        inb.join(" && ")
    };
    g.open(format!("if ({cond}) {{"));
    let gm = Mem::Global(b.buf, false);
    if to_global {
        let w = g.read(b.loc.mem, &lidx);
        let st = g.write_stmt(gm, &gi, &w);
        g.line(st);
    } else {
        let w = g.read(gm, &gi);
        let st = g.write_stmt(b.loc.mem, &lidx, &w);
        g.line(st);
        if !inb.is_empty() {
            // Past the array's edge a partial block reads zeros.
            g.close();
            g.open("else {");
            let st = g.write_stmt(b.loc.mem, &lidx, "0u");
            g.line(st);
        }
    }
    g.close();
    g.close_elems();
    if to_global {
        g.barrier();
    }
}
