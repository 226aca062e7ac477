//! The pallas-rs kernel IR.
//!
//! A [`Kernel`] is a Pallas-style block kernel: a grid, parameters with
//! block specs, and a body of SSA operations over blocks. Build one with
//! [`builder::KernelBuilder`], or parse it from text with [`text::parse`];
//! check it with [`validate()`]. Running it is the job of `pallas-exec` (the
//! execution model every backend shares) and the backends.

pub mod arena;
pub mod builder;
pub mod dtype;
pub mod kernel;
pub mod ops;
pub mod text;
pub mod types;
pub mod validate;

pub use arena::{Arena, Handle};
pub use dtype::{DType, Scalar};
pub use kernel::{
    BlockDim, BlockSpec, DimSemantics, GridDim, Inst, InstData, Kernel, Loc, MeshAxis, Param,
    ParamKind, Region, RegionData, SourceMap, Value, ValueData,
};
pub use ops::{AtomicOp, BinaryOp, CmpOp, Indexer, Offset, Op, ReduceOp, RefAt, UnaryOp};
pub use types::{MemorySpace, RefElem, RefType, SemaphoreKind, Type};
pub use validate::{
    validate, ValidatedKernel, ValidationError, ValidationErrorKind, ValidationErrors,
};
