"""`pallas_rs.to_pk`: the `.pk` text of every `pallas_call` a function
launches."""

from __future__ import annotations

import jax
from . import _compat
from ._interpret import lower


def _pallas_calls(jaxpr, mesh_axes=()):
    """Each `pallas_call` equation with the axes of the `shard_map`s
    around it."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "pallas_call":
            yield eqn, mesh_axes
        inner = mesh_axes
        if eqn.primitive.name == "shard_map":
            manual = eqn.params.get("newly_manual_axes") or ()
            inner = mesh_axes + tuple(
                (name, int(size)) for name, size in eqn.params["mesh"].shape.items()
                if name in manual)
        for sub in _compat.jaxprs_in_params(eqn.params):
            yield from _pallas_calls(sub, inner)


def to_pk(fn, *args, **kwargs) -> str:
    """Traces `fn(*args, **kwargs)` and returns the `.pk` text of every
    `pallas_call` it launches, in order, separated by blank lines: save it
    and use the `pallas` command line on it (`pallas check`, `pallas run
    --backend all`, `pallas wgsl`)."""
    closed = jax.make_jaxpr(fn)(*args, **kwargs)
    texts = [lower(eqn.params, mesh_axes=axes).text
             for eqn, axes in _pallas_calls(closed.jaxpr)]
    if not texts:
        raise ValueError("the function launches no pallas_call")
    return "\n".join(texts)
