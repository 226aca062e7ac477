//! The XLA FFI crossing: a custom-call handler that launches a compiled
//! kernel on XLA's own buffers, with no Python and no host callback in
//! between.
//!
//! The Python side registers [`handler`] with `jax.ffi` once per process
//! and lowers a single-device launch to `jax.ffi.ffi_call` with one
//! attribute, `kernel`: the id [`register`] gave the compiled kernel. The
//! handler reads XLA's input buffers in place (bf16, f16, fp8 and bool are
//! converted once, as the NumPy path converts them) and writes the
//! backend's outputs into XLA's output buffers.
//!
//! Faults cannot cross XLA as Python exceptions: the handler returns an
//! XLA error carrying the fault's message and keeps the fault itself in a
//! short list, from which the Python side takes it back by message
//! ([`take_fault`]) to raise the same typed `KernelError` the host-callback
//! path raises.

use std::collections::VecDeque;
use std::ffi::{c_int, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ndarray::{ArrayViewD, IxDyn};
use pallas::exec::CompiledKernel;
use pallas::{DType, ExecError, HostArray, HostOut, HostView};

use pallas::exec::host_out as narrow;

use crate::arrays::ParamSig;
use crate::xla_ffi::{self as c, dtype as code};

/// A compiled kernel the handler can launch.
pub struct FfiKernel {
    /// The kernel's name.
    pub kernel: String,
    /// The backend's name.
    pub backend: String,
    /// One signature per scalar-prefetch and input parameter.
    pub inputs: Vec<ParamSig>,
    /// One signature per output parameter.
    pub outputs: Vec<ParamSig>,
    /// The compiled kernel.
    pub compiled: Arc<dyn CompiledKernel>,
}

/// Kernels by id (their index). Entries are never removed: an XLA
/// executable may hold an id for as long as the process runs, and a
/// compiled kernel is small.
static KERNELS: Mutex<Vec<Arc<FfiKernel>>> = Mutex::new(Vec::new());

/// Launches made by the handler.
static LAUNCHES: AtomicU64 = AtomicU64::new(0);

/// The FFI API version the handler reports (the running jaxlib's; XLA
/// refuses a handler whose version differs).
static API_MAJOR: AtomicI32 = AtomicI32::new(0);
static API_MINOR: AtomicI32 = AtomicI32::new(-1);

/// How many recent faults are kept for the Python side to take back.
const KEEP_FAULTS: usize = 16;

/// A fault the handler reported to XLA.
pub struct RecentFault {
    /// The kernel's id.
    pub id: u64,
    /// The backend that ran it.
    pub backend: String,
    /// The error itself.
    pub error: ExecError,
}

static FAULTS: Mutex<VecDeque<RecentFault>> = Mutex::new(VecDeque::new());

/// Registers a compiled kernel and returns its id.
pub fn register(kernel: FfiKernel) -> u64 {
    let mut kernels = KERNELS.lock().unwrap_or_else(|e| e.into_inner());
    kernels.push(Arc::new(kernel));
    (kernels.len() - 1) as u64
}

/// Sets the FFI API version the handler reports to XLA.
pub fn set_api_version(major: i32, minor: i32) {
    API_MAJOR.store(major, Ordering::Relaxed);
    API_MINOR.store(minor, Ordering::Relaxed);
}

/// Launches made by the handler since the process started.
pub fn launches() -> u64 {
    LAUNCHES.load(Ordering::Relaxed)
}

/// Takes back the most recent fault whose message's first line appears in
/// `text` (the text of the error XLA raised).
pub fn take_fault(text: &str) -> Option<RecentFault> {
    let mut faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    let at = faults.iter().rposition(|f| {
        let message = f.error.to_string();
        let first = message.lines().next().unwrap_or("");
        !first.is_empty() && text.contains(first)
    })?;
    faults.remove(at)
}

fn remember(fault: RecentFault) {
    let mut faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    faults.push_back(fault);
    while faults.len() > KEEP_FAULTS {
        faults.pop_front();
    }
}

/// The handler's address, for a `PyCapsule`.
pub fn handler_address() -> *mut c_void {
    handler as c::Handler as *mut c_void
}

/// The XLA FFI handler (`XLA_FFI_Handler`).
///
/// # Safety
/// XLA calls it with a valid call frame whose buffers match the
/// `ffi_call`'s declared operands and results.
unsafe extern "C" fn handler(frame: *mut c::CallFrame) -> *mut c::Error {
    // A panic must not unwind into XLA's C++.
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe { handle(frame) }));
    let (errc, message) = match outcome {
        Ok(Ok(())) => return std::ptr::null_mut(),
        Ok(Err(e)) => e,
        Err(_) => (
            c::ERROR_INTERNAL,
            "pallas_rs: the FFI handler panicked (a bug in pallas_rs; please report it)".into(),
        ),
    };
    unsafe { error(frame, errc, &message) }
}

/// An XLA error with a message, or null where XLA gave no API table (then
/// nothing can be reported; it happens only in a metadata query, which
/// never fails).
unsafe fn error(frame: *mut c::CallFrame, errc: c_int, message: &str) -> *mut c::Error {
    let api = unsafe { (*frame).api };
    let Some(create) = (unsafe { api.as_ref() }).and_then(|a| a.error_create) else {
        return std::ptr::null_mut();
    };
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    let mut args = c::ErrorCreateArgs {
        struct_size: std::mem::size_of::<c::ErrorCreateArgs>(),
        extension_start: std::ptr::null_mut(),
        message: text.as_ptr(),
        errc,
    };
    unsafe { create(&mut args) }
}

type Failure = (c_int, String);

unsafe fn handle(frame: *mut c::CallFrame) -> Result<(), Failure> {
    let frame = unsafe { &*frame };
    // A metadata query: report the API version, run nothing.
    let mut ext = frame.extension_start;
    while let Some(e) = unsafe { ext.as_ref() } {
        if e.kind == c::EXTENSION_METADATA {
            let meta = unsafe { &mut *(*(ext as *mut c::MetadataExtension)).metadata };
            meta.api_version.major_version = API_MAJOR.load(Ordering::Relaxed);
            meta.api_version.minor_version = API_MINOR.load(Ordering::Relaxed);
            meta.traits = 0;
            return Ok(());
        }
        ext = e.next;
    }
    if frame.stage != c::STAGE_EXECUTE {
        return Ok(());
    }
    let id = unsafe { kernel_id(&frame.attrs) }?;
    let kernel = KERNELS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(id as usize)
        .cloned()
        .ok_or_else(|| {
            (
                c::ERROR_INVALID_ARGUMENT,
                format!("pallas_rs: no compiled kernel has id {id} in this process"),
            )
        })?;
    let bad = |what: String| {
        (
            c::ERROR_INVALID_ARGUMENT,
            format!("pallas_rs: kernel `{}`: {what}", kernel.kernel),
        )
    };
    let args = unsafe { buffers(&frame.args) }.map_err(&bad)?;
    let rets = unsafe { buffers(&frame.rets) }.map_err(&bad)?;
    if args.len() != kernel.inputs.len() {
        return Err(bad(format!(
            "expected {} operands (scalar prefetch and inputs), found {}",
            kernel.inputs.len(),
            args.len()
        )));
    }
    let held = args
        .iter()
        .zip(&kernel.inputs)
        .map(|(b, sig)| unsafe { Held::of(b, sig) })
        .collect::<Result<Vec<_>, String>>()
        .map_err(&bad)?;
    let views: Vec<HostView<'_>> = held.iter().map(Held::view).collect();
    if rets.len() != kernel.outputs.len() {
        return Err(bad(format!(
            "expected {} results, found {}",
            kernel.outputs.len(),
            rets.len()
        )));
    }
    let mut outs = rets
        .iter()
        .zip(&kernel.outputs)
        .map(|(b, sig)| unsafe { out_buffer(b, sig) })
        .collect::<Result<Vec<_>, String>>()
        .map_err(&bad)?;
    LAUNCHES.fetch_add(1, Ordering::Relaxed);
    if let Err(error) = kernel.compiled.launch_into(&views, &mut outs) {
        let mut message = error.to_string();
        // JAX's key phrase for the same fault, as the host-callback path's
        // KernelError carries it: users' tests match it in the error XLA
        // raises.
        let grid_point = match &error {
            ExecError::Fault(f) => f.grid_point.as_deref(),
            _ => None,
        };
        if let Some(phrase) = jax_phrase(kernel.compiled.kernel(), &message, grid_point) {
            message.push_str(&format!("\n  ({phrase})"));
        }
        remember(RecentFault {
            id,
            backend: kernel.backend.clone(),
            error,
        });
        return Err((c::ERROR_INTERNAL, message));
    }
    Ok(())
}

/// The name between backquotes right after `prefix` in `text`, with
/// where the prefix starts.
fn quoted_after<'t>(text: &'t str, prefix: &str) -> Option<(usize, &'t str)> {
    let at = text.find(prefix)?;
    let rest = &text[at + prefix.len()..];
    let end = rest.find('`')?;
    Some((at, &rest[..end]))
}

/// How JAX's interpret mode words a fault (its key phrase), from the
/// fault's message: the same phrases the Python side adds to a
/// `KernelError` (`_interpret._jax_phrase`).
fn jax_phrase(
    kernel: &pallas::Kernel,
    message: &str,
    grid_point: Option<&[usize]>,
) -> Option<String> {
    let read = quoted_after(message, "out-of-bounds read of `").map(|(a, n)| (a, "read", n));
    let write = quoted_after(message, "out-of-bounds write of `").map(|(a, n)| (a, "write", n));
    // JAX's word for a masked store is its masked swap.
    let masked = quoted_after(message, "out-of-bounds masked store of `")
        .map(|(a, n)| (a, "masked swap", n));
    if let Some((_, access, name)) = [read, write, masked]
        .into_iter()
        .flatten()
        .min_by_key(|x| x.0)
    {
        return Some(format!("Out-of-bounds {access} of {name}"));
    }
    if let Some((at, name)) = quoted_after(message, "index map of `") {
        let rest = &message[at + "index map of `".len() + name.len() + 1..];
        if let Some(num) = rest.strip_prefix(": block index ") {
            let digits: String = num
                .chars()
                .enumerate()
                .take_while(|&(i, c)| c.is_ascii_digit() || (i == 0 && c == '-'))
                .map(|(_, c)| c)
                .collect();
            if digits.chars().any(|c| c.is_ascii_digit()) {
                let output = kernel
                    .params
                    .iter()
                    .any(|p| p.name == name && p.kind == pallas::ParamKind::Output);
                let kind = if output { "output" } else { "input" };
                return Some(format!(
                    "Out-of-bounds block index {digits} for {kind} \"{name}\""
                ));
            }
        }
    }
    let mut from = 0;
    while let Some((at, name)) = quoted_after(&message[from..], "output `") {
        let at = from + at;
        from = at + "output `".len();
        let rest = &message[at + "output `".len() + name.len() + 1..];
        let Some(block) = rest.strip_prefix(" revisits block [") else {
            continue;
        };
        let block = &block[..block.find(']')?];
        let which = kernel
            .params
            .iter()
            .filter(|p| p.kind == pallas::ParamKind::Output)
            .position(|p| p.name == name)
            .map_or(name.to_string(), |i| i.to_string());
        let place = match grid_point {
            Some([g]) => format!(" in iteration ({g},)"),
            Some(g) if !g.is_empty() => format!(
                " in iteration ({})",
                g.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => String::new(),
        };
        return Some(format!(
            "Revisited block [{block}] of output {which}{place} (`{name}`)"
        ));
    }
    None
}

/// The `kernel` attribute: an integer scalar.
unsafe fn kernel_id(attrs: &c::Attrs) -> Result<u64, Failure> {
    let missing = || {
        (
            c::ERROR_INVALID_ARGUMENT,
            "pallas_rs: the custom call has no integer `kernel` attribute".to_string(),
        )
    };
    for i in 0..attrs.size.max(0) as usize {
        let name = unsafe { &**attrs.names.add(i) };
        let bytes = unsafe { std::slice::from_raw_parts(name.ptr as *const u8, name.len) };
        if bytes != b"kernel" || unsafe { *attrs.types.add(i) } != c::ATTR_SCALAR {
            continue;
        }
        let scalar = unsafe { &*(*attrs.attrs.add(i) as *const c::Scalar) };
        return match scalar.dtype {
            code::S64 => Ok(unsafe { *(scalar.value as *const i64) } as u64),
            code::U64 => Ok(unsafe { *(scalar.value as *const u64) }),
            code::S32 => Ok(unsafe { *(scalar.value as *const i32) } as u64),
            _ => Err(missing()),
        };
    }
    Err(missing())
}

/// The buffers of an argument or result list.
unsafe fn buffers(list: &c::Buffers) -> Result<Vec<&c::Buffer>, String> {
    (0..list.size.max(0) as usize)
        .map(|i| {
            if unsafe { *list.types.add(i) } != c::TYPE_BUFFER {
                return Err(format!("operand or result {i} is not a buffer"));
            }
            Ok(unsafe { &*(*list.items.add(i) as *const c::Buffer) })
        })
        .collect()
}

/// A buffer's dimensions.
unsafe fn dims(b: &c::Buffer) -> Vec<usize> {
    (0..b.rank.max(0) as usize)
        .map(|i| unsafe { *b.dims.add(i) }.max(0) as usize)
        .collect()
}

/// The XLA dtype code a kernel dtype travels as.
fn xla_code(d: DType) -> c_int {
    match d {
        DType::F32 => code::F32,
        DType::I32 => code::S32,
        DType::U32 => code::U32,
        DType::Bool => code::PRED,
        DType::BF16 => code::BF16,
        DType::F16 => code::F16,
        DType::I8 => code::S8,
        DType::U8 => code::U8,
        DType::I16 => code::S16,
        DType::U16 => code::U16,
        DType::F8E4M3FN => code::F8E4M3FN,
        DType::F8E5M2 => code::F8E5M2,
    }
}

/// An element slice of a buffer (a dangling, aligned one when empty: XLA
/// may give a null pointer for no elements).
unsafe fn elements<T>(b: &c::Buffer, n: usize) -> &[T] {
    if n == 0 || b.data.is_null() {
        return &[];
    }
    unsafe { std::slice::from_raw_parts(b.data as *const T, n) }
}

/// An input buffer held for one launch: read in place, or converted once.
enum Held<'a> {
    /// Read in place.
    View(HostView<'a>),
    /// Converted (bf16, f16, fp8, bool).
    Owned(HostArray),
}

impl<'a> Held<'a> {
    /// Checks a buffer against its parameter and holds it.
    unsafe fn of(b: &'a c::Buffer, sig: &ParamSig) -> Result<Held<'a>, String> {
        let shape = unsafe { dims(b) };
        let n: usize = shape.iter().product();
        let want: usize = sig.shape.iter().product();
        if b.dtype != xla_code(sig.dtype) || n != want {
            return Err(format!(
                "operand `{}`: expected {}{:?}, found XLA dtype {} with shape {shape:?}",
                sig.name, sig.dtype, sig.shape, b.dtype
            ));
        }
        if !b.data.is_null() && (b.data as usize) % sig.dtype.size_bytes().max(1) != 0 {
            return Err(format!("operand `{}`: misaligned buffer", sig.name));
        }
        let shape = IxDyn(&sig.shape);
        macro_rules! view {
            ($t:ty, $v:ident) => {{
                let data: &[$t] = unsafe { elements(b, n) };
                Held::View(HostView::$v(
                    ArrayViewD::from_shape(shape, data).map_err(|e| e.to_string())?,
                ))
            }};
        }
        macro_rules! bits {
            ($t:ty) => {{
                let data: &[$t] = unsafe { elements(b, n) };
                let bits = data.iter().map(|&v| v as u32).collect();
                Held::Owned(
                    HostArray::from_bits(sig.dtype, &sig.shape, bits).map_err(|e| e.to_string())?,
                )
            }};
        }
        Ok(match sig.dtype {
            DType::F32 => view!(f32, F32),
            DType::I32 => view!(i32, I32),
            DType::U32 => view!(u32, U32),
            DType::I8 => view!(i8, I8),
            DType::U8 => view!(u8, U8),
            DType::I16 => view!(i16, I16),
            DType::U16 => view!(u16, U16),
            DType::BF16 | DType::F16 => bits!(u16),
            DType::Bool | DType::F8E4M3FN | DType::F8E5M2 => bits!(u8),
        })
    }

    fn view(&self) -> HostView<'_> {
        match self {
            Held::View(v) => v.reborrow(),
            Held::Owned(a) => a.view(),
        }
    }
}

/// A result buffer as the output parameter's buffer, after checking its
/// dtype and element count.
unsafe fn out_buffer<'a>(b: &'a c::Buffer, sig: &ParamSig) -> Result<HostOut<'a>, String> {
    let shape = unsafe { dims(b) };
    let n: usize = shape.iter().product();
    let want: usize = sig.shape.iter().product();
    if b.dtype != xla_code(sig.dtype) || n != want {
        return Err(format!(
            "output `{}`: expected {}{:?}, found XLA dtype {} with shape {shape:?}",
            sig.name, sig.dtype, sig.shape, b.dtype
        ));
    }
    if n > 0 && (b.data.is_null() || (b.data as usize) % sig.dtype.size_bytes().max(1) != 0) {
        return Err(format!(
            "output `{}`: a null or misaligned buffer",
            sig.name
        ));
    }
    macro_rules! slice {
        ($t:ty, $v:ident) => {{
            let data: &mut [$t] = if n == 0 {
                &mut []
            } else {
                // SAFETY: XLA's buffer holds `n` elements of this dtype,
                // checked above, and is this call's alone; every bit
                // pattern is a valid value of these types (bools are
                // written as bytes).
                unsafe { std::slice::from_raw_parts_mut(b.data as *mut $t, n) }
            };
            HostOut::$v(data)
        }};
    }
    Ok(match sig.dtype {
        DType::F32 => slice!(f32, F32),
        DType::I32 => slice!(i32, I32),
        DType::U32 => slice!(u32, U32),
        DType::Bool => slice!(u8, Bool),
        DType::BF16 => slice!(narrow::bf16, BF16),
        DType::F16 => slice!(narrow::f16, F16),
        DType::I8 => slice!(i8, I8),
        DType::U8 => slice!(u8, U8),
        DType::I16 => slice!(i16, I16),
        DType::U16 => slice!(u16, U16),
        DType::F8E4M3FN => slice!(narrow::f8e4m3fn, F8E4M3FN),
        DType::F8E5M2 => slice!(narrow::f8e5m2, F8E5M2),
    })
}
