"""Ref indexing with integer arrays (`x_ref[idx]`, `x_ref[2, :, idx]`): a
gather, lowered to a loop of scalar-indexed loads into a scoped buffer,
and a scatter (a store through one), a loop of scalar-indexed stores.

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


def _flat_index(ctx, atom, k_shape, n_dim, clamp=True) -> Val:
    """An integer indexer as a flat i32 value of `prod(k_shape)` elements,
    broadcast to `k_shape`, negative indices wrapped once, then (`clamp`)
    clamped into `[0, n_dim)`."""
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
    if not clamp:
        return v
    # Then clamped into range, as JAX's array indexing clamps a gather.
    top = em.const(n_dim - 1, "i32")
    v = em.op(f"max {v.name}, {zero.name}", "i32", (n,))
    return em.op(f"min {v.name}, {top.name}", "i32", (n,))


class _Indexed:
    """A view whose last transform indexes with integer arrays: the
    integer indexers broadcast to `k_shape` (`n` points), flattened into
    i32 values by dimension, and the sizes of the sliced dimensions."""

    def __init__(self, ctx, ref: Ref, transforms, clamp: bool):
        self.base = view(ctx, ref, transforms[:-1])
        self.last = transforms[-1]
        self.live = self.base.live()
        if len(self.last.indices) != len(self.live):
            raise ctx.unsupported(
                f"an indexer of {len(self.last.indices)} dimensions on a view "
                f"of {len(self.live)}")
        self.k_shape = tuple(_static(ctx, d, "an index array's size")
                             for d in self.last.int_indexer_shape)
        self.n = int(np.prod(self.k_shape))
        self.is_int = [not isinstance(ix, _compat.Slice)
                       for ix in self.last.indices]
        self.slice_sizes = tuple(
            _static(ctx, ix.size, "a slice's size")
            for ix in self.last.indices if isinstance(ix, _compat.Slice))
        self.flats = {d: _flat_index(ctx, ix, self.k_shape,
                                     self.base.dims[d][2], clamp)
                      for d, ix, it in zip(self.live, self.last.indices,
                                           self.is_int) if it}
        # The value's layout: [*K, *slices] with K moved to where NumPy
        # puts it (after the slices before it when the integer indexers
        # sit side by side).
        self.shaped = (*self.k_shape, *self.slice_sizes)
        positions = [i for i, it in enumerate(self.is_int) if it]
        contiguous = all(b - a == 1 for a, b in zip(positions, positions[1:]))
        pos = positions[0] if contiguous else 0
        before = sum(1 for it in self.is_int[:pos] if not it)
        self.perm = None
        if contiguous and before:
            nk, ns = len(self.k_shape), len(self.slice_sizes)
            self.perm = (list(range(nk, nk + before)) + list(range(nk))
                         + list(range(nk + before, nk + ns)))

    def scoped_indices(self, em):
        """Scoped i32 buffers for the flat indices, with their
        declarations."""
        bufs = {d: Ref(em.fresh(), "i32", (self.n,), "vmem") for d in self.flats}
        return bufs, [f"{b.name}: i32[{self.n}] vmem" for b in bufs.values()]

    def row_view(self, ctx, bufs, k: str):
        """The view of point `k`: its indices loaded from `bufs`, the
        sliced dimensions kept."""
        em = ctx.em
        v = copy.copy(self.base)
        v.dims = list(self.base.dims)
        for d, ix in zip(self.live, self.last.indices):
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
        return v


def gather_load(ctx, ref: Ref, transforms, out_dtype: str) -> Val:
    """`ref[transforms]` where the last transform indexes with arrays."""
    em = ctx.em
    ix = _Indexed(ctx, ref, transforms, clamp=True)
    gathered = (ix.n, *ix.slice_sizes)
    bufs, decls = ix.scoped_indices(em)
    out = Ref(em.fresh(), out_dtype, gathered, "vmem")
    res = Val(em.fresh(), out_dtype, gathered)
    decls.append(f"{out.name}: {out_dtype}{shape_text(gathered)} vmem")
    with em.block(f"{res.name} = run_scoped({', '.join(decls)}) {{"):
        for d, b in bufs.items():
            em.line(f"store {b.name}[:], {ix.flats[d].name}")
        lo, hi = em.const(0, "i32"), em.const(ix.n, "i32")
        k = em.fresh()
        with em.block(f"for {lo.name} to {hi.name} step 1 init() do({k}) {{"):
            v = ix.row_view(ctx, bufs, k)
            row = em.op(f"load {v.text()}", out_dtype, ix.slice_sizes)
            rest = "".join(", :" for _ in ix.slice_sizes)
            em.line(f"store {out.name}[{k}{rest}], {row.name}")
        whole = ", ".join(":" for _ in gathered)
        r = em.op(f"load {out.name}[{whole}]", out_dtype, gathered)
        em.line(f"yield {r.name}")
    # [n, *slices] -> [*K, *slices], then K to its place.
    x = res
    if ix.shaped != gathered:
        x = em.op(f"reshape {x.name} to {shape_text(ix.shaped)}", out_dtype,
                  ix.shaped)
    if ix.perm is not None:
        final = tuple(ix.shaped[p] for p in ix.perm)
        x = em.op(f"transpose {x.name} perm {shape_text(ix.perm)}", out_dtype,
                  final)
    return x


def scatter_store(ctx, ref: Ref, transforms, value: Val) -> None:
    """`ref[transforms] = value` where the last transform indexes with
    arrays (a scatter): one store per point, in order (a repeated index
    keeps the last value). Negative indices count from the end; one still
    out of range is an out-of-bounds write, not clamped."""
    em = ctx.em
    ix = _Indexed(ctx, ref, transforms, clamp=False)
    rows = (ix.n, *ix.slice_sizes)
    x = value
    if x.shape != ():  # a scalar is stored as it is (the IR broadcasts it)
        want = ix.shaped if ix.perm is None else tuple(
            ix.shaped[p] for p in ix.perm)
        if x.shape != want:  # NumPy's rule, over the trailing dimensions
            dims = list(range(len(want) - len(x.shape), len(want)))
            x = em.op(f"broadcast_in_dim {x.name} to {shape_text(want)} dims "
                      f"{shape_text(dims)}", x.dtype, want)
        if ix.perm is not None:  # K back to the front
            inverse = [ix.perm.index(i) for i in range(len(ix.perm))]
            x = em.op(f"transpose {x.name} perm {shape_text(inverse)}",
                      x.dtype, ix.shaped)
        if x.shape != rows:
            x = em.op(f"reshape {x.name} to {shape_text(rows)}", x.dtype, rows)
    bufs, decls = ix.scoped_indices(em)
    src = Ref(em.fresh(), x.dtype, rows, "vmem")
    decls.append(f"{src.name}: {x.dtype}{shape_text(rows)} vmem")
    with em.block(f"run_scoped({', '.join(decls)}) {{"):
        for d, b in bufs.items():
            em.line(f"store {b.name}[:], {ix.flats[d].name}")
        em.line(f"store {src.name}[{', '.join(':' for _ in rows)}], {x.name}")
        lo, hi = em.const(0, "i32"), em.const(ix.n, "i32")
        k = em.fresh()
        with em.block(f"for {lo.name} to {hi.name} step 1 init() do({k}) {{"):
            v = ix.row_view(ctx, bufs, k)
            rest = "".join(", :" for _ in ix.slice_sizes)
            row = em.op(f"load {src.name}[{k}{rest}]", x.dtype, ix.slice_sizes)
            em.line(f"store {v.text()}, {row.name}")
