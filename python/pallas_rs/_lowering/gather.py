"""Ref indexing with integer arrays (`x_ref[idx]`, `x_ref[2, :, idx]`: a
gather), lowered to a loop of scalar-indexed loads into a scoped buffer.

The result follows NumPy's (and JAX's `NDIndexer`) rule: the integer
indexers broadcast to one shape `K`; when they sit side by side the `K`
dimensions take their place among the sliced ones, otherwise they lead.
Negative indices count from the end, as NumPy's do, and an index still
out of range is clamped into it, as JAX's array indexing clamps a gather
(the result JAX's interpret mode gives)."""

from __future__ import annotations

import copy

import numpy as np

from .. import _compat
from .emitter import Ref, Val, shape_text
from .indexing import _add, _index_value, _mul, _static, view


def has_array_index(transforms) -> bool:
    """Whether the last transform indexes with integer arrays."""
    return bool(transforms) and isinstance(transforms[-1], _compat.NDIndexer) \
        and bool(transforms[-1].int_indexer_shape)


def _flat_index(ctx, atom, k_shape, n_dim) -> Val:
    """An integer indexer as a flat i32 value of `prod(k_shape)` elements,
    broadcast to `k_shape`, negative indices wrapped once, then clamped
    into `[0, n_dim)`."""
    em = ctx.em
    v = ctx.read(atom) if not isinstance(atom, (int, np.integer, Val)) else atom
    if isinstance(v, (int, np.integer)):
        v = em.const(int(v), "i32")
    if not isinstance(v, Val):
        raise ctx.unsupported("a ref used as an index array")
    if v.dtype != "i32":
        v = em.op(f"cast {v.name} to i32", "i32", v.shape)
    if v.shape != tuple(k_shape):
        offset = len(k_shape) - len(v.shape)
        dims = list(range(offset, len(k_shape)))
        if v.shape == ():
            dims = []
        v = em.op(f"broadcast_in_dim {v.name} to {shape_text(k_shape)} dims "
                  f"{shape_text(dims)}", "i32", k_shape)
    n = int(np.prod(k_shape))
    if v.shape != (n,):
        v = em.op(f"reshape {v.name} to {shape_text([n])}", "i32", (n,))
    zero, size = em.const(0, "i32"), em.const(n_dim, "i32")
    neg = em.op(f"cmp lt {v.name}, {zero.name}", "bool", (n,))
    wrapped = em.op(f"add {v.name}, {size.name}", "i32", (n,))
    v = em.op(f"select {neg.name}, {wrapped.name}, {v.name}", "i32", (n,))
    # Then clamped into range, as JAX's array indexing clamps a gather.
    top = em.const(n_dim - 1, "i32")
    v = em.op(f"max {v.name}, {zero.name}", "i32", (n,))
    return em.op(f"min {v.name}, {top.name}", "i32", (n,))


def gather_load(ctx, ref: Ref, transforms, out_dtype: str) -> Val:
    """`ref[transforms]` where the last transform indexes with arrays."""
    em = ctx.em
    base = view(ctx, ref, transforms[:-1])
    last = transforms[-1]
    live = base.live()
    if len(last.indices) != len(live):
        raise ctx.unsupported(
            f"an indexer of {len(last.indices)} dimensions on a view of "
            f"{len(live)}")
    k_shape = tuple(_static(ctx, d, "an index array's size")
                    for d in last.int_indexer_shape)
    n = int(np.prod(k_shape))
    is_int = [not isinstance(ix, _compat.Slice) for ix in last.indices]
    slice_sizes = [_static(ctx, ix.size, "a slice's size")
                   for ix in last.indices if isinstance(ix, _compat.Slice)]
    # Flat indices (i32[n]) for the integer indexers, by live dimension.
    flats = {d: _flat_index(ctx, ix, k_shape, base.dims[d][2])
             for d, ix, it in zip(live, last.indices, is_int) if it}
    gathered = (n, *slice_sizes)
    bufs = {d: Ref(em.fresh(), "i32", (n,), "vmem") for d in flats}
    out = Ref(em.fresh(), out_dtype, gathered, "vmem")
    res = Val(em.fresh(), out_dtype, gathered)
    decls = [f"{b.name}: i32[{n}] vmem" for b in bufs.values()]
    decls.append(f"{out.name}: {out_dtype}{shape_text(gathered)} vmem")
    with em.block(f"{res.name} = run_scoped({', '.join(decls)}) {{"):
        for d, b in bufs.items():
            em.line(f"store {b.name}[:], {flats[d].name}")
        lo, hi = em.const(0, "i32"), em.const(n, "i32")
        k = em.fresh()
        with em.block(f"for {lo.name} to {hi.name} step 1 init() do({k}) {{"):
            kv = Val(k, "i32", ())
            v = copy.copy(base)
            v.dims = list(base.dims)
            for d, ix in zip(live, last.indices):
                _, start, _size, stride = v.dims[d]
                if d in bufs:
                    i = em.op(f"load {bufs[d].name}[{k}]", "i32", ())
                    v.dims[d] = ("index", _add(ctx, start, _mul(ctx, i, stride)))
                else:
                    s2 = _index_value(ctx, ix.start)
                    v.dims[d] = ("slice", _add(ctx, start, _mul(ctx, s2, stride)),
                                 _static(ctx, ix.size, "a slice's size"),
                                 stride * _static(ctx, ix.stride, "a stride"))
            v.defer_static_out_of_bounds(ctx)
            row = em.op(f"load {v.text()}", out_dtype, tuple(slice_sizes))
            rest = ", ".join(":" for _ in slice_sizes)
            em.line(f"store {out.name}[{kv.name}{', ' + rest if rest else ''}], "
                    f"{row.name}")
        whole = ", ".join(":" for _ in gathered)
        r = em.op(f"load {out.name}[{whole}]", out_dtype, gathered)
        em.line(f"yield {r.name}")
    # [n, *slices] -> [*K, *slices], then K to its place.
    shaped = (*k_shape, *slice_sizes)
    x = res
    if shaped != gathered:
        x = em.op(f"reshape {x.name} to {shape_text(shaped)}", out_dtype, shaped)
    positions = [i for i, it in enumerate(is_int) if it]
    contiguous = all(b - a == 1 for a, b in zip(positions, positions[1:]))
    pos = positions[0] if contiguous else 0
    # The number of sliced dimensions before the first integer indexer.
    before = sum(1 for it in is_int[:pos] if not it)
    if contiguous and before:
        nk = len(k_shape)
        perm = (list(range(nk, nk + before)) + list(range(nk))
                + list(range(nk + before, nk + len(slice_sizes))))
        final = tuple(shaped[p] for p in perm)
        x = em.op(f"transpose {x.name} perm {shape_text(perm)}", out_dtype, final)
    return x

