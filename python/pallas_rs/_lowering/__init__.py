"""jaxpr to `.pk`: the lowering of a `pallas_call` (see `kernel`), one rule
per primitive (see `rules`)."""

from .kernel import LoweredKernel, lower_pallas_call
from .rules import RULES

__all__ = ["LoweredKernel", "lower_pallas_call", "RULES"]
