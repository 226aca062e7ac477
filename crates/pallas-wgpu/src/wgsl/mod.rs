//! WGSL code generation: a validated kernel becomes one compute module
//! whose single dispatch runs the whole grid.
//!
//! Two shapes of module:
//!
//! - [`elementwise`]: kernels whose blocks all map to the same place in
//!   every array (identity index maps) and whose body is elementwise are
//!   coarsened away: one invocation per element, grid-strided, the body's
//!   values in registers;
//! - [`general`]: everything else, one workgroup per parallel grid point
//!   (workgroups stride over the points when there are more than the
//!   dispatch holds), the arbitrary dimensions looped inside the shader,
//!   block values spread over the workgroup's invocations in a
//!   per-workgroup memory area, with barriers between operations.
//!
//! Every global array is bound as `array<u32>` (or `array<atomic<u32>>`
//! when atomics touch it) and values are bit-cast on the way in and out, so
//! one binding layout serves every dtype.

pub mod elementwise;
pub mod fuse;
pub mod general;
pub mod scalar;

use pallas_ir::validate::RefOrigin;
use pallas_ir::{DType, Kernel, MemorySpace, Op, ParamKind, Type, ValidatedKernel};

/// Which generator made a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Coarsened: one invocation per array element.
    Elementwise,
    /// One workgroup per parallel grid point.
    General,
}

impl Plan {
    /// The plan's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Plan::Elementwise => "elementwise",
            Plan::General => "general",
        }
    }
}

/// One global storage buffer of the module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalBuffer {
    /// The parameter it holds (the input's, for an aliased pair).
    pub name: String,
    /// Its dtype.
    pub dtype: DType,
    /// Its length in 32-bit words.
    pub words: usize,
    /// Whether it is declared `array<atomic<u32>>`.
    pub atomic: bool,
    /// Whether the shader only reads it.
    pub read_only: bool,
}

/// What the runtime needs to run a generated module.
#[derive(Clone, Debug)]
pub struct Shader {
    /// The WGSL source.
    pub source: String,
    /// Which generator made it.
    pub plan: Plan,
    /// Invocations per workgroup.
    pub workgroup_size: u32,
    /// Workgroups in the (one) dispatch.
    pub workgroups: u32,
    /// Global buffers, bound at `@binding(i)` for buffer `i`.
    pub buffers: Vec<GlobalBuffer>,
    /// For each scalar-prefetch and input argument, in order, its buffer.
    pub arg_buffers: Vec<usize>,
    /// For each output, its buffer.
    pub out_buffers: Vec<usize>,
    /// Words of the per-workgroup memory area kept in a global buffer
    /// (bound after the arrays), per workgroup; 0 when none.
    pub area_words: usize,
    /// Words of the per-workgroup atomic area in a global buffer; 0 when
    /// none.
    pub atomic_area_words: usize,
    /// Whether the module also reads the area as `vec4<u32>` words
    /// (`la4`, bound last, to the same buffer as the area).
    pub area_vec4: bool,
    /// What each fault code means: code `c` is described by
    /// `faults[c - 1]` and sets bit `c % 32` of error word `1 + c / 32`
    /// (word 0 stays zero).
    pub faults: Vec<ShaderFault>,
    /// Whether the error words are bound (last).
    pub has_error_word: bool,
    /// Grid points the dispatch stands for.
    pub grid_points: u64,
    /// Whether the module writes every element of every output (then the
    /// outputs need no clearing before the dispatch).
    pub outputs_fully_written: bool,
}

/// Limits the generator must respect.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes of `var<workgroup>` memory a module may declare.
    pub workgroup_storage_bytes: u32,
    /// Most workgroups in one dispatch dimension.
    pub max_workgroups: u32,
    /// Largest storage buffer binding, in bytes.
    pub max_binding_bytes: u64,
    /// Most storage buffers one shader may bind.
    pub max_storage_buffers: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            workgroup_storage_bytes: 16384,
            max_workgroups: 65535,
            max_binding_bytes: 128 << 20,
            max_storage_buffers: 8,
        }
    }
}

/// Why a kernel cannot become a module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GenError {
    /// An operation or feature the backend does not support.
    Unsupported(String),
    /// The kernel needs more than the adapter allows.
    Limit(String),
}

/// Generates the module for a kernel: the coarsened elementwise form when
/// the kernel allows it, the general form otherwise.
pub fn generate(vk: &ValidatedKernel, limits: &Limits) -> Result<Shader, GenError> {
    if vk.kernel().is_multi_device() {
        // One dispatch is one device's grid; devices would need one
        // dispatch each, a buffer per device's HBM and remote copies as
        // copies between them, with cross-device semaphores between
        // dispatches (a wait inside a dispatch cannot see another).
        return Err(GenError::Unsupported(
            "a multi-device kernel (device mesh): one dispatch runs one device's grid, and a semaphore wait inside it cannot see another device's signal".into(),
        ));
    }
    if let Some(p) = vk.kernel().params.iter().find(|p| p.padded.is_some()) {
        return Err(GenError::Unsupported(format!(
            "padded scratch (`{}`: JAX's buffer_bounds=\"padded\")",
            p.name
        )));
    }
    if let Some(p) = vk.kernel().params.iter().find(|p| p.is_hbm_scratch()) {
        // One dispatch has no buffer the workgroups share but the
        // arguments' and outputs'; an HBM scratch would need its own.
        return Err(GenError::Unsupported(format!(
            "HBM scratch (`{}`, shared by a device's cores)",
            p.name
        )));
    }
    check_sizes(vk)?;
    let shader = match elementwise::generate(vk, limits) {
        Some(s) => s,
        None => general::generate(vk, limits)?,
    };
    if shader.area_words.max(shader.atomic_area_words) > MAX_COUNT {
        return Err(GenError::Limit(format!(
            "kernel `{}`: needs {} words of memory per workgroup, more than a shader can index ({MAX_COUNT})",
            vk.kernel().name,
            shader.area_words.max(shader.atomic_area_words)
        )));
    }
    Ok(shader)
}

/// The most grid points, elements of one array or words of one area a
/// module counts: indices are `u32` (and program ids `i32`) in WGSL, and
/// loops step past their bound by up to a dispatch's workgroups.
pub const MAX_COUNT: usize = 1 << 31;

/// Refuses grids, arrays, blocks and values too large for the module's
/// 32-bit indices, naming what is too large.
fn check_sizes(vk: &ValidatedKernel) -> Result<(), GenError> {
    let k = vk.kernel();
    let count = |dims: &[usize]| {
        dims.iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= MAX_COUNT)
    };
    let too_big = |what: String, dims: &[usize]| {
        GenError::Limit(format!(
            "kernel `{}`: {what} {dims:?} has more than {MAX_COUNT} elements, more than a shader's 32-bit indices count",
            k.name
        ))
    };
    let grid: Vec<usize> = k.grid.iter().map(|d| d.size).collect();
    if count(&grid).is_none() {
        return Err(too_big("the grid".into(), &grid));
    }
    for p in &k.params {
        if count(&p.shape).is_none() {
            return Err(too_big(format!("parameter `{}`", p.name), &p.shape));
        }
        if count(&p.block_full_shape()).is_none() {
            return Err(too_big(
                format!("the block of `{}`", p.name),
                &p.block_full_shape(),
            ));
        }
    }
    for (v, _) in k.values.iter() {
        let shape = match vk.value_type(v) {
            Type::Value { shape, .. } => shape,
            Type::Ref(r) => &r.shape,
        };
        if count(shape).is_none() {
            return Err(too_big(format!("value %{}", v.index()), shape));
        }
    }
    Ok(())
}

/// The kernel's HBM arrays as global buffers: one per scalar-prefetch
/// and input argument, one per output that does not alias an input.
/// Buffers that atomics or DMAs write are marked accordingly.
pub(crate) fn global_buffers(vk: &ValidatedKernel) -> (Vec<GlobalBuffer>, Vec<usize>, Vec<usize>) {
    let k = vk.kernel();
    let (mut bufs, mut args, mut outs, mut input_bufs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut out_pos = 0;
    let written = written_params(vk);
    for (i, p) in k.params.iter().enumerate() {
        let dtype = p.dtype().unwrap_or(DType::I32);
        let words = p.shape.iter().product::<usize>();
        match p.kind {
            ParamKind::ScalarPrefetch | ParamKind::Input => {
                args.push(bufs.len());
                if p.kind == ParamKind::Input {
                    input_bufs.push(bufs.len());
                }
                bufs.push(GlobalBuffer {
                    name: p.name.clone(),
                    dtype,
                    words,
                    atomic: false,
                    read_only: !written.contains(&i),
                });
            }
            ParamKind::Output => {
                let alias = k
                    .aliases
                    .iter()
                    .find(|&&(_, o)| o == out_pos)
                    .map(|&(inp, _)| input_bufs[inp]);
                out_pos += 1;
                match alias {
                    Some(b) => {
                        bufs[b].read_only = false;
                        outs.push(b);
                    }
                    None => {
                        outs.push(bufs.len());
                        bufs.push(GlobalBuffer {
                            name: p.name.clone(),
                            dtype,
                            words,
                            atomic: false,
                            read_only: false,
                        });
                    }
                }
            }
            ParamKind::Scratch => {}
        }
    }
    // Atomics on an `any` parameter reach its global buffer directly.
    for (_, inst) in k.insts.iter() {
        if let Op::Atomic { dst, .. } | Op::AtomicCas { dst, .. } = &inst.op {
            if let Some(RefOrigin::Param(i)) = vk.ref_origin(dst.r) {
                let p = &k.params[i];
                if p.space == MemorySpace::Any {
                    let b = buffer_of_param(k, i, &args, &outs);
                    if let Some(b) = b {
                        bufs[b].atomic = true;
                        bufs[b].read_only = false;
                    }
                }
            }
        }
    }
    (bufs, args, outs)
}

/// The global buffer of parameter `i`, when it has one.
pub(crate) fn buffer_of_param(
    k: &Kernel,
    i: usize,
    args: &[usize],
    outs: &[usize],
) -> Option<usize> {
    let p = &k.params[i];
    match p.kind {
        ParamKind::ScalarPrefetch | ParamKind::Input => {
            let pos = k.params[..i]
                .iter()
                .filter(|q| matches!(q.kind, ParamKind::ScalarPrefetch | ParamKind::Input))
                .count();
            args.get(pos).copied()
        }
        ParamKind::Output => {
            let pos = k.params[..i]
                .iter()
                .filter(|q| q.kind == ParamKind::Output)
                .count();
            outs.get(pos).copied()
        }
        ParamKind::Scratch => None,
    }
}

/// Parameters the body writes in HBM directly (`any` refs written by
/// stores, DMAs or atomics).
fn written_params(vk: &ValidatedKernel) -> Vec<usize> {
    let k = vk.kernel();
    let mut out = Vec::new();
    for (_, inst) in k.insts.iter() {
        let dst = match &inst.op {
            Op::Store { dst, .. }
            | Op::Swap { dst, .. }
            | Op::Atomic { dst, .. }
            | Op::AtomicCas { dst, .. }
            | Op::DmaStart { dst, .. } => dst,
            _ => continue,
        };
        if let Some(RefOrigin::Param(i)) = vk.ref_origin(dst.r) {
            out.push(i);
        }
    }
    out
}

/// The WGSL declarations of the global buffers.
pub(crate) fn buffer_decls(bufs: &[GlobalBuffer]) -> String {
    let mut s = String::new();
    for (i, b) in bufs.iter().enumerate() {
        let (access, elem) = match (b.read_only, b.atomic) {
            (_, true) => ("read_write", "atomic<u32>"),
            (true, false) => ("read", "u32"),
            (false, false) => ("read_write", "u32"),
        };
        s.push_str(&format!(
            "// {} ({}, {} words)\n@group(0) @binding({i}) var<storage, {access}> g{i}: array<{elem}>;\n",
            b.name,
            b.dtype.name(),
            b.words
        ));
    }
    s
}

/// What a fault code of a module means.
#[derive(Clone, Debug, PartialEq)]
pub enum ShaderFault {
    /// The kernel misbehaved: the fault, less the grid point (the shader
    /// does not record it).
    Kernel(Box<pallas_exec::Fault>),
    /// The driver stopped the shader short: not the kernel's fault.
    Driver(String),
}
