//! Validation errors.

use std::fmt;

use crate::dtype::DType;
use crate::kernel::Loc;
use crate::types::{MemorySpace, ShapeDisplay};

/// A shape, displayed as `[a, b]` (or `scalar`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeText(pub Vec<usize>);

impl fmt::Display for ShapeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("scalar")
        } else {
            write!(f, "{}", ShapeDisplay(&self.0))
        }
    }
}

/// What is wrong, without where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationErrorKind {
    /// A name that the text format cannot spell.
    #[error("invalid name `{0}`: expected letters, digits and `_`, not starting with a digit")]
    InvalidName(String),
    /// Two parameters with one name.
    #[error("duplicate parameter name `{0}`")]
    DuplicateParam(String),
    /// Two mesh axes with one name.
    #[error("duplicate mesh axis name `{0}`")]
    DuplicateMeshAxis(String),
    /// A mesh axis of size 0.
    #[error("mesh axis `{0}` has size 0; expected at least one device")]
    EmptyMeshAxis(String),
    /// A mesh with too many devices.
    #[error("the mesh has {found} devices; at most {max} are simulated")]
    TooManyDevices {
        /// The limit.
        max: usize,
        /// The product of the mesh axes.
        found: u128,
    },
    /// A mesh axis out of range.
    #[error("mesh axis {axis} out of range: the mesh has {rank} axes")]
    BadMeshAxis {
        /// Axis.
        axis: usize,
        /// Mesh rank.
        rank: usize,
    },
    /// A multi-device operation in a kernel without a mesh.
    #[error("`{op}` needs a device mesh: declare one with `mesh(NAME SIZE, ...)` after the grid")]
    NoMesh {
        /// The operation.
        op: &'static str,
    },
    /// A remote copy into `run_scoped` scratch.
    #[error("a remote copy's destination must be a kernel parameter: run_scoped scratch need not exist on the other device")]
    RemoteScratch,
    /// A constant device id outside the mesh.
    #[error("device {device} is outside the mesh of {devices} devices")]
    BadDevice {
        /// The device id.
        device: i64,
        /// Devices in the mesh.
        devices: usize,
    },
    /// Parameters out of the order prefetch, inputs, outputs, scratch.
    #[error("parameter `{name}` is {kind} but comes after a {after} parameter; expected order: prefetch, in, out, scratch")]
    ParamOrder {
        /// Parameter.
        name: String,
        /// Its kind.
        kind: &'static str,
        /// The kind before it.
        after: &'static str,
    },
    /// A parallel grid dimension after an arbitrary one.
    #[error("grid axis {axis} is parallel but follows an arbitrary axis; parallel axes must form a leading prefix")]
    ParallelAfterArbitrary {
        /// Axis.
        axis: usize,
    },
    /// A parameter in a memory space its role does not allow.
    #[error("{what} cannot live in memory space `{space}`; expected {expected}")]
    BadParamSpace {
        /// The parameter's role.
        what: &'static str,
        /// Its space.
        space: MemorySpace,
        /// Allowed spaces.
        expected: &'static str,
    },
    /// A parameter with the wrong element type for its role.
    #[error("{what}: expected {expected}, found {found}")]
    BadParamElem {
        /// The parameter's role.
        what: &'static str,
        /// Expected element.
        expected: &'static str,
        /// Found element.
        found: String,
    },
    /// A block spec where no blocking is possible.
    #[error("a block spec is not allowed here: {0}")]
    UnexpectedBlockSpec(&'static str),
    /// A padded shape where none may be, or one that does not contain the
    /// parameter's shape.
    #[error("parameter `{name}`: a padded shape {found}; expected {expected}")]
    BadPadding {
        /// The parameter.
        name: String,
        /// What a padded shape must be.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// Block rank differs from array rank.
    #[error("block shape has rank {block}, but the array has rank {array}")]
    BlockRank {
        /// Block rank.
        block: usize,
        /// Array rank.
        array: usize,
    },
    /// A block dimension of size zero.
    #[error("block dimension {dim} is {size}, expected at least 1 (the array's size is {array})")]
    BlockDimSize {
        /// Dimension.
        dim: usize,
        /// Block size.
        size: usize,
        /// Array size.
        array: usize,
    },
    /// Index map with the wrong number of arguments.
    #[error("index map takes {found} arguments, expected {expected} (grid indices then scalar-prefetch refs)")]
    IndexMapArity {
        /// Expected.
        expected: usize,
        /// Found.
        found: usize,
    },
    /// Index map with the wrong number of results.
    #[error(
        "index map returns {found} block indices, expected {expected} (one per array dimension)"
    )]
    IndexMapResults {
        /// Expected.
        expected: usize,
        /// Found.
        found: usize,
    },
    /// An operation that an index map may not contain.
    #[error("`{0}` is not allowed in an index map (only scalar arithmetic and loads from scalar-prefetch refs)")]
    NotAllowedInIndexMap(String),
    /// A bad input/output alias.
    #[error("alias in {input} -> out {output}: {reason}")]
    BadAlias {
        /// Input position.
        input: usize,
        /// Output position.
        output: usize,
        /// What is wrong.
        reason: String,
    },
    /// A shape whose element count overflows.
    #[error("shape {0} has more elements than fit in memory")]
    ShapeOverflow(ShapeText),
    /// A handle that points nowhere, or IR whose links disagree.
    #[error("malformed IR: {0}")]
    Malformed(String),
    /// A value used outside the region that defines it, or before.
    #[error("value %{0} is used outside its scope (not defined before this point in this or an enclosing region)")]
    OutOfScope(usize),
    /// Regions nested deeper than the limit.
    #[error("regions nested deeper than {0}")]
    TooDeep(usize),
    /// A ref where a value is expected.
    #[error("{what}: expected a value, found a ref")]
    RefAsValue {
        /// Which operand.
        what: &'static str,
    },
    /// A value where a ref is expected.
    #[error("{what}: expected a ref, found a value of type {found}")]
    ValueAsRef {
        /// Which operand.
        what: &'static str,
        /// Found type.
        found: String,
    },
    /// Wrong number of indexers for a ref.
    #[error("ref of rank {rank} indexed with {found} indexers")]
    IndexerCount {
        /// Ref rank.
        rank: usize,
        /// Indexers given.
        found: usize,
    },
    /// A static index or slice past the ref's extent.
    #[error("indexer on dimension {dim} reaches {reach}, but the dimension has {extent} elements")]
    IndexOutOfRange {
        /// Dimension.
        dim: usize,
        /// One past the last element touched (or the negative start).
        reach: i64,
        /// Extent.
        extent: usize,
    },
    /// A slice with stride zero.
    #[error("slice stride must be at least 1, found {0}")]
    ZeroStride(usize),
    /// A direct load or store on an HBM ref.
    #[error("`{op}` on ref `{name}` in memory space `any` (HBM): such refs are moved with DMAs, not loaded or stored")]
    HbmAccess {
        /// Operation.
        op: String,
        /// Ref name.
        name: String,
    },
    /// Data access on a semaphore, or a semaphore op on data.
    #[error("{what}: expected {expected}, found {found}")]
    SemaphoreMisuse {
        /// Which operand.
        what: &'static str,
        /// Expected.
        expected: &'static str,
        /// Found.
        found: String,
    },
    /// A write to a ref that is read-only.
    #[error("`{op}` writes to `{name}`, which is read-only (only outputs, scratch, aliased inputs and the SMEM/VMEM copies of inputs are writable)")]
    ReadOnly {
        /// Operation.
        op: String,
        /// Ref name.
        name: String,
    },
    /// Operand dtypes that should agree but do not.
    #[error("{what}: expected dtype {expected}, found {found}")]
    DtypeMismatch {
        /// Which operand.
        what: &'static str,
        /// Expected.
        expected: DType,
        /// Found.
        found: DType,
    },
    /// A dtype the operation is not defined on.
    #[error("{what}: dtype {found} not supported, expected {expected}")]
    BadDtype {
        /// Which operand.
        what: &'static str,
        /// Expected class.
        expected: &'static str,
        /// Found.
        found: DType,
    },
    /// Operand shapes that should agree but do not.
    #[error("{what}: expected shape {expected}, found {found}")]
    ShapeMismatch {
        /// Which operand.
        what: &'static str,
        /// Expected.
        expected: ShapeText,
        /// Found.
        found: ShapeText,
    },
    /// A non-scalar where a scalar is needed.
    #[error("{what}: expected a scalar {expected}, found {found}")]
    NotScalar {
        /// Which operand.
        what: &'static str,
        /// Expected dtype.
        expected: DType,
        /// Found type.
        found: String,
    },
    /// An axis out of range.
    #[error("axis {axis} out of range for rank {rank}")]
    BadAxis {
        /// Axis.
        axis: usize,
        /// Rank.
        rank: usize,
    },
    /// Axes listed twice.
    #[error("axis {0} listed twice")]
    DuplicateAxis(usize),
    /// A grid axis out of range.
    #[error("grid axis {axis} out of range: the grid has {rank} dimensions")]
    BadGridAxis {
        /// Axis.
        axis: usize,
        /// Grid rank.
        rank: usize,
    },
    /// Not a permutation.
    #[error("{perm:?} is not a permutation of 0..{rank}")]
    BadPermutation {
        /// The permutation.
        perm: Vec<usize>,
        /// Rank.
        rank: usize,
    },
    /// A bad broadcast.
    #[error("cannot broadcast {from} to {to} with dims {dims:?}: {reason}")]
    BadBroadcast {
        /// Operand shape.
        from: ShapeText,
        /// Result shape.
        to: ShapeText,
        /// Dim mapping.
        dims: Vec<usize>,
        /// What is wrong.
        reason: &'static str,
    },
    /// A reshape that changes the element count.
    #[error("cannot reshape {from} ({from_n} elements) to {to} ({to_n} elements)")]
    ReshapeCount {
        /// From.
        from: ShapeText,
        /// Elements.
        from_n: usize,
        /// To.
        to: ShapeText,
        /// Elements.
        to_n: usize,
    },
    /// A bad static slice of a value.
    #[error("bad slice of {shape}: {reason}")]
    BadSlice {
        /// Operand shape.
        shape: ShapeText,
        /// What is wrong.
        reason: String,
    },
    /// A dot whose operands do not fit.
    #[error("dot needs 2-D operands with matching contraction sizes: lhs {lhs}, rhs {rhs}")]
    DotShapes {
        /// Lhs shape as used (after transpose).
        lhs: ShapeText,
        /// Rhs shape as used.
        rhs: ShapeText,
    },
    /// `other` without a mask.
    #[error("`other` (fill) given without a mask")]
    OtherWithoutMask,
    /// A region yielding the wrong number of values.
    #[error("{what} yields {found} values, expected {expected}")]
    YieldCount {
        /// Which region.
        what: &'static str,
        /// Expected.
        expected: usize,
        /// Found.
        found: usize,
    },
    /// A region yielding a value of the wrong type.
    #[error("{what} yield {index} has type {found}, expected {expected}")]
    YieldType {
        /// Which region.
        what: &'static str,
        /// Position.
        index: usize,
        /// Expected type.
        expected: String,
        /// Found type.
        found: String,
    },
    /// A region with the wrong number of arguments.
    #[error("{what} takes {found} arguments, expected {expected}")]
    RegionArity {
        /// Which region.
        what: &'static str,
        /// Expected.
        expected: usize,
        /// Found.
        found: usize,
    },
    /// A `for` with a step below 1.
    #[error("for-loop step must be at least 1, found {0}")]
    BadStep(i64),
    /// An instruction with the wrong number of results.
    #[error("operation defines {found} results, expected {expected}")]
    ResultCount {
        /// Expected.
        expected: usize,
        /// Found.
        found: usize,
    },
    /// Bitcast between types of different widths.
    #[error("bitcast from {from} to {to}: widths differ or bool involved")]
    BitcastWidth {
        /// From.
        from: DType,
        /// To.
        to: DType,
    },
    /// A format string whose placeholders and arguments disagree.
    #[error("format string has {placeholders} `{{}}` placeholders but {args} arguments")]
    FormatArgs {
        /// Placeholders.
        placeholders: usize,
        /// Arguments.
        args: usize,
    },
    /// Scoped scratch in a space that cannot hold it.
    #[error("run_scoped scratch {index} in memory space `{space}`; expected vmem or smem")]
    ScopedSpace {
        /// Position.
        index: usize,
        /// Space.
        space: MemorySpace,
    },
    /// An empty concatenation.
    #[error("concatenate needs at least one operand")]
    EmptyConcat,
}

/// One validation error: which kernel, where, what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// Kernel name.
    pub kernel: String,
    /// The operation or declaration (`op add`, `param x`, `grid`, ...).
    pub context: String,
    /// Line and column, for parsed text.
    pub loc: Option<Loc>,
    /// What is wrong.
    pub kind: ValidationErrorKind,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kernel `{}`: {}", self.kernel, self.context)?;
        if let Some(loc) = self.loc {
            write!(f, " at {loc}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for ValidationError {}

/// Every error found in one kernel.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", display_all(.0))]
pub struct ValidationErrors(pub Vec<ValidationError>);

fn display_all(errors: &[ValidationError]) -> String {
    let mut s = format!(
        "{} validation error{}",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for e in errors {
        s.push_str("\n  ");
        s.push_str(&e.to_string());
    }
    s
}

impl ValidationErrors {
    /// The error kinds, in order.
    pub fn kinds(&self) -> Vec<&ValidationErrorKind> {
        self.0.iter().map(|e| &e.kind).collect()
    }
}
