"""The exceptions of `pallas_rs`."""

from __future__ import annotations


class PallasRsError(Exception):
    """Base of every error this package raises on its own."""


class UnsupportedError(PallasRsError, NotImplementedError):
    """A kernel uses something pallas-rs cannot lower or a backend cannot
    run (a primitive, a dtype, a block shape kind). Raised before anything
    runs; the message names the primitive and the Python line."""

    def __init__(self, message: str, *, primitive: str | None = None,
                 source: str | None = None):
        super().__init__(message)
        self.primitive = primitive
        self.source = source


class KernelError(PallasRsError, RuntimeError):
    """The kernel misbehaved while it ran: an out-of-bounds access, a race,
    a deadlock, a DMA never waited for, ...

    Attributes: `kind` (`out_of_bounds`, `race`, `deadlock`, ...), `kernel`,
    `backend`, `device` (the device of a multi-device kernel, where one is
    to blame), `core`, `grid_point` (a tuple, or None outside the grid),
    `op` (the IR operation or phase), `pk_line` and `pk_column` (the place in
    the kernel's `.pk` text, see `pallas_rs.to_pk`), and `source` (the
    Python `file:line` of the kernel code that did it, where known).
    """

    def __init__(self, message: str, *, kind=None, kernel=None, backend=None,
                 device=None, core=None, grid_point=None, op=None, pk_line=None,
                 pk_column=None, source=None):
        super().__init__(message)
        self.kind = kind
        self.kernel = kernel
        self.backend = backend
        self.device = device
        self.core = core
        self.grid_point = tuple(grid_point) if grid_point is not None else None
        self.op = op
        self.pk_line = pk_line
        self.pk_column = pk_column
        self.source = source


class KernelIndexError(KernelError, IndexError):
    """An out-of-bounds access or block index: a `KernelError` that is also
    an `IndexError`, as JAX's interpret mode raises for the same fault."""


def kernel_error_class(kind):
    """The `KernelError` subclass for a fault kind."""
    if kind in ("out_of_bounds", "block_index_out_of_range"):
        return KernelIndexError
    return KernelError


class KernelDefinitionError(PallasRsError, ValueError):
    """The kernel does something no backend, and not JAX either, allows
    (a load or store on a ref in HBM): found while lowering, before
    anything runs. A `ValueError`, as JAX raises for the same mistake."""


class LoweringError(PallasRsError, RuntimeError):
    """pallas-rs produced kernel text its own validator refused: a bug in
    the lowering. The message holds the validator's errors and the text."""
