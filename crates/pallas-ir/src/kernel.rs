//! The kernel: grid, parameters with block specs, and a body of regions.

use crate::arena::{Arena, Handle};
use crate::dtype::DType;
use crate::ops::Op;
use crate::types::{MemorySpace, RefElem, RefType};

/// An SSA value: a region argument or an instruction result.
pub type Value = Handle<ValueData>;
/// An instruction.
pub type Inst = Handle<InstData>;
/// A region: arguments, a list of instructions, and yielded values.
pub type Region = Handle<RegionData>;

/// Where a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueData {
    /// The `index`-th argument of a region.
    Arg {
        /// The region.
        region: Region,
        /// Argument position.
        index: usize,
    },
    /// The `index`-th result of an instruction.
    Result {
        /// The instruction.
        inst: Inst,
        /// Result position.
        index: usize,
    },
}

/// An instruction: an operation and the values it defines.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstData {
    /// The operation.
    pub op: Op,
    /// Result values.
    pub results: Vec<Value>,
}

/// A region: a block of straight-line instructions with arguments and
/// yielded values (loop bodies, branches, index maps, the kernel body).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct RegionData {
    /// Argument values.
    pub args: Vec<Value>,
    /// Instructions, in order.
    pub insts: Vec<Inst>,
    /// Values the region yields (loop carries, branch results, block indices).
    pub yields: Vec<Value>,
}

/// How a grid dimension's points may be scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DimSemantics {
    /// Points are independent: any order, any core.
    Parallel,
    /// Points run in order on one core; state carries across them.
    Arbitrary,
}

impl DimSemantics {
    /// The name used in the text format.
    pub fn name(self) -> &'static str {
        match self {
            DimSemantics::Parallel => "parallel",
            DimSemantics::Arbitrary => "arbitrary",
        }
    }
}

/// One grid dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GridDim {
    /// Number of points along this dimension.
    pub size: usize,
    /// Scheduling semantics.
    pub semantics: DimSemantics,
}

/// One named axis of a device mesh (JAX's `Mesh` axis).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MeshAxis {
    /// The axis name (`lax.axis_index(name)`).
    pub name: String,
    /// Number of devices along the axis.
    pub size: usize,
}

/// What role a parameter plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParamKind {
    /// A small integer array placed in SMEM before the grid runs, readable
    /// by index maps and the body.
    ScalarPrefetch,
    /// A kernel input.
    Input,
    /// A kernel output.
    Output,
    /// Scratch memory (VMEM/SMEM buffers or semaphores), per core,
    /// persisting across that core's grid points.
    Scratch,
}

impl ParamKind {
    /// The keyword used in the text format.
    pub fn keyword(self) -> &'static str {
        match self {
            ParamKind::ScalarPrefetch => "prefetch",
            ParamKind::Input => "in",
            ParamKind::Output => "out",
            ParamKind::Scratch => "scratch",
        }
    }
}

/// One dimension of a block shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockDim {
    /// A block of this many elements.
    Sized(usize),
    /// Size 1, dropped from the kernel's view (`None` / `pl.Squeezed()`).
    Squeezed,
}

impl BlockDim {
    /// The number of array elements the block covers along this dimension.
    pub fn size(self) -> usize {
        match self {
            BlockDim::Sized(n) => n,
            BlockDim::Squeezed => 1,
        }
    }
}

/// How an input or output is cut into blocks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlockSpec {
    /// Block shape, one entry per array dimension.
    pub block_shape: Vec<BlockDim>,
    /// A region whose arguments are the grid indices (`i32`) then the
    /// scalar-prefetch refs, yielding one block index (`i32`) per array dim.
    pub index_map: Region,
}

/// A kernel parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    /// Name, unique in the kernel.
    pub name: String,
    /// Role.
    pub kind: ParamKind,
    /// Element type.
    pub elem: RefElem,
    /// The full array's shape (for scratch, the buffer's shape).
    pub shape: Vec<usize>,
    /// Memory space the body sees it in.
    pub space: MemorySpace,
    /// Blocking, for VMEM/SMEM inputs and outputs; `None` means one block
    /// covering the whole array (or, for `any`, no blocking at all).
    pub block: Option<BlockSpec>,
    /// For VMEM scratch, the allocation's padded shape (JAX's
    /// `buffer_bounds="padded"`): an access past `shape` but inside this
    /// one is no fault; it reads uninitialized values and writes nothing.
    pub padded: Option<Vec<usize>>,
}

impl Param {
    /// Whether this is HBM scratch: data scratch in memory space `any`,
    /// one buffer per device that its cores share.
    pub fn is_hbm_scratch(&self) -> bool {
        self.kind == ParamKind::Scratch
            && self.space == MemorySpace::Any
            && matches!(self.elem, RefElem::Data(_))
    }

    /// The data dtype, or `None` for semaphores.
    pub fn dtype(&self) -> Option<DType> {
        match self.elem {
            RefElem::Data(d) => Some(d),
            RefElem::Semaphore(_) => None,
        }
    }

    /// The shape of the block the body sees: squeezed dims dropped; the
    /// whole array when unblocked.
    pub fn block_view_shape(&self) -> Vec<usize> {
        match &self.block {
            Some(b) => b
                .block_shape
                .iter()
                .filter_map(|d| match d {
                    BlockDim::Sized(n) => Some(*n),
                    BlockDim::Squeezed => None,
                })
                .collect(),
            None => self.shape.clone(),
        }
    }

    /// The block shape with squeezed dims as 1, one entry per array dim.
    pub fn block_full_shape(&self) -> Vec<usize> {
        match &self.block {
            Some(b) => b.block_shape.iter().map(|d| d.size()).collect(),
            None => self.shape.clone(),
        }
    }

    /// The ref type the body sees for this parameter.
    pub fn ref_type(&self) -> RefType {
        RefType {
            elem: self.elem,
            shape: self.block_view_shape(),
            space: self.space,
        }
    }
}

/// A kernel: name, grid, parameters, aliases and a body.
///
/// Values, instructions and regions live in arenas owned by the kernel and
/// are addressed by typed handles. The body region takes one ref argument
/// per parameter, in parameter order. Equality is structural over the
/// arenas; source locations from the parser are kept beside them and do not
/// take part in equality or hashing.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// Kernel name.
    pub name: String,
    /// Grid dimensions (empty: a single point).
    pub grid: Vec<GridDim>,
    /// The device mesh the kernel runs on (empty: one device). Every
    /// device runs the whole grid on its own shard of each parameter.
    pub mesh: Vec<MeshAxis>,
    /// Parameters in order: scalar prefetch, inputs, outputs, scratch.
    pub params: Vec<Param>,
    /// `(input position, output position)` pairs, counted among the inputs
    /// and among the outputs: the output reuses the input's HBM buffer.
    pub aliases: Vec<(usize, usize)>,
    /// All values.
    pub values: Arena<ValueData>,
    /// All instructions.
    pub insts: Arena<InstData>,
    /// All regions.
    pub regions: Arena<RegionData>,
    /// The body region.
    pub body: Region,
    /// Source positions of instructions, when parsed from text.
    pub locs: SourceMap,
}

impl PartialEq for Kernel {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.grid == other.grid
            && self.mesh == other.mesh
            && self.params == other.params
            && self.aliases == other.aliases
            && self.values == other.values
            && self.insts == other.insts
            && self.regions == other.regions
            && self.body == other.body
    }
}
impl Eq for Kernel {}

impl std::hash::Hash for Kernel {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.grid.hash(state);
        self.mesh.hash(state);
        self.params.hash(state);
        self.aliases.hash(state);
        self.values.hash(state);
        self.insts.hash(state);
        self.regions.hash(state);
        self.body.hash(state);
    }
}

/// A line and column in kernel text, both 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Where things were in the source text: per instruction, per parameter.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    /// Location of each instruction, indexed like `Kernel::insts`.
    pub insts: Vec<Option<Loc>>,
    /// Location of each parameter declaration.
    pub params: Vec<Option<Loc>>,
    /// Location of the kernel header.
    pub kernel: Option<Loc>,
}

impl Kernel {
    /// Source location of an instruction, when parsed from text.
    pub fn inst_loc(&self, inst: Inst) -> Option<Loc> {
        self.locs.insts.get(inst.index()).copied().flatten()
    }

    /// Source location of a parameter declaration, when parsed from text.
    pub fn param_loc(&self, index: usize) -> Option<Loc> {
        self.locs.params.get(index).copied().flatten()
    }

    /// The parameters of one kind, with their positions in `params`.
    pub fn params_of(&self, kind: ParamKind) -> impl Iterator<Item = (usize, &Param)> {
        self.params
            .iter()
            .enumerate()
            .filter(move |(_, p)| p.kind == kind)
    }

    /// Number of devices: the product of the mesh axes (1 without a mesh),
    /// or `None` on overflow.
    pub fn num_devices(&self) -> Option<usize> {
        self.mesh
            .iter()
            .try_fold(1usize, |acc, a| acc.checked_mul(a.size))
    }

    /// Whether the kernel declares a device mesh.
    pub fn is_multi_device(&self) -> bool {
        !self.mesh.is_empty()
    }

    /// Device `device`'s coordinate along mesh axis `axis`: devices are
    /// numbered row-major over the mesh's axes (the last varies fastest).
    pub fn mesh_coordinate(&self, axis: usize, device: usize) -> usize {
        let inner: usize = self.mesh[axis + 1..].iter().map(|a| a.size).product();
        (device / inner.max(1)) % self.mesh[axis].size.max(1)
    }

    /// Total number of grid points (1 for an empty grid), or `None` on
    /// overflow.
    pub fn num_grid_points(&self) -> Option<usize> {
        self.grid
            .iter()
            .try_fold(1usize, |acc, d| acc.checked_mul(d.size))
    }

    /// Bytes of core-local memory one core needs at most: a buffer per
    /// blocked (or whole-array VMEM/SMEM) input and output, the scratch
    /// parameters, and every `run_scoped` scratch (semaphores count 8
    /// bytes each). Backends check it before allocating, so a kernel that
    /// declares absurd scratch is an error, not an allocation failure.
    pub fn local_bytes(&self) -> u128 {
        let elems = |shape: &[usize]| shape.iter().map(|&d| d as u128).product::<u128>();
        let size = |e: RefElem| match e {
            RefElem::Data(d) => d.size_bytes() as u128,
            RefElem::Semaphore(_) => 8,
        };
        let params: u128 = self
            .params
            .iter()
            .map(|p| match p.kind {
                // HBM scratch is the device's, not a core's.
                _ if p.is_hbm_scratch() => 0,
                ParamKind::Scratch => elems(p.padded.as_ref().unwrap_or(&p.shape)) * size(p.elem),
                ParamKind::Input | ParamKind::Output if p.space != MemorySpace::Any => {
                    elems(&p.block_full_shape()) * size(p.elem)
                }
                // Prefetch arrays are copied per core too.
                ParamKind::ScalarPrefetch => elems(&p.shape) * size(p.elem),
                _ => 0,
            })
            .sum();
        let scoped: u128 = self
            .insts
            .iter()
            .map(|(_, i)| match &i.op {
                Op::RunScoped { scratch, .. } => scratch
                    .iter()
                    .map(|t| elems(&t.shape) * size(t.elem))
                    .sum::<u128>(),
                _ => 0,
            })
            .sum();
        params + scoped
    }

    /// The instruction that defines a value, if it is a result.
    pub fn def_inst(&self, v: Value) -> Option<Inst> {
        match self.values.get(v)? {
            ValueData::Result { inst, .. } => Some(*inst),
            ValueData::Arg { .. } => None,
        }
    }

    /// The body region's argument for a parameter.
    pub fn param_ref(&self, index: usize) -> Option<Value> {
        self.regions.get(self.body)?.args.get(index).copied()
    }
}
