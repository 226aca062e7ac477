//! `dot`: register-tiled where the result is large enough, one
//! invocation per element otherwise.

use std::fmt::Write;

use pallas_ir::{BinaryOp, DType, Scalar, Value};

use super::{from_bits, scalar, to_bits, unroll, Gen, GenError, Mem, Val, TILES};

impl Gen<'_> {
    pub(super) fn dot(
        &mut self,
        r: Value,
        a: Value,
        b: Value,
        ta: bool,
        tb: bool,
    ) -> Result<(), GenError> {
        let (od, ash) = self.ty(a);
        let (_, bsh) = self.ty(b);
        let (rd, rs) = self.ty(r);
        let kd = if ta { ash[0] } else { ash[1] };
        let n = rs[1].max(1);
        // 32-bit operands into their own dtype: register-tiled. Narrow
        // operands, or a result in another dtype: one invocation per
        // element, accumulating in f32 or i32 and converting once.
        let d = if od.is_float() {
            DType::F32
        } else {
            DType::I32
        };
        if let Some((t, _)) = TILES
            .into_iter()
            .find(|&(t, least)| rs[0] % t == 0 && n % t == 0 && rs[0] * n >= least)
            .filter(|_| od == rd && !od.is_narrow())
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
                let (x, y) = (
                    scalar::cast(&mut g.h, od, d, &x),
                    scalar::cast(&mut g.h, od, d, &y),
                );
                let m = scalar::binary(&mut g.h, BinaryOp::Mul, d, &x, &y);
                let s = scalar::binary(&mut g.h, BinaryOp::Add, d, &acc, &m);
                g.line(format!("{acc} = {s}; }}"));
            }
            g.close();
            Ok(scalar::cast(&mut g.h, d, rd, &acc))
        })
    }

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
            Operand {
                name: "a",
                value: a,
                wide: wide(self, a),
                along_k: !ta,
                row: if ta { ash[1] } else { kd },
                origin: "i0",
            },
            Operand {
                name: "b",
                value: b,
                wide: wide(self, b),
                along_k: tb,
                row: if tb { kd } else { bsh[1] },
                origin: "j0",
            },
        ];
        self.vec4_used |= ops.iter().any(|o| o.wide.is_some());
        self.open(format!("for (var k0 = 0u; k0 < {kd}u; k0 = k0 + {u}u) {{"));
        for &Operand {
            name: nm,
            wide,
            along_k,
            row,
            origin: o0,
            ..
        } in &ops
        {
            if let (Some(off), true) = (wide, along_k) {
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
            for &Operand {
                name: nm,
                value: v,
                wide,
                along_k,
                row,
                origin: o0,
            } in &ops
            {
                let mut elems = Vec::new();
                match (wide, along_k) {
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

/// One operand of a tiled `dot`, as the tile loop reads it.
struct Operand {
    /// Prefix of its registers (`a`, `b`).
    name: &'static str,
    value: Value,
    /// Its area offset, when it is read as `vec4<u32>`.
    wide: Option<usize>,
    /// Whether consecutive contraction steps are adjacent words (else
    /// consecutive tile rows or columns are).
    along_k: bool,
    /// Words between consecutive rows of its layout.
    row: usize,
    /// The WGSL name of the tile's first row or column (`i0`, `j0`).
    origin: &'static str,
}
