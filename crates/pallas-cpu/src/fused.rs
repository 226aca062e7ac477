//! The fused elementwise program: when a kernel's body is elementwise over
//! whole blocks and every block maps to the same place in every array, the
//! grid is coarsened away and the body runs over the whole arrays in
//! strips, every operation of a strip in turn while the strip is in cache.

use pallas_ir::eval::{self, Data};
use pallas_ir::{
    BinaryOp, CmpOp, DType, Indexer, Inst, Kernel, MemorySpace, Op, ParamKind, Scalar, Type,
    UnaryOp, ValidatedKernel, Value,
};

use crate::math;

/// A register of the strip machine: a strip of values or one scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg(pub usize);

/// One step of the fused program.
#[derive(Clone, Debug)]
pub enum Step {
    /// Copy a strip of launch argument `arg` into `dst`.
    Load { arg: usize, dst: Reg },
    /// Set a scalar register.
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
    /// Reinterpretation.
    Bitcast { x: Reg, to: DType, dst: Reg },
    /// Write a strip of `src` into output `out` (broadcasting a scalar).
    Store { out: usize, src: Reg },
}

/// A fused program and the register file it needs.
#[derive(Clone, Debug)]
pub struct Fused {
    /// Steps, in order.
    pub steps: Vec<Step>,
    /// Dtype and whether scalar, per register.
    pub regs: Vec<(DType, bool)>,
    /// Elements per array (every blocked array has this many).
    pub len: usize,
    /// Grid points the coarsened program stands for.
    pub grid_points: usize,
}

/// Why a kernel cannot be fused: the operation or feature, for the
/// `Unsupported` error.
pub fn unsupported(k: &Kernel, inst: Option<Inst>, what: &str) -> String {
    match inst.and_then(|i| k.inst_loc(i)) {
        Some(l) => format!(
            "{what} (at {l}); the fast mode compiles whole-block elementwise kernels so far"
        ),
        None => format!("{what}; the fast mode compiles whole-block elementwise kernels so far"),
    }
}

/// Builds the fused program, or says which operation prevents it.
pub fn compile(vk: &ValidatedKernel) -> Result<Fused, String> {
    let k = vk.kernel();
    // Every input and output: blocked VMEM, same array and block shape, an
    // index map that yields the grid indices in order.
    let mut shape: Option<(Vec<usize>, Vec<usize>)> = None;
    let mut arg_of_param = vec![None; k.params.len()];
    let mut out_of_param = vec![None; k.params.len()];
    let (mut nargs, mut nouts) = (0, 0);
    for (i, p) in k.params.iter().enumerate() {
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
        let Some(b) = &p.block else {
            return Err(unsupported(
                k,
                None,
                &format!("unblocked parameter `{}`", p.name),
            ));
        };
        if p.space != MemorySpace::Vmem {
            return Err(unsupported(
                k,
                None,
                &format!("`{}` in {}", p.name, p.space),
            ));
        }
        let region = &k.regions[b.index_map];
        let identity = region.insts.is_empty()
            && region.yields == region.args
            && region.args.len() == p.shape.len();
        if !identity {
            return Err(unsupported(
                k,
                None,
                &format!(
                    "the index map of `{}` (only identity maps are coarsened)",
                    p.name
                ),
            ));
        }
        let this = (p.shape.clone(), p.block_full_shape());
        match &shape {
            None => shape = Some(this),
            Some(s) if *s == this => {}
            Some(_) => {
                return Err(unsupported(
                    k,
                    None,
                    &format!("`{}` has a different array or block shape", p.name),
                ))
            }
        }
        if p.kind == ParamKind::Input {
            arg_of_param[i] = Some(nargs);
            nargs += 1;
        } else {
            out_of_param[i] = Some(nouts);
            nouts += 1;
        }
    }
    if !k.aliases.is_empty() {
        return Err(unsupported(k, None, "input/output aliases"));
    }
    let (array, block) = shape.unwrap_or_default();
    let grid_ok = k.grid.len() == array.len()
        && k.grid
            .iter()
            .zip(array.iter().zip(&block))
            .all(|(g, (&n, &b))| g.size == n.div_ceil(b.max(1)));
    if !grid_ok {
        return Err(unsupported(
            k,
            None,
            "a grid that does not visit each block once",
        ));
    }
    let view: Vec<usize> = k
        .params
        .first()
        .map(|p| p.block_view_shape())
        .unwrap_or_default();
    let mut regs: Vec<(DType, bool)> = Vec::new();
    let mut reg_of: Vec<Option<Reg>> = vec![None; k.values.len()];
    let mut steps = Vec::new();
    let body = &k.regions[k.body];
    let param_of_arg = |v: Value| body.args.iter().position(|&a| a == v);
    for &inst in &body.insts {
        let data = &k.insts[inst];
        // Allocates the register of a result (`reg_of` is set after the step).
        let new_reg = |regs: &mut Vec<(DType, bool)>, v: Value| -> Result<Reg, String> {
            let Type::Value { dtype, shape } = vk.value_type(v) else {
                return Err(unsupported(k, Some(inst), "a ref-valued result"));
            };
            if !shape.is_empty() && *shape != view {
                return Err(unsupported(
                    k,
                    Some(inst),
                    &format!("a value of shape {shape:?} (not the block's)"),
                ));
            }
            regs.push((*dtype, shape.is_empty()));
            Ok(Reg(regs.len() - 1))
        };
        let whole = |idx: &[Indexer]| idx.iter().all(|i| *i == Indexer::Full);
        let step = match &data.op {
            Op::Const(s) => Step::Const {
                value: *s,
                dst: new_reg(&mut regs, data.results[0])?,
            },
            Op::Load {
                src,
                mask: None,
                other: None,
            } if whole(&src.idx) => {
                let arg = param_of_arg(src.r).and_then(|p| arg_of_param[p]);
                let Some(arg) = arg else {
                    return Err(unsupported(k, Some(inst), "a load from a non-input ref"));
                };
                Step::Load {
                    arg,
                    dst: new_reg(&mut regs, data.results[0])?,
                }
            }
            Op::Store {
                dst,
                value,
                mask: None,
            } if whole(&dst.idx) => {
                let out = param_of_arg(dst.r).and_then(|p| out_of_param[p]);
                let (Some(out), Some(src)) = (out, reg_of[value.index()]) else {
                    return Err(unsupported(k, Some(inst), "a store to a non-output ref"));
                };
                Step::Store { out, src }
            }
            op => {
                let r = |v: &Value| {
                    reg_of[v.index()].ok_or_else(|| {
                        unsupported(k, Some(inst), "an operand from outside the fused body")
                    })
                };
                let step = match op {
                    Op::Unary(u, x) => Step::Unary {
                        op: *u,
                        x: r(x)?,
                        dst: Reg(0),
                    },
                    Op::Binary(b, x, y) => Step::Binary {
                        op: *b,
                        a: r(x)?,
                        b: r(y)?,
                        dst: Reg(0),
                    },
                    Op::Compare(c, x, y) => Step::Compare {
                        op: *c,
                        a: r(x)?,
                        b: r(y)?,
                        dst: Reg(0),
                    },
                    Op::Select {
                        cond,
                        on_true,
                        on_false,
                    } => Step::Select {
                        c: r(cond)?,
                        t: r(on_true)?,
                        f: r(on_false)?,
                        dst: Reg(0),
                    },
                    Op::Cast { x, to } => Step::Cast {
                        x: r(x)?,
                        to: *to,
                        dst: Reg(0),
                    },
                    Op::Bitcast { x, to } => Step::Bitcast {
                        x: r(x)?,
                        to: *to,
                        dst: Reg(0),
                    },
                    other => {
                        return Err(unsupported(k, Some(inst), &format!("`{}`", other.name())))
                    }
                };
                let dst = new_reg(&mut regs, data.results[0])?;
                match step {
                    Step::Unary { op, x, .. } => Step::Unary { op, x, dst },
                    Step::Binary { op, a, b, .. } => Step::Binary { op, a, b, dst },
                    Step::Compare { op, a, b, .. } => Step::Compare { op, a, b, dst },
                    Step::Select { c, t, f, .. } => Step::Select { c, t, f, dst },
                    Step::Cast { x, to, .. } => Step::Cast { x, to, dst },
                    Step::Bitcast { x, to, .. } => Step::Bitcast { x, to, dst },
                    s => s,
                }
            }
        };
        if let Some(&res) = data.results.first() {
            reg_of[res.index()] = Some(Reg(regs.len() - 1));
        }
        steps.push(step);
    }
    Ok(Fused {
        steps,
        regs,
        len: array.iter().product(),
        grid_points: k.num_grid_points().unwrap_or(0),
    })
}

/// Fresh registers for one worker.
pub fn registers(f: &Fused, strip: usize) -> Vec<Data> {
    f.regs
        .iter()
        .map(|&(d, scalar)| eval::Data::filled(Scalar::zero(d), if scalar { 1 } else { strip }))
        .collect()
}

/// Runs the program over elements `[lo, hi)`: reads from `inputs`, writes
/// through `store(out, lo, data)`.
pub fn run_strip(
    f: &Fused,
    regs: &mut [Data],
    inputs: &[&Data],
    lo: usize,
    hi: usize,
    mut store: impl FnMut(usize, usize, &Data, usize),
) {
    let n = hi - lo;
    for step in &f.steps {
        match *step {
            Step::Load { arg, dst } => {
                let d = &mut regs[dst.0];
                match (d, inputs[arg]) {
                    (Data::F32(o), Data::F32(s)) => {
                        o.clear();
                        o.extend_from_slice(&s[lo..hi]);
                    }
                    (Data::I32(o), Data::I32(s)) => {
                        o.clear();
                        o.extend_from_slice(&s[lo..hi]);
                    }
                    (Data::U32(o), Data::U32(s)) => {
                        o.clear();
                        o.extend_from_slice(&s[lo..hi]);
                    }
                    (Data::Bool(o), Data::Bool(s)) => {
                        o.clear();
                        o.extend_from_slice(&s[lo..hi]);
                    }
                    (o, s) => *o = s.clone(),
                }
            }
            Step::Const { value, dst } => regs[dst.0] = Data::filled(value, 1),
            Step::Unary { op, x, dst } => {
                let mut out = std::mem::replace(&mut regs[dst.0], Data::F32(Vec::new()));
                match (&regs[x.0], &mut out, op) {
                    (Data::F32(xs), Data::F32(o), UnaryOp::Sin) => {
                        o.resize(xs.len(), 0.0);
                        math::sin(xs, o);
                    }
                    (xd, _, _) => eval::unary(op, xd, &mut out),
                }
                regs[dst.0] = out;
            }
            Step::Binary { op, a, b, dst } => {
                let mut out = std::mem::replace(&mut regs[dst.0], Data::F32(Vec::new()));
                eval::binary(op, &regs[a.0], &regs[b.0], &mut out);
                regs[dst.0] = out;
            }
            Step::Compare { op, a, b, dst } => {
                let mut v = match std::mem::replace(&mut regs[dst.0], Data::Bool(Vec::new())) {
                    Data::Bool(v) => v,
                    _ => Vec::new(),
                };
                eval::compare(op, &regs[a.0], &regs[b.0], &mut v);
                regs[dst.0] = Data::Bool(v);
            }
            Step::Select { c, t, f: fr, dst } => {
                let cond = match &regs[c.0] {
                    Data::Bool(v) => v.clone(),
                    _ => vec![false],
                };
                let len = [regs[c.0].len(), regs[t.0].len(), regs[fr.0].len()]
                    .into_iter()
                    .max()
                    .unwrap_or(1);
                regs[dst.0] = eval::select(&cond, &regs[t.0], &regs[fr.0], len);
            }
            Step::Cast { x, to, dst } => regs[dst.0] = eval::cast(&regs[x.0], to),
            Step::Bitcast { x, to, dst } => regs[dst.0] = eval::bitcast(&regs[x.0], to),
            Step::Store { out, src } => store(out, lo, &regs[src.0], n),
        }
    }
}
