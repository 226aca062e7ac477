"""pallas_rs: run unchanged JAX Pallas TPU kernels on pallas-rs.

    import pallas_rs
    with pallas_rs.interpret(backend="sim", detect_races=True):
        y = my_pallas_kernel(x)        # one call into Rust per launch

Backends: "sim" (a faithful simulator of the TPU memory hierarchy, with
JAX's interpret-mode checks and more), "cpu" (a fast compiled mode) and
"wgpu" (the grid in one GPU dispatch). Supports JAX 0.10.x, 0.11.x and
0.12.x (`pallas_rs._compat` reads JAX's internals for all of them).
"""

from __future__ import annotations

# Importing _compat refuses a JAX outside the supported range (an
# ImportError naming the installed version and the range).
from ._compat import SUPPORTED_TEXT as SUPPORTED_JAX
from . import _native  # noqa: E402
from ._interpret import (BackendParams, interpret, reset_stats,  # noqa: E402
                         stats)
from ._topk import to_pk  # noqa: E402
from .errors import (KernelDefinitionError, KernelError,  # noqa: E402
                     KernelIndexError, LoweringError,
                     PallasRsError, UnsupportedError)

__version__ = "0.1.0"


def backends() -> list:
    """The backends this build has (`sim`, `cpu`, `wgpu`)."""
    return list(_native.backends())


__all__ = [
    "interpret", "to_pk", "backends", "stats", "reset_stats",
    "KernelError", "KernelIndexError",
    "KernelDefinitionError", "UnsupportedError", "LoweringError",
    "PallasRsError",
    "BackendParams", "SUPPORTED_JAX",
]

_interpret_install = __import__("pallas_rs._interpret", fromlist=["install"])
_interpret_install.install()
