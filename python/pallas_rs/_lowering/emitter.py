"""Writes `.pk` text: values, operations, nested regions, and a map from
each text line to the Python source line it came from."""

from __future__ import annotations

import contextlib
import dataclasses
import math

import numpy as np

from ..errors import UnsupportedError

_DTYPES = {
    np.dtype(np.float32): "f32",
    np.dtype(np.int32): "i32",
    np.dtype(np.uint32): "u32",
    np.dtype(np.bool_): "bool",
}


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
            f"(supported: float32, int32, uint32, bool)"
            + (f" (at {source})" if source else ""),
            source=source)
    return name


def literal(value, dtype: str) -> str:
    """A scalar literal in the text format (`2.0:f32`, `-inf:f32`,
    `nan(0x7fc00000):f32`, `3:i32`, `true`)."""
    if dtype == "f32":
        v = np.float32(value)
        if math.isnan(v):
            return f"nan(0x{int(v.view(np.uint32)):08x}):f32"
        if math.isinf(v):
            return ("-" if v < 0 else "") + "inf:f32"
        return f"{float(v)!r}:f32"
    if dtype == "i32":
        return f"{int(np.int32(value))}:i32"
    if dtype == "u32":
        return f"{int(np.uint32(value))}:u32"
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
    memory space."""
    name: str
    elem: str
    shape: tuple
    space: str


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
        return self.op(f"const {literal(value, dtype)}", dtype, ())

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
