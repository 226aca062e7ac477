//! Atomic read-modify-writes on refs in atomic memory: native where WGSL
//! has the operation, compare-exchange loops elsewhere.

use pallas_ir::{AtomicOp, DType, RefAt, Value};

use super::{from_bits, scalar, to_bits, Gen, GenError, Mem};

impl Gen<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn atomic(
        &mut self,
        r: Value,
        op: AtomicOp,
        dst: &RefAt,
        value: Value,
        mask: Option<Value>,
        expected: Option<Value>,
        what: &str,
    ) -> Result<(), GenError> {
        let span = self.span(dst)?;
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
            match (native, pallas_exec::eval::atomic_as_binary(op)) {
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
}
