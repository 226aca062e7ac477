//! The mirror of XLA's FFI C API (`xla/ffi/api/c_api.h`) that the handler
//! needs: the call frame, buffers, attributes, the metadata extension and
//! the first entry of the API table (error creation).
//!
//! Only what the handler reads is declared; every struct is `repr(C)` and
//! laid out as the header lays it out. The layouts used here are the same
//! in the FFI API versions 0.3 to 0.5 (JAX 0.10 to 0.12): fields were
//! added only at the ends of structs this handler does not read past.

use std::ffi::{c_char, c_int, c_void};

/// `XLA_FFI_Extension_Base` (called `XLA_FFI_InternalExtension` in later
/// headers): a linked list of extensions of a struct.
#[repr(C)]
pub struct ExtensionBase {
    /// Size of the extension struct.
    pub struct_size: usize,
    /// Which extension this is (`EXTENSION_METADATA`).
    pub kind: c_int,
    /// The next extension, or null.
    pub next: *mut ExtensionBase,
}

/// `XLA_FFI_Extension_Metadata`: XLA asks the handler for its metadata.
pub const EXTENSION_METADATA: c_int = 1;

/// `XLA_FFI_Api_Version`.
#[repr(C)]
pub struct ApiVersion {
    /// Size of this struct.
    pub struct_size: usize,
    /// Extensions, or null.
    pub extension_start: *mut ExtensionBase,
    /// Major version (written by the handler in a metadata query).
    pub major_version: c_int,
    /// Minor version (written by the handler in a metadata query).
    pub minor_version: c_int,
}

/// `XLA_FFI_Metadata`: what a handler reports about itself.
#[repr(C)]
pub struct Metadata {
    /// Size of this struct.
    pub struct_size: usize,
    /// The FFI API version the handler was built for.
    pub api_version: ApiVersion,
    /// `XLA_FFI_Handler_Traits` bits (none here).
    pub traits: u32,
}

/// `XLA_FFI_Metadata_Extension`.
#[repr(C)]
pub struct MetadataExtension {
    /// The extension's header.
    pub base: ExtensionBase,
    /// Where the handler writes its metadata.
    pub metadata: *mut Metadata,
}

/// `XLA_FFI_Error_Create_Args`.
#[repr(C)]
pub struct ErrorCreateArgs {
    /// Size of this struct.
    pub struct_size: usize,
    /// Extensions, or null.
    pub extension_start: *mut ExtensionBase,
    /// The message (copied by XLA).
    pub message: *const c_char,
    /// `XLA_FFI_Error_Code`.
    pub errc: c_int,
}

/// `XLA_FFI_Error_Code_INVALID_ARGUMENT`.
pub const ERROR_INVALID_ARGUMENT: c_int = 3;
/// `XLA_FFI_Error_Code_INTERNAL`.
pub const ERROR_INTERNAL: c_int = 13;

/// An opaque `XLA_FFI_Error`.
#[repr(C)]
pub struct Error {
    _opaque: [u8; 0],
}

/// `XLA_FFI_Error_Create`.
pub type ErrorCreate = unsafe extern "C" fn(args: *mut ErrorCreateArgs) -> *mut Error;

/// The head of `XLA_FFI_Api`: its version, then the function table, whose
/// first entry creates errors.
#[repr(C)]
pub struct Api {
    /// Size of this struct.
    pub struct_size: usize,
    /// Extensions, or null.
    pub extension_start: *mut ExtensionBase,
    /// The framework's API version.
    pub api_version: ApiVersion,
    /// XLA's internal API (not used).
    pub internal_api: *const c_void,
    /// `XLA_FFI_Error_Create`.
    pub error_create: Option<ErrorCreate>,
}

/// `XLA_FFI_ExecutionStage_EXECUTE`.
pub const STAGE_EXECUTE: c_int = 3;

/// `XLA_FFI_Args` and `XLA_FFI_Rets` (the same layout).
#[repr(C)]
pub struct Buffers {
    /// Size of this struct.
    pub struct_size: usize,
    /// Extensions, or null.
    pub extension_start: *mut ExtensionBase,
    /// How many.
    pub size: i64,
    /// `XLA_FFI_ArgType` / `XLA_FFI_RetType` of each (1: a buffer).
    pub types: *const c_int,
    /// Each one, a `*mut Buffer` where its type is a buffer.
    pub items: *const *mut c_void,
}

/// `XLA_FFI_ArgType_BUFFER` / `XLA_FFI_RetType_BUFFER`.
pub const TYPE_BUFFER: c_int = 1;

/// `XLA_FFI_ByteSpan`.
#[repr(C)]
pub struct ByteSpan {
    /// The bytes (not NUL-terminated).
    pub ptr: *const c_char,
    /// How many.
    pub len: usize,
}

/// `XLA_FFI_Attrs`.
#[repr(C)]
pub struct Attrs {
    /// Size of this struct.
    pub struct_size: usize,
    /// Extensions, or null.
    pub extension_start: *mut ExtensionBase,
    /// How many.
    pub size: i64,
    /// `XLA_FFI_AttrType` of each.
    pub types: *const c_int,
    /// The name of each.
    pub names: *const *const ByteSpan,
    /// Each one (a `*const Scalar` for a scalar).
    pub attrs: *const *const c_void,
}

/// `XLA_FFI_AttrType_SCALAR`.
pub const ATTR_SCALAR: c_int = 3;

/// `XLA_FFI_Scalar`.
#[repr(C)]
pub struct Scalar {
    /// `XLA_FFI_DataType` of the value.
    pub dtype: c_int,
    /// The value.
    pub value: *const c_void,
}

/// `XLA_FFI_CallFrame`.
#[repr(C)]
pub struct CallFrame {
    /// Size of this struct.
    pub struct_size: usize,
    /// Extensions (the metadata query's), or null.
    pub extension_start: *mut ExtensionBase,
    /// The API table (null in a metadata query).
    pub api: *const Api,
    /// The execution context (not used).
    pub ctx: *mut c_void,
    /// `XLA_FFI_ExecutionStage`.
    pub stage: c_int,
    /// The operands.
    pub args: Buffers,
    /// The results.
    pub rets: Buffers,
    /// The attributes.
    pub attrs: Attrs,
}

/// `XLA_FFI_Buffer`.
#[repr(C)]
pub struct Buffer {
    /// Size of this struct.
    pub struct_size: usize,
    /// Extensions, or null.
    pub extension_start: *mut ExtensionBase,
    /// `XLA_FFI_DataType`.
    pub dtype: c_int,
    /// The elements, row-major.
    pub data: *mut c_void,
    /// Rank.
    pub rank: i64,
    /// The dimensions (`rank` of them).
    pub dims: *const i64,
}

/// `XLA_FFI_Handler`.
pub type Handler = unsafe extern "C" fn(frame: *mut CallFrame) -> *mut Error;

/// `XLA_FFI_DataType` codes of the dtypes this handler reads and writes.
pub mod dtype {
    use std::ffi::c_int;

    /// `PRED`.
    pub const PRED: c_int = 1;
    /// `S8`.
    pub const S8: c_int = 2;
    /// `S16`.
    pub const S16: c_int = 3;
    /// `S32`.
    pub const S32: c_int = 4;
    /// `S64`.
    pub const S64: c_int = 5;
    /// `U8`.
    pub const U8: c_int = 6;
    /// `U16`.
    pub const U16: c_int = 7;
    /// `U32`.
    pub const U32: c_int = 8;
    /// `U64`.
    pub const U64: c_int = 9;
    /// `F16`.
    pub const F16: c_int = 10;
    /// `F32`.
    pub const F32: c_int = 11;
    /// `BF16`.
    pub const BF16: c_int = 16;
    /// `F8E5M2`.
    pub const F8E5M2: c_int = 19;
    /// `F8E4M3FN`.
    pub const F8E4M3FN: c_int = 20;
}
