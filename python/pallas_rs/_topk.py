"""`pallas_rs.to_pk`: the `.pk` text of every `pallas_call` a function
launches."""

from __future__ import annotations

import jax
from jax._src import core as jax_core

from ._interpret import lower


def _pallas_calls(jaxpr):
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "pallas_call":
            yield eqn
        for sub in jax_core.jaxprs_in_params(eqn.params):
            yield from _pallas_calls(sub)


def to_pk(fn, *args, **kwargs) -> str:
    """Traces `fn(*args, **kwargs)` and returns the `.pk` text of every
    `pallas_call` it launches, in order, separated by blank lines: save it
    and use the `pallas` command line on it (`pallas check`, `pallas run
    --backend all`, `pallas wgsl`)."""
    closed = jax.make_jaxpr(fn)(*args, **kwargs)
    texts = [lower(eqn.params).text for eqn in _pallas_calls(closed.jaxpr)]
    if not texts:
        raise ValueError("the function launches no pallas_call")
    return "\n".join(texts)
