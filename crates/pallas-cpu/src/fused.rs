//! The fused program. Two kinds of kernel are coarsened:
//!
//! - elementwise: every block maps to the same place in every array
//!   (identity index maps, one block shape) and the body is elementwise;
//!   the arrays run as flat strips of elements;
//! - row-wise: a 1-D grid over the first dimension, every blocked array
//!   `[R, ...]` cut into blocks of whole rows (`(i, 0, ...)` index maps),
//!   and a body that never mixes rows (reductions, broadcasts and prefix
//!   sums along the other dimensions; whole small inputs like a layer
//!   norm's scale broadcast to every row); the arrays run as strips of rows.
//!
//! Either way the grid is gone (a grid of 2,097,152 one-element blocks costs
//! what a grid of 512 costs) and each strip goes through every operation
//! while it is in cache, on rayon's workers.

use pallas_exec::eval::{self, shape, Data, Tensor};
use pallas_ir::{
    BinaryOp, BlockDim, CmpOp, DType, Indexer, Inst, Kernel, MemorySpace, Op, ParamKind, ReduceOp,
    Scalar, Type, UnaryOp, ValidatedKernel, Value,
};

use crate::math;

/// A register of the strip machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg(pub usize);

/// A dimension of a compiled value shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    /// The strip's row count.
    Rows,
    /// A fixed size.
    Fixed(usize),
}

/// One step of the fused program.
#[derive(Clone, Debug)]
pub enum Step {
    /// The strip's rows of blocked input `arg`.
    LoadRows { arg: usize, dst: Reg },
    /// The whole of unblocked input `arg`.
    LoadWhole { arg: usize, dst: Reg },
    /// A scalar.
    Const { value: Scalar, dst: Reg },
    /// Elementwise unary op.
    Unary { op: UnaryOp, x: Reg, dst: Reg },
    /// Elementwise binary op (scalars broadcast).
    Binary {
        op: BinaryOp,
        a: Reg,
        b: Reg,
        dst: Reg,
    },
    /// Elementwise comparison.
    Compare { op: CmpOp, a: Reg, b: Reg, dst: Reg },
    /// Elementwise select.
    Select { c: Reg, t: Reg, f: Reg, dst: Reg },
    /// Conversion.
    Cast { x: Reg, to: DType, dst: Reg },
    /// Reinterpretation between dtypes of one width.
    Bitcast {
        x: Reg,
        from: DType,
        to: DType,
        dst: Reg,
    },
    /// Rounds (floats) or wraps (integers) a register's wide values to a
    /// narrow dtype, in place: after every op whose result is narrow.
    Narrow { x: Reg, to: DType },
    /// Reduction over axes other than the rows.
    Reduce {
        op: ReduceOp,
        x: Reg,
        axes: Vec<usize>,
        dst: Reg,
    },
    /// `broadcast_in_dim` to a shape that may have the strip's rows first.
    Broadcast {
        x: Reg,
        shape: Vec<Dim>,
        dims: Vec<usize>,
        dst: Reg,
    },
    /// Prefix sum along an axis other than the rows.
    Cumsum { x: Reg, axis: usize, dst: Reg },
    /// The strip's rows of output `out`.
    Store { out: usize, src: Reg },
}

/// A compiled fused program.
#[derive(Clone, Debug)]
pub struct Fused {
    /// Steps, in order.
    pub steps: Vec<Step>,
    /// Registers.
    pub regs: usize,
    /// Rows of every blocked array (elements, for elementwise kernels).
    pub rows: usize,
    /// Elements per row of each blocked input, then per output.
    pub row_len: usize,
    /// Shape of a row (after the first dimension; empty when elementwise).
    pub row_shape: Vec<usize>,
    /// Grid points the coarsened program stands for.
    pub grid_points: usize,
    /// `elementwise` or `row-wise`.
    pub kind: &'static str,
}

impl Fused {
    /// Whether the program stores output `out` (every strip's rows of it).
    pub fn stores(&self, out: usize) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::Store { out: o, .. } if *o == out))
    }
}

fn unsupported(k: &Kernel, inst: Option<Inst>, what: &str) -> String {
    match inst.and_then(|i| k.inst_loc(i)) {
        Some(l) => format!(
            "{what} (at {l}); the fast mode compiles elementwise and row-wise kernels so far"
        ),
        None => format!("{what}; the fast mode compiles elementwise and row-wise kernels so far"),
    }
}

/// How the blocked arrays are cut.
struct Layout {
    /// Coarsened first dimension (elements when `flat`).
    rows: usize,
    /// Shape of a row.
    row_shape: Vec<usize>,
    /// The block's view shape (what the body sees).
    view: Vec<usize>,
    /// Whether arrays are flattened (elementwise kind).
    flat: bool,
}

/// Decides the layout from the parameters, or says why there is none.
fn layout(k: &Kernel) -> Result<Layout, String> {
    let blocked: Vec<_> = k.params.iter().filter(|p| p.block.is_some()).collect();
    for p in &k.params {
        match p.kind {
            ParamKind::Input | ParamKind::Output => {}
            ParamKind::ScalarPrefetch => {
                return Err(unsupported(
                    k,
                    None,
                    &format!("scalar prefetch (`{}`)", p.name),
                ))
            }
            ParamKind::Scratch => {
                return Err(unsupported(k, None, &format!("scratch (`{}`)", p.name)))
            }
        }
        if p.space != MemorySpace::Vmem {
            return Err(unsupported(
                k,
                None,
                &format!("`{}` in {}", p.name, p.space),
            ));
        }
        if p.block.is_none() && p.kind == ParamKind::Output {
            return Err(unsupported(
                k,
                None,
                &format!("unblocked output `{}`", p.name),
            ));
        }
    }
    if !k.aliases.is_empty() {
        return Err(unsupported(k, None, "input/output aliases"));
    }
    let Some(first) = blocked.first() else {
        return Err(unsupported(k, None, "a kernel without blocked parameters"));
    };
    let (array, block) = (first.shape.clone(), first.block_full_shape());
    if blocked
        .iter()
        .any(|p| p.shape != array || p.block_full_shape() != block)
    {
        return Err(unsupported(
            k,
            None,
            "blocked parameters with different array or block shapes",
        ));
    }
    let visits_once = |dims: &[(usize, usize)]| {
        k.grid.len() == dims.len()
            && k.grid
                .iter()
                .zip(dims)
                .all(|(g, &(n, b))| g.size == n.div_ceil(b.max(1)))
    };
    // Elementwise: identity index maps over every dimension.
    let identity = blocked.iter().all(|p| {
        let r = &k.regions[p.block.as_ref().map(|b| b.index_map).expect("blocked")];
        r.insts.is_empty() && r.yields == r.args && r.args.len() == array.len()
    });
    let pairs: Vec<(usize, usize)> = array.iter().copied().zip(block.iter().copied()).collect();
    if identity && visits_once(&pairs) && blocked.len() == k.params.len() {
        return Ok(Layout {
            rows: array.iter().product(),
            row_shape: Vec::new(),
            view: first.block_view_shape(),
            flat: true,
        });
    }
    // Row-wise: (i, 0, 0, ...) maps, whole rows per block.
    let row_map = blocked.iter().all(|p| {
        let b = p.block.as_ref().expect("blocked");
        let r = &k.regions[b.index_map];
        let zero = |v: &Value| {
            r.insts.iter().any(|&i| {
                let d = &k.insts[i];
                d.results.first() == Some(v) && d.op == Op::Const(Scalar::I32(0))
            })
        };
        r.args.len() == 1
            && r.yields.len() == array.len()
            && r.yields[0] == r.args[0]
            && r.yields[1..].iter().all(zero)
            && r.insts
                .iter()
                .all(|&i| matches!(k.insts[i].op, Op::Const(_)))
            && matches!(b.block_shape[0], BlockDim::Sized(_))
            && b.block_shape[1..]
                .iter()
                .zip(&array[1..])
                .all(|(d, &n)| *d == BlockDim::Sized(n))
    });
    if row_map && !array.is_empty() && visits_once(&[(array[0], block[0])]) {
        return Ok(Layout {
            rows: array[0],
            row_shape: array[1..].to_vec(),
            view: first.block_view_shape(),
            flat: false,
        });
    }
    Err(unsupported(
        k,
        None,
        "index maps other than identity or whole-row maps",
    ))
}

/// Builds the fused program, or says which operation prevents it.
pub fn compile(vk: &ValidatedKernel) -> Result<Fused, String> {
    let k = vk.kernel();
    let lay = layout(k)?;
    let (mut nargs, mut nouts) = (0, 0);
    let mut arg_of = vec![None; k.params.len()];
    let mut out_of = vec![None; k.params.len()];
    for (i, p) in k.params.iter().enumerate() {
        if p.kind == ParamKind::Input {
            arg_of[i] = Some(nargs);
            nargs += 1;
        } else {
            out_of[i] = Some(nouts);
            nouts += 1;
        }
    }
    let body = &k.regions[k.body];
    let param_of = |v: Value| body.args.iter().position(|&a| a == v);
    // Per value: its register and compiled shape (`Rows` first when it
    // holds the strip's rows).
    let mut reg_of: Vec<Option<(Reg, Vec<Dim>)>> = vec![None; k.values.len()];
    let mut steps = Vec::new();
    let mut nregs = 0;
    let fixed = |s: &[usize]| s.iter().map(|&n| Dim::Fixed(n)).collect::<Vec<_>>();
    // The compiled shape of a block-shaped value: rows first.
    let rows_shape = |s: &[usize]| -> Option<Vec<Dim>> {
        if lay.flat {
            (s == lay.view.as_slice()).then(|| vec![Dim::Rows])
        } else {
            (s.first() == lay.view.first() && !s.is_empty()).then(|| {
                let mut v = vec![Dim::Rows];
                v.extend(s[1..].iter().map(|&n| Dim::Fixed(n)));
                v
            })
        }
    };
    for &inst in &body.insts {
        let data = &k.insts[inst];
        let fail = |what: &str| unsupported(k, Some(inst), what);
        let ty = |v: Value| -> Result<(DType, Vec<usize>), String> {
            match vk.value_type(v) {
                Type::Value { dtype, shape } => Ok((*dtype, shape.clone())),
                Type::Ref(_) => Err(fail("a ref-valued result")),
            }
        };
        let get = |v: &Value| {
            reg_of[v.index()]
                .clone()
                .ok_or_else(|| fail("an operand from outside the fused body"))
        };
        let is_rows = |s: &[Dim]| s.first() == Some(&Dim::Rows);
        let whole = |idx: &[Indexer]| idx.iter().all(|i| *i == Indexer::Full);
        let dst = Reg(nregs);
        // The result's compiled shape; elementwise ops keep their operands'.
        let elementwise_shape = |ops: &[&Vec<Dim>], result: &[usize]| -> Result<Vec<Dim>, String> {
            if let Some(r) = ops.iter().find(|s| is_rows(s)) {
                if ops.iter().all(|s| is_rows(s) || s.is_empty()) {
                    return Ok((*r).clone());
                }
                return Err(fail(
                    "an elementwise op between a row strip and a whole array",
                ));
            }
            Ok(fixed(result))
        };
        let (step, shape): (Step, Option<Vec<Dim>>) = match &data.op {
            Op::Const(s) => (Step::Const { value: *s, dst }, Some(Vec::new())),
            Op::Load {
                src,
                mask: None,
                other: None,
            } if whole(&src.idx) => {
                let p = param_of(src.r).ok_or_else(|| fail("a load from a scoped ref"))?;
                let arg = arg_of[p].ok_or_else(|| fail("a load from an output"))?;
                let (_, s) = ty(data.results[0])?;
                if k.params[p].block.is_some() {
                    let rs = rows_shape(&s)
                        .ok_or_else(|| fail("a block load of an unexpected shape"))?;
                    (Step::LoadRows { arg, dst }, Some(rs))
                } else if lay.flat {
                    return Err(fail("an unblocked input in an elementwise kernel"));
                } else {
                    (Step::LoadWhole { arg, dst }, Some(fixed(&s)))
                }
            }
            Op::Store {
                dst: at,
                value,
                mask: None,
            } if whole(&at.idx) => {
                let p = param_of(at.r).ok_or_else(|| fail("a store to a scoped ref"))?;
                let out = out_of[p].ok_or_else(|| fail("a store to an input"))?;
                let (src, s) = get(value)?;
                if !(is_rows(&s) || s.is_empty()) {
                    return Err(fail("a store of a value that is not the block's rows"));
                }
                (Step::Store { out, src }, None)
            }
            // Ops that need a narrow integer's own bits take the general
            // path (the shared semantics).
            Op::Unary(UnaryOp::Clz | UnaryOp::PopulationCount, x) if ty(*x)?.0.is_narrow() => {
                return Err(fail("a bit count of a narrow integer"))
            }
            Op::Binary(BinaryOp::ShrLogical | BinaryOp::ShrArith, a, _)
                if ty(*a)?.0.is_narrow() =>
            {
                return Err(fail("a right shift of a narrow integer"))
            }
            Op::Unary(op, x) => {
                let (xr, xs) = get(x)?;
                let s = elementwise_shape(&[&xs], &ty(data.results[0])?.1)?;
                (
                    Step::Unary {
                        op: *op,
                        x: xr,
                        dst,
                    },
                    Some(s),
                )
            }
            Op::Binary(op, a, b) => {
                let ((ar, as_), (br, bs)) = (get(a)?, get(b)?);
                let s = elementwise_shape(&[&as_, &bs], &ty(data.results[0])?.1)?;
                (
                    Step::Binary {
                        op: *op,
                        a: ar,
                        b: br,
                        dst,
                    },
                    Some(s),
                )
            }
            Op::Compare(op, a, b) => {
                let ((ar, as_), (br, bs)) = (get(a)?, get(b)?);
                let s = elementwise_shape(&[&as_, &bs], &ty(data.results[0])?.1)?;
                (
                    Step::Compare {
                        op: *op,
                        a: ar,
                        b: br,
                        dst,
                    },
                    Some(s),
                )
            }
            Op::Select {
                cond,
                on_true,
                on_false,
            } => {
                let ((c, cs), (t, ts), (f, fs)) = (get(cond)?, get(on_true)?, get(on_false)?);
                let s = elementwise_shape(&[&cs, &ts, &fs], &ty(data.results[0])?.1)?;
                (Step::Select { c, t, f, dst }, Some(s))
            }
            Op::Cast { x, to } => {
                let (xr, xs) = get(x)?;
                (
                    Step::Cast {
                        x: xr,
                        to: *to,
                        dst,
                    },
                    Some(xs),
                )
            }
            Op::Bitcast { x, to } => {
                let (xr, xs) = get(x)?;
                (
                    Step::Bitcast {
                        x: xr,
                        from: ty(*x)?.0,
                        to: *to,
                        dst,
                    },
                    Some(xs),
                )
            }
            Op::Reduce { op, x, axes } if !lay.flat => {
                let (xr, xs) = get(x)?;
                if is_rows(&xs) && axes.contains(&0) {
                    return Err(fail("a reduction across rows"));
                }
                let s: Vec<Dim> = (0..xs.len())
                    .filter(|d| !axes.contains(d))
                    .map(|d| xs[d])
                    .collect();
                (
                    Step::Reduce {
                        op: *op,
                        x: xr,
                        axes: axes.clone(),
                        dst,
                    },
                    Some(s),
                )
            }
            Op::Cumsum { x, axis } if !lay.flat => {
                let (xr, xs) = get(x)?;
                if is_rows(&xs) && *axis == 0 {
                    return Err(fail("a prefix sum across rows"));
                }
                (
                    Step::Cumsum {
                        x: xr,
                        axis: *axis,
                        dst,
                    },
                    Some(xs),
                )
            }
            Op::BroadcastInDim {
                x,
                shape: target,
                dims,
            } if !lay.flat => {
                let (xr, xs) = get(x)?;
                if is_rows(&xs) && dims.first() != Some(&0) {
                    return Err(fail("a broadcast that moves the rows"));
                }
                let s = if is_rows(&xs) || target.first() == lay.view.first() {
                    rows_shape(target).ok_or_else(|| fail("a broadcast to an unexpected shape"))?
                } else {
                    fixed(target)
                };
                (
                    Step::Broadcast {
                        x: xr,
                        shape: s.clone(),
                        dims: dims.clone(),
                        dst,
                    },
                    Some(s),
                )
            }
            other => return Err(fail(&format!("`{}`", other.name()))),
        };
        // Arithmetic into a narrow dtype rounds or wraps once per op (a
        // cast does its own; loads, constants, selects and broadcasts keep
        // values the dtype holds).
        let rounds = matches!(
            step,
            Step::Unary { .. } | Step::Binary { .. } | Step::Reduce { .. } | Step::Cumsum { .. }
        );
        let narrow_to = match data.results.first() {
            Some(&res) if rounds => ty(res)?.0,
            _ => DType::F32,
        };
        if let (Some(s), Some(&res)) = (shape, data.results.first()) {
            reg_of[res.index()] = Some((dst, s));
            nregs += 1;
        }
        steps.push(step);
        if narrow_to.is_narrow() {
            steps.push(Step::Narrow {
                x: dst,
                to: narrow_to,
            });
        }
    }
    Ok(Fused {
        steps,
        regs: nregs,
        rows: lay.rows,
        row_len: lay.row_shape.iter().product(),
        row_shape: lay.row_shape,
        grid_points: k.num_grid_points().unwrap_or(0),
        kind: if lay.flat { "elementwise" } else { "row-wise" },
    })
}

/// Fresh registers for one worker.
pub fn registers(f: &Fused) -> Vec<Tensor> {
    (0..f.regs)
        .map(|_| Tensor {
            data: Data::F32(Vec::new()),
            shape: Vec::new(),
        })
        .collect()
}

fn copy_rows(src: &Input<'_>, lo: usize, hi: usize, out: &mut Data) {
    macro_rules! take {
        ($o:expr, $s:expr) => {{
            $o.clear();
            $o.extend_from_slice(&$s[lo..hi]);
        }};
    }
    macro_rules! widen {
        ($o:expr, $s:expr, $f:expr) => {{
            $o.clear();
            $o.extend($s[lo..hi].iter().map($f));
        }};
    }
    match (out, src) {
        (Data::F32(o), Input::F32(s)) => take!(o, s),
        (Data::I32(o), Input::I32(s)) => take!(o, s),
        (Data::U32(o), Input::U32(s)) => take!(o, s),
        (Data::Bool(o), Input::Bool(s)) => take!(o, s),
        // Narrow inputs widen while they are copied: bf16 is a shift,
        // f16 goes through half's slice conversion (F16C where present).
        (Data::F32(o), Input::BF16(s)) => {
            widen!(o, s, |v| f32::from_bits((v.to_bits() as u32) << 16))
        }
        (Data::F32(o), Input::F16(s)) => {
            use half::slice::HalfFloatSliceExt;
            o.clear();
            o.resize(hi - lo, 0.0);
            s[lo..hi].convert_to_f32_slice(o);
        }
        (Data::I32(o), Input::I8(s)) => widen!(o, s, |&v| v as i32),
        (Data::U32(o), Input::U8(s)) => widen!(o, s, |&v| v as u32),
        (Data::I32(o), Input::I16(s)) => widen!(o, s, |&v| v as i32),
        (Data::U32(o), Input::U16(s)) => widen!(o, s, |&v| v as u32),
        (o, s) => *o = s.to_data(),
    }
}

/// A launch argument as the fused program reads it: the host array's own
/// elements (row-major), borrowed, so a launch copies no input.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// `f32` elements.
    F32(&'a [f32]),
    /// `i32` elements.
    I32(&'a [i32]),
    /// `u32` elements.
    U32(&'a [u32]),
    /// `bool` elements.
    Bool(&'a [bool]),
    /// `bf16` elements (widened to f32 as strips are loaded).
    BF16(&'a [half::bf16]),
    /// `f16` elements (widened to f32 as strips are loaded).
    F16(&'a [half::f16]),
    /// `i8` elements (widened to i32).
    I8(&'a [i8]),
    /// `u8` elements (widened to u32).
    U8(&'a [u8]),
    /// `i16` elements (widened to i32).
    I16(&'a [i16]),
    /// `u16` elements (widened to u32).
    U16(&'a [u16]),
}

impl<'a> Input<'a> {
    /// The elements of a borrowed host array in standard (row-major,
    /// contiguous) layout; `None` for other layouts.
    pub fn borrow(h: &'a pallas_exec::HostView<'_>) -> Option<Input<'a>> {
        use pallas_exec::HostView as H;
        Some(match h {
            H::F32(a) => Input::F32(a.as_slice()?),
            H::I32(a) => Input::I32(a.as_slice()?),
            H::U32(a) => Input::U32(a.as_slice()?),
            H::Bool(a) => Input::Bool(a.as_slice()?),
            H::BF16(a) => Input::BF16(a.as_slice()?),
            H::F16(a) => Input::F16(a.as_slice()?),
            H::I8(a) => Input::I8(a.as_slice()?),
            H::U8(a) => Input::U8(a.as_slice()?),
            H::I16(a) => Input::I16(a.as_slice()?),
            H::U16(a) => Input::U16(a.as_slice()?),
            // fp8 arrives widened (a copy).
            H::F8E4M3FN(_) | H::F8E5M2(_) => return None,
        })
    }

    /// The elements of owned data.
    pub fn of(d: &'a Data) -> Input<'a> {
        match d {
            Data::F32(v) => Input::F32(v),
            Data::I32(v) => Input::I32(v),
            Data::U32(v) => Input::U32(v),
            Data::Bool(v) => Input::Bool(v),
        }
    }

    /// A copy as owned (wide) data.
    pub fn to_data(self) -> Data {
        let mut d = Data::filled(Scalar::zero(self.dtype()), 0);
        copy_rows(&self, 0, self.len(), &mut d);
        d
    }

    fn len(self) -> usize {
        match self {
            Input::F32(v) => v.len(),
            Input::I32(v) => v.len(),
            Input::U32(v) => v.len(),
            Input::Bool(v) => v.len(),
            Input::BF16(v) => v.len(),
            Input::F16(v) => v.len(),
            Input::I8(v) => v.len(),
            Input::U8(v) => v.len(),
            Input::I16(v) => v.len(),
            Input::U16(v) => v.len(),
        }
    }

    /// The dtype of the registers it loads into (the wide one).
    fn dtype(self) -> pallas_ir::DType {
        use pallas_ir::DType as D;
        match self {
            Input::F32(_) | Input::BF16(_) | Input::F16(_) => D::F32,
            Input::I32(_) | Input::I8(_) | Input::I16(_) => D::I32,
            Input::U32(_) | Input::U8(_) | Input::U16(_) => D::U32,
            Input::Bool(_) => D::Bool,
        }
    }
}

/// Runs the program over rows `[lo, hi)`: reads from `inputs`, writes
/// through `store(out, first element, data)`.
pub fn run_strip(
    f: &Fused,
    regs: &mut [Tensor],
    inputs: &[Input<'_>],
    lo: usize,
    hi: usize,
    mut store: impl FnMut(usize, usize, &Data),
) {
    let m = hi - lo;
    let (e0, e1) = (lo * f.row_len.max(1), hi * f.row_len.max(1));
    let dims = |s: &[Dim]| {
        s.iter()
            .map(|d| match d {
                Dim::Rows => m,
                Dim::Fixed(n) => *n,
            })
            .collect::<Vec<_>>()
    };
    for step in &f.steps {
        match step {
            Step::LoadRows { arg, dst } => {
                let r = &mut regs[dst.0];
                if r.data.dtype() != inputs[*arg].dtype() {
                    r.data = Data::filled(Scalar::zero(inputs[*arg].dtype()), 0);
                }
                copy_rows(&inputs[*arg], e0, e1, &mut r.data);
                r.shape.clear();
                r.shape.push(m);
                r.shape.extend_from_slice(&f.row_shape);
            }
            Step::LoadWhole { arg, dst } => {
                let r = &mut regs[dst.0];
                r.data = inputs[*arg].to_data();
                r.shape = vec![inputs[*arg].len()];
            }
            Step::Const { value, dst } => {
                regs[dst.0] = Tensor::scalar(*value);
            }
            Step::Unary { op, x, dst } => {
                let mut out = std::mem::replace(&mut regs[dst.0].data, Data::F32(Vec::new()));
                let done = match (&regs[x.0].data, &mut out) {
                    (Data::F32(xs), Data::F32(o)) => math::unary(*op, xs, o),
                    _ => false,
                };
                if !done {
                    eval::unary(*op, &regs[x.0].data, &mut out);
                }
                let shape = regs[x.0].shape.clone();
                regs[dst.0] = Tensor { data: out, shape };
            }
            Step::Binary { op, a, b, dst } => {
                let mut out = std::mem::replace(&mut regs[dst.0].data, Data::F32(Vec::new()));
                eval::binary(*op, &regs[a.0].data, &regs[b.0].data, &mut out);
                let shape = wider(&regs[a.0], &regs[b.0]);
                regs[dst.0] = Tensor { data: out, shape };
            }
            Step::Compare { op, a, b, dst } => {
                let mut v = match std::mem::replace(&mut regs[dst.0].data, Data::Bool(Vec::new())) {
                    Data::Bool(v) => v,
                    _ => Vec::new(),
                };
                eval::compare(*op, &regs[a.0].data, &regs[b.0].data, &mut v);
                let shape = wider(&regs[a.0], &regs[b.0]);
                regs[dst.0] = Tensor {
                    data: Data::Bool(v),
                    shape,
                };
            }
            Step::Select { c, t, f: fr, dst } => {
                let cond = match &regs[c.0].data {
                    Data::Bool(v) => v.clone(),
                    _ => vec![false],
                };
                let shape = wider(&regs[c.0], &wider_t(&regs[t.0], &regs[fr.0]));
                let len = shape.iter().product();
                let data = eval::select(&cond, &regs[t.0].data, &regs[fr.0].data, len);
                regs[dst.0] = Tensor { data, shape };
            }
            Step::Cast { x, to, dst } => {
                let t = &regs[x.0];
                regs[dst.0] = Tensor {
                    data: eval::narrow::cast(&t.data, *to),
                    shape: t.shape.clone(),
                };
            }
            Step::Bitcast { x, from, to, dst } => {
                let t = &regs[x.0];
                regs[dst.0] = Tensor {
                    data: eval::narrow::bitcast(&t.data, *from, *to),
                    shape: t.shape.clone(),
                };
            }
            Step::Narrow { x, to } => eval::narrow::narrow(*to, &mut regs[x.0].data),
            Step::Reduce { op, x, axes, dst } => regs[dst.0] = shape::reduce(*op, &regs[x.0], axes),
            Step::Cumsum { x, axis, dst } => regs[dst.0] = shape::cumsum(&regs[x.0], *axis),
            Step::Broadcast {
                x,
                shape: s,
                dims: d,
                dst,
            } => {
                regs[dst.0] = shape::broadcast_in_dim(&regs[x.0], &dims(s), d);
            }
            Step::Store { out, src } => store(*out, e0, &regs[src.0].data),
        }
    }
}

/// The shape of an elementwise result: the operand that is not a scalar.
fn wider(a: &Tensor, b: &Tensor) -> Vec<usize> {
    if a.shape.len() >= b.shape.len() {
        a.shape.clone()
    } else {
        b.shape.clone()
    }
}

fn wider_t(a: &Tensor, b: &Tensor) -> Tensor {
    Tensor {
        data: Data::Bool(Vec::new()),
        shape: wider(a, b),
    }
}
