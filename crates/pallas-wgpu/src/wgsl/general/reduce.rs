//! Reductions: one invocation per result, or each result split over
//! invocations when there are few results over long reductions.

use std::fmt::Write;

use pallas_ir::{ReduceOp, Value};

use super::{coord, from_bits, scalar, strides, to_bits, unroll, Gen, GenError, Mem, WORKGROUP};

impl Gen<'_> {
    pub(super) fn reduce(
        &mut self,
        r: Value,
        op: ReduceOp,
        x: Value,
        axes: &[usize],
    ) -> Result<(), GenError> {
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
                    // A narrow dtype rounds (or wraps) its wide sum once.
                    Ok(scalar::narrow(&mut g.h, d, &acc))
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
            Ok(scalar::narrow(&mut g.h, d, &total))
        })
    }
}
