//! The one region walker: runs a kernel's regions over a [`Machine`].
//!
//! The walker owns what every backend that interprets a kernel does the
//! same way: the value environment, every pure operation (by the reference
//! semantics of [`crate::eval`], reusing each value's storage from the
//! previous grid point), and control flow (`for`, `while`, `if`,
//! `run_scoped`). A machine supplies memory: loads, stores, atomics, DMAs,
//! semaphores, the grid point, printing, and the scratch of a scoped
//! region (cranelift's interpreter `State` is the model). The simulator's
//! checked memory and the fast mode's unchecked memory are the two
//! machines.

use std::ops::{Deref, DerefMut};

use pallas_ir::{
    DType, Indexer, Inst, InstData, Kernel, Offset, Op, RefType, Region, Scalar, Value,
};

use crate::eval::{self, shape, Data, Tensor};

/// What a value slot holds: nothing yet, an array value, or a ref of the
/// machine's kind.
#[derive(Clone, Debug)]
pub enum Slot<R> {
    /// Not computed yet.
    Empty,
    /// An array (or scalar) value.
    Val(Tensor),
    /// A ref.
    Ref(R),
}

/// The value environment: one slot per value of the kernel.
#[derive(Clone, Debug)]
pub struct Env<R>(pub Vec<Slot<R>>);

impl<R> Deref for Env<R> {
    type Target = Vec<Slot<R>>;
    fn deref(&self) -> &Vec<Slot<R>> {
        &self.0
    }
}

impl<R> DerefMut for Env<R> {
    fn deref_mut(&mut self) -> &mut Vec<Slot<R>> {
        &mut self.0
    }
}

impl<R: Copy> Env<R> {
    /// An empty environment for `values` values.
    pub fn new(values: usize) -> Env<R> {
        Env((0..values).map(|_| Slot::Empty).collect())
    }

    /// A computed value. Validated kernels define every value before its
    /// use, so an empty slot is a bug of the walker, not of the kernel.
    #[inline]
    pub fn t(&self, v: Value) -> &Tensor {
        match &self.0[v.index()] {
            Slot::Val(t) => t,
            _ => panic!(
                "value %{} is not computed (validated kernels define before use)",
                v.index()
            ),
        }
    }

    /// The ref a value holds.
    #[inline]
    pub fn r(&self, v: Value) -> R {
        match &self.0[v.index()] {
            Slot::Ref(r) => *r,
            _ => panic!(
                "value %{} is not a ref (validated kernels use refs as refs)",
                v.index()
            ),
        }
    }

    /// Takes a value's storage out, to be refilled (an empty tensor when
    /// it holds none).
    #[inline]
    pub fn take(&mut self, v: Value) -> Tensor {
        match std::mem::replace(&mut self.0[v.index()], Slot::Empty) {
            Slot::Val(t) => t,
            _ => Tensor {
                data: Data::F32(Vec::new()),
                shape: Vec::new(),
            },
        }
    }

    /// Sets a value.
    #[inline]
    pub fn put(&mut self, v: Value, t: Tensor) {
        self.0[v.index()] = Slot::Val(t);
    }

    /// Value `res`'s storage to compute into (an empty tensor the first
    /// time), and every other slot to read operands from. SSA: a result is
    /// never its own operand.
    #[inline]
    pub fn result_and_rest(&mut self, res: Value) -> (&mut Tensor, Others<'_, R>) {
        let (before, rest) = self.0.split_at_mut(res.index());
        let (slot, after) = rest.split_first_mut().expect("the result has a slot");
        if !matches!(slot, Slot::Val(_)) {
            *slot = Slot::Val(Tensor {
                data: Data::F32(Vec::new()),
                shape: Vec::new(),
            });
        }
        let Slot::Val(out) = slot else {
            unreachable!("just set")
        };
        (out, Others { before, after })
    }

    /// Sets a scalar `i32` value, reusing its storage.
    #[inline]
    pub fn set_i32(&mut self, v: Value, x: i32) {
        match &mut self.0[v.index()] {
            Slot::Val(Tensor {
                data: Data::I32(d),
                shape,
            }) if d.len() == 1 && shape.is_empty() => d[0] = x,
            slot => *slot = Slot::Val(Tensor::scalar(Scalar::I32(x))),
        }
    }
}

/// What one indexer selects along a dimension: `size` elements from
/// `start`, `stride` apart, and whether the dimension stays in the result
/// (an `Index` drops it). The start may lie outside the dimension; every
/// backend checks it with [`Span::out_of_bounds`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// First element (may be negative or past the end).
    pub start: i64,
    /// Elements selected.
    pub size: usize,
    /// Distance between them.
    pub stride: usize,
    /// Whether the dimension is part of the result's shape.
    pub keep: bool,
}

impl Span {
    /// The span of indexer `ix` over a dimension of `extent` elements,
    /// dynamic offsets read from `env`.
    #[inline]
    pub fn of<R: Copy>(ix: &Indexer, extent: usize, env: &Env<R>) -> Span {
        let off = |o: &Offset| match o {
            Offset::Static(s) => *s,
            Offset::Dynamic(v) => env.t(*v).as_i32() as i64,
        };
        let (start, size, stride, keep) = match ix {
            Indexer::Full => (0, extent, 1, true),
            Indexer::Index(o) => (off(o), 1, 1, false),
            Indexer::Slice {
                start,
                size,
                stride,
            } => (off(start), *size, *stride, true),
        };
        Span {
            start,
            size,
            stride,
            keep,
        }
    }

    /// The offending index (the first, or the last selected) when the span
    /// leaves a dimension of `extent` elements; `None` when it lies inside.
    #[inline]
    pub fn out_of_bounds(&self, extent: usize) -> Option<i64> {
        let reach = if self.size == 0 {
            0
        } else {
            (self.size as i64 - 1) * self.stride as i64 + 1
        };
        if self.start < 0 {
            Some(self.start)
        } else if self.start + reach > extent as i64 {
            Some(self.start + reach - 1)
        } else {
            None
        }
    }
}

/// The lanes a masked access enables when its region leaves the buffer:
/// `(lane, offset)` for each enabled lane (row-major over the region; a
/// one-element mask enables all or none), or the first enabled lane's
/// `(dimension, index)` that lies outside `shape`. Disabled lanes are not
/// checked: a masked store may reach past the edge where it writes
/// nothing (as on TPU).
pub fn masked_lanes(
    spans: &[Span],
    shape: &[usize],
    mask: &[bool],
) -> Result<Vec<(usize, usize)>, (usize, i64)> {
    let lanes: usize = spans.iter().map(|s| s.size).product();
    let on = |lane: usize| {
        if mask.len() == 1 {
            mask[0]
        } else {
            mask.get(lane).copied().unwrap_or(false)
        }
    };
    let mut out = Vec::new();
    let mut at = vec![0usize; spans.len()];
    for lane in 0..lanes {
        if on(lane) {
            let mut off = 0usize;
            for (d, (s, &extent)) in spans.iter().zip(shape).enumerate() {
                let c = s.start + (at[d] * s.stride) as i64;
                if c < 0 || c >= extent as i64 {
                    return Err((d, c));
                }
                off = off * extent + c as usize;
            }
            out.push((lane, off));
        }
        for d in (0..spans.len()).rev() {
            at[d] += 1;
            if at[d] < spans[d].size {
                break;
            }
            at[d] = 0;
        }
    }
    Ok(out)
}

/// The memory side of a backend that interprets kernels.
pub trait Machine<'k> {
    /// What a ref value points to.
    type Ref: Copy;
    /// The machine's error.
    type Error;

    /// The value environment.
    fn env(&mut self) -> &mut Env<Self::Ref>;

    /// Called before each instruction runs (for faults that name it).
    fn at(&mut self, _inst: Inst) {}

    /// Runs an operation the walker leaves to the machine: loads, stores,
    /// swaps, atomics, DMAs, semaphores, `program_id`, `num_programs` and
    /// `debug_print`.
    fn effect(&mut self, data: &'k InstData) -> Result<(), Self::Error>;

    /// Called before each iteration of a `for` or `while` body (loop
    /// limits).
    fn loop_iteration(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Allocates a `run_scoped` region's scratch; returns one ref slot per
    /// scratch entry.
    fn open_scope(&mut self, scratch: &'k [RefType]) -> Result<Vec<Slot<Self::Ref>>, Self::Error>;

    /// Frees the innermost scope's scratch (and checks what it must).
    fn close_scope(&mut self) -> Result<(), Self::Error>;

    /// Computes a pure operation the machine's own way (faster kernels,
    /// skipped floating-point work); `false` leaves it to the reference
    /// semantics.
    fn value_op(&mut self, _data: &'k InstData) -> bool {
        false
    }

    /// Counts floating-point operations of a pure operation.
    fn count_flops(&mut self, _n: u64) {}

    /// The checked dtype of a value (the validator's type).
    fn value_dtype(&self, v: Value) -> DType;
}

/// Runs a region's instructions (its arguments already bound).
pub fn run_insts<'k, M: Machine<'k>>(k: &'k Kernel, m: &mut M, r: Region) -> Result<(), M::Error> {
    for &inst in &k.regions[r].insts {
        m.at(inst);
        exec(k, m, inst)?;
    }
    Ok(())
}

/// Binds a region's arguments, runs it, and returns its yields.
pub fn run_region<'k, M: Machine<'k>>(
    k: &'k Kernel,
    m: &mut M,
    r: Region,
    args: Vec<Slot<M::Ref>>,
) -> Result<Vec<Slot<M::Ref>>, M::Error>
where
    M::Ref: Clone,
{
    let region = &k.regions[r];
    let env = m.env();
    for (&a, s) in region.args.iter().zip(args) {
        env[a.index()] = s;
    }
    run_insts(k, m, r)?;
    let env = m.env();
    Ok(region
        .yields
        .iter()
        .map(|y| env[y.index()].clone())
        .collect())
}

/// Runs one instruction.
fn exec<'k, M: Machine<'k>>(k: &'k Kernel, m: &mut M, inst: Inst) -> Result<(), M::Error> {
    let data = &k.insts[inst];
    match &data.op {
        Op::For {
            lower,
            upper,
            step,
            inits,
            body,
        } => {
            let env = m.env();
            let (lo, hi) = (env.t(*lower).as_i32() as i64, env.t(*upper).as_i32() as i64);
            let mut carries: Vec<Slot<M::Ref>> =
                inits.iter().map(|v| env[v.index()].clone()).collect();
            let r = &k.regions[*body];
            let mut i = lo;
            while i < hi {
                m.loop_iteration()?;
                let env = m.env();
                env.set_i32(r.args[0], i as i32);
                for (&a, c) in r.args[1..].iter().zip(carries.drain(..)) {
                    env[a.index()] = c;
                }
                run_insts(k, m, *body)?;
                let env = m.env();
                carries = r.yields.iter().map(|y| env[y.index()].clone()).collect();
                i += step;
            }
            bind(m.env(), &data.results, carries);
        }
        Op::While { inits, cond, body } => {
            let env = m.env();
            let mut carries: Vec<Slot<M::Ref>> =
                inits.iter().map(|v| env[v.index()].clone()).collect();
            loop {
                let c = run_region(k, m, *cond, carries.clone())?;
                if !matches!(c.first(), Some(Slot::Val(t)) if t.as_bool()) {
                    break;
                }
                m.loop_iteration()?;
                carries = run_region(k, m, *body, carries)?;
            }
            bind(m.env(), &data.results, carries);
        }
        Op::If {
            cond,
            then_region,
            else_region,
        } => {
            let r = if m.env().t(*cond).as_bool() {
                *then_region
            } else {
                *else_region
            };
            let ys = run_region(k, m, r, Vec::new())?;
            bind(m.env(), &data.results, ys);
        }
        Op::RunScoped { scratch, body } => {
            let args = m.open_scope(scratch)?;
            let ys = run_region(k, m, *body, args)?;
            m.close_scope()?;
            bind(m.env(), &data.results, ys);
        }
        op if op.has_effect()
            || matches!(
                op,
                Op::ProgramId { .. } | Op::NumPrograms { .. } | Op::AxisIndex { .. }
            ) =>
        {
            m.effect(data)?;
        }
        _ => {
            let res = data.results[0];
            // (Only a bitcast needs its operand's dtype: one lookup per op
            // otherwise, on the per-grid-point path.)
            let result = m.value_dtype(res);
            let operand = match &data.op {
                Op::Bitcast { x, .. } => m.value_dtype(*x),
                _ => result,
            };
            let types = Types { result, operand };
            if m.value_op(data) {
                // A machine's own kernel computed in the wide dtype.
                if types.result.is_narrow() {
                    if let Slot::Val(t) = &mut m.env()[res.index()] {
                        eval::narrow::narrow(types.result, &mut t.data);
                    }
                }
            } else {
                let flops = value(m.env(), data, types);
                m.count_flops(flops);
            }
        }
    }
    Ok(())
}

/// The dtypes a pure operation computes with.
#[derive(Clone, Copy, Debug)]
pub struct Types {
    /// Its result's dtype.
    pub result: DType,
    /// The operand's dtype for a bitcast (the result's otherwise: no
    /// other op reads it).
    pub operand: DType,
}

fn bind<R>(env: &mut Env<R>, results: &[Value], slots: Vec<Slot<R>>) {
    for (&r, s) in results.iter().zip(slots) {
        env[r.index()] = s;
    }
}

/// The shape of an elementwise result: the operand of highest rank (the
/// others are scalars, broadcast); the first of equal ranks.
fn wider<const N: usize>(shapes: [&Vec<usize>; N]) -> &Vec<usize> {
    let mut best = shapes[0];
    for s in shapes {
        if s.len() > best.len() {
            best = s;
        }
    }
    best
}

/// Computes a pure operation by the reference semantics, into its
/// result's slot (reusing its storage where the operation allows);
/// returns the floating-point operations it counts.
pub fn value<R: Copy>(env: &mut Env<R>, data: &InstData, types: Types) -> u64 {
    let res = data.results[0];
    let is_f32 = |t: &Tensor| matches!(t.data, Data::F32(_));
    let (t, flops) = match &data.op {
        Op::Const(s) => {
            if !matches!(&env[res.index()], Slot::Val(_)) {
                env.put(res, Tensor::scalar(*s));
            }
            return 0;
        }
        Op::Full { value, shape } => (
            Tensor {
                data: Data::filled(*value, shape.iter().product()),
                shape: shape.clone(),
            },
            0,
        ),
        Op::Iota { dtype, shape, dim } => (eval::iota(*dtype, shape, *dim), 0),
        // Computed into the result's storage in place.
        Op::Unary(op, x) => {
            let (out, rest) = env.result_and_rest(res);
            let xt = rest.t(*x);
            if types.result.is_narrow() {
                eval::narrow::unary(*op, types.result, &xt.data, &mut out.data);
            } else {
                eval::unary(*op, &xt.data, &mut out.data);
            }
            assign(&mut out.shape, &xt.shape);
            return if is_f32(out) {
                out.data.len() as u64
            } else {
                0
            };
        }
        Op::Binary(op, a, b) => {
            let (out, rest) = env.result_and_rest(res);
            let (at, bt) = (rest.t(*a), rest.t(*b));
            if types.result.is_narrow() {
                eval::narrow::binary(*op, types.result, &at.data, &bt.data, &mut out.data);
            } else {
                eval::binary(*op, &at.data, &bt.data, &mut out.data);
            }
            assign(&mut out.shape, wider([&at.shape, &bt.shape]));
            return if is_f32(out) {
                out.data.len() as u64
            } else {
                0
            };
        }
        Op::Compare(op, a, b) => {
            let out = env.take(res);
            let (at, bt) = (env.t(*a), env.t(*b));
            let mut v = match out.data {
                Data::Bool(v) => v,
                _ => Vec::new(),
            };
            eval::compare(*op, &at.data, &bt.data, &mut v);
            let mut shape = out.shape;
            assign(&mut shape, wider([&at.shape, &bt.shape]));
            (
                Tensor {
                    data: Data::Bool(v),
                    shape,
                },
                0,
            )
        }
        Op::Select {
            cond,
            on_true,
            on_false,
        } => {
            let (c, t, f) = (env.t(*cond), env.t(*on_true), env.t(*on_false));
            let shape = wider([&c.shape, &t.shape, &f.shape]).clone();
            let n = shape.iter().product();
            let d = match &c.data {
                Data::Bool(v) => eval::select(v, &t.data, &f.data, n),
                _ => eval::select(&[false], &t.data, &f.data, n),
            };
            (Tensor { data: d, shape }, 0)
        }
        Op::Cast { x, to } => {
            let xt = env.t(*x);
            (
                Tensor {
                    data: eval::narrow::cast(&xt.data, *to),
                    shape: xt.shape.clone(),
                },
                0,
            )
        }
        Op::Bitcast { x, to } => {
            let xt = env.t(*x);
            (
                Tensor {
                    data: eval::narrow::bitcast(&xt.data, types.operand, *to),
                    shape: xt.shape.clone(),
                },
                0,
            )
        }
        Op::BroadcastInDim { x, shape, dims } => {
            (shape::broadcast_in_dim(env.t(*x), shape, dims), 0)
        }
        Op::Reshape { x, shape } => (
            Tensor {
                data: env.t(*x).data.clone(),
                shape: shape.clone(),
            },
            0,
        ),
        Op::Transpose { x, perm } => (shape::transpose(env.t(*x), perm), 0),
        Op::Concatenate { xs, axis } => {
            let ts: Vec<&Tensor> = xs.iter().map(|&x| env.t(x)).collect();
            (shape::concatenate(&ts, *axis), 0)
        }
        Op::Slice {
            x,
            start,
            limit,
            strides,
        } => (shape::slice(env.t(*x), start, limit, strides), 0),
        Op::Reduce { op, x, axes } => {
            let xt = env.t(*x);
            let n = if is_f32(xt) { xt.data.len() as u64 } else { 0 };
            let mut t = shape::reduce(*op, xt, axes);
            eval::narrow::narrow(types.result, &mut t.data);
            (t, n as usize)
        }
        Op::Cumsum { x, axis } => {
            let mut t = shape::cumsum(env.t(*x), *axis);
            eval::narrow::narrow(types.result, &mut t.data);
            (t, 0)
        }
        Op::Dot {
            lhs,
            rhs,
            transpose_lhs,
            transpose_rhs,
            ..
        } => {
            let (a, b) = (env.t(*lhs), env.t(*rhs));
            let t = shape::dot_typed(a, b, *transpose_lhs, *transpose_rhs, types.result);
            let n = 2 * t.data.len() * dot_depth(a, *transpose_lhs);
            (t, n)
        }
        other => unreachable!("`{}` is not a pure operation", other.name()),
    };
    env.put(res, t);
    flops as u64
}

/// The other slots of an environment while one (a result) is borrowed
/// mutably ([`Env::result_and_rest`]).
pub struct Others<'a, R> {
    before: &'a [Slot<R>],
    after: &'a [Slot<R>],
}

impl<R> Others<'_, R> {
    /// A computed value other than the result.
    #[inline]
    pub fn t(&self, v: Value) -> &Tensor {
        let i = v.index();
        let slot = if i < self.before.len() {
            &self.before[i]
        } else {
            &self.after[i - self.before.len() - 1]
        };
        match slot {
            Slot::Val(t) => t,
            _ => panic!("value %{i} is not computed (validated kernels define before use)"),
        }
    }
}

/// `dst = src` for short lists (shapes), reusing `dst`'s storage, without
/// a call into `memcpy`.
#[inline]
pub fn assign<T: Copy>(dst: &mut Vec<T>, src: &[T]) {
    if dst.len() == src.len() {
        // Ranks up to 2 by hand: LLVM turns the loop into a `memcpy` call.
        match src.len() {
            0 => {}
            1 => dst[0] = src[0],
            2 => {
                dst[0] = src[0];
                dst[1] = src[1];
            }
            _ => dst.copy_from_slice(src),
        }
    } else {
        dst.clear();
        dst.extend_from_slice(src);
    }
}

/// The contracted dimension's length of a `dot` operand.
pub fn dot_depth(lhs: &Tensor, transpose_lhs: bool) -> usize {
    if transpose_lhs {
        lhs.shape[0]
    } else {
        lhs.shape[1]
    }
}
