//! Prints a kernel in the canonical text format.

use std::fmt::Write;

use crate::kernel::{BlockDim, Kernel, Param, Region, Value};
use crate::ops::{Indexer, Offset, Op, RefAt};
use crate::types::{RefType, ShapeDisplay};

/// Prints a kernel as text that [`super::parse`] reads back to an equal
/// kernel. Values are named `%N` after their position in the value arena.
///
/// The kernel should be structurally sound (as from the builder or the
/// parser); dangling handles print as `%?`.
pub fn print(k: &Kernel) -> String {
    let mut p = Printer {
        k,
        out: String::new(),
    };
    p.kernel();
    p.out
}

struct Printer<'k> {
    k: &'k Kernel,
    out: String,
}

fn shape(s: &[usize]) -> String {
    format!("[{}]", join(s.iter().map(|d| d.to_string())))
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

fn ref_type(t: &RefType) -> String {
    let mut s = format!("{}{}", t.elem, ShapeDisplay(&t.shape));
    if !t.is_semaphore() {
        write!(s, " {}", t.space).ok();
    }
    s
}

/// Escapes a string for the text format.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                write!(out, "\\u{{{:x}}}", c as u32).ok();
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Printer<'_> {
    fn v(&self, v: Value) -> String {
        if v.index() < self.k.values.len() {
            format!("%{}", v.index())
        } else {
            "%?".into()
        }
    }

    fn vs(&self, vs: &[Value]) -> String {
        join(vs.iter().map(|&v| self.v(v)))
    }

    fn offset(&self, o: Offset) -> String {
        match o {
            Offset::Static(n) => n.to_string(),
            Offset::Dynamic(v) => self.v(v),
        }
    }

    fn at(&self, a: &RefAt) -> String {
        let idx = a.idx.iter().map(|i| match *i {
            Indexer::Full => ":".to_string(),
            Indexer::Index(o) => self.offset(o),
            Indexer::Slice {
                start,
                size,
                stride: 1,
            } => format!("ds({}, {size})", self.offset(start)),
            Indexer::Slice {
                start,
                size,
                stride,
            } => format!("ds({}, {size}, {stride})", self.offset(start)),
        });
        format!("{}[{}]", self.v(a.r), join(idx))
    }

    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn kernel(&mut self) {
        let k = self.k;
        let grid = join(
            k.grid
                .iter()
                .map(|d| format!("{} {}", d.semantics.name(), d.size)),
        );
        let mesh = if k.mesh.is_empty() {
            String::new()
        } else {
            let axes = join(k.mesh.iter().map(|a| format!("{} {}", a.name, a.size)));
            format!(" mesh({axes})")
        };
        self.line(0, &format!("kernel {} grid({grid}){mesh} {{", k.name));
        for p in &k.params {
            self.param(p);
        }
        for &(i, o) in &k.aliases {
            self.line(1, &format!("alias {i} -> {o}"));
        }
        let args = self
            .k
            .regions
            .get(k.body)
            .map(|r| self.vs(&r.args))
            .unwrap_or_default();
        self.line(1, &format!("body({args}) {{"));
        self.region_body(k.body, 2);
        self.line(1, "}");
        self.line(0, "}");
    }

    fn param(&mut self, p: &Param) {
        let mut s = format!(
            "{} {}: {}{}",
            p.kind.keyword(),
            p.name,
            p.elem,
            ShapeDisplay(&p.shape)
        );
        if !matches!(p.elem, crate::types::RefElem::Semaphore(_)) {
            write!(s, " {}", p.space).ok();
        }
        if let Some(padded) = &p.padded {
            write!(s, " padded{}", ShapeDisplay(padded)).ok();
        }
        match &p.block {
            None => self.line(1, &s),
            Some(b) => {
                let dims = join(b.block_shape.iter().map(|d| match d {
                    BlockDim::Sized(n) => n.to_string(),
                    BlockDim::Squeezed => "_".to_string(),
                }));
                let args = self
                    .k
                    .regions
                    .get(b.index_map)
                    .map(|r| self.vs(&r.args))
                    .unwrap_or_default();
                write!(s, " block[{dims}] map({args}) {{").ok();
                self.line(1, &s);
                self.region_body(b.index_map, 2);
                self.line(1, "}");
            }
        }
    }

    /// Prints a region's instructions and yield (not its braces).
    fn region_body(&mut self, r: Region, depth: usize) {
        let Some(region) = self.k.regions.get(r) else {
            return;
        };
        for &inst in &region.insts {
            let Some(data) = self.k.insts.get(inst) else {
                continue;
            };
            let lhs = if data.results.is_empty() {
                String::new()
            } else {
                format!("{} = ", self.vs(&data.results))
            };
            self.op(&lhs, &data.op, depth);
        }
        if !region.yields.is_empty() {
            let ys = self.vs(&region.yields);
            self.line(depth, &format!("yield {ys}"));
        }
    }

    fn args_of(&self, r: Region) -> String {
        self.k
            .regions
            .get(r)
            .map(|r| self.vs(&r.args))
            .unwrap_or_default()
    }

    fn op(&mut self, lhs: &str, op: &Op, depth: usize) {
        let mask = |p: &Self, m: &Option<Value>| {
            m.map(|m| format!(" mask {}", p.v(m))).unwrap_or_default()
        };
        let text = match op {
            Op::Const(s) => format!("const {s}"),
            Op::Full { value, shape: s } => format!("full {value} {}", shape(s)),
            Op::Iota {
                dtype,
                shape: s,
                dim,
            } => format!("iota {dtype}{} dim {dim}", shape(s)),
            Op::ProgramId { axis } => format!("program_id {axis}"),
            Op::NumPrograms { axis } => format!("num_programs {axis}"),
            Op::AxisIndex { axis } => match self.k.mesh.get(*axis) {
                Some(a) => format!("axis_index {}", a.name),
                None => format!("axis_index {axis}"),
            },
            Op::BarrierSemaphore => "barrier_semaphore".into(),
            Op::Unary(u, x) => format!("{} {}", u.name(), self.v(*x)),
            Op::Binary(b, x, y) => format!("{} {}, {}", b.name(), self.v(*x), self.v(*y)),
            Op::Compare(c, x, y) => format!("cmp {} {}, {}", c.name(), self.v(*x), self.v(*y)),
            Op::Select {
                cond,
                on_true,
                on_false,
            } => format!("select {}", self.vs(&[*cond, *on_true, *on_false])),
            Op::Cast { x, to } => format!("cast {} to {to}", self.v(*x)),
            Op::Bitcast { x, to } => format!("bitcast {} to {to}", self.v(*x)),
            Op::BroadcastInDim { x, shape: s, dims } => format!(
                "broadcast_in_dim {} to {} dims {}",
                self.v(*x),
                shape(s),
                shape(dims)
            ),
            Op::Reshape { x, shape: s } => format!("reshape {} to {}", self.v(*x), shape(s)),
            Op::Transpose { x, perm } => format!("transpose {} perm {}", self.v(*x), shape(perm)),
            Op::Concatenate { xs, axis } => format!("concatenate {} axis {axis}", self.vs(xs)),
            Op::Slice {
                x,
                start,
                limit,
                strides,
            } => format!(
                "slice {} start {} limit {} strides {}",
                self.v(*x),
                shape(start),
                shape(limit),
                shape(strides)
            ),
            Op::Reduce { op, x, axes } => {
                format!("reduce {} {} axes {}", op.name(), self.v(*x), shape(axes))
            }
            Op::Cumsum { x, axis } => format!("cumsum {} axis {axis}", self.v(*x)),
            Op::Dot {
                lhs,
                rhs,
                transpose_lhs,
                transpose_rhs,
                preferred,
            } => format!(
                "dot {}, {}{}{}{}",
                self.v(*lhs),
                self.v(*rhs),
                if *transpose_lhs { " transpose_lhs" } else { "" },
                if *transpose_rhs { " transpose_rhs" } else { "" },
                match preferred {
                    Some(d) => format!(" into {d}"),
                    None => String::new(),
                }
            ),
            Op::Load {
                src,
                mask: m,
                other,
            } => format!(
                "load {}{}{}",
                self.at(src),
                mask(self, m),
                other
                    .map(|o| format!(" other {}", self.v(o)))
                    .unwrap_or_default()
            ),
            Op::Store {
                dst,
                value,
                mask: m,
            } => {
                format!(
                    "store {}, {}{}",
                    self.at(dst),
                    self.v(*value),
                    mask(self, m)
                )
            }
            Op::Swap {
                dst,
                value,
                mask: m,
            } => {
                format!("swap {}, {}{}", self.at(dst), self.v(*value), mask(self, m))
            }
            Op::Atomic {
                op,
                dst,
                value,
                mask: m,
            } => format!(
                "atomic {} {}, {}{}",
                op.name(),
                self.at(dst),
                self.v(*value),
                mask(self, m)
            ),
            Op::AtomicCas { dst, expected, new } => format!(
                "atomic_cas {}, {}, {}",
                self.at(dst),
                self.v(*expected),
                self.v(*new)
            ),
            Op::For {
                lower,
                upper,
                step,
                inits,
                body,
            } => {
                let head = format!(
                    "{lhs}for {} to {} step {step} init({}) do({}) {{",
                    self.v(*lower),
                    self.v(*upper),
                    self.vs(inits),
                    self.args_of(*body)
                );
                self.line(depth, &head);
                self.region_body(*body, depth + 1);
                self.line(depth, "}");
                return;
            }
            Op::While { inits, cond, body } => {
                let head = format!(
                    "{lhs}while init({}) cond({}) {{",
                    self.vs(inits),
                    self.args_of(*cond)
                );
                self.line(depth, &head);
                self.region_body(*cond, depth + 1);
                self.line(depth, &format!("}} do({}) {{", self.args_of(*body)));
                self.region_body(*body, depth + 1);
                self.line(depth, "}");
                return;
            }
            Op::If {
                cond,
                then_region,
                else_region,
            } => {
                self.line(depth, &format!("{lhs}if {} then {{", self.v(*cond)));
                self.region_body(*then_region, depth + 1);
                let empty_else = self
                    .k
                    .regions
                    .get(*else_region)
                    .is_some_and(|r| r.insts.is_empty() && r.yields.is_empty());
                if !empty_else {
                    self.line(depth, "} else {");
                    self.region_body(*else_region, depth + 1);
                }
                self.line(depth, "}");
                return;
            }
            Op::RunScoped { scratch, body } => {
                let args: Vec<Value> = self
                    .k
                    .regions
                    .get(*body)
                    .map(|r| r.args.clone())
                    .unwrap_or_default();
                let decls = join(scratch.iter().enumerate().map(|(i, t)| match args.get(i) {
                    Some(&a) => format!("{}: {}", self.v(a), ref_type(t)),
                    None => format!("%?: {}", ref_type(t)),
                }));
                self.line(depth, &format!("{lhs}run_scoped({decls}) {{"));
                self.region_body(*body, depth + 1);
                self.line(depth, "}");
                return;
            }
            Op::DmaStart { src, dst, sem } => format!(
                "dma_start {} -> {} sem {}",
                self.at(src),
                self.at(dst),
                self.at(sem)
            ),
            Op::DmaWait { dst, sem } => {
                format!("dma_wait {} sem {}", self.at(dst), self.at(sem))
            }
            Op::RemoteDmaStart {
                src,
                dst,
                send,
                recv,
                device,
            } => format!(
                "remote_dma_start {} -> {} send {} recv {} device {}",
                self.at(src),
                self.at(dst),
                self.at(send),
                self.at(recv),
                self.v(*device)
            ),
            Op::SemaphoreSignal {
                sem,
                inc,
                core,
                device,
            } => format!(
                "semaphore_signal {}, {}{}{}",
                self.at(sem),
                self.v(*inc),
                core.map(|c| format!(" core {}", self.v(c)))
                    .unwrap_or_default(),
                device
                    .map(|d| format!(" device {}", self.v(d)))
                    .unwrap_or_default()
            ),
            Op::SemaphoreWait { sem, value } => {
                format!("semaphore_wait {}, {}", self.at(sem), self.v(*value))
            }
            Op::SemaphoreRead { sem } => format!("semaphore_read {}", self.at(sem)),
            Op::DebugPrint { fmt, args } => {
                let mut s = format!("debug_print {}", quote(fmt));
                for &a in args {
                    write!(s, ", {}", self.v(a)).ok();
                }
                s
            }
        };
        self.line(depth, &format!("{lhs}{text}"));
    }
}
