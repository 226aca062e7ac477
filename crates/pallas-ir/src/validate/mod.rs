//! The validator: every kernel passes here before a backend sees it.
//!
//! It checks the declarations (grid, parameters, block specs, aliases) and
//! walks the body once, giving each value a type and collecting every error
//! (not just the first), each naming the operation and, for parsed text,
//! its line and column.

mod error;
mod ops;

pub use error::{ShapeText, ValidationError, ValidationErrorKind, ValidationErrors};

use crate::dtype::DType;
use crate::kernel::{
    BlockDim, DimSemantics, Inst, Kernel, Loc, ParamKind, Region, Value, ValueData,
};
use crate::types::{num_elements, MemorySpace, RefElem, RefType, Type};

/// Most devices a mesh may have (a simulated device is a thread and its
/// own copy of every parameter).
pub const MAX_DEVICES: usize = 1024;

/// How deep regions may nest (loops in branches in loops ...).
pub const MAX_NESTING: usize = 64;

/// Where a ref value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefOrigin {
    /// A kernel parameter (its position in `params`).
    Param(usize),
    /// A `run_scoped` scratch ref.
    Scoped,
    /// The barrier semaphore (`barrier_semaphore`).
    Barrier,
}

/// A kernel that passed validation, with the type of every value.
#[derive(Clone, Debug)]
pub struct ValidatedKernel {
    kernel: Kernel,
    types: Vec<Type>,
    origins: Vec<Option<RefOrigin>>,
    written_inputs: Vec<usize>,
}

impl ValidatedKernel {
    /// The kernel.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// The checked type of a value.
    pub fn value_type(&self, v: Value) -> &Type {
        &self.types[v.index()]
    }

    /// The dtype of a value that is not a ref (`None` for refs).
    #[inline]
    pub fn value_dtype(&self, v: Value) -> Option<DType> {
        match &self.types[v.index()] {
            Type::Value { dtype, .. } => Some(*dtype),
            Type::Ref(_) => None,
        }
    }

    /// The first narrow dtype (`bf16`, `i8`, ...: see [`DType::is_narrow`])
    /// a parameter or value of the kernel has, with where: `(bf16,
    /// "parameter `x`")`.
    pub fn first_narrow_dtype(&self) -> Option<(DType, String)> {
        self.first_dtype(DType::is_narrow)
    }

    /// The first dtype meeting `pred` that a parameter, value or scratch
    /// ref of the kernel has, with where; backends without a dtype name it
    /// in their `Unsupported` error.
    pub fn first_dtype(&self, pred: impl Fn(DType) -> bool) -> Option<(DType, String)> {
        for p in &self.kernel.params {
            if let Some(d) = p.dtype().filter(|&d| pred(d)) {
                return Some((d, format!("parameter `{}`", p.name)));
            }
        }
        self.types.iter().enumerate().find_map(|(i, t)| match t {
            Type::Value { dtype, .. } if pred(*dtype) => Some((*dtype, format!("value %{i}"))),
            Type::Ref(r) => match r.elem {
                RefElem::Data(d) if pred(d) => Some((d, format!("scratch ref %{i}"))),
                _ => None,
            },
            _ => None,
        })
    }

    /// The dtype of each output, in output order.
    pub fn output_dtypes(&self) -> Vec<DType> {
        self.kernel
            .params
            .iter()
            .filter(|p| p.kind == crate::ParamKind::Output)
            .filter_map(|p| p.dtype())
            .collect()
    }

    /// Where a ref value comes from (`None` for non-ref values).
    pub fn ref_origin(&self, v: Value) -> Option<RefOrigin> {
        self.origins[v.index()]
    }

    /// The first scalar-prefetch or (non-aliased) input parameter the body
    /// writes, if any. JAX lets a kernel write its SMEM and VMEM copies of
    /// them (the arrays passed in stay as they were); backends that read
    /// inputs in place refuse such a kernel by this name.
    pub fn written_input(&self) -> Option<&str> {
        self.written_inputs
            .first()
            .map(|&i| self.kernel.params[i].name.as_str())
    }

    /// Takes the kernel back.
    pub fn into_kernel(self) -> Kernel {
        self.kernel
    }
}

/// Validates a kernel: `Ok` with every value's type, or every error found.
pub fn validate(kernel: &Kernel) -> Result<ValidatedKernel, ValidationErrors> {
    let mut v = Validator::new(kernel);
    v.check_declarations();
    if v.structure_ok {
        v.check_body();
    }
    if v.errors.is_empty() {
        let types = v.types.into_iter().map(|t| t.expect("typed")).collect();
        Ok(ValidatedKernel {
            kernel: kernel.clone(),
            types,
            origins: v.origins,
            written_inputs: v.written_inputs,
        })
    } else {
        Err(ValidationErrors(v.errors))
    }
}

/// What kind of region is being checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RegionKind {
    Body,
    IndexMap,
}

pub(crate) struct Validator<'k> {
    pub(crate) k: &'k Kernel,
    pub(crate) types: Vec<Option<Type>>,
    pub(crate) origins: Vec<Option<RefOrigin>>,
    visible: Vec<bool>,
    region_seen: Vec<bool>,
    inst_seen: Vec<bool>,
    errors: Vec<ValidationError>,
    context: String,
    loc: Option<Loc>,
    kind: RegionKind,
    depth: usize,
    structure_ok: bool,
    /// Scalar-prefetch and input parameters the body writes.
    pub(crate) written_inputs: Vec<usize>,
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'k> Validator<'k> {
    fn new(k: &'k Kernel) -> Self {
        Validator {
            k,
            types: vec![None; k.values.len()],
            origins: vec![None; k.values.len()],
            visible: vec![false; k.values.len()],
            region_seen: vec![false; k.regions.len()],
            inst_seen: vec![false; k.insts.len()],
            errors: Vec::new(),
            context: "kernel".into(),
            loc: k.locs.kernel,
            kind: RegionKind::Body,
            depth: 0,
            structure_ok: true,
            written_inputs: Vec::new(),
        }
    }

    pub(crate) fn err(&mut self, kind: ValidationErrorKind) {
        self.errors.push(ValidationError {
            kernel: self.k.name.clone(),
            context: self.context.clone(),
            loc: self.loc,
            kind,
        });
    }

    fn check_shape(&mut self, shape: &[usize]) -> bool {
        if num_elements(shape).is_none() {
            self.err(ValidationErrorKind::ShapeOverflow(ShapeText(
                shape.to_vec(),
            )));
            false
        } else {
            true
        }
    }

    fn check_declarations(&mut self) {
        let k = self.k;
        if !is_ident(&k.name) {
            self.err(ValidationErrorKind::InvalidName(k.name.clone()));
        }
        self.context = "grid".into();
        let mut seen_arbitrary = false;
        for (axis, d) in k.grid.iter().enumerate() {
            match d.semantics {
                DimSemantics::Arbitrary => seen_arbitrary = true,
                DimSemantics::Parallel if seen_arbitrary => {
                    self.err(ValidationErrorKind::ParallelAfterArbitrary { axis })
                }
                DimSemantics::Parallel => {}
            }
        }
        let grid_sizes: Vec<usize> = k.grid.iter().map(|d| d.size).collect();
        self.check_shape(&grid_sizes);
        self.context = "mesh".into();
        let mut axis_names = std::collections::HashSet::new();
        for a in &k.mesh {
            if !is_ident(&a.name) {
                self.err(ValidationErrorKind::InvalidName(a.name.clone()));
            } else if !axis_names.insert(a.name.as_str()) {
                self.err(ValidationErrorKind::DuplicateMeshAxis(a.name.clone()));
            }
            if a.size == 0 {
                self.err(ValidationErrorKind::EmptyMeshAxis(a.name.clone()));
            }
        }
        match k.num_devices() {
            Some(n) if n <= MAX_DEVICES => {}
            _ => self.err(ValidationErrorKind::TooManyDevices {
                max: MAX_DEVICES,
                found: k.mesh.iter().map(|a| a.size as u128).product(),
            }),
        }

        let mut names = std::collections::HashSet::new();
        let nprefetch = k.params_of(ParamKind::ScalarPrefetch).count();
        let mut last_kind = ParamKind::ScalarPrefetch;
        for (i, p) in k.params.iter().enumerate() {
            self.context = format!("param `{}`", p.name);
            self.loc = k.param_loc(i);
            if !is_ident(&p.name) {
                self.err(ValidationErrorKind::InvalidName(p.name.clone()));
            }
            if !names.insert(p.name.as_str()) {
                self.err(ValidationErrorKind::DuplicateParam(p.name.clone()));
            }
            if p.kind < last_kind {
                self.err(ValidationErrorKind::ParamOrder {
                    name: p.name.clone(),
                    kind: p.kind.keyword(),
                    after: last_kind.keyword(),
                });
            }
            last_kind = last_kind.max(p.kind);
            self.check_shape(&p.shape);
            self.check_param_role(p);
            if let Some(b) = &p.block {
                if b.block_shape.len() != p.shape.len() {
                    self.err(ValidationErrorKind::BlockRank {
                        block: b.block_shape.len(),
                        array: p.shape.len(),
                    });
                } else {
                    for (dim, (bd, &n)) in b.block_shape.iter().zip(&p.shape).enumerate() {
                        // A block may be larger than the whole array (JAX
                        // pads it): like the last block of any partial
                        // blocking, its reads past the array are
                        // uninitialized and its writes there dropped.
                        if let BlockDim::Sized(size) = *bd {
                            if size == 0 {
                                self.err(ValidationErrorKind::BlockDimSize {
                                    dim,
                                    size,
                                    array: n,
                                });
                            }
                        }
                    }
                }
                self.check_index_map(b.index_map, p.shape.len(), nprefetch);
            }
        }
        self.loc = None;
        self.check_aliases();
    }

    fn check_param_role(&mut self, p: &crate::kernel::Param) {
        use ValidationErrorKind as E;
        if let Some(padded) = &p.padded {
            let found = format!("{padded:?} on {:?}", p.shape);
            if p.kind != ParamKind::Scratch
                || p.space != MemorySpace::Vmem
                || !matches!(p.elem, RefElem::Data(_))
            {
                self.err(E::BadPadding {
                    name: p.name.clone(),
                    expected: "one only on data scratch in vmem",
                    found,
                });
            } else if padded.len() != p.shape.len()
                || padded.iter().zip(&p.shape).any(|(&q, &n)| q < n)
            {
                self.err(E::BadPadding {
                    name: p.name.clone(),
                    expected: "the same rank, each dimension at least the shape's",
                    found,
                });
            }
        }
        match p.kind {
            ParamKind::ScalarPrefetch => {
                if p.space != MemorySpace::Smem {
                    self.err(E::BadParamSpace {
                        what: "a scalar-prefetch parameter",
                        space: p.space,
                        expected: "smem",
                    });
                }
                // Any data dtype (JAX prefetches f32 and narrow types too);
                // index maps read integers from them.
                if !matches!(p.elem, RefElem::Data(_)) {
                    self.err(E::BadParamElem {
                        what: "a scalar-prefetch parameter",
                        expected: "a data dtype",
                        found: p.elem.to_string(),
                    });
                }
                if p.block.is_some() {
                    self.err(E::UnexpectedBlockSpec(
                        "scalar-prefetch parameters are not blocked",
                    ));
                }
            }
            ParamKind::Input | ParamKind::Output => {
                if matches!(p.elem, RefElem::Semaphore(_)) {
                    self.err(E::BadParamElem {
                        what: "an input or output",
                        expected: "a data dtype",
                        found: p.elem.to_string(),
                    });
                }
                if p.space == MemorySpace::Any && p.block.is_some() {
                    self.err(E::UnexpectedBlockSpec(
                        "a ref in memory space `any` is not blocked",
                    ));
                }
            }
            ParamKind::Scratch => {
                // Data scratch in `any` is an HBM buffer of the device,
                // shared by its cores (what `pl.run_scoped` allocates in
                // HBM inside a core mesh); semaphores live per core.
                if p.space == MemorySpace::Any && matches!(p.elem, RefElem::Semaphore(_)) {
                    self.err(E::BadParamSpace {
                        what: "semaphore scratch",
                        space: p.space,
                        expected: "vmem or smem",
                    });
                }
                if p.block.is_some() {
                    self.err(E::UnexpectedBlockSpec("scratch is not blocked"));
                }
            }
        }
    }

    fn check_index_map(&mut self, region: Region, rank: usize, nprefetch: usize) {
        let Some(r) = self.k.regions.get(region) else {
            self.structure_ok = false;
            self.err(ValidationErrorKind::Malformed(format!(
                "index map region {region:?} does not exist"
            )));
            return;
        };
        let expected = self.k.grid.len() + nprefetch;
        if r.args.len() != expected {
            self.err(ValidationErrorKind::IndexMapArity {
                expected,
                found: r.args.len(),
            });
            // Still type what we can: grid indices are i32 scalars.
        }
        let prefetch: Vec<(usize, RefType)> = self
            .k
            .params_of(ParamKind::ScalarPrefetch)
            .map(|(i, p)| (i, p.ref_type()))
            .collect();
        let mut arg_types = Vec::new();
        for i in 0..r.args.len() {
            if i < self.k.grid.len() {
                arg_types.push((Type::scalar(DType::I32), None));
            } else if let Some((pi, t)) = prefetch.get(i - self.k.grid.len()) {
                arg_types.push((Type::Ref(t.clone()), Some(RefOrigin::Param(*pi))));
            } else {
                arg_types.push((Type::scalar(DType::I32), None));
            }
        }
        let saved_kind = self.kind;
        self.kind = RegionKind::IndexMap;
        let (context, loc) = (self.context.clone(), self.loc);
        let yields = self.check_region(region, &arg_types);
        self.context = context;
        self.loc = loc;
        self.kind = saved_kind;
        if let Some(yields) = yields {
            if yields.len() != rank {
                self.err(ValidationErrorKind::IndexMapResults {
                    expected: rank,
                    found: yields.len(),
                });
            }
            for (index, t) in yields.iter().enumerate() {
                if let Some(t) = t {
                    if !t.is_scalar_of(DType::I32) {
                        self.err(ValidationErrorKind::YieldType {
                            what: "index map",
                            index,
                            expected: "i32".into(),
                            found: t.to_string(),
                        });
                    }
                }
            }
        }
    }

    fn check_aliases(&mut self) {
        let k = self.k;
        let inputs: Vec<usize> = k.params_of(ParamKind::Input).map(|(i, _)| i).collect();
        let outputs: Vec<usize> = k.params_of(ParamKind::Output).map(|(i, _)| i).collect();
        let mut used_in = std::collections::HashSet::new();
        let mut used_out = std::collections::HashSet::new();
        for &(input, output) in &k.aliases {
            self.context = "alias".into();
            let bad = |reason: String| ValidationErrorKind::BadAlias {
                input,
                output,
                reason,
            };
            let (Some(&pi), Some(&po)) = (inputs.get(input), outputs.get(output)) else {
                let reason = format!(
                    "the kernel has {} inputs and {} outputs",
                    inputs.len(),
                    outputs.len()
                );
                self.err(bad(reason));
                continue;
            };
            let (a, b) = (&k.params[pi], &k.params[po]);
            if a.elem != b.elem || a.shape != b.shape {
                let reason = format!(
                    "input `{}` is {}{} but output `{}` is {}{}",
                    a.name,
                    a.elem,
                    crate::types::ShapeDisplay(&a.shape),
                    b.name,
                    b.elem,
                    crate::types::ShapeDisplay(&b.shape)
                );
                self.err(bad(reason));
            }
            if !used_in.insert(input) || !used_out.insert(output) {
                self.err(bad("an input or output is aliased twice".into()));
            }
        }
    }

    fn check_body(&mut self) {
        self.context = "body".into();
        self.loc = None;
        self.kind = RegionKind::Body;
        let arg_types: Vec<(Type, Option<RefOrigin>)> = self
            .k
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| (Type::Ref(p.ref_type()), Some(RefOrigin::Param(i))))
            .collect();
        let body = self.k.body;
        if let Some(r) = self.k.regions.get(body) {
            if r.args.len() != arg_types.len() {
                self.err(ValidationErrorKind::RegionArity {
                    what: "the kernel body",
                    expected: arg_types.len(),
                    found: r.args.len(),
                });
                return;
            }
        }
        if let Some(ys) = self.check_region(body, &arg_types) {
            if !ys.is_empty() {
                self.context = "body".into();
                self.err(ValidationErrorKind::YieldCount {
                    what: "the kernel body",
                    expected: 0,
                    found: ys.len(),
                });
            }
        }
    }

    /// Checks a region whose arguments get `arg_types`; returns the types of
    /// its yields (unknown ones as `None`), or `None` if the region itself is
    /// malformed.
    pub(crate) fn check_region(
        &mut self,
        region: Region,
        arg_types: &[(Type, Option<RefOrigin>)],
    ) -> Option<Vec<Option<Type>>> {
        let k = self.k;
        let Some(r) = k.regions.get(region) else {
            self.structure_ok = false;
            self.err(ValidationErrorKind::Malformed(format!(
                "region {region:?} does not exist"
            )));
            return None;
        };
        if std::mem::replace(&mut self.region_seen[region.index()], true) {
            self.err(ValidationErrorKind::Malformed(format!(
                "region {region:?} is used twice"
            )));
            return None;
        }
        if self.depth >= MAX_NESTING {
            self.err(ValidationErrorKind::TooDeep(MAX_NESTING));
            return None;
        }
        self.depth += 1;
        let mut defined = Vec::new();
        for (i, &a) in r.args.iter().enumerate() {
            let ok = matches!(k.values.get(a), Some(ValueData::Arg { region: rr, index }) if *rr == region && *index == i);
            if !ok {
                self.err(ValidationErrorKind::Malformed(format!(
                    "argument {i} of region {region:?} is not linked to it"
                )));
                self.depth -= 1;
                return None;
            }
            if let Some((t, o)) = arg_types.get(i) {
                self.types[a.index()] = Some(t.clone());
                self.origins[a.index()] = *o;
            }
            self.visible[a.index()] = true;
            defined.push(a);
        }
        for &inst in &r.insts {
            if !self.check_inst_links(inst) {
                continue;
            }
            self.context = format!("op `{}`", k.insts[inst].op.name());
            self.loc = k.inst_loc(inst);
            let (context, loc) = (self.context.clone(), self.loc);
            let result_types = self.type_inst(inst);
            self.context = context;
            self.loc = loc;
            let results = &k.insts[inst].results;
            match result_types {
                Some(ts) if ts.len() != results.len() => {
                    self.err(ValidationErrorKind::ResultCount {
                        expected: ts.len(),
                        found: results.len(),
                    });
                }
                Some(ts) => {
                    for (res, t) in results.iter().zip(ts) {
                        if let Type::Value { shape, .. } = &t {
                            if num_elements(shape).is_none() {
                                self.err(ValidationErrorKind::ShapeOverflow(ShapeText(
                                    shape.clone(),
                                )));
                            }
                        }
                        if matches!(k.insts[inst].op, crate::ops::Op::BarrierSemaphore) {
                            self.origins[res.index()] = Some(RefOrigin::Barrier);
                        }
                        self.types[res.index()] = Some(t);
                    }
                }
                None => {}
            }
            for &res in results {
                self.visible[res.index()] = true;
                defined.push(res);
            }
        }
        let mut yields = Vec::with_capacity(r.yields.len());
        for &y in &r.yields {
            yields.push(self.use_any(y));
        }
        for d in defined {
            self.visible[d.index()] = false;
        }
        self.depth -= 1;
        Some(yields)
    }

    fn check_inst_links(&mut self, inst: Inst) -> bool {
        let k = self.k;
        let Some(data) = k.insts.get(inst) else {
            self.structure_ok = false;
            self.err(ValidationErrorKind::Malformed(format!(
                "instruction {inst:?} does not exist"
            )));
            return false;
        };
        if std::mem::replace(&mut self.inst_seen[inst.index()], true) {
            self.err(ValidationErrorKind::Malformed(format!(
                "instruction {inst:?} appears twice"
            )));
            return false;
        }
        for (i, &res) in data.results.iter().enumerate() {
            let ok = matches!(k.values.get(res), Some(ValueData::Result { inst: ii, index }) if *ii == inst && *index == i);
            if !ok {
                self.err(ValidationErrorKind::Malformed(format!(
                    "result {i} of instruction {inst:?} is not linked to it"
                )));
                return false;
            }
        }
        true
    }

    /// The type of a used value (value or ref), or `None` when it is out of
    /// scope (reported) or its type is unknown after an earlier error.
    pub(crate) fn use_any(&mut self, v: Value) -> Option<Type> {
        if v.index() >= self.visible.len() || !self.visible[v.index()] {
            self.err(ValidationErrorKind::OutOfScope(v.index()));
            return None;
        }
        self.types[v.index()].clone()
    }

    pub(crate) fn in_index_map(&self) -> bool {
        self.kind == RegionKind::IndexMap
    }
}
