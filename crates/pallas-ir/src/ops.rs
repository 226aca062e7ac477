//! Body operations.

use crate::dtype::{DType, Scalar};
use crate::kernel::{Region, Value};
use crate::types::RefType;

/// Declares a plain enum of operation names with their text-format spelling.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The name used in the text format.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }

            /// Parses a text-format name.
            pub fn from_name(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.name() == s)
            }
        }
    };
}

named_enum! {
    /// Elementwise unary operations.
    UnaryOp {
        /// `-x`.
        Neg => "neg",
        /// `|x|` (wrapping for `i32::MIN`).
        Abs => "abs",
        /// `e^x`.
        Exp => "exp",
        /// `2^x`.
        Exp2 => "exp2",
        /// Natural logarithm.
        Log => "log",
        /// `ln(1 + x)`.
        Log1p => "log1p",
        /// Square root.
        Sqrt => "sqrt",
        /// `1 / sqrt(x)`.
        Rsqrt => "rsqrt",
        /// Sine.
        Sin => "sin",
        /// Cosine.
        Cos => "cos",
        /// Tangent.
        Tan => "tan",
        /// Hyperbolic tangent.
        Tanh => "tanh",
        /// `1 / (1 + e^-x)`.
        Logistic => "logistic",
        /// The error function.
        Erf => "erf",
        /// Round toward negative infinity.
        Floor => "floor",
        /// Round toward positive infinity.
        Ceil => "ceil",
        /// Round half away from zero.
        Round => "round",
        /// -1, 0 or 1 (NaN stays NaN).
        Sign => "sign",
        /// Bitwise or logical not.
        Not => "not",
        /// `e^x - 1`, accurate near 0.
        Expm1 => "expm1",
        /// Round half to even (`jnp.round`).
        RoundEven => "round_even",
        /// The inverse error function (NaN outside [-1, 1], infinities at
        /// the ends).
        ErfInv => "erf_inv",
        /// Number of set bits (integers).
        PopulationCount => "population_count",
        /// Number of leading zero bits (integers; 32 for 0).
        Clz => "clz",
    }
}

impl UnaryOp {
    /// Whether the op is defined only on floats.
    pub fn float_only(self) -> bool {
        !matches!(
            self,
            UnaryOp::Neg
                | UnaryOp::Abs
                | UnaryOp::Sign
                | UnaryOp::Not
                | UnaryOp::PopulationCount
                | UnaryOp::Clz
        )
    }

    /// Whether the op is defined only on integers.
    pub fn int_only(self) -> bool {
        matches!(self, UnaryOp::PopulationCount | UnaryOp::Clz)
    }
}

named_enum! {
    /// Elementwise binary operations.
    BinaryOp {
        /// Addition (wrapping for integers).
        Add => "add",
        /// Subtraction (wrapping for integers).
        Sub => "sub",
        /// Multiplication (wrapping for integers).
        Mul => "mul",
        /// Division (integers round toward zero; division by zero gives 0 for
        /// unsigned and -1 or 0 per XLA for signed, see the backends).
        Div => "div",
        /// Remainder with the sign of the dividend.
        Rem => "rem",
        /// `x^y` (floats).
        Pow => "pow",
        /// Maximum (NaN-propagating for floats).
        Max => "max",
        /// Minimum (NaN-propagating for floats).
        Min => "min",
        /// Bitwise or logical and.
        And => "and",
        /// Bitwise or logical or.
        Or => "or",
        /// Bitwise or logical xor.
        Xor => "xor",
        /// Shift left (shift amounts of 32 or more give 0).
        Shl => "shl",
        /// Logical shift right.
        ShrLogical => "shr_logical",
        /// Arithmetic shift right.
        ShrArith => "shr_arith",
        /// The angle of the point `(rhs, lhs)`: `atan2(y = lhs, x = rhs)`
        /// (floats).
        Atan2 => "atan2",
    }
}

impl BinaryOp {
    /// Whether the op is defined on numbers (floats and integers).
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add
                | BinaryOp::Sub
                | BinaryOp::Mul
                | BinaryOp::Div
                | BinaryOp::Rem
                | BinaryOp::Max
                | BinaryOp::Min
        )
    }

    /// Whether the op is bitwise/logical (integers and bools).
    pub fn is_bitwise(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor)
    }

    /// Whether the op is a shift (integers only).
    pub fn is_shift(self) -> bool {
        matches!(
            self,
            BinaryOp::Shl | BinaryOp::ShrLogical | BinaryOp::ShrArith
        )
    }
}

named_enum! {
    /// Elementwise comparisons; the result is `bool`.
    CmpOp {
        /// Equal.
        Eq => "eq",
        /// Not equal.
        Ne => "ne",
        /// Less than.
        Lt => "lt",
        /// Less than or equal.
        Le => "le",
        /// Greater than.
        Gt => "gt",
        /// Greater than or equal.
        Ge => "ge",
    }
}

named_enum! {
    /// Reductions over axes.
    ReduceOp {
        /// Sum.
        Sum => "sum",
        /// Maximum.
        Max => "max",
        /// Minimum.
        Min => "min",
        /// Product.
        Prod => "prod",
        /// Logical/bitwise and.
        And => "and",
        /// Logical/bitwise or.
        Or => "or",
        /// Index of the first maximum along one axis (result `i32`).
        Argmax => "argmax",
        /// Index of the first minimum along one axis (result `i32`).
        Argmin => "argmin",
    }
}

named_enum! {
    /// Atomic read-modify-write operations on refs; each returns the old value.
    AtomicOp {
        /// `*r += v`.
        Add => "add",
        /// `*r = max(*r, v)`.
        Max => "max",
        /// `*r = min(*r, v)`.
        Min => "min",
        /// `*r &= v`.
        And => "and",
        /// `*r |= v`.
        Or => "or",
        /// `*r ^= v`.
        Xor => "xor",
        /// `*r = v`.
        Xchg => "xchg",
    }
}

/// A start offset or index of a ref indexer: static or a scalar `i32` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Offset {
    /// A compile-time constant.
    Static(i64),
    /// A scalar `i32` value computed in the body.
    Dynamic(Value),
}

/// How one dimension of a ref is indexed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Indexer {
    /// The whole dimension (`:`).
    Full,
    /// A single index; the dimension is dropped from the result.
    Index(Offset),
    /// `pl.ds(start, size)` with a stride: elements
    /// `start, start + stride, ..., start + (size - 1) * stride`.
    Slice {
        /// First element.
        start: Offset,
        /// Number of elements.
        size: usize,
        /// Distance between elements (at least 1).
        stride: usize,
    },
}

/// A ref with one indexer per dimension: the region of memory an operation
/// reads or writes (`x_ref[i, pl.ds(0, 8)]`, `x_ref.at[...]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RefAt {
    /// The ref (a value of ref type).
    pub r: Value,
    /// One indexer per dimension of the ref.
    pub idx: Vec<Indexer>,
}

/// A body operation. Operand values are SSA [`Value`]s; refs are values of
/// ref type. Results are listed on the instruction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// A scalar literal.
    Const(Scalar),
    /// An array filled with one literal.
    Full {
        /// The fill value (its dtype is the result's).
        value: Scalar,
        /// Result shape.
        shape: Vec<usize>,
    },
    /// `0, 1, 2, ...` along `dim`, broadcast along the other dims.
    Iota {
        /// Result dtype (integer or float).
        dtype: DType,
        /// Result shape.
        shape: Vec<usize>,
        /// The dimension that counts.
        dim: usize,
    },
    /// The index of this grid point along `axis` (`i32`).
    ProgramId {
        /// Grid axis.
        axis: usize,
    },
    /// The grid size along `axis` (`i32`).
    NumPrograms {
        /// Grid axis.
        axis: usize,
    },
    /// This device's coordinate along a mesh axis (`i32`; JAX's
    /// `lax.axis_index`).
    AxisIndex {
        /// Mesh axis (an index into `Kernel::mesh`).
        axis: usize,
    },
    /// The device's barrier semaphore (`pltpu.get_barrier_semaphore`): one
    /// regular semaphore per core, which other devices signal to meet.
    BarrierSemaphore,
    /// Elementwise unary op.
    Unary(UnaryOp, Value),
    /// Elementwise binary op; a scalar operand broadcasts against an array.
    Binary(BinaryOp, Value, Value),
    /// Elementwise comparison; a scalar operand broadcasts.
    Compare(CmpOp, Value, Value),
    /// `cond ? a : b`, elementwise; scalars broadcast.
    Select {
        /// Boolean condition.
        cond: Value,
        /// Taken where `cond` is true.
        on_true: Value,
        /// Taken where `cond` is false.
        on_false: Value,
    },
    /// Value conversion to another dtype (floats to ints truncate toward
    /// zero and saturate; NaN gives 0).
    Cast {
        /// Operand.
        x: Value,
        /// Target dtype.
        to: DType,
    },
    /// Reinterpret the bits as another dtype of the same width.
    Bitcast {
        /// Operand.
        x: Value,
        /// Target dtype.
        to: DType,
    },
    /// `lax.broadcast_in_dim`: operand dim `i` maps to result dim `dims[i]`.
    BroadcastInDim {
        /// Operand.
        x: Value,
        /// Result shape.
        shape: Vec<usize>,
        /// For each operand dim, the result dim it becomes.
        dims: Vec<usize>,
    },
    /// Same elements, new shape (row-major).
    Reshape {
        /// Operand.
        x: Value,
        /// Result shape.
        shape: Vec<usize>,
    },
    /// Permute dimensions: result dim `i` is operand dim `perm[i]`.
    Transpose {
        /// Operand.
        x: Value,
        /// The permutation.
        perm: Vec<usize>,
    },
    /// Join arrays along an axis.
    Concatenate {
        /// Operands (same dtype and rank).
        xs: Vec<Value>,
        /// The axis to join along.
        axis: usize,
    },
    /// A static strided slice of a value.
    Slice {
        /// Operand.
        x: Value,
        /// First index per dim.
        start: Vec<usize>,
        /// One past the last index per dim.
        limit: Vec<usize>,
        /// Stride per dim (at least 1).
        strides: Vec<usize>,
    },
    /// Reduce over axes (argmax/argmin: exactly one axis, result `i32`).
    Reduce {
        /// The reduction.
        op: ReduceOp,
        /// Operand.
        x: Value,
        /// Axes to reduce (they are removed from the shape).
        axes: Vec<usize>,
    },
    /// Inclusive prefix sum along an axis.
    Cumsum {
        /// Operand.
        x: Value,
        /// Axis.
        axis: usize,
    },
    /// 2-D matrix product, optionally with an operand transposed. Float
    /// operands (`f32`, `bf16`, `f16`) accumulate in `f32`, integer ones
    /// (`i32`, `i8`, `u8`) in `i32` (wrapping); the sum is then rounded or
    /// wrapped once to the result dtype.
    Dot {
        /// Left operand `(m, k)` (or `(k, m)` when transposed).
        lhs: Value,
        /// Right operand `(k, n)` (or `(n, k)` when transposed).
        rhs: Value,
        /// Use `lhs^T`.
        transpose_lhs: bool,
        /// Use `rhs^T`.
        transpose_rhs: bool,
        /// The result dtype (JAX's `preferred_element_type`): the
        /// operands' dtype when `None`, else that or the accumulator's
        /// (`f32` for floats, `i32` for integers).
        preferred: Option<DType>,
    },
    /// Read from a ref; with a mask, masked-off elements take `other`
    /// (a scalar or same-shaped value), or are undefined without one.
    Load {
        /// What to read.
        src: RefAt,
        /// Boolean mask of the result's shape.
        mask: Option<Value>,
        /// Fill for masked-off elements.
        other: Option<Value>,
    },
    /// Write to a ref; with a mask, only where the mask is true.
    Store {
        /// Where to write.
        dst: RefAt,
        /// The value (its shape is the indexed region's; a scalar broadcasts).
        value: Value,
        /// Boolean mask.
        mask: Option<Value>,
    },
    /// Write to a ref and return what was there.
    Swap {
        /// Where to write.
        dst: RefAt,
        /// The new value.
        value: Value,
        /// Boolean mask.
        mask: Option<Value>,
    },
    /// Atomic read-modify-write; returns the old values.
    Atomic {
        /// The operation.
        op: AtomicOp,
        /// Where.
        dst: RefAt,
        /// Operand.
        value: Value,
        /// Boolean mask.
        mask: Option<Value>,
    },
    /// Atomic compare-and-swap; returns the old values.
    AtomicCas {
        /// Where.
        dst: RefAt,
        /// Expected old value.
        expected: Value,
        /// Value written where the old value equals `expected`.
        new: Value,
    },
    /// `for i in (lower..upper).step_by(step)` with loop-carried values.
    /// The body region's arguments are `i` then the carries; it yields the
    /// next carries. Results are the final carries.
    For {
        /// Start (scalar `i32`).
        lower: Value,
        /// End, exclusive (scalar `i32`).
        upper: Value,
        /// Positive static step.
        step: i64,
        /// Initial carries.
        inits: Vec<Value>,
        /// Loop body.
        body: Region,
    },
    /// `while cond(carries) { carries = body(carries) }`. Both regions take
    /// the carries as arguments; `cond` yields one scalar `bool`.
    While {
        /// Initial carries.
        inits: Vec<Value>,
        /// Condition region.
        cond: Region,
        /// Body region.
        body: Region,
    },
    /// `if cond { then } else { else }`; both regions yield the results.
    If {
        /// Scalar `bool`.
        cond: Value,
        /// Taken when `cond` is true.
        then_region: Region,
        /// Taken when `cond` is false.
        else_region: Region,
    },
    /// `pl.run_scoped`: scratch refs that live for the region, passed as its
    /// arguments; the region's yields are the results.
    RunScoped {
        /// Types of the scratch refs.
        scratch: Vec<RefType>,
        /// The region.
        body: Region,
    },
    /// Start an asynchronous copy `src -> dst`, signalling `sem` (a DMA
    /// semaphore) with the bytes moved when done.
    DmaStart {
        /// Source region.
        src: RefAt,
        /// Destination region (same dtype and shape as `src`).
        dst: RefAt,
        /// A single DMA semaphore.
        sem: RefAt,
    },
    /// Wait until `sem` has received the bytes of a copy into `dst`, and
    /// consume them.
    DmaWait {
        /// The destination of the copy waited for (gives the byte count).
        dst: RefAt,
        /// A single DMA semaphore.
        sem: RefAt,
    },
    /// Start a copy from this device's `src` into `dst` on another device
    /// (`pltpu.make_async_remote_copy(...).start()`): `send` (a DMA
    /// semaphore here) receives the bytes when the source has been read,
    /// `recv` (the same DMA semaphore on the destination device) when the
    /// data has arrived.
    RemoteDmaStart {
        /// Source region, on this device.
        src: RefAt,
        /// Destination region, named as this device sees it, on `device`.
        dst: RefAt,
        /// A single DMA semaphore on this device.
        send: RefAt,
        /// A single DMA semaphore, on the destination device.
        recv: RefAt,
        /// The destination device's logical id (scalar `i32`, row-major
        /// over the mesh axes).
        device: Value,
    },
    /// Add `inc` to a semaphore (on another core when `core` is given, on
    /// another device when `device` is given).
    SemaphoreSignal {
        /// A single regular semaphore.
        sem: RefAt,
        /// Amount (scalar `i32`).
        inc: Value,
        /// Target core index (scalar `i32`), or this core.
        core: Option<Value>,
        /// Target device's logical id (scalar `i32`), or this device.
        device: Option<Value>,
    },
    /// Block until the semaphore holds at least `value`, then subtract it.
    SemaphoreWait {
        /// A single regular semaphore.
        sem: RefAt,
        /// Amount (scalar `i32`).
        value: Value,
    },
    /// Read a semaphore's count (`i32`).
    SemaphoreRead {
        /// A single semaphore.
        sem: RefAt,
    },
    /// Print a message; each `{}` in `fmt` is replaced by the next argument.
    DebugPrint {
        /// Format string.
        fmt: String,
        /// Values to print.
        args: Vec<Value>,
    },
}

impl Op {
    /// The operation's name in the text format and in error messages.
    pub fn name(&self) -> String {
        match self {
            Op::Const(_) => "const".into(),
            Op::Full { .. } => "full".into(),
            Op::Iota { .. } => "iota".into(),
            Op::ProgramId { .. } => "program_id".into(),
            Op::NumPrograms { .. } => "num_programs".into(),
            Op::AxisIndex { .. } => "axis_index".into(),
            Op::BarrierSemaphore => "barrier_semaphore".into(),
            Op::RemoteDmaStart { .. } => "remote_dma_start".into(),
            Op::Unary(op, _) => op.name().into(),
            Op::Binary(op, _, _) => op.name().into(),
            Op::Compare(op, _, _) => format!("cmp_{}", op.name()),
            Op::Select { .. } => "select".into(),
            Op::Cast { .. } => "cast".into(),
            Op::Bitcast { .. } => "bitcast".into(),
            Op::BroadcastInDim { .. } => "broadcast_in_dim".into(),
            Op::Reshape { .. } => "reshape".into(),
            Op::Transpose { .. } => "transpose".into(),
            Op::Concatenate { .. } => "concatenate".into(),
            Op::Slice { .. } => "slice".into(),
            Op::Reduce { op, .. } => format!("reduce_{}", op.name()),
            Op::Cumsum { .. } => "cumsum".into(),
            Op::Dot { .. } => "dot".into(),
            Op::Load { .. } => "load".into(),
            Op::Store { .. } => "store".into(),
            Op::Swap { .. } => "swap".into(),
            Op::Atomic { op, .. } => format!("atomic_{}", op.name()),
            Op::AtomicCas { .. } => "atomic_cas".into(),
            Op::For { .. } => "for".into(),
            Op::While { .. } => "while".into(),
            Op::If { .. } => "if".into(),
            Op::RunScoped { .. } => "run_scoped".into(),
            Op::DmaStart { .. } => "dma_start".into(),
            Op::DmaWait { .. } => "dma_wait".into(),
            Op::SemaphoreSignal { .. } => "semaphore_signal".into(),
            Op::SemaphoreWait { .. } => "semaphore_wait".into(),
            Op::SemaphoreRead { .. } => "semaphore_read".into(),
            Op::DebugPrint { .. } => "debug_print".into(),
        }
    }

    /// Every value operand, in a fixed order (refs included).
    pub fn operands(&self) -> Vec<Value> {
        fn at(v: &mut Vec<Value>, r: &RefAt) {
            v.push(r.r);
            for i in &r.idx {
                match i {
                    Indexer::Index(Offset::Dynamic(x))
                    | Indexer::Slice {
                        start: Offset::Dynamic(x),
                        ..
                    } => v.push(*x),
                    _ => {}
                }
            }
        }
        let mut v = Vec::new();
        match self {
            Op::Const(_)
            | Op::Full { .. }
            | Op::Iota { .. }
            | Op::ProgramId { .. }
            | Op::NumPrograms { .. }
            | Op::AxisIndex { .. }
            | Op::BarrierSemaphore
            | Op::RunScoped { .. } => {}
            Op::Unary(_, x)
            | Op::Cast { x, .. }
            | Op::Bitcast { x, .. }
            | Op::BroadcastInDim { x, .. }
            | Op::Reshape { x, .. }
            | Op::Transpose { x, .. }
            | Op::Slice { x, .. }
            | Op::Reduce { x, .. }
            | Op::Cumsum { x, .. } => v.push(*x),
            Op::Binary(_, a, b) | Op::Compare(_, a, b) => v.extend([*a, *b]),
            Op::Select {
                cond,
                on_true,
                on_false,
            } => v.extend([*cond, *on_true, *on_false]),
            Op::Concatenate { xs, .. } => v.extend(xs.iter().copied()),
            Op::Dot { lhs, rhs, .. } => v.extend([*lhs, *rhs]),
            Op::Load { src, mask, other } => {
                at(&mut v, src);
                v.extend(mask.iter().chain(other.iter()).copied());
            }
            Op::Store { dst, value, mask }
            | Op::Swap { dst, value, mask }
            | Op::Atomic {
                dst, value, mask, ..
            } => {
                at(&mut v, dst);
                v.push(*value);
                v.extend(mask.iter().copied());
            }
            Op::AtomicCas { dst, expected, new } => {
                at(&mut v, dst);
                v.extend([*expected, *new]);
            }
            Op::For {
                lower,
                upper,
                inits,
                ..
            } => {
                v.extend([*lower, *upper]);
                v.extend(inits.iter().copied());
            }
            Op::While { inits, .. } => v.extend(inits.iter().copied()),
            Op::If { cond, .. } => v.push(*cond),
            Op::DmaStart { src, dst, sem } => {
                at(&mut v, src);
                at(&mut v, dst);
                at(&mut v, sem);
            }
            Op::DmaWait { dst, sem } => {
                at(&mut v, dst);
                at(&mut v, sem);
            }
            Op::RemoteDmaStart {
                src,
                dst,
                send,
                recv,
                device,
            } => {
                at(&mut v, src);
                at(&mut v, dst);
                at(&mut v, send);
                at(&mut v, recv);
                v.push(*device);
            }
            Op::SemaphoreSignal {
                sem,
                inc,
                core,
                device,
            } => {
                at(&mut v, sem);
                v.push(*inc);
                v.extend(core.iter().chain(device.iter()).copied());
            }
            Op::SemaphoreWait { sem, value } => {
                at(&mut v, sem);
                v.push(*value);
            }
            Op::SemaphoreRead { sem } => at(&mut v, sem),
            Op::DebugPrint { args, .. } => v.extend(args.iter().copied()),
        }
        v
    }

    /// The nested regions, in the order they are printed.
    pub fn regions(&self) -> Vec<Region> {
        match self {
            Op::For { body, .. } | Op::RunScoped { body, .. } => vec![*body],
            Op::While { cond, body, .. } => vec![*cond, *body],
            Op::If {
                then_region,
                else_region,
                ..
            } => vec![*then_region, *else_region],
            _ => Vec::new(),
        }
    }

    /// Whether the op maps element `e` of its result to element `e` of
    /// its operands (the flat index is kept): elementwise ops and reshapes.
    pub fn is_elementwise(&self) -> bool {
        matches!(
            self,
            Op::Unary(..)
                | Op::Binary(..)
                | Op::Compare(..)
                | Op::Select { .. }
                | Op::Cast { .. }
                | Op::Bitcast { .. }
                | Op::Reshape { .. }
        )
    }

    /// The ref this op writes: the destination of a store, swap, atomic,
    /// compare-and-swap or DMA start.
    pub fn written_ref(&self) -> Option<&RefAt> {
        match self {
            Op::Store { dst, .. }
            | Op::Swap { dst, .. }
            | Op::Atomic { dst, .. }
            | Op::AtomicCas { dst, .. }
            | Op::DmaStart { dst, .. }
            | Op::RemoteDmaStart { dst, .. } => Some(dst),
            _ => None,
        }
    }

    /// Whether the op has an effect beyond computing its results: it
    /// touches memory or semaphores, prints, or runs nested regions (which
    /// may). Everything else is a pure function of its operands and the
    /// grid point and the device.
    pub fn has_effect(&self) -> bool {
        matches!(
            self,
            Op::Load { .. }
                | Op::Store { .. }
                | Op::Swap { .. }
                | Op::Atomic { .. }
                | Op::AtomicCas { .. }
                | Op::DmaStart { .. }
                | Op::RemoteDmaStart { .. }
                | Op::BarrierSemaphore
                | Op::DmaWait { .. }
                | Op::SemaphoreSignal { .. }
                | Op::SemaphoreWait { .. }
                | Op::SemaphoreRead { .. }
                | Op::DebugPrint { .. }
                | Op::For { .. }
                | Op::While { .. }
                | Op::If { .. }
                | Op::RunScoped { .. }
        )
    }
}
