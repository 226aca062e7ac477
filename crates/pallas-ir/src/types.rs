//! Value types, memory spaces and ref types.

use crate::dtype::DType;
use std::fmt;

/// Where a ref's memory lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemorySpace {
    /// HBM, not blocked: the body sees the whole array and moves data with
    /// DMAs (Pallas' `pl.ANY` / `pltpu.ANY`).
    Any,
    /// Vector memory, per core: blocks and vector scratch.
    Vmem,
    /// Scalar memory, per core: scalar prefetch and small scalar scratch.
    Smem,
}

impl MemorySpace {
    /// The name used in the text format.
    pub fn name(self) -> &'static str {
        match self {
            MemorySpace::Any => "any",
            MemorySpace::Vmem => "vmem",
            MemorySpace::Smem => "smem",
        }
    }

    /// Parses a memory-space name of the text format.
    pub fn from_name(name: &str) -> Option<MemorySpace> {
        [MemorySpace::Any, MemorySpace::Vmem, MemorySpace::Smem]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

impl fmt::Display for MemorySpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of a semaphore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SemaphoreKind {
    /// A regular counting semaphore (`semaphore_signal` / `semaphore_wait`).
    Regular,
    /// A DMA semaphore, signalled by DMA completion with the bytes moved.
    Dma,
}

/// What a ref holds: data of a dtype, or semaphores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefElem {
    /// Data elements of a dtype.
    Data(DType),
    /// Semaphores of a kind.
    Semaphore(SemaphoreKind),
}

impl fmt::Display for RefElem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefElem::Data(d) => write!(f, "{d}"),
            RefElem::Semaphore(SemaphoreKind::Regular) => f.write_str("sem"),
            RefElem::Semaphore(SemaphoreKind::Dma) => f.write_str("dma_sem"),
        }
    }
}

/// The type of a memory ref as the body sees it: element, shape and space.
/// Semaphore refs have no memory space of their own.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RefType {
    /// What the ref holds.
    pub elem: RefElem,
    /// The shape the body sees (a block's shape, squeezed dims dropped).
    pub shape: Vec<usize>,
    /// The memory space (ignored for semaphores, which use `Smem`).
    pub space: MemorySpace,
}

impl RefType {
    /// A data ref.
    pub fn data(dtype: DType, shape: impl Into<Vec<usize>>, space: MemorySpace) -> Self {
        RefType {
            elem: RefElem::Data(dtype),
            shape: shape.into(),
            space,
        }
    }

    /// An array of semaphores.
    pub fn semaphores(kind: SemaphoreKind, shape: impl Into<Vec<usize>>) -> Self {
        RefType {
            elem: RefElem::Semaphore(kind),
            shape: shape.into(),
            space: MemorySpace::Smem,
        }
    }

    /// The data dtype, or `None` for semaphores.
    pub fn dtype(&self) -> Option<DType> {
        match self.elem {
            RefElem::Data(d) => Some(d),
            RefElem::Semaphore(_) => None,
        }
    }

    /// Whether the ref holds semaphores.
    pub fn is_semaphore(&self) -> bool {
        matches!(self.elem, RefElem::Semaphore(_))
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ref<{}{}", self.elem, ShapeDisplay(&self.shape))?;
        if !self.is_semaphore() {
            write!(f, ", {}", self.space)?;
        }
        f.write_str(">")
    }
}

/// The type of an SSA value: a scalar or array of a dtype, or a memory ref.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// A scalar (empty shape) or an array value.
    Value {
        /// Element type.
        dtype: DType,
        /// Shape; empty for a scalar.
        shape: Vec<usize>,
    },
    /// A memory ref.
    Ref(RefType),
}

impl Type {
    /// A scalar value type.
    pub fn scalar(dtype: DType) -> Type {
        Type::Value {
            dtype,
            shape: Vec::new(),
        }
    }

    /// An array value type.
    pub fn array(dtype: DType, shape: impl Into<Vec<usize>>) -> Type {
        Type::Value {
            dtype,
            shape: shape.into(),
        }
    }

    /// Dtype and shape, when this is a value (not a ref).
    pub fn as_value(&self) -> Option<(DType, &[usize])> {
        match self {
            Type::Value { dtype, shape } => Some((*dtype, shape)),
            Type::Ref(_) => None,
        }
    }

    /// The ref type, when this is a ref.
    pub fn as_ref_type(&self) -> Option<&RefType> {
        match self {
            Type::Ref(r) => Some(r),
            Type::Value { .. } => None,
        }
    }

    /// Whether this is a scalar value of the given dtype.
    pub fn is_scalar_of(&self, d: DType) -> bool {
        matches!(self, Type::Value { dtype, shape } if *dtype == d && shape.is_empty())
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Value { dtype, shape } => write!(f, "{dtype}{}", ShapeDisplay(shape)),
            Type::Ref(r) => write!(f, "{r}"),
        }
    }
}

/// Displays a shape as `[a, b]`, or nothing for a scalar.
pub struct ShapeDisplay<'a>(pub &'a [usize]);

impl fmt::Display for ShapeDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// Number of elements of a shape, or `None` on overflow.
pub fn num_elements(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}
