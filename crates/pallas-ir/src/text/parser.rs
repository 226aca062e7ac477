//! Parses kernel text into a [`Kernel`].
//!
//! Values, instructions and regions are allocated in the same order as the
//! builder allocates them, so a printed kernel parses back to an equal one.

use std::collections::HashMap;

use super::lexer::{lex, Tok};
use super::ParseError;
use crate::arena::{Arena, Handle};
use crate::dtype::{DType, Scalar};
use crate::kernel::{
    BlockDim, BlockSpec, DimSemantics, GridDim, InstData, Kernel, Loc, MeshAxis, Param, ParamKind,
    Region, RegionData, SourceMap, Value, ValueData,
};
use crate::ops::{AtomicOp, BinaryOp, CmpOp, Indexer, Offset, Op, ReduceOp, RefAt, UnaryOp};
use crate::types::{MemorySpace, RefElem, RefType, SemaphoreKind};
use crate::validate::MAX_NESTING;

/// Parses one kernel from text. Never panics; errors carry line:column.
pub fn parse(src: &str) -> Result<Kernel, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        k: Kernel {
            name: String::new(),
            grid: Vec::new(),
            mesh: Vec::new(),
            params: Vec::new(),
            aliases: Vec::new(),
            values: Arena::new(),
            insts: Arena::new(),
            regions: Arena::new(),
            body: Handle::from_index(0),
            locs: SourceMap::default(),
        },
        names: vec![HashMap::new()],
        depth: 0,
    };
    p.kernel()?;
    Ok(p.k)
}

type PResult<T> = Result<T, ParseError>;

struct Parser {
    toks: Vec<(Tok, Loc)>,
    pos: usize,
    k: Kernel,
    /// Value names in scope, innermost region last.
    names: Vec<HashMap<String, Value>>,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].0
    }

    fn loc(&self) -> Loc {
        self.toks[self.pos.min(self.toks.len() - 1)].1
    }

    fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn fail<T>(&self, expected: &str) -> PResult<T> {
        Err(ParseError::new(
            self.loc(),
            expected,
            &self.peek().to_string(),
        ))
    }

    fn punct(&mut self, p: &'static str) -> PResult<()> {
        if *self.peek() == Tok::Punct(p) {
            self.bump();
            Ok(())
        } else {
            self.fail(&format!("`{p}`"))
        }
    }

    fn eat_punct(&mut self, p: &'static str) -> bool {
        if *self.peek() == Tok::Punct(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn keyword(&mut self, kw: &str) -> PResult<()> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            self.fail(&format!("`{kw}`"))
        }
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Tok::Ident(s) if s == kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn ident(&mut self, what: &str) -> PResult<String> {
        match self.peek() {
            Tok::Ident(s) => {
                let s = s.clone();
                self.bump();
                Ok(s)
            }
            _ => self.fail(what),
        }
    }

    fn number<T: std::str::FromStr>(&mut self, what: &str) -> PResult<T> {
        match self.peek() {
            Tok::Number(s) => match s.parse::<T>() {
                Ok(v) => {
                    self.bump();
                    Ok(v)
                }
                Err(_) => self.fail(what),
            },
            _ => self.fail(what),
        }
    }

    fn usize(&mut self) -> PResult<usize> {
        self.number("a non-negative integer")
    }

    fn shape(&mut self) -> PResult<Vec<usize>> {
        self.punct("[")?;
        let mut out = Vec::new();
        if !self.eat_punct("]") {
            loop {
                out.push(self.usize()?);
                if self.eat_punct("]") {
                    break;
                }
                self.punct(",")?;
            }
        }
        Ok(out)
    }

    fn opt_shape(&mut self) -> PResult<Vec<usize>> {
        if *self.peek() == Tok::Punct("[") {
            self.shape()
        } else {
            Ok(Vec::new())
        }
    }

    fn dtype(&mut self) -> PResult<DType> {
        if let Tok::Ident(s) = self.peek() {
            if let Some(d) = DType::from_name(s) {
                self.bump();
                return Ok(d);
            }
        }
        self.fail(&format!("a dtype ({})", DType::names()))
    }

    fn space(&mut self) -> PResult<MemorySpace> {
        if let Tok::Ident(s) = self.peek() {
            if let Some(m) = MemorySpace::from_name(s) {
                self.bump();
                return Ok(m);
            }
        }
        self.fail("a memory space (vmem, smem, any)")
    }

    fn elem(&mut self) -> PResult<RefElem> {
        if self.eat_keyword("sem") {
            return Ok(RefElem::Semaphore(SemaphoreKind::Regular));
        }
        if self.eat_keyword("dma_sem") {
            return Ok(RefElem::Semaphore(SemaphoreKind::Dma));
        }
        match self.dtype() {
            Ok(d) => Ok(RefElem::Data(d)),
            Err(_) => self.fail(&format!(
                "an element type ({}, sem, dma_sem)",
                DType::names()
            )),
        }
    }

    /// `elem shape? space?` (space required for data, absent for semaphores).
    fn ref_type(&mut self) -> PResult<RefType> {
        let elem = self.elem()?;
        let shape = self.opt_shape()?;
        let space = match elem {
            RefElem::Data(_) => self.space()?,
            RefElem::Semaphore(_) => MemorySpace::Smem,
        };
        Ok(RefType { elem, shape, space })
    }

    fn scalar(&mut self) -> PResult<Scalar> {
        if self.eat_keyword("true") {
            return Ok(Scalar::Bool(true));
        }
        if self.eat_keyword("false") {
            return Ok(Scalar::Bool(false));
        }
        let loc = self.loc();
        let neg = self.eat_punct("-");
        enum Lit {
            Num(String),
            Inf,
            Nan(u32),
        }
        let lit = match self.bump() {
            Tok::Number(s) if !neg => Lit::Num(s),
            Tok::Ident(s) if s == "inf" => Lit::Inf,
            Tok::Ident(s) if s == "nan" && !neg => {
                self.punct("(")?;
                let bits = match self.bump() {
                    Tok::Number(h) => h
                        .strip_prefix("0x")
                        .and_then(|h| u32::from_str_radix(h, 16).ok()),
                    _ => None,
                };
                let Some(bits) = bits else {
                    return Err(ParseError::new(
                        loc,
                        "a NaN bit pattern like `0x7fc00000`",
                        "something else",
                    ));
                };
                self.punct(")")?;
                Lit::Nan(bits)
            }
            other => {
                return Err(ParseError::new(
                    loc,
                    "a literal like `2.0:f32`, `-3:i32`, `7:u32`, `true`",
                    &other.to_string(),
                ))
            }
        };
        self.punct(":")?;
        let dloc = self.loc();
        let d = self.dtype()?;
        let bad = |what: &str| {
            Err(ParseError::new(
                loc,
                what,
                "a literal out of range or of another type",
            ))
        };
        let article = if d.name().starts_with(['f', 'i']) {
            "an"
        } else {
            "a"
        };
        let what = format!("{article} {d} literal");
        match (d, lit) {
            (DType::Bool, _) => Err(ParseError::new(
                dloc,
                "`true` or `false` for a bool",
                "a typed literal",
            )),
            (d, Lit::Inf) if d.is_float() => {
                let v = if neg {
                    f32::NEG_INFINITY
                } else {
                    f32::INFINITY
                };
                float_literal(d, v).map_or_else(|| bad(&format!("{what} (it has no infinity)")), Ok)
            }
            (d, Lit::Nan(b)) if d.is_float() => {
                let s = Scalar::from_bits(d, b);
                let fits = d.bits() == 32 || b >> d.bits() == 0;
                match s.as_f32() {
                    Some(v) if fits && v.is_nan() => Ok(s),
                    _ => bad(&format!("a NaN bit pattern of {d}")),
                }
            }
            (d, Lit::Num(s)) if d.is_float() => match s.parse::<f32>() {
                Ok(v) if v.is_finite() => match float_literal(d, v) {
                    Some(s) if s.as_f32().is_some_and(f32::is_finite) => Ok(s),
                    _ => bad(&format!("{what} (out of its range)")),
                },
                _ => bad(&what),
            },
            (d, Lit::Num(s)) => {
                let s = if neg { format!("-{s}") } else { s };
                match s.parse::<i64>().ok().and_then(|v| int_literal(d, v)) {
                    Some(v) => Ok(v),
                    None => bad(&what),
                }
            }
            _ => bad("a literal that fits its dtype"),
        }
    }

    fn value(&mut self) -> PResult<Value> {
        match self.peek() {
            Tok::Value(name) => match self.lookup(name) {
                Some(v) => {
                    self.bump();
                    Ok(v)
                }
                None => self.fail("a value defined earlier"),
            },
            _ => self.fail("a value like `%3`"),
        }
    }

    fn values_until(&mut self, close: &'static str) -> PResult<Vec<Value>> {
        let mut out = Vec::new();
        if self.eat_punct(close) {
            return Ok(out);
        }
        loop {
            out.push(self.value()?);
            if self.eat_punct(close) {
                return Ok(out);
            }
            self.punct(",")?;
        }
    }

    /// `(%a, %b)`: names for new values.
    fn new_names(&mut self) -> PResult<Vec<(String, Loc)>> {
        self.punct("(")?;
        let mut out = Vec::new();
        if self.eat_punct(")") {
            return Ok(out);
        }
        loop {
            out.push(self.new_name()?);
            if self.eat_punct(")") {
                return Ok(out);
            }
            self.punct(",")?;
        }
    }

    fn new_name(&mut self) -> PResult<(String, Loc)> {
        let loc = self.loc();
        match self.peek() {
            Tok::Value(n) => {
                let n = n.clone();
                if self.lookup(&n).is_some() {
                    return Err(ParseError::new(
                        loc,
                        "a new value name",
                        &format!("`%{n}`, defined twice"),
                    ));
                }
                self.bump();
                Ok((n, loc))
            }
            _ => self.fail("a value name like `%3`"),
        }
    }

    fn bind(&mut self, names: &[(String, Loc)], values: &[Value]) -> PResult<()> {
        for ((n, loc), &v) in names.iter().zip(values) {
            if self.lookup(n).is_some() {
                return Err(ParseError::new(
                    *loc,
                    "a new value name",
                    &format!("`%{n}`, defined twice"),
                ));
            }
            if let Some(scope) = self.names.last_mut() {
                scope.insert(n.clone(), v);
            }
        }
        Ok(())
    }

    fn lookup(&self, name: &str) -> Option<Value> {
        self.names.iter().rev().find_map(|s| s.get(name).copied())
    }

    fn offset(&mut self) -> PResult<Offset> {
        match self.peek() {
            Tok::Value(_) => Ok(Offset::Dynamic(self.value()?)),
            Tok::Number(_) => Ok(Offset::Static(self.number("an integer index")?)),
            _ => self.fail("an index (integer or value)"),
        }
    }

    fn ref_at(&mut self) -> PResult<RefAt> {
        let r = self.value()?;
        self.punct("[")?;
        let mut idx = Vec::new();
        if !self.eat_punct("]") {
            loop {
                let ix = if self.eat_punct(":") {
                    Indexer::Full
                } else if self.eat_keyword("ds") {
                    self.punct("(")?;
                    let start = self.offset()?;
                    self.punct(",")?;
                    let size = self.usize()?;
                    let stride = if self.eat_punct(",") {
                        self.usize()?
                    } else {
                        1
                    };
                    self.punct(")")?;
                    Indexer::Slice {
                        start,
                        size,
                        stride,
                    }
                } else {
                    Indexer::Index(self.offset()?)
                };
                idx.push(ix);
                if self.eat_punct("]") {
                    break;
                }
                self.punct(",")?;
            }
        }
        Ok(RefAt { r, idx })
    }

    fn opt_value_after(&mut self, kw: &str) -> PResult<Option<Value>> {
        if self.eat_keyword(kw) {
            Ok(Some(self.value()?))
        } else {
            Ok(None)
        }
    }

    fn new_region(&mut self, names: &[(String, Loc)]) -> PResult<(Region, Vec<Value>)> {
        let region = self.k.regions.push(RegionData::default());
        let args: Vec<Value> = (0..names.len())
            .map(|index| self.k.values.push(ValueData::Arg { region, index }))
            .collect();
        self.k.regions[region].args = args.clone();
        self.bind(names, &args)?;
        Ok((region, args))
    }

    /// `{ stmt* (yield values)? }` into a fresh region with named args.
    fn region(&mut self, names: &[(String, Loc)]) -> PResult<Region> {
        if self.depth >= MAX_NESTING {
            return self.fail(&format!("at most {MAX_NESTING} nested regions"));
        }
        self.depth += 1;
        self.names.push(HashMap::new());
        let (region, _) = self.new_region(names)?;
        self.punct("{")?;
        loop {
            match self.peek() {
                Tok::Punct("}") => {
                    self.bump();
                    break;
                }
                Tok::Ident(s) if s == "yield" => {
                    self.bump();
                    // `yield` alone yields nothing (the index map of a
                    // rank-0 array); the printer leaves it out.
                    let mut ys = Vec::new();
                    if !matches!(self.peek(), Tok::Punct("}")) {
                        ys.push(self.value()?);
                        while self.eat_punct(",") {
                            ys.push(self.value()?);
                        }
                    }
                    self.k.regions[region].yields = ys;
                    self.punct("}")?;
                    break;
                }
                _ => self.statement(region)?,
            }
        }
        self.names.pop();
        self.depth -= 1;
        Ok(region)
    }

    fn kernel(&mut self) -> PResult<()> {
        let loc = self.loc();
        self.keyword("kernel")?;
        self.k.locs.kernel = Some(loc);
        self.k.name = self.ident("a kernel name")?;
        self.keyword("grid")?;
        self.punct("(")?;
        if !self.eat_punct(")") {
            loop {
                let semantics = if self.eat_keyword("parallel") {
                    DimSemantics::Parallel
                } else if self.eat_keyword("arbitrary") {
                    DimSemantics::Arbitrary
                } else {
                    return self.fail("`parallel` or `arbitrary`");
                };
                let size = self.usize()?;
                self.k.grid.push(GridDim { size, semantics });
                if self.eat_punct(")") {
                    break;
                }
                self.punct(",")?;
            }
        }
        if self.eat_keyword("mesh") {
            self.punct("(")?;
            loop {
                let name = self.ident("a mesh axis name")?;
                let size = self.usize()?;
                self.k.mesh.push(MeshAxis { name, size });
                if self.eat_punct(")") {
                    break;
                }
                self.punct(",")?;
            }
        }
        self.punct("{")?;
        loop {
            let loc = self.loc();
            let kind = if self.eat_keyword("prefetch") {
                ParamKind::ScalarPrefetch
            } else if self.eat_keyword("in") {
                ParamKind::Input
            } else if self.eat_keyword("out") {
                ParamKind::Output
            } else if self.eat_keyword("scratch") {
                ParamKind::Scratch
            } else {
                break;
            };
            self.param(kind, loc)?;
        }
        while self.eat_keyword("alias") {
            let i = self.usize()?;
            self.punct("->")?;
            let o = self.usize()?;
            self.k.aliases.push((i, o));
        }
        if !self.eat_keyword("body") {
            return self
                .fail("a parameter (`prefetch`, `in`, `out`, `scratch`), `alias` or `body`");
        }
        let names = self.new_names()?;
        self.k.body = self.region(&names)?;
        self.punct("}")?;
        if *self.peek() != Tok::Eof {
            return self.fail("end of input after the kernel");
        }
        Ok(())
    }

    fn param(&mut self, kind: ParamKind, loc: Loc) -> PResult<()> {
        let name = self.ident("a parameter name")?;
        self.punct(":")?;
        let t = self.ref_type()?;
        let padded = if self.eat_keyword("padded") {
            self.punct("[")?;
            let mut dims = Vec::new();
            if !self.eat_punct("]") {
                loop {
                    dims.push(self.usize()?);
                    if self.eat_punct("]") {
                        break;
                    }
                    self.punct(",")?;
                }
            }
            Some(dims)
        } else {
            None
        };
        let block = if self.eat_keyword("block") {
            self.punct("[")?;
            let mut dims = Vec::new();
            if !self.eat_punct("]") {
                loop {
                    if self.eat_keyword("_") {
                        dims.push(BlockDim::Squeezed);
                    } else {
                        dims.push(BlockDim::Sized(self.usize()?));
                    }
                    if self.eat_punct("]") {
                        break;
                    }
                    self.punct(",")?;
                }
            }
            self.keyword("map")?;
            let names = self.new_names()?;
            let index_map = self.region(&names)?;
            Some(BlockSpec {
                block_shape: dims,
                index_map,
            })
        } else {
            None
        };
        self.k.params.push(Param {
            name,
            kind,
            elem: t.elem,
            shape: t.shape,
            space: t.space,
            block,
            padded,
        });
        self.k.locs.params.push(Some(loc));
        Ok(())
    }

    fn statement(&mut self, region: Region) -> PResult<()> {
        let loc = self.loc();
        let mut lhs = Vec::new();
        if matches!(self.peek(), Tok::Value(_)) {
            lhs.push(self.new_name()?);
            while self.eat_punct(",") {
                lhs.push(self.new_name()?);
            }
            self.punct("=")?;
        }
        let name = self.ident("an operation")?;
        let op = self.op(&name)?;
        let inst = self.k.insts.push(InstData {
            op,
            results: Vec::new(),
        });
        let results: Vec<Value> = (0..lhs.len())
            .map(|index| self.k.values.push(ValueData::Result { inst, index }))
            .collect();
        self.k.insts[inst].results = results.clone();
        self.k.regions[region].insts.push(inst);
        let locs = &mut self.k.locs.insts;
        if locs.len() < inst.index() {
            locs.resize(inst.index(), None);
        }
        locs.push(Some(loc));
        self.bind(&lhs, &results)
    }

    fn op(&mut self, name: &str) -> PResult<Op> {
        if let Some(u) = UnaryOp::from_name(name) {
            return Ok(Op::Unary(u, self.value()?));
        }
        if let Some(b) = BinaryOp::from_name(name) {
            let x = self.value()?;
            self.punct(",")?;
            return Ok(Op::Binary(b, x, self.value()?));
        }
        Ok(match name {
            "const" => Op::Const(self.scalar()?),
            "full" => {
                let value = self.scalar()?;
                Op::Full {
                    value,
                    shape: self.shape()?,
                }
            }
            "iota" => {
                let dtype = self.dtype()?;
                let shape = self.shape()?;
                self.keyword("dim")?;
                Op::Iota {
                    dtype,
                    shape,
                    dim: self.usize()?,
                }
            }
            "program_id" => Op::ProgramId {
                axis: self.usize()?,
            },
            "num_programs" => Op::NumPrograms {
                axis: self.usize()?,
            },
            "axis_index" => {
                let axis = match self.peek() {
                    Tok::Ident(name) => {
                        let name = name.clone();
                        let Some(axis) = self.k.mesh.iter().position(|a| a.name == name) else {
                            return self.fail("the name of an axis of the kernel's mesh");
                        };
                        self.bump();
                        axis
                    }
                    _ => self.usize()?,
                };
                Op::AxisIndex { axis }
            }
            "barrier_semaphore" => Op::BarrierSemaphore,
            "cmp" => {
                let c = self.ident("a comparison (eq, ne, lt, le, gt, ge)")?;
                let Some(c) = CmpOp::from_name(&c) else {
                    return Err(ParseError::new(
                        self.loc(),
                        "a comparison (eq, ne, lt, le, gt, ge)",
                        &format!("`{c}`"),
                    ));
                };
                let x = self.value()?;
                self.punct(",")?;
                Op::Compare(c, x, self.value()?)
            }
            "select" => {
                let cond = self.value()?;
                self.punct(",")?;
                let on_true = self.value()?;
                self.punct(",")?;
                Op::Select {
                    cond,
                    on_true,
                    on_false: self.value()?,
                }
            }
            "cast" | "bitcast" => {
                let x = self.value()?;
                self.keyword("to")?;
                let to = self.dtype()?;
                if name == "cast" {
                    Op::Cast { x, to }
                } else {
                    Op::Bitcast { x, to }
                }
            }
            "broadcast_in_dim" => {
                let x = self.value()?;
                self.keyword("to")?;
                let shape = self.shape()?;
                self.keyword("dims")?;
                Op::BroadcastInDim {
                    x,
                    shape,
                    dims: self.shape()?,
                }
            }
            "reshape" => {
                let x = self.value()?;
                self.keyword("to")?;
                Op::Reshape {
                    x,
                    shape: self.shape()?,
                }
            }
            "transpose" => {
                let x = self.value()?;
                self.keyword("perm")?;
                Op::Transpose {
                    x,
                    perm: self.shape()?,
                }
            }
            "concatenate" => {
                let mut xs = vec![self.value()?];
                while self.eat_punct(",") {
                    xs.push(self.value()?);
                }
                self.keyword("axis")?;
                Op::Concatenate {
                    xs,
                    axis: self.usize()?,
                }
            }
            "slice" => {
                let x = self.value()?;
                self.keyword("start")?;
                let start = self.shape()?;
                self.keyword("limit")?;
                let limit = self.shape()?;
                self.keyword("strides")?;
                Op::Slice {
                    x,
                    start,
                    limit,
                    strides: self.shape()?,
                }
            }
            "reduce" => {
                let what = "a reduction (sum, max, min, prod, and, or, argmax, argmin)";
                let r = self.ident(what)?;
                let Some(op) = ReduceOp::from_name(&r) else {
                    return Err(ParseError::new(self.loc(), what, &format!("`{r}`")));
                };
                let x = self.value()?;
                self.keyword("axes")?;
                Op::Reduce {
                    op,
                    x,
                    axes: self.shape()?,
                }
            }
            "cumsum" => {
                let x = self.value()?;
                self.keyword("axis")?;
                Op::Cumsum {
                    x,
                    axis: self.usize()?,
                }
            }
            "dot" => {
                let lhs = self.value()?;
                self.punct(",")?;
                let rhs = self.value()?;
                let transpose_lhs = self.eat_keyword("transpose_lhs");
                let transpose_rhs = self.eat_keyword("transpose_rhs");
                let preferred = if self.eat_keyword("into") {
                    Some(self.dtype()?)
                } else {
                    None
                };
                Op::Dot {
                    lhs,
                    rhs,
                    transpose_lhs,
                    transpose_rhs,
                    preferred,
                }
            }
            "load" => {
                let src = self.ref_at()?;
                let mask = self.opt_value_after("mask")?;
                let other = self.opt_value_after("other")?;
                Op::Load { src, mask, other }
            }
            "store" | "swap" => {
                let dst = self.ref_at()?;
                self.punct(",")?;
                let value = self.value()?;
                let mask = self.opt_value_after("mask")?;
                if name == "store" {
                    Op::Store { dst, value, mask }
                } else {
                    Op::Swap { dst, value, mask }
                }
            }
            "atomic" => {
                let what = "an atomic op (add, max, min, and, or, xor, xchg)";
                let a = self.ident(what)?;
                let Some(op) = AtomicOp::from_name(&a) else {
                    return Err(ParseError::new(self.loc(), what, &format!("`{a}`")));
                };
                let dst = self.ref_at()?;
                self.punct(",")?;
                let value = self.value()?;
                let mask = self.opt_value_after("mask")?;
                Op::Atomic {
                    op,
                    dst,
                    value,
                    mask,
                }
            }
            "atomic_cas" => {
                let dst = self.ref_at()?;
                self.punct(",")?;
                let expected = self.value()?;
                self.punct(",")?;
                Op::AtomicCas {
                    dst,
                    expected,
                    new: self.value()?,
                }
            }
            "for" => {
                let lower = self.value()?;
                self.keyword("to")?;
                let upper = self.value()?;
                self.keyword("step")?;
                let step: i64 = self.number("an integer step")?;
                self.keyword("init")?;
                self.punct("(")?;
                let inits = self.values_until(")")?;
                self.keyword("do")?;
                let names = self.new_names()?;
                let body = self.region(&names)?;
                Op::For {
                    lower,
                    upper,
                    step,
                    inits,
                    body,
                }
            }
            "while" => {
                self.keyword("init")?;
                self.punct("(")?;
                let inits = self.values_until(")")?;
                self.keyword("cond")?;
                let names = self.new_names()?;
                let cond = self.region(&names)?;
                self.keyword("do")?;
                let names = self.new_names()?;
                let body = self.region(&names)?;
                Op::While { inits, cond, body }
            }
            "if" => {
                let cond = self.value()?;
                self.keyword("then")?;
                let then_region = self.region(&[])?;
                // A missing `else` is an empty one (`pl.when`).
                let else_region = if self.eat_keyword("else") {
                    self.region(&[])?
                } else {
                    self.new_region(&[])?.0
                };
                Op::If {
                    cond,
                    then_region,
                    else_region,
                }
            }
            "run_scoped" => {
                self.punct("(")?;
                let mut names = Vec::new();
                let mut scratch = Vec::new();
                if !self.eat_punct(")") {
                    loop {
                        names.push(self.new_name()?);
                        self.punct(":")?;
                        scratch.push(self.ref_type()?);
                        if self.eat_punct(")") {
                            break;
                        }
                        self.punct(",")?;
                    }
                }
                let body = self.region(&names)?;
                Op::RunScoped { scratch, body }
            }
            "dma_start" => {
                let src = self.ref_at()?;
                self.punct("->")?;
                let dst = self.ref_at()?;
                self.keyword("sem")?;
                Op::DmaStart {
                    src,
                    dst,
                    sem: self.ref_at()?,
                }
            }
            "remote_dma_start" => {
                let src = self.ref_at()?;
                self.punct("->")?;
                let dst = self.ref_at()?;
                self.keyword("send")?;
                let send = self.ref_at()?;
                self.keyword("recv")?;
                let recv = self.ref_at()?;
                self.keyword("device")?;
                Op::RemoteDmaStart {
                    src,
                    dst,
                    send,
                    recv,
                    device: self.value()?,
                }
            }
            "dma_wait" => {
                let dst = self.ref_at()?;
                self.keyword("sem")?;
                Op::DmaWait {
                    dst,
                    sem: self.ref_at()?,
                }
            }
            "semaphore_signal" => {
                let sem = self.ref_at()?;
                self.punct(",")?;
                let inc = self.value()?;
                let core = self.opt_value_after("core")?;
                let device = self.opt_value_after("device")?;
                Op::SemaphoreSignal {
                    sem,
                    inc,
                    core,
                    device,
                }
            }
            "semaphore_wait" => {
                let sem = self.ref_at()?;
                self.punct(",")?;
                Op::SemaphoreWait {
                    sem,
                    value: self.value()?,
                }
            }
            "semaphore_read" => Op::SemaphoreRead {
                sem: self.ref_at()?,
            },
            "debug_print" => {
                let fmt = match self.bump() {
                    Tok::Str(s) => s,
                    other => {
                        return Err(ParseError::new(
                            self.loc(),
                            "a format string",
                            &other.to_string(),
                        ))
                    }
                };
                let mut args = Vec::new();
                while self.eat_punct(",") {
                    args.push(self.value()?);
                }
                Op::DebugPrint { fmt, args }
            }
            other => {
                self.pos = self.pos.saturating_sub(1);
                return Err(ParseError::new(
                    self.loc(),
                    "an operation",
                    &format!("`{other}`"),
                ));
            }
        })
    }
}

/// A float literal of dtype `d` from its `f32` value, rounded to nearest
/// even (`None` when `d` cannot hold it: an infinity of `f8e4m3fn`).
fn float_literal(d: DType, v: f32) -> Option<Scalar> {
    let s = match d {
        DType::F32 => Scalar::F32(v),
        DType::BF16 => Scalar::BF16(half::bf16::from_f32(v)),
        DType::F16 => Scalar::F16(half::f16::from_f32(v)),
        DType::F8E4M3FN => Scalar::F8E4M3FN(microfloat::f8e4m3fn::from_f32(v)),
        DType::F8E5M2 => Scalar::F8E5M2(microfloat::f8e5m2::from_f32(v)),
        _ => return None,
    };
    (s.as_f32()?.is_nan() == v.is_nan()).then_some(s)
}

/// An integer literal of dtype `d`, when it fits.
fn int_literal(d: DType, v: i64) -> Option<Scalar> {
    Some(match d {
        DType::I32 => Scalar::I32(i32::try_from(v).ok()?),
        DType::U32 => Scalar::U32(u32::try_from(v).ok()?),
        DType::I8 => Scalar::I8(i8::try_from(v).ok()?),
        DType::U8 => Scalar::U8(u8::try_from(v).ok()?),
        DType::I16 => Scalar::I16(i16::try_from(v).ok()?),
        DType::U16 => Scalar::U16(u16::try_from(v).ok()?),
        _ => return None,
    })
}
