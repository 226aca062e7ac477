"""The XLA FFI crossing: a jitted single-device launch as one XLA custom
call whose Rust handler reads XLA's input buffers in place and writes the
outputs into XLA's output buffers (no host callback, no NumPy arrays, no
Python on the way).

`lower(ctx, k, in_nodes)` emits the custom call where it can serve, and
returns None where it cannot; the caller then keeps `jax.pure_callback`.
The host callback stays for:

* platforms other than the host CPU (the handler is registered for "cpu");
* multi-device kernels (their devices' launches meet in one, in Python);
* dynamic grids (one compiled kernel per grid size, chosen at run time);
* races recorded rather than raised (`detect_races` with `on_race="warn"`,
  or a call's own `InterpretParams` on JAX before 0.12): their report is
  printed and JAX's `races_found` set, which needs Python after the launch;
* operands or results whose dtype or size differs from the kernel's
  parameters (int64 under x64, int4, complex: the callback converts them);
* a jaxlib whose FFI header cannot be read (the handler must report XLA's
  API version), or the environment variable `PALLAS_RS_NO_FFI=1`.

Faults come back through XLA as a runtime error carrying the fault's
message; `take_fault` finds the fault behind such an error so that the
context raises the same `KernelError` the callback path raises.
"""

from __future__ import annotations

import logging
import os
import threading

import ml_dtypes
import numpy as np

from . import _compat, _native

TARGET = "pallas_rs_launch"

# `.pk` dtype names -> NumPy dtypes.
_DTYPES = {
    "f32": np.dtype(np.float32), "i32": np.dtype(np.int32),
    "u32": np.dtype(np.uint32), "bool": np.dtype(np.bool_),
    "bf16": np.dtype(ml_dtypes.bfloat16), "f16": np.dtype(np.float16),
    "i8": np.dtype(np.int8), "u8": np.dtype(np.uint8),
    "i16": np.dtype(np.int16), "u16": np.dtype(np.uint16),
    "f8e4m3fn": np.dtype(ml_dtypes.float8_e4m3fn),
    "f8e5m2": np.dtype(ml_dtypes.float8_e5m2),
}

_lock = threading.Lock()
_registered = None  # None: not tried; False: unavailable; True: ready
# Kernels by FFI id, to name a fault's Python line.
_kernels: dict = {}


def available() -> bool:
    """Whether the handler is registered with XLA (registering it on first
    use)."""
    global _registered
    with _lock:
        if _registered is None:
            _registered = _register()
        return _registered


def _register() -> bool:
    if os.environ.get("PALLAS_RS_NO_FFI") == "1":
        return False
    version = _compat.ffi_api_version()
    if version is None:
        return False
    try:
        _compat.register_ffi_target(TARGET, _native.ffi_handler(*version))
    except Exception as e:  # noqa: BLE001 - XLA refused the handler
        logging.getLogger(__name__).warning(
            "pallas_rs: XLA refused the FFI handler (%s); launches use the "
            "host callback", e)
        return False
    return True


def launches() -> int:
    """Launches made through the custom call since the process started."""
    return _native.ffi_launches()


def _matches(sig, avals) -> bool:
    """Whether XLA's operands or results are the kernel's parameters as
    they are: same dtype, same number of elements."""
    if len(sig) != len(avals):
        return False
    for (_name, dtype, shape), aval in zip(sig, avals):
        if _DTYPES.get(dtype) != np.dtype(aval.dtype):
            return False
        if int(np.prod(shape, dtype=np.int64)) != int(np.prod(aval.shape, dtype=np.int64)):
            return False
    return True


def lower(ctx, k, in_nodes, records_races: bool):
    """The kernel's launch as an FFI custom call (the result nodes), or
    None where the custom call cannot serve (see the module's doc)."""
    if records_races or _compat.lowering_platforms(ctx) != ("cpu",):
        return None
    inputs, outputs = k.compiled.signature()
    if not (_matches(inputs, ctx.avals_in) and _matches(outputs, k.out_avals)):
        return None
    if not available():
        return None
    kid = k.compiled.ffi_id()
    with _lock:
        _kernels[kid] = k
    import jax
    out_shapes = tuple(jax.ShapeDtypeStruct(a.shape, a.dtype)
                       for a in k.out_avals)
    call = _compat.ffi_call(TARGET, out_shapes, kernel=np.uint64(kid))

    def run(*args):
        return list(call(*args))

    return _compat.mlir.lower_fun(run, multiple_results=True)(ctx, *in_nodes)


def take_fault(text: str):
    """`(kernel, native exception)` behind an XLA error raised by the
    handler (found by message), or None."""
    found = _native.ffi_take_fault(text)
    if found is None:
        return None
    kid, exc = found
    with _lock:
        k = _kernels.get(kid)
    return (k, exc) if k is not None else None
