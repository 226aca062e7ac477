//! A builder that reads like the Pallas source it mirrors.
//!
//! ```
//! use pallas_ir::builder::{KernelBuilder, Spec};
//! use pallas_ir::{DType::F32, DimSemantics::Parallel};
//! let mut k = KernelBuilder::new("seed");
//! k.grid(&[(16, Parallel), (512, Parallel)]);
//! let spec = || Spec::block([1, 256], |_, g| vec![g[0], g[1]]);
//! k.input("x", F32, &[16, 131072], spec());
//! k.input("y", F32, &[16, 131072], spec());
//! k.output("o", F32, &[16, 131072], spec());
//! k.body(|b, r| {
//!     let (x, y) = (b.load_all(r[0]), b.load_all(r[1]));
//!     let s = b.add(x, y);
//!     let t = b.mul(s, 2.0f32);
//!     let o = b.sin(t);
//!     b.store_all(r[2], o);
//! });
//! let kernel = k.finish();
//! assert!(pallas_ir::validate(&kernel).is_ok());
//! ```

use std::collections::HashMap;

use crate::arena::Arena;
use crate::dtype::{DType, Scalar};
use crate::kernel::{
    BlockDim, BlockSpec, DimSemantics, GridDim, InstData, Kernel, Param, ParamKind, Region,
    RegionData, SourceMap, Value, ValueData,
};
use crate::ops::{AtomicOp, BinaryOp, CmpOp, Indexer, Offset, Op, ReduceOp, RefAt, UnaryOp};
use crate::types::{MemorySpace, RefElem, RefType, SemaphoreKind};

/// A squeezed block dimension (Pallas' `None` / `pl.Squeezed()`).
pub const SQUEEZED: BlockDim = BlockDim::Squeezed;

impl From<usize> for BlockDim {
    fn from(n: usize) -> Self {
        BlockDim::Sized(n)
    }
}

impl From<i64> for Offset {
    fn from(v: i64) -> Self {
        Offset::Static(v)
    }
}
impl From<i32> for Offset {
    fn from(v: i32) -> Self {
        Offset::Static(v as i64)
    }
}
impl From<usize> for Offset {
    fn from(v: usize) -> Self {
        Offset::Static(v as i64)
    }
}
impl From<Value> for Offset {
    fn from(v: Value) -> Self {
        Offset::Dynamic(v)
    }
}

/// `:`, the whole dimension.
pub fn full() -> Indexer {
    Indexer::Full
}

/// `pl.ds(start, size)`.
pub fn ds(start: impl Into<Offset>, size: usize) -> Indexer {
    Indexer::Slice {
        start: start.into(),
        size,
        stride: 1,
    }
}

/// `pl.ds(start, size, stride)`.
pub fn ds_strided(start: impl Into<Offset>, size: usize, stride: usize) -> Indexer {
    Indexer::Slice {
        start: start.into(),
        size,
        stride,
    }
}

/// A single index (the dimension is dropped).
pub fn at(i: impl Into<Offset>) -> Indexer {
    Indexer::Index(i.into())
}

/// An operand of an elementwise op: a value, or a literal made into a
/// constant on the spot.
#[derive(Clone, Copy, Debug)]
pub enum Operand {
    /// An existing value.
    Value(Value),
    /// A scalar literal.
    Lit(Scalar),
}

impl From<Value> for Operand {
    fn from(v: Value) -> Self {
        Operand::Value(v)
    }
}
impl From<f32> for Operand {
    fn from(v: f32) -> Self {
        Operand::Lit(Scalar::F32(v))
    }
}
impl From<i32> for Operand {
    fn from(v: i32) -> Self {
        Operand::Lit(Scalar::I32(v))
    }
}
impl From<u32> for Operand {
    fn from(v: u32) -> Self {
        Operand::Lit(Scalar::U32(v))
    }
}
impl From<Scalar> for Operand {
    fn from(s: Scalar) -> Self {
        Operand::Lit(s)
    }
}
impl From<bool> for Operand {
    fn from(v: bool) -> Self {
        Operand::Lit(Scalar::Bool(v))
    }
}

/// An index-map function: gets the region builder and the grid indices
/// followed by the scalar-prefetch refs; returns one block index per dim.
pub type IndexMapFn<'f> = Box<dyn FnOnce(&mut RegionBuilder, &[Value]) -> Vec<Value> + 'f>;

/// How an input or output is placed in memory.
pub enum Spec<'f> {
    /// The whole array as one block in a memory space (`any` means HBM,
    /// unblocked, moved with DMAs).
    Whole(MemorySpace),
    /// Blocks of a shape in a memory space, chosen by an index map.
    Blocked {
        /// Memory space of the blocks (VMEM or SMEM).
        space: MemorySpace,
        /// Block shape.
        shape: Vec<BlockDim>,
        /// Index map.
        map: IndexMapFn<'f>,
    },
}

impl<'f> Spec<'f> {
    /// VMEM blocks of a shape with an index map (`pl.BlockSpec`).
    pub fn block<D: Into<BlockDim>>(
        shape: impl IntoIterator<Item = D>,
        map: impl FnOnce(&mut RegionBuilder, &[Value]) -> Vec<Value> + 'f,
    ) -> Self {
        Spec::Blocked {
            space: MemorySpace::Vmem,
            shape: shape.into_iter().map(Into::into).collect(),
            map: Box::new(map),
        }
    }

    /// SMEM blocks of a shape with an index map.
    pub fn smem_block<D: Into<BlockDim>>(
        shape: impl IntoIterator<Item = D>,
        map: impl FnOnce(&mut RegionBuilder, &[Value]) -> Vec<Value> + 'f,
    ) -> Self {
        match Spec::block(shape, map) {
            Spec::Blocked { shape, map, .. } => Spec::Blocked {
                space: MemorySpace::Smem,
                shape,
                map,
            },
            whole => whole,
        }
    }

    /// The whole array in VMEM.
    pub fn whole() -> Self {
        Spec::Whole(MemorySpace::Vmem)
    }

    /// Unblocked, in HBM (`memory_space=pl.ANY`).
    pub fn any() -> Self {
        Spec::Whole(MemorySpace::Any)
    }
}

/// Builds a [`Kernel`]. Declare the grid and parameters, then the body.
pub struct KernelBuilder {
    kernel: Kernel,
    ref_types: HashMap<Value, RefType>,
}

impl KernelBuilder {
    /// Starts a kernel with a name.
    pub fn new(name: &str) -> Self {
        KernelBuilder {
            kernel: Kernel {
                name: name.to_string(),
                grid: Vec::new(),
                mesh: Vec::new(),
                params: Vec::new(),
                aliases: Vec::new(),
                values: Arena::new(),
                insts: Arena::new(),
                regions: Arena::new(),
                body: crate::arena::Handle::from_index(u32::MAX as usize),
                locs: SourceMap::default(),
            },
            ref_types: HashMap::new(),
        }
    }

    /// Sets the grid: `(size, semantics)` per dimension.
    pub fn grid(&mut self, dims: &[(usize, DimSemantics)]) -> &mut Self {
        self.kernel.grid = dims
            .iter()
            .map(|&(size, semantics)| GridDim { size, semantics })
            .collect();
        self
    }

    /// Sets the device mesh: `(axis name, size)` per axis.
    pub fn mesh(&mut self, axes: &[(&str, usize)]) -> &mut Self {
        self.kernel.mesh = axes
            .iter()
            .map(|&(name, size)| crate::kernel::MeshAxis {
                name: name.to_string(),
                size,
            })
            .collect();
        self
    }

    fn add_param(
        &mut self,
        name: &str,
        kind: ParamKind,
        elem: RefElem,
        shape: &[usize],
        spec: Spec,
    ) -> usize {
        let (space, block) = match spec {
            Spec::Whole(space) => (space, None),
            Spec::Blocked { space, shape, map } => {
                let index_map = self.index_map(map);
                (
                    space,
                    Some(BlockSpec {
                        block_shape: shape,
                        index_map,
                    }),
                )
            }
        };
        self.kernel.params.push(Param {
            name: name.to_string(),
            kind,
            elem,
            shape: shape.to_vec(),
            space,
            block,
            padded: None,
        });
        self.kernel.params.len() - 1
    }

    fn index_map(&mut self, map: IndexMapFn) -> Region {
        let prefetch: Vec<RefType> = self
            .kernel
            .params_of(ParamKind::ScalarPrefetch)
            .map(|(_, p)| p.ref_type())
            .collect();
        let nargs = self.kernel.grid.len() + prefetch.len();
        let (region, args) = new_region(&mut self.kernel, nargs);
        for (v, t) in args[self.kernel.grid.len()..].iter().zip(prefetch) {
            self.ref_types.insert(*v, t);
        }
        let mut rb = RegionBuilder {
            kernel: &mut self.kernel,
            ref_types: &mut self.ref_types,
            region,
        };
        let ys = map(&mut rb, &args);
        self.kernel.regions[region].yields = ys;
        region
    }

    /// Declares a scalar-prefetch parameter (an integer array in SMEM).
    pub fn prefetch(&mut self, name: &str, dtype: DType, shape: &[usize]) -> usize {
        self.add_param(
            name,
            ParamKind::ScalarPrefetch,
            RefElem::Data(dtype),
            shape,
            Spec::Whole(MemorySpace::Smem),
        )
    }

    /// Declares an input.
    pub fn input(&mut self, name: &str, dtype: DType, shape: &[usize], spec: Spec) -> usize {
        self.add_param(name, ParamKind::Input, RefElem::Data(dtype), shape, spec)
    }

    /// Declares an output.
    pub fn output(&mut self, name: &str, dtype: DType, shape: &[usize], spec: Spec) -> usize {
        self.add_param(name, ParamKind::Output, RefElem::Data(dtype), shape, spec)
    }

    /// Declares a data scratch buffer (`pltpu.VMEM(shape, dtype)` /
    /// `pltpu.SMEM`).
    pub fn scratch(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[usize],
        space: MemorySpace,
    ) -> usize {
        self.add_param(
            name,
            ParamKind::Scratch,
            RefElem::Data(dtype),
            shape,
            Spec::Whole(space),
        )
    }

    /// Declares an array of semaphores as scratch.
    pub fn semaphores(&mut self, name: &str, kind: SemaphoreKind, shape: &[usize]) -> usize {
        self.add_param(
            name,
            ParamKind::Scratch,
            RefElem::Semaphore(kind),
            shape,
            Spec::Whole(MemorySpace::Smem),
        )
    }

    /// Lets output number `output` (counted among outputs) reuse the HBM
    /// buffer of input number `input` (counted among inputs).
    pub fn alias(&mut self, input: usize, output: usize) -> &mut Self {
        self.kernel.aliases.push((input, output));
        self
    }

    /// Builds the body. The closure gets one ref per parameter, in order.
    pub fn body(&mut self, f: impl FnOnce(&mut RegionBuilder, &[Value])) -> &mut Self {
        let types: Vec<RefType> = self.kernel.params.iter().map(Param::ref_type).collect();
        let (region, args) = new_region(&mut self.kernel, types.len());
        for (v, t) in args.iter().zip(types) {
            self.ref_types.insert(*v, t);
        }
        self.kernel.body = region;
        let mut rb = RegionBuilder {
            kernel: &mut self.kernel,
            ref_types: &mut self.ref_types,
            region,
        };
        f(&mut rb, &args);
        self
    }

    /// The kernel, not yet validated (see [`crate::validate()`]).
    pub fn finish(self) -> Kernel {
        let mut k = self.kernel;
        if k.regions.get(k.body).is_none() {
            // No body was given: an empty body over the parameters.
            let n = k.params.len();
            let (region, _) = new_region(&mut k, n);
            k.body = region;
        }
        k
    }
}

fn new_region(k: &mut Kernel, nargs: usize) -> (Region, Vec<Value>) {
    let region = k.regions.push(RegionData::default());
    let args: Vec<Value> = (0..nargs)
        .map(|index| k.values.push(ValueData::Arg { region, index }))
        .collect();
    k.regions[region].args = args.clone();
    (region, args)
}

/// Appends instructions to one region of a kernel under construction.
pub struct RegionBuilder<'k> {
    kernel: &'k mut Kernel,
    ref_types: &'k mut HashMap<Value, RefType>,
    region: Region,
}

macro_rules! unary_methods {
    ($($name:ident => $op:ident),* $(,)?) => {
        $(
            #[doc = concat!("Elementwise `", stringify!($name), "`.")]
            pub fn $name(&mut self, x: impl Into<Operand>) -> Value {
                let x = self.operand(x);
                self.unary(UnaryOp::$op, x)
            }
        )*
    };
}

macro_rules! binary_methods {
    ($($name:ident => $op:ident),* $(,)?) => {
        $(
            #[doc = concat!("Elementwise `", stringify!($name), "`; a scalar broadcasts.")]
            pub fn $name(&mut self, a: impl Into<Operand>, b: impl Into<Operand>) -> Value {
                self.binary(BinaryOp::$op, a, b)
            }
        )*
    };
}

macro_rules! compare_methods {
    ($($name:ident => $op:ident),* $(,)?) => {
        $(
            #[doc = concat!("Elementwise comparison `", stringify!($name), "` (result `bool`).")]
            pub fn $name(&mut self, a: impl Into<Operand>, b: impl Into<Operand>) -> Value {
                self.compare(CmpOp::$op, a, b)
            }
        )*
    };
}

impl RegionBuilder<'_> {
    /// Appends an instruction with `nresults` results and returns them.
    pub fn push(&mut self, op: Op, nresults: usize) -> Vec<Value> {
        let inst = self.kernel.insts.push(InstData {
            op,
            results: Vec::new(),
        });
        let results: Vec<Value> = (0..nresults)
            .map(|index| self.kernel.values.push(ValueData::Result { inst, index }))
            .collect();
        self.kernel.insts[inst].results = results.clone();
        self.kernel.regions[self.region].insts.push(inst);
        results
    }

    fn push1(&mut self, op: Op) -> Value {
        self.push(op, 1)[0]
    }

    fn operand(&mut self, x: impl Into<Operand>) -> Value {
        match x.into() {
            Operand::Value(v) => v,
            Operand::Lit(s) => self.constant(s),
        }
    }

    /// Builds a nested region with `nargs` arguments; `f` returns its yields.
    fn nested(
        &mut self,
        nargs: usize,
        arg_refs: Vec<RefType>,
        f: impl FnOnce(&mut RegionBuilder, &[Value]) -> Vec<Value>,
    ) -> Region {
        let (region, args) = new_region(self.kernel, nargs);
        for (v, t) in args.iter().zip(arg_refs) {
            self.ref_types.insert(*v, t);
        }
        let mut rb = RegionBuilder {
            kernel: self.kernel,
            ref_types: self.ref_types,
            region,
        };
        let ys = f(&mut rb, &args);
        self.kernel.regions[region].yields = ys;
        region
    }

    /// The ref type of a ref value made by this builder, if known.
    pub fn ref_type(&self, r: Value) -> Option<&RefType> {
        self.ref_types.get(&r)
    }

    /// A scalar constant.
    pub fn constant(&mut self, s: Scalar) -> Value {
        self.push1(Op::Const(s))
    }
    /// An `f32` constant.
    pub fn f32(&mut self, v: f32) -> Value {
        self.constant(Scalar::F32(v))
    }
    /// An `i32` constant.
    pub fn i32(&mut self, v: i32) -> Value {
        self.constant(Scalar::I32(v))
    }
    /// A `u32` constant.
    pub fn u32(&mut self, v: u32) -> Value {
        self.constant(Scalar::U32(v))
    }
    /// A `bool` constant.
    pub fn bool(&mut self, v: bool) -> Value {
        self.constant(Scalar::Bool(v))
    }
    /// An array filled with a literal.
    pub fn full(&mut self, value: impl Into<Scalar>, shape: &[usize]) -> Value {
        self.push1(Op::Full {
            value: value.into(),
            shape: shape.to_vec(),
        })
    }
    /// `0, 1, 2, ...` along `dim`.
    pub fn iota(&mut self, dtype: DType, shape: &[usize], dim: usize) -> Value {
        self.push1(Op::Iota {
            dtype,
            shape: shape.to_vec(),
            dim,
        })
    }
    /// `pl.program_id(axis)`.
    pub fn program_id(&mut self, axis: usize) -> Value {
        self.push1(Op::ProgramId { axis })
    }
    /// `lax.axis_index(name)` of mesh axis `axis`.
    pub fn axis_index(&mut self, axis: usize) -> Value {
        self.push1(Op::AxisIndex { axis })
    }
    /// `pltpu.get_barrier_semaphore()`: a regular semaphore ref.
    pub fn barrier_semaphore(&mut self) -> Value {
        let v = self.push1(Op::BarrierSemaphore);
        self.ref_types.insert(
            v,
            RefType {
                elem: RefElem::Semaphore(SemaphoreKind::Regular),
                shape: Vec::new(),
                space: MemorySpace::Smem,
            },
        );
        v
    }
    /// `pl.num_programs(axis)`.
    pub fn num_programs(&mut self, axis: usize) -> Value {
        self.push1(Op::NumPrograms { axis })
    }

    /// An elementwise unary op.
    pub fn unary(&mut self, op: UnaryOp, x: Value) -> Value {
        self.push1(Op::Unary(op, x))
    }
    /// An elementwise binary op.
    pub fn binary(&mut self, op: BinaryOp, a: impl Into<Operand>, b: impl Into<Operand>) -> Value {
        let a = self.operand(a);
        let b = self.operand(b);
        self.push1(Op::Binary(op, a, b))
    }
    /// An elementwise comparison.
    pub fn compare(&mut self, op: CmpOp, a: impl Into<Operand>, b: impl Into<Operand>) -> Value {
        let a = self.operand(a);
        let b = self.operand(b);
        self.push1(Op::Compare(op, a, b))
    }

    unary_methods! {
        neg => Neg, abs => Abs, exp => Exp, exp2 => Exp2, log => Log, log1p => Log1p,
        sqrt => Sqrt, rsqrt => Rsqrt, sin => Sin, cos => Cos, tan => Tan, tanh => Tanh,
        logistic => Logistic, erf => Erf, floor => Floor, ceil => Ceil, round => Round,
        sign => Sign, not => Not,
    }
    binary_methods! {
        add => Add, sub => Sub, mul => Mul, div => Div, rem => Rem, pow => Pow,
        max => Max, min => Min, and => And, or => Or, xor => Xor, shl => Shl,
        shr_logical => ShrLogical, shr_arith => ShrArith,
    }
    compare_methods! { eq => Eq, ne => Ne, lt => Lt, le => Le, gt => Gt, ge => Ge }

    /// `jnp.where(cond, a, b)`.
    pub fn select(
        &mut self,
        cond: Value,
        on_true: impl Into<Operand>,
        on_false: impl Into<Operand>,
    ) -> Value {
        let on_true = self.operand(on_true);
        let on_false = self.operand(on_false);
        self.push1(Op::Select {
            cond,
            on_true,
            on_false,
        })
    }
    /// Converts to another dtype.
    pub fn cast(&mut self, x: Value, to: DType) -> Value {
        self.push1(Op::Cast { x, to })
    }
    /// Reinterprets bits as another dtype.
    pub fn bitcast(&mut self, x: Value, to: DType) -> Value {
        self.push1(Op::Bitcast { x, to })
    }
    /// `lax.broadcast_in_dim`.
    pub fn broadcast_in_dim(&mut self, x: Value, shape: &[usize], dims: &[usize]) -> Value {
        self.push1(Op::BroadcastInDim {
            x,
            shape: shape.to_vec(),
            dims: dims.to_vec(),
        })
    }
    /// Reshape.
    pub fn reshape(&mut self, x: Value, shape: &[usize]) -> Value {
        self.push1(Op::Reshape {
            x,
            shape: shape.to_vec(),
        })
    }
    /// Transpose by a permutation.
    pub fn transpose(&mut self, x: Value, perm: &[usize]) -> Value {
        self.push1(Op::Transpose {
            x,
            perm: perm.to_vec(),
        })
    }
    /// Concatenate along an axis.
    pub fn concatenate(&mut self, xs: &[Value], axis: usize) -> Value {
        self.push1(Op::Concatenate {
            xs: xs.to_vec(),
            axis,
        })
    }
    /// A static slice with unit strides.
    pub fn slice(&mut self, x: Value, start: &[usize], limit: &[usize]) -> Value {
        self.push1(Op::Slice {
            x,
            start: start.to_vec(),
            limit: limit.to_vec(),
            strides: vec![1; start.len()],
        })
    }
    /// A reduction over axes.
    pub fn reduce(&mut self, op: ReduceOp, x: Value, axes: &[usize]) -> Value {
        self.push1(Op::Reduce {
            op,
            x,
            axes: axes.to_vec(),
        })
    }
    /// Sum over axes.
    pub fn sum(&mut self, x: Value, axes: &[usize]) -> Value {
        self.reduce(ReduceOp::Sum, x, axes)
    }
    /// Maximum over axes.
    pub fn reduce_max(&mut self, x: Value, axes: &[usize]) -> Value {
        self.reduce(ReduceOp::Max, x, axes)
    }
    /// Inclusive prefix sum along an axis.
    pub fn cumsum(&mut self, x: Value, axis: usize) -> Value {
        self.push1(Op::Cumsum { x, axis })
    }
    /// Matrix product `lhs @ rhs`.
    pub fn dot(&mut self, lhs: Value, rhs: Value) -> Value {
        self.dot_general(lhs, rhs, false, false)
    }
    /// Matrix product with either operand transposed.
    pub fn dot_general(
        &mut self,
        lhs: Value,
        rhs: Value,
        transpose_lhs: bool,
        transpose_rhs: bool,
    ) -> Value {
        self.dot_general_into(lhs, rhs, transpose_lhs, transpose_rhs, None)
    }
    /// [`RegionBuilder::dot_general`] with a result dtype (JAX's
    /// `preferred_element_type`; `None`: the operands').
    pub fn dot_general_into(
        &mut self,
        lhs: Value,
        rhs: Value,
        transpose_lhs: bool,
        transpose_rhs: bool,
        preferred: Option<DType>,
    ) -> Value {
        self.push1(Op::Dot {
            lhs,
            rhs,
            transpose_lhs,
            transpose_rhs,
            preferred,
        })
    }
    /// Matrix product `lhs @ rhs` with a result dtype (JAX's
    /// `preferred_element_type`): `bf16 @ bf16` into `f32`, `i8 @ i8`
    /// into `i32`.
    pub fn dot_into(&mut self, lhs: Value, rhs: Value, preferred: DType) -> Value {
        self.dot_general_into(lhs, rhs, false, false, Some(preferred))
    }

    fn whole(&self, r: Value) -> RefAt {
        let rank = self.ref_types.get(&r).map_or(0, |t| t.shape.len());
        RefAt {
            r,
            idx: vec![Indexer::Full; rank],
        }
    }

    /// `r[idx]`.
    pub fn load(&mut self, r: Value, idx: &[Indexer]) -> Value {
        self.load_masked(r, idx, None, None)
    }
    /// `r[...]`, the whole ref.
    pub fn load_all(&mut self, r: Value) -> Value {
        let src = self.whole(r);
        self.push1(Op::Load {
            src,
            mask: None,
            other: None,
        })
    }
    /// `pl.load(r, idx, mask=mask, other=other)`.
    pub fn load_masked(
        &mut self,
        r: Value,
        idx: &[Indexer],
        mask: Option<Value>,
        other: Option<Value>,
    ) -> Value {
        self.push1(Op::Load {
            src: RefAt {
                r,
                idx: idx.to_vec(),
            },
            mask,
            other,
        })
    }
    /// `r[idx] = value`.
    pub fn store(&mut self, r: Value, idx: &[Indexer], value: impl Into<Operand>) {
        self.store_masked(r, idx, value, None)
    }
    /// `r[...] = value`.
    pub fn store_all(&mut self, r: Value, value: impl Into<Operand>) {
        let value = self.operand(value);
        let dst = self.whole(r);
        self.push(
            Op::Store {
                dst,
                value,
                mask: None,
            },
            0,
        );
    }
    /// `pl.store(r, idx, value, mask=mask)`.
    pub fn store_masked(
        &mut self,
        r: Value,
        idx: &[Indexer],
        value: impl Into<Operand>,
        mask: Option<Value>,
    ) {
        let value = self.operand(value);
        self.push(
            Op::Store {
                dst: RefAt {
                    r,
                    idx: idx.to_vec(),
                },
                value,
                mask,
            },
            0,
        );
    }
    /// `pl.swap`: writes and returns the old value.
    pub fn swap(&mut self, r: Value, idx: &[Indexer], value: Value, mask: Option<Value>) -> Value {
        self.push1(Op::Swap {
            dst: RefAt {
                r,
                idx: idx.to_vec(),
            },
            value,
            mask,
        })
    }
    /// An atomic read-modify-write; returns the old values.
    pub fn atomic(
        &mut self,
        op: AtomicOp,
        r: Value,
        idx: &[Indexer],
        value: impl Into<Operand>,
        mask: Option<Value>,
    ) -> Value {
        let value = self.operand(value);
        self.push1(Op::Atomic {
            op,
            dst: RefAt {
                r,
                idx: idx.to_vec(),
            },
            value,
            mask,
        })
    }
    /// Atomic compare-and-swap; returns the old values.
    pub fn atomic_cas(&mut self, r: Value, idx: &[Indexer], expected: Value, new: Value) -> Value {
        self.push1(Op::AtomicCas {
            dst: RefAt {
                r,
                idx: idx.to_vec(),
            },
            expected,
            new,
        })
    }

    /// `lax.fori_loop`: `f(builder, i, carries)` returns the next carries;
    /// the results are the final carries.
    pub fn for_loop(
        &mut self,
        lower: impl Into<Operand>,
        upper: impl Into<Operand>,
        step: i64,
        inits: &[Value],
        f: impl FnOnce(&mut RegionBuilder, Value, &[Value]) -> Vec<Value>,
    ) -> Vec<Value> {
        let lower = self.operand(lower);
        let upper = self.operand(upper);
        let body = self.nested(inits.len() + 1, Vec::new(), |b, args| {
            f(b, args[0], &args[1..])
        });
        self.push(
            Op::For {
                lower,
                upper,
                step,
                inits: inits.to_vec(),
                body,
            },
            inits.len(),
        )
    }

    /// `lax.while_loop`: `cond` returns a scalar bool, `body` the next carries.
    pub fn while_loop(
        &mut self,
        inits: &[Value],
        cond: impl FnOnce(&mut RegionBuilder, &[Value]) -> Value,
        body: impl FnOnce(&mut RegionBuilder, &[Value]) -> Vec<Value>,
    ) -> Vec<Value> {
        let cond = self.nested(inits.len(), Vec::new(), |b, a| vec![cond(b, a)]);
        let body = self.nested(inits.len(), Vec::new(), body);
        self.push(
            Op::While {
                inits: inits.to_vec(),
                cond,
                body,
            },
            inits.len(),
        )
    }

    /// `lax.cond`: both branches return the results (same count and types).
    pub fn if_else(
        &mut self,
        cond: Value,
        then_f: impl FnOnce(&mut RegionBuilder) -> Vec<Value>,
        else_f: impl FnOnce(&mut RegionBuilder) -> Vec<Value>,
    ) -> Vec<Value> {
        let then_region = self.nested(0, Vec::new(), |b, _| then_f(b));
        let else_region = self.nested(0, Vec::new(), |b, _| else_f(b));
        let n = self.kernel.regions[then_region].yields.len();
        self.push(
            Op::If {
                cond,
                then_region,
                else_region,
            },
            n,
        )
    }

    /// `pl.when(cond)`: a branch with no results.
    pub fn when(&mut self, cond: Value, f: impl FnOnce(&mut RegionBuilder)) {
        self.if_else(
            cond,
            |b| {
                f(b);
                Vec::new()
            },
            |_| Vec::new(),
        );
    }

    /// `pl.run_scoped`: scratch refs that live for the region.
    pub fn run_scoped(
        &mut self,
        scratch: &[RefType],
        f: impl FnOnce(&mut RegionBuilder, &[Value]) -> Vec<Value>,
    ) -> Vec<Value> {
        let body = self.nested(scratch.len(), scratch.to_vec(), f);
        let n = self.kernel.regions[body].yields.len();
        self.push(
            Op::RunScoped {
                scratch: scratch.to_vec(),
                body,
            },
            n,
        )
    }

    /// Starts an async copy `src -> dst` signalling a DMA semaphore.
    pub fn dma_start(&mut self, src: RefAt, dst: RefAt, sem: RefAt) {
        self.push(Op::DmaStart { src, dst, sem }, 0);
    }
    /// Waits for a copy into `dst` on a DMA semaphore.
    pub fn dma_wait(&mut self, dst: RefAt, sem: RefAt) {
        self.push(Op::DmaWait { dst, sem }, 0);
    }
    /// Starts a copy from `src` here into `dst` on device `device`
    /// (`make_async_remote_copy(...).start()`).
    pub fn remote_dma_start(
        &mut self,
        src: RefAt,
        dst: RefAt,
        send: RefAt,
        recv: RefAt,
        device: impl Into<Operand>,
    ) {
        let device = self.operand(device);
        self.push(
            Op::RemoteDmaStart {
                src,
                dst,
                send,
                recv,
                device,
            },
            0,
        );
    }
    /// Adds `inc` to a semaphore, on another core when `core` is given.
    pub fn semaphore_signal(&mut self, sem: RefAt, inc: impl Into<Operand>, core: Option<Value>) {
        let inc = self.operand(inc);
        self.push(
            Op::SemaphoreSignal {
                sem,
                inc,
                core,
                device: None,
            },
            0,
        );
    }
    /// Adds `inc` to a semaphore on device `device` (`pl.semaphore_signal`
    /// with `device_id`).
    pub fn semaphore_signal_device(
        &mut self,
        sem: RefAt,
        inc: impl Into<Operand>,
        device: impl Into<Operand>,
    ) {
        let inc = self.operand(inc);
        let device = Some(self.operand(device));
        self.push(
            Op::SemaphoreSignal {
                sem,
                inc,
                core: None,
                device,
            },
            0,
        );
    }
    /// Waits for a semaphore to reach `value`, then subtracts it.
    pub fn semaphore_wait(&mut self, sem: RefAt, value: impl Into<Operand>) {
        let value = self.operand(value);
        self.push(Op::SemaphoreWait { sem, value }, 0);
    }
    /// Reads a semaphore's count.
    pub fn semaphore_read(&mut self, sem: RefAt) -> Value {
        self.push1(Op::SemaphoreRead { sem })
    }
    /// Prints a message; `{}` placeholders take the arguments in order.
    pub fn debug_print(&mut self, fmt: &str, args: &[Value]) {
        self.push(
            Op::DebugPrint {
                fmt: fmt.to_string(),
                args: args.to_vec(),
            },
            0,
        );
    }
}

/// `r.at[idx]`: a ref region for DMAs and semaphores.
pub fn ref_at(r: Value, idx: &[Indexer]) -> RefAt {
    RefAt {
        r,
        idx: idx.to_vec(),
    }
}
