"""Writes `.pk` text: values, operations, nested regions, and a map from
each text line to the Python source line it came from."""

from __future__ import annotations

import contextlib
import dataclasses
import math

import ml_dtypes
import numpy as np

from ..errors import UnsupportedError

_DTYPES = {
    np.dtype(np.float32): "f32",
    np.dtype(np.int32): "i32",
    np.dtype(np.uint32): "u32",
    np.dtype(np.bool_): "bool",
    np.dtype(np.float16): "f16",
    np.dtype(np.int8): "i8",
    np.dtype(np.uint8): "u8",
    np.dtype(np.int16): "i16",
    np.dtype(np.uint16): "u16",
    np.dtype(ml_dtypes.bfloat16): "bf16",
    np.dtype(ml_dtypes.float8_e4m3fn): "f8e4m3fn",
    np.dtype(ml_dtypes.float8_e5m2): "f8e5m2",
}

# The NumPy dtype of each `.pk` dtype.
NP_DTYPES = {name: dtype for dtype, name in _DTYPES.items()}

# Float dtypes NumPy's C API does not know (ml_dtypes' types, and float16,
# which the binding takes as bits too): they cross into Rust as raw bits of
# this unsigned type and come back the same way.
RAW_BITS = {
    np.dtype(ml_dtypes.bfloat16): np.dtype(np.uint16),
    np.dtype(np.float16): np.dtype(np.uint16),
    np.dtype(ml_dtypes.float8_e4m3fn): np.dtype(np.uint8),
    np.dtype(ml_dtypes.float8_e5m2): np.dtype(np.uint8),
}

_FLOATS = ("f32", "bf16", "f16", "f8e4m3fn", "f8e5m2")
_INTS = ("i32", "u32", "i8", "u8", "i16", "u16")


def pk_dtype(dtype, what: str, source: str | None = None) -> str:
    """The `.pk` name of a NumPy/JAX dtype, or an UnsupportedError naming
    it."""
    try:
        name = _DTYPES.get(np.dtype(dtype))
    except TypeError:
        name = None
    if name is None:
        raise UnsupportedError(
            f"{what}: dtype {dtype} is not supported by pallas-rs yet "
            f"(supported: float32, int32, uint32, bool, bfloat16, float16, "
            f"int8, uint8, int16, uint16, float8_e4m3fn, float8_e5m2)"
            + (f" (at {source})" if source else ""),
            source=source)
    return name


def literal(value, dtype: str) -> str:
    """A scalar literal in the text format (`2.0:f32`, `-inf:bf16`,
    `nan(0x7fc00000):f32`, `3:i8`, `true`): a float in its dtype, printed
    exactly (NaN by its bits in the dtype's width)."""
    if dtype in _FLOATS:
        v = np.asarray(value).astype(NP_DTYPES[dtype])
        f = float(v.astype(np.float32))
        if math.isnan(f):
            bits = v.view(np.dtype(f"uint{v.dtype.itemsize * 8}"))
            return f"nan(0x{int(bits):0{v.dtype.itemsize * 2}x}):{dtype}"
        if math.isinf(f):
            return ("-" if f < 0 else "") + f"inf:{dtype}"
        return f"{float(np.float32(f))!r}:{dtype}"
    if dtype in _INTS:
        # Wrapped to the dtype's width, as NumPy's `astype` wraps.
        return f"{int(np.asarray(value).astype(np.int64).astype(NP_DTYPES[dtype]))}:{dtype}"
    return "true" if bool(value) else "false"


@dataclasses.dataclass(frozen=True)
class Val:
    """An SSA value of the kernel: its name, dtype and shape."""
    name: str
    dtype: str
    shape: tuple


@dataclasses.dataclass(frozen=True)
class Ref:
    """A ref value: its name, element (`f32`, `sem`, `dma_sem`), shape and
    memory space; `read_only` names the kernel parameter when the kernel
    may not write it (a scalar-prefetch or input ref not aliased to an
    output)."""
    name: str
    elem: str
    shape: tuple
    space: str
    read_only: str | None = None


def shape_text(shape) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


class Emitter:
    """Accumulates the lines of a kernel and names its values."""

    def __init__(self):
        self.lines: list[str] = []
        self.sources: dict[int, str] = {}
        self.depth = 0
        self._next = 0
        self.source: str | None = None
        # Scalar constants' values by value name (`const` ops).
        self.known: dict = {}

    def fresh(self) -> str:
        name = f"%{self._next}"
        self._next += 1
        return name

    def line(self, text: str):
        self.lines.append("  " * self.depth + text)
        if self.source is not None:
            self.sources[len(self.lines)] = self.source

    def op(self, text: str, dtype: str, shape) -> Val:
        """Emits `%n = text` and returns the new value."""
        v = Val(self.fresh(), dtype, tuple(int(d) for d in shape))
        self.line(f"{v.name} = {text}")
        return v

    def ops(self, text: str, types) -> list[Val]:
        """Emits an op with several (or no) results."""
        vals = [Val(self.fresh(), d, tuple(s)) for d, s in types]
        lhs = ", ".join(v.name for v in vals)
        self.line(f"{lhs} = {text}" if vals else text)
        return vals

    def const(self, value, dtype: str) -> Val:
        v = self.op(f"const {literal(value, dtype)}", dtype, ())
        self.known[v.name] = value
        return v

    @contextlib.contextmanager
    def block(self, head: str, close: str = "}"):
        self.line(head)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            self.line(close)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
