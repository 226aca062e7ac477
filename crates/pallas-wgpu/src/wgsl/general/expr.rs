//! Elementwise, indexing, constant and load operations as expressions
//! of the element index, and deferring them to their one use (op fusion).

use pallas_ir::{DType, Inst, Op, Scalar};

use super::{coord, from_bits, scalar, strides, Gen, GenError, Val};

impl Gen<'_> {
    /// Element `e` (a `u32` expression) of the result of `inst`, an
    /// elementwise, indexing, constant or load operation, as an
    /// expression of its operands' elements.
    pub(super) fn expr(&mut self, inst: Inst, e: &str) -> Result<String, GenError> {
        let k = self.vk.kernel();
        let data = &k.insts[inst];
        let r = data.results[0];
        Ok(match &data.op {
            Op::Const(s) | Op::Full { value: s, .. } => scalar::literal(*s),
            Op::Iota { dtype, shape, dim } => {
                let c = coord(e, shape, *dim);
                let wide = match dtype.wide() {
                    DType::F32 => format!("f32({c})"),
                    DType::U32 => c,
                    _ => format!("i32({c})"),
                };
                scalar::narrow(&mut self.h, *dtype, &wide)
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
                scalar::bitcast(&mut self.h, d, *to, &a)
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
    pub(super) fn defer(&mut self, inst: Inst) -> Result<(), GenError> {
        let k = self.vk.kernel();
        let data = &k.insts[inst];
        if !self.resolve_load(inst)? {
            self.vals[data.results[0].index()] = Some(Val::Deferred(inst));
        }
        Ok(())
    }

    /// Prepares a load (a no-op for other operations): the whole block of
    /// an input the body never writes becomes the value itself until the
    /// next block moves in (returns true: the value has its home); any
    /// other load has its region resolved (and checked) here, where it
    /// stands in the program, for [`Gen::expr`].
    pub(super) fn resolve_load(&mut self, inst: Inst) -> Result<bool, GenError> {
        let data = &self.vk.kernel().insts[inst];
        let Op::Load { src, mask, other } = &data.op else {
            return Ok(false);
        };
        let r = data.results[0];
        if mask.is_none()
            && other.is_none()
            && self.read_only_block(src)
            && !self.ty(r).1.is_empty()
        {
            let loc = self.refloc(src.r)?;
            self.vals[r.index()] = Some(Val::Arr(loc.off));
            return Ok(true);
        }
        // A fault of the load names the load, also where it is resolved
        // for a later use.
        let user = self.cur.replace(inst);
        let span = self.span(src);
        self.cur = user;
        self.spans.insert(inst, span?);
        Ok(false)
    }
}
