//! Typing rules of the body operations.

use super::error::{ShapeText, ValidationErrorKind as E};
use super::{RefOrigin, Validator};
use crate::dtype::DType;
use crate::kernel::{Inst, ParamKind, Value};
use crate::ops::{AtomicOp, BinaryOp, Indexer, Offset, Op, ReduceOp, RefAt, UnaryOp};
use crate::types::{num_elements, MemorySpace, RefElem, RefType, SemaphoreKind, Type};

type ValTy = (DType, Vec<usize>);

/// What an operation on fp8 values is told it expected.
const FP8_STORAGE_ONLY: &str =
    "a dtype with arithmetic (f8e4m3fn and f8e5m2 are storage only here: cast to bf16 or f32 first)";

/// A checked ref access: the ref's type, the indexed shape, where it is from.
struct Access {
    ty: RefType,
    shape: Vec<usize>,
    origin: Option<RefOrigin>,
}

fn st(s: &[usize]) -> ShapeText {
    ShapeText(s.to_vec())
}

impl Validator<'_> {
    /// A value operand: dtype and shape.
    fn val(&mut self, v: Value, what: &'static str) -> Option<ValTy> {
        match self.use_any(v)? {
            Type::Value { dtype, shape } => Some((dtype, shape)),
            Type::Ref(_) => {
                self.err(E::RefAsValue { what });
                None
            }
        }
    }

    /// A scalar operand of a dtype.
    fn scalar(&mut self, v: Value, what: &'static str, dtype: DType) -> Option<()> {
        let (d, s) = self.val(v, what)?;
        if d != dtype || !s.is_empty() {
            self.err(E::NotScalar {
                what,
                expected: dtype,
                found: Type::array(d, s).to_string(),
            });
            return None;
        }
        Some(())
    }

    fn ref_name(&self, origin: Option<RefOrigin>) -> String {
        match origin {
            Some(RefOrigin::Param(i)) => self.k.params[i].name.clone(),
            Some(RefOrigin::Barrier) => "barrier semaphore".into(),
            _ => "scoped scratch".into(),
        }
    }

    /// Whether a ref may be written: outputs, scratch, aliased inputs, and
    /// the core-local copies (SMEM, VMEM) of scalar-prefetch and input
    /// parameters, which JAX lets a kernel write; an input in HBM (`any`)
    /// is the caller's array and stays read-only. A write to a prefetch or
    /// input copy is recorded (see `ValidatedKernel::written_input`).
    fn writable(&mut self, origin: Option<RefOrigin>, space: MemorySpace) -> bool {
        match origin {
            Some(RefOrigin::Param(i)) => {
                let p = &self.k.params[i];
                let copy = space != MemorySpace::Any;
                match p.kind {
                    ParamKind::Output | ParamKind::Scratch => true,
                    ParamKind::ScalarPrefetch | ParamKind::Input => {
                        let pos = self.k.params_of(p.kind).position(|(j, _)| j == i);
                        let aliased = p.kind == ParamKind::Input
                            && self.k.aliases.iter().any(|&(a, _)| Some(a) == pos);
                        if !aliased && copy && !self.written_inputs.contains(&i) {
                            self.written_inputs.push(i);
                        }
                        aliased || copy
                    }
                }
            }
            _ => true,
        }
    }

    /// Checks a ref with its indexers and gives the indexed shape.
    fn access(&mut self, at: &RefAt, what: &'static str) -> Option<Access> {
        let t = self.use_any(at.r)?;
        let ty = match t {
            Type::Ref(r) => r,
            other => {
                self.err(E::ValueAsRef {
                    what,
                    found: other.to_string(),
                });
                return None;
            }
        };
        let origin = self.origins[at.r.index()];
        if at.idx.len() != ty.shape.len() {
            self.err(E::IndexerCount {
                rank: ty.shape.len(),
                found: at.idx.len(),
            });
            return None;
        }
        let mut shape = Vec::new();
        let mut ok = true;
        for (dim, (ix, &extent)) in at.idx.iter().zip(&ty.shape).enumerate() {
            match *ix {
                Indexer::Full => shape.push(extent),
                Indexer::Index(off) => {
                    ok &= self.offset(off, dim, 1, 1, extent);
                }
                Indexer::Slice {
                    start,
                    size,
                    stride,
                } => {
                    if stride == 0 {
                        self.err(E::ZeroStride(stride));
                        ok = false;
                    } else {
                        ok &= self.offset(start, dim, size, stride, extent);
                    }
                    shape.push(size);
                }
            }
        }
        ok.then_some(Access { ty, shape, origin })
    }

    /// Checks one start offset covering `size` elements `stride` apart.
    fn offset(
        &mut self,
        off: Offset,
        dim: usize,
        size: usize,
        stride: usize,
        extent: usize,
    ) -> bool {
        let span = if size == 0 {
            0i64
        } else {
            (size as i64 - 1)
                .saturating_mul(stride as i64)
                .saturating_add(1)
        };
        match off {
            Offset::Static(s) => {
                let reach = s.saturating_add(span);
                if s < 0 || reach > extent as i64 {
                    self.err(E::IndexOutOfRange {
                        dim,
                        reach: if s < 0 { s } else { reach },
                        extent,
                    });
                    return false;
                }
                true
            }
            Offset::Dynamic(v) => {
                if self.scalar(v, "index", DType::I32).is_none() {
                    return false;
                }
                if span > extent as i64 {
                    self.err(E::IndexOutOfRange {
                        dim,
                        reach: span,
                        extent,
                    });
                    return false;
                }
                true
            }
        }
    }

    /// A data access (load/store family): not a semaphore, not HBM.
    fn data_access(&mut self, at: &RefAt, op: &str, write: bool) -> Option<(DType, Vec<usize>)> {
        let a = self.access(at, "ref")?;
        let RefElem::Data(dtype) = a.ty.elem else {
            self.err(E::SemaphoreMisuse {
                what: "ref",
                expected: "a data ref",
                found: a.ty.to_string(),
            });
            return None;
        };
        if a.ty.space == MemorySpace::Any {
            self.err(E::HbmAccess {
                op: op.into(),
                name: self.ref_name(a.origin),
            });
            return None;
        }
        if write && !self.writable(a.origin, a.ty.space) {
            self.err(E::ReadOnly {
                op: op.into(),
                name: self.ref_name(a.origin),
            });
            return None;
        }
        Some((dtype, a.shape))
    }

    /// A single semaphore of a kind (`None` accepts both kinds).
    fn semaphore(&mut self, at: &RefAt, kind: Option<SemaphoreKind>) -> Option<()> {
        let a = self.access(at, "semaphore")?;
        let expected = match kind {
            Some(SemaphoreKind::Dma) => "a single DMA semaphore",
            Some(SemaphoreKind::Regular) => "a single regular semaphore",
            None => "a single semaphore",
        };
        let ok = match a.ty.elem {
            RefElem::Semaphore(k) => kind.is_none_or(|want| want == k) && a.shape.is_empty(),
            RefElem::Data(_) => false,
        };
        if !ok {
            let found = format!("{}{}", a.ty.elem, crate::types::ShapeDisplay(&a.shape));
            self.err(E::SemaphoreMisuse {
                what: "semaphore",
                expected,
                found,
            });
            return None;
        }
        Some(())
    }

    /// A DMA endpoint: a data ref in any space.
    fn dma_endpoint(&mut self, at: &RefAt, write: bool) -> Option<(DType, Vec<usize>)> {
        let a = self.access(at, if write { "dma dst" } else { "dma src" })?;
        let RefElem::Data(d) = a.ty.elem else {
            self.err(E::SemaphoreMisuse {
                what: "dma endpoint",
                expected: "a data ref",
                found: a.ty.to_string(),
            });
            return None;
        };
        if write && !self.writable(a.origin, a.ty.space) {
            self.err(E::ReadOnly {
                op: "dma_start".into(),
                name: self.ref_name(a.origin),
            });
            return None;
        }
        Some((d, a.shape))
    }

    /// A copy's source and destination: data refs of one dtype and shape,
    /// the destination writable.
    fn copy_endpoints(&mut self, src: &RefAt, dst: &RefAt, what: &'static str) -> Option<()> {
        let s = self.dma_endpoint(src, false);
        let d = self.dma_endpoint(dst, true);
        let ((ds_, ss), (dd, sd)) = (s?, d?);
        self.same_dtype(what, ds_, dd)?;
        if ss != sd {
            self.err(E::ShapeMismatch {
                what,
                expected: st(&ss),
                found: st(&sd),
            });
            return None;
        }
        Some(())
    }

    fn need_dtype(
        &mut self,
        what: &'static str,
        d: DType,
        ok: bool,
        expected: &'static str,
    ) -> Option<()> {
        if ok {
            Some(())
        } else {
            self.err(E::BadDtype {
                what,
                expected,
                found: d,
            });
            None
        }
    }

    fn same_dtype(&mut self, what: &'static str, expected: DType, found: DType) -> Option<()> {
        if expected == found {
            Some(())
        } else {
            self.err(E::DtypeMismatch {
                what,
                expected,
                found,
            });
            None
        }
    }

    /// Broadcast of elementwise operand shapes: equal, or scalars.
    fn broadcast(&mut self, shapes: &[&[usize]]) -> Option<Vec<usize>> {
        let mut out: &[usize] = &[];
        for s in shapes {
            if s.is_empty() {
                continue;
            }
            if out.is_empty() {
                out = s;
            } else if out != *s {
                self.err(E::ShapeMismatch {
                    what: "elementwise operands",
                    expected: st(out),
                    found: st(s),
                });
                return None;
            }
        }
        Some(out.to_vec())
    }

    /// A stored value: same dtype as the ref, the indexed shape or a scalar.
    fn stored(&mut self, v: Value, dtype: DType, shape: &[usize]) -> Option<()> {
        let (d, s) = self.val(v, "stored value")?;
        self.same_dtype("stored value", dtype, d)?;
        if !s.is_empty() && s != shape {
            self.err(E::ShapeMismatch {
                what: "stored value",
                expected: st(shape),
                found: st(&s),
            });
            return None;
        }
        Some(())
    }

    fn mask(&mut self, m: Option<Value>, shape: &[usize]) -> Option<()> {
        if let Some(m) = m {
            let (d, s) = self.val(m, "mask")?;
            self.same_dtype("mask", DType::Bool, d)?;
            if s != shape && !s.is_empty() {
                self.err(E::ShapeMismatch {
                    what: "mask",
                    expected: st(shape),
                    found: st(&s),
                });
                return None;
            }
        }
        Some(())
    }

    fn axis(&mut self, axis: usize, rank: usize) -> Option<()> {
        if axis < rank {
            Some(())
        } else {
            self.err(E::BadAxis { axis, rank });
            None
        }
    }

    fn need_mesh(&mut self, op: &'static str) -> Option<()> {
        if self.k.mesh.is_empty() {
            self.err(E::NoMesh { op });
            return None;
        }
        Some(())
    }

    /// A device id: a scalar `i32`, inside the mesh when it is a constant.
    fn device(&mut self, v: Value) -> Option<()> {
        self.scalar(v, "device id", DType::I32)?;
        let devices = self.k.num_devices().unwrap_or(usize::MAX);
        if let Some(Op::Const(c)) = self.k.def_inst(v).map(|i| &self.k.insts[i].op) {
            let d = c.as_i64().unwrap_or(-1);
            if d < 0 || d as u128 >= devices as u128 {
                self.err(E::BadDevice { device: d, devices });
                return None;
            }
        }
        Some(())
    }

    fn grid_axis(&mut self, axis: usize) -> Option<()> {
        let rank = self.k.grid.len();
        if axis < rank {
            Some(())
        } else {
            self.err(E::BadGridAxis { axis, rank });
            None
        }
    }

    /// Types of an instruction's results, or `None` after an error.
    pub(crate) fn type_inst(&mut self, inst: Inst) -> Option<Vec<Type>> {
        let op = &self.k.insts[inst].op;
        if self.in_index_map() {
            let allowed = matches!(
                op,
                Op::Const(_)
                    | Op::Unary(..)
                    | Op::Binary(..)
                    | Op::Compare(..)
                    | Op::Select { .. }
                    | Op::Cast { .. }
                    | Op::Bitcast { .. }
                    | Op::Load { .. }
            );
            if !allowed {
                self.err(E::NotAllowedInIndexMap(op.name()));
                return None;
            }
        }
        let one = |t: Type| Some(vec![t]);
        match op {
            Op::Const(s) => one(Type::scalar(s.dtype())),
            Op::Full { value, shape } => one(Type::array(value.dtype(), shape.clone())),
            Op::Iota { dtype, shape, dim } => {
                self.need_dtype("iota", *dtype, dtype.is_numeric(), "a numeric dtype")?;
                self.axis(*dim, shape.len())?;
                one(Type::array(*dtype, shape.clone()))
            }
            Op::ProgramId { axis } | Op::NumPrograms { axis } => {
                self.grid_axis(*axis)?;
                one(Type::scalar(DType::I32))
            }
            Op::AxisIndex { axis } => {
                self.need_mesh("axis_index")?;
                if *axis >= self.k.mesh.len() {
                    self.err(E::BadMeshAxis {
                        axis: *axis,
                        rank: self.k.mesh.len(),
                    });
                    return None;
                }
                one(Type::scalar(DType::I32))
            }
            Op::BarrierSemaphore => {
                self.need_mesh("barrier_semaphore")?;
                one(Type::Ref(RefType {
                    elem: RefElem::Semaphore(SemaphoreKind::Regular),
                    shape: Vec::new(),
                    space: MemorySpace::Smem,
                }))
            }
            Op::Unary(u, x) => {
                let (d, s) = self.val(*x, "operand")?;
                let ok = match u {
                    UnaryOp::Not => d.is_int() || d == DType::Bool,
                    _ if u.int_only() => d.is_int(),
                    _ if u.float_only() => d.is_float() && !d.is_fp8(),
                    _ => d.is_numeric(),
                };
                let expected = match u {
                    UnaryOp::Not => "an integer or bool",
                    _ if u.int_only() => "an integer",
                    _ if d.is_fp8() => FP8_STORAGE_ONLY,
                    _ if u.float_only() => "a float",
                    _ => "a numeric dtype",
                };
                self.need_dtype("operand", d, ok, expected)?;
                one(Type::array(d, s))
            }
            Op::Binary(b, x, y) => {
                let (dx, sx) = self.val(*x, "lhs")?;
                let (dy, sy) = self.val(*y, "rhs")?;
                self.same_dtype("rhs", dx, dy)?;
                let (ok, expected) = if dx.is_fp8() {
                    (false, FP8_STORAGE_ONLY)
                } else if b.is_arithmetic() {
                    (dx.is_numeric(), "a numeric dtype")
                } else if b.is_bitwise() {
                    (dx.is_int() || dx == DType::Bool, "an integer or bool")
                } else if b.is_shift() {
                    (dx.is_int(), "an integer")
                } else {
                    debug_assert!(matches!(b, BinaryOp::Pow | BinaryOp::Atan2));
                    (dx.is_float() && !dx.is_fp8(), "a float")
                };
                self.need_dtype("operands", dx, ok, expected)?;
                let s = self.broadcast(&[&sx, &sy])?;
                one(Type::array(dx, s))
            }
            Op::Compare(_, x, y) => {
                let (dx, sx) = self.val(*x, "lhs")?;
                let (dy, sy) = self.val(*y, "rhs")?;
                self.same_dtype("rhs", dx, dy)?;
                let s = self.broadcast(&[&sx, &sy])?;
                one(Type::array(DType::Bool, s))
            }
            Op::Select {
                cond,
                on_true,
                on_false,
            } => {
                let (dc, sc) = self.val(*cond, "condition")?;
                self.same_dtype("condition", DType::Bool, dc)?;
                let (dt, st_) = self.val(*on_true, "on_true")?;
                let (df, sf) = self.val(*on_false, "on_false")?;
                self.same_dtype("on_false", dt, df)?;
                let s = self.broadcast(&[&sc, &st_, &sf])?;
                one(Type::array(dt, s))
            }
            Op::Cast { x, to } => {
                let (_, s) = self.val(*x, "operand")?;
                one(Type::array(*to, s))
            }
            Op::Bitcast { x, to } => {
                let (d, s) = self.val(*x, "operand")?;
                if d == DType::Bool || *to == DType::Bool || d.size_bytes() != to.size_bytes() {
                    self.err(E::BitcastWidth { from: d, to: *to });
                    return None;
                }
                one(Type::array(*to, s))
            }
            Op::BroadcastInDim { x, shape, dims } => {
                let (d, s) = self.val(*x, "operand")?;
                let bad = |reason| E::BadBroadcast {
                    from: st(&s),
                    to: st(shape),
                    dims: dims.clone(),
                    reason,
                };
                if dims.len() != s.len() {
                    self.err(bad("one target dim is needed per operand dim"));
                    return None;
                }
                if dims.windows(2).any(|w| w[0] >= w[1]) {
                    self.err(bad("dims must be strictly increasing"));
                    return None;
                }
                for (i, &dd) in dims.iter().enumerate() {
                    if dd >= shape.len() {
                        self.err(bad("a target dim is out of range"));
                        return None;
                    }
                    if s[i] != 1 && s[i] != shape[dd] {
                        self.err(bad("an operand dim is neither 1 nor the target size"));
                        return None;
                    }
                }
                one(Type::array(d, shape.clone()))
            }
            Op::Reshape { x, shape } => {
                let (d, s) = self.val(*x, "operand")?;
                let (from_n, to_n) = (num_elements(&s), num_elements(shape));
                if from_n != to_n || from_n.is_none() {
                    self.err(E::ReshapeCount {
                        from: st(&s),
                        from_n: from_n.unwrap_or(usize::MAX),
                        to: st(shape),
                        to_n: to_n.unwrap_or(usize::MAX),
                    });
                    return None;
                }
                one(Type::array(d, shape.clone()))
            }
            Op::Transpose { x, perm } => {
                let (d, s) = self.val(*x, "operand")?;
                let mut seen = vec![false; s.len()];
                let ok = perm.len() == s.len()
                    && perm
                        .iter()
                        .all(|&p| p < s.len() && !std::mem::replace(&mut seen[p], true));
                if !ok {
                    self.err(E::BadPermutation {
                        perm: perm.clone(),
                        rank: s.len(),
                    });
                    return None;
                }
                one(Type::array(
                    d,
                    perm.iter().map(|&p| s[p]).collect::<Vec<_>>(),
                ))
            }
            Op::Concatenate { xs, axis } => {
                let Some((&first, rest)) = xs.split_first() else {
                    self.err(E::EmptyConcat);
                    return None;
                };
                let (d, mut s) = self.val(first, "operand")?;
                self.axis(*axis, s.len())?;
                for &x in rest {
                    let (dx, sx) = self.val(x, "operand")?;
                    self.same_dtype("operand", d, dx)?;
                    let compatible = sx.len() == s.len()
                        && sx
                            .iter()
                            .zip(&s)
                            .enumerate()
                            .all(|(i, (a, b))| i == *axis || a == b);
                    if !compatible {
                        self.err(E::ShapeMismatch {
                            what: "concatenated operand",
                            expected: st(&s),
                            found: st(&sx),
                        });
                        return None;
                    }
                    s[*axis] = s[*axis].checked_add(sx[*axis])?;
                }
                one(Type::array(d, s))
            }
            Op::Slice {
                x,
                start,
                limit,
                strides,
            } => {
                let (d, s) = self.val(*x, "operand")?;
                if start.len() != s.len() || limit.len() != s.len() || strides.len() != s.len() {
                    self.err(E::BadSlice {
                        shape: st(&s),
                        reason: "start, limit and strides need one entry per dimension".into(),
                    });
                    return None;
                }
                let mut out = Vec::new();
                for i in 0..s.len() {
                    if start[i] > limit[i] || limit[i] > s[i] || strides[i] == 0 {
                        self.err(E::BadSlice {
                            shape: st(&s),
                            reason: format!(
                                "dimension {i}: need start <= limit <= {} and stride >= 1, found {}..{} step {}",
                                s[i], start[i], limit[i], strides[i]
                            ),
                        });
                        return None;
                    }
                    out.push((limit[i] - start[i]).div_ceil(strides[i]));
                }
                one(Type::array(d, out))
            }
            Op::Reduce { op, x, axes } => {
                let (d, s) = self.val(*x, "operand")?;
                let mut seen = vec![false; s.len()];
                for &a in axes {
                    self.axis(a, s.len())?;
                    if std::mem::replace(&mut seen[a], true) {
                        self.err(E::DuplicateAxis(a));
                        return None;
                    }
                }
                let (ok, expected) = match op {
                    ReduceOp::And | ReduceOp::Or => {
                        (d.is_int() || d == DType::Bool, "an integer or bool")
                    }
                    _ if d.is_fp8() => (false, FP8_STORAGE_ONLY),
                    _ => (d.is_numeric(), "a numeric dtype"),
                };
                self.need_dtype("operand", d, ok, expected)?;
                let arg = matches!(op, ReduceOp::Argmax | ReduceOp::Argmin);
                if arg && axes.len() != 1 {
                    self.err(E::BadAxis {
                        axis: axes.len(),
                        rank: 1,
                    });
                    return None;
                }
                let out: Vec<usize> = (0..s.len()).filter(|i| !seen[*i]).map(|i| s[i]).collect();
                one(Type::array(if arg { DType::I32 } else { d }, out))
            }
            Op::Cumsum { x, axis } => {
                let (d, s) = self.val(*x, "operand")?;
                self.axis(*axis, s.len())?;
                let expected = if d.is_fp8() {
                    FP8_STORAGE_ONLY
                } else {
                    "a numeric dtype"
                };
                self.need_dtype("operand", d, d.is_numeric(), expected)?;
                one(Type::array(d, s))
            }
            Op::Dot {
                lhs,
                rhs,
                transpose_lhs,
                transpose_rhs,
                preferred,
            } => {
                let (dl, sl) = self.val(*lhs, "lhs")?;
                let (dr, sr) = self.val(*rhs, "rhs")?;
                self.same_dtype("rhs", dl, dr)?;
                self.need_dtype(
                    "operands",
                    dl,
                    matches!(
                        dl,
                        DType::F32 | DType::BF16 | DType::F16 | DType::I32 | DType::I8 | DType::U8
                    ),
                    if dl.is_fp8() {
                        FP8_STORAGE_ONLY
                    } else {
                        "f32, bf16, f16, i32, i8 or u8"
                    },
                )?;
                let out = preferred.unwrap_or(dl.default_accumulator());
                let wide = if dl.is_float() {
                    DType::F32
                } else {
                    DType::I32
                };
                self.need_dtype(
                    "preferred_element_type",
                    out,
                    out == dl || out == wide,
                    "the operands' dtype, or f32 for float operands and i32 for integer ones",
                )?;
                let t = |s: &[usize], tr: bool| {
                    if s.len() == 2 && tr {
                        vec![s[1], s[0]]
                    } else {
                        s.to_vec()
                    }
                };
                let (a, b) = (t(&sl, *transpose_lhs), t(&sr, *transpose_rhs));
                if a.len() != 2 || b.len() != 2 || a[1] != b[0] {
                    self.err(E::DotShapes {
                        lhs: st(&a),
                        rhs: st(&b),
                    });
                    return None;
                }
                one(Type::array(out, vec![a[0], b[1]]))
            }
            Op::Load { src, mask, other } => {
                let (d, s) = self.data_access(src, "load", false)?;
                self.mask(*mask, &s)?;
                if let Some(o) = other {
                    if mask.is_none() {
                        self.err(E::OtherWithoutMask);
                        return None;
                    }
                    self.stored(*o, d, &s)?;
                }
                one(Type::array(d, s))
            }
            Op::Store { dst, value, mask } => {
                let (d, s) = self.data_access(dst, "store", true)?;
                self.stored(*value, d, &s)?;
                self.mask(*mask, &s)?;
                Some(vec![])
            }
            Op::Swap { dst, value, mask } => {
                let (d, s) = self.data_access(dst, "swap", true)?;
                self.stored(*value, d, &s)?;
                self.mask(*mask, &s)?;
                one(Type::array(d, s))
            }
            Op::Atomic {
                op,
                dst,
                value,
                mask,
            } => {
                let (d, s) = self.data_access(dst, "atomic", true)?;
                self.stored(*value, d, &s)?;
                self.mask(*mask, &s)?;
                let (ok, expected) = match op {
                    _ if d.bits() != 32 || d == DType::Bool => (false, "a 32-bit dtype"),
                    AtomicOp::Add | AtomicOp::Max | AtomicOp::Min => {
                        (d.is_numeric(), "a numeric dtype")
                    }
                    AtomicOp::And | AtomicOp::Or | AtomicOp::Xor => (d.is_int(), "an integer"),
                    AtomicOp::Xchg => (true, "a 32-bit dtype"),
                };
                self.need_dtype("ref", d, ok, expected)?;
                one(Type::array(d, s))
            }
            Op::AtomicCas { dst, expected, new } => {
                let (d, s) = self.data_access(dst, "atomic_cas", true)?;
                self.need_dtype(
                    "ref",
                    d,
                    d.bits() == 32 && d != DType::Bool,
                    "a 32-bit dtype",
                )?;
                self.stored(*expected, d, &s)?;
                self.stored(*new, d, &s)?;
                one(Type::array(d, s))
            }
            Op::For {
                lower,
                upper,
                step,
                inits,
                body,
            } => {
                self.scalar(*lower, "lower bound", DType::I32)?;
                self.scalar(*upper, "upper bound", DType::I32)?;
                if *step < 1 {
                    self.err(E::BadStep(*step));
                    return None;
                }
                let carries = self.carries(inits)?;
                let mut args = vec![(Type::scalar(DType::I32), None)];
                args.extend(carries.iter().map(|t| (t.clone(), None)));
                self.region_with_arity(*body, "for body", &args)?;
                let ys = self.check_region(*body, &args)?;
                self.yields_match("for body", &ys, &carries)?;
                Some(carries)
            }
            Op::While { inits, cond, body } => {
                let carries = self.carries(inits)?;
                let args: Vec<_> = carries.iter().map(|t| (t.clone(), None)).collect();
                self.region_with_arity(*cond, "while condition", &args)?;
                self.region_with_arity(*body, "while body", &args)?;
                let cy = self.check_region(*cond, &args)?;
                self.yields_match("while condition", &cy, &[Type::scalar(DType::Bool)])?;
                let by = self.check_region(*body, &args)?;
                self.yields_match("while body", &by, &carries)?;
                Some(carries)
            }
            Op::If {
                cond,
                then_region,
                else_region,
            } => {
                self.scalar(*cond, "condition", DType::Bool)?;
                self.region_with_arity(*then_region, "then branch", &[])?;
                self.region_with_arity(*else_region, "else branch", &[])?;
                let ty = self.check_region(*then_region, &[])?;
                let ey = self.check_region(*else_region, &[])?;
                let mut results = Vec::new();
                for t in &ty {
                    match t {
                        Some(Type::Ref(_)) => {
                            self.err(E::RefAsValue {
                                what: "branch result",
                            });
                            return None;
                        }
                        Some(t) => results.push(t.clone()),
                        None => return None,
                    }
                }
                self.yields_match("else branch", &ey, &results)?;
                Some(results)
            }
            Op::RunScoped { scratch, body } => {
                let mut ok = true;
                for (index, t) in scratch.iter().enumerate() {
                    if t.space == MemorySpace::Any {
                        self.err(E::ScopedSpace {
                            index,
                            space: t.space,
                        });
                        ok = false;
                    }
                    ok &= self.check_shape_ok(&t.shape);
                }
                if !ok {
                    return None;
                }
                let args: Vec<_> = scratch
                    .iter()
                    .map(|t| (Type::Ref(t.clone()), Some(RefOrigin::Scoped)))
                    .collect();
                self.region_with_arity(*body, "run_scoped body", &args)?;
                let ys = self.check_region(*body, &args)?;
                let mut results = Vec::new();
                for t in ys {
                    match t {
                        Some(Type::Ref(_)) => {
                            self.err(E::RefAsValue {
                                what: "run_scoped result",
                            });
                            return None;
                        }
                        Some(t) => results.push(t),
                        None => return None,
                    }
                }
                Some(results)
            }
            Op::DmaStart { src, dst, sem } => {
                let c = self.copy_endpoints(src, dst, "dma dst");
                let m = self.semaphore(sem, Some(SemaphoreKind::Dma));
                c?;
                m?;
                Some(vec![])
            }
            Op::DmaWait { dst, sem } => {
                let d = self.dma_endpoint(dst, false);
                let m = self.semaphore(sem, Some(SemaphoreKind::Dma));
                d?;
                m?;
                Some(vec![])
            }
            Op::RemoteDmaStart {
                src,
                dst,
                send,
                recv,
                device,
            } => {
                self.need_mesh("remote_dma_start")?;
                if !matches!(
                    self.origins[dst.r.index()],
                    Some(RefOrigin::Param(_)) | None
                ) {
                    self.err(E::RemoteScratch);
                    return None;
                }
                let c = self.copy_endpoints(src, dst, "remote dma dst");
                let m1 = self.semaphore(send, Some(SemaphoreKind::Dma));
                let m2 = self.semaphore(recv, Some(SemaphoreKind::Dma));
                let dev = self.device(*device);
                c?;
                m1?;
                m2?;
                dev?;
                Some(vec![])
            }
            Op::SemaphoreSignal {
                sem,
                inc,
                core,
                device,
            } => {
                self.semaphore(sem, Some(SemaphoreKind::Regular))?;
                self.scalar(*inc, "increment", DType::I32)?;
                if let Some(c) = core {
                    self.scalar(*c, "core index", DType::I32)?;
                }
                if let Some(d) = device {
                    self.need_mesh("semaphore_signal with a device")?;
                    self.device(*d)?;
                }
                Some(vec![])
            }
            Op::SemaphoreWait { sem, value } => {
                self.semaphore(sem, Some(SemaphoreKind::Regular))?;
                self.scalar(*value, "value", DType::I32)?;
                Some(vec![])
            }
            Op::SemaphoreRead { sem } => {
                self.semaphore(sem, None)?;
                one(Type::scalar(DType::I32))
            }
            Op::DebugPrint { fmt, args } => {
                let placeholders = fmt.matches("{}").count();
                if placeholders != args.len() {
                    self.err(E::FormatArgs {
                        placeholders,
                        args: args.len(),
                    });
                    return None;
                }
                for &a in args {
                    self.val(a, "argument")?;
                }
                Some(vec![])
            }
        }
    }

    fn check_shape_ok(&mut self, shape: &[usize]) -> bool {
        if num_elements(shape).is_none() {
            self.err(E::ShapeOverflow(st(shape)));
            false
        } else {
            true
        }
    }

    fn carries(&mut self, inits: &[Value]) -> Option<Vec<Type>> {
        let mut out = Vec::new();
        for &v in inits {
            let (d, s) = self.val(v, "loop-carried value")?;
            out.push(Type::array(d, s));
        }
        Some(out)
    }

    fn region_with_arity(
        &mut self,
        region: crate::kernel::Region,
        what: &'static str,
        args: &[(Type, Option<RefOrigin>)],
    ) -> Option<()> {
        let Some(r) = self.k.regions.get(region) else {
            self.err(E::Malformed(format!(
                "{what}: region {region:?} does not exist"
            )));
            return None;
        };
        if r.args.len() != args.len() {
            self.err(E::RegionArity {
                what,
                expected: args.len(),
                found: r.args.len(),
            });
            return None;
        }
        Some(())
    }

    fn yields_match(
        &mut self,
        what: &'static str,
        ys: &[Option<Type>],
        expected: &[Type],
    ) -> Option<()> {
        if ys.len() != expected.len() {
            self.err(E::YieldCount {
                what,
                expected: expected.len(),
                found: ys.len(),
            });
            return None;
        }
        let mut ok = true;
        for (index, (y, e)) in ys.iter().zip(expected).enumerate() {
            match y {
                Some(t) if t != e => {
                    self.err(E::YieldType {
                        what,
                        index,
                        expected: e.to_string(),
                        found: t.to_string(),
                    });
                    ok = false;
                }
                Some(_) => {}
                None => ok = false,
            }
        }
        ok.then_some(())
    }
}
