"""Ref indexers: JAX's chains of `NDIndexer`s (`x_ref[i, pl.ds(s, n)]`,
`x_ref.at[a].at[b]`) composed into one `.pk` indexer per dimension of the
underlying ref."""

from __future__ import annotations

import numpy as np

from .. import _compat

from .emitter import Ref, Val


def _index_value(ctx, atom):
    """A scalar i32 value or a Python int for an index atom."""
    if isinstance(atom, (int,)):
        return int(atom)
    static = ctx.static_int(atom) if not isinstance(atom, (Val, Ref)) else None
    if static is not None:
        return static
    v = atom if isinstance(atom, Val) else ctx.read(atom)
    if not isinstance(v, Val) or v.shape != ():
        raise ctx.unsupported("an array used as a ref index (a gather); "
                              "only scalar indices and pl.ds slices are "
                              "supported")
    if v.dtype != "i32":
        v = ctx.em.op(f"cast {v.name} to i32", "i32", ())
    return v


def _static(ctx, x, what) -> int:
    """A slice's size or stride: an int, or a jaxpr atom bound to a
    constant (a `cond` branch sees the constants it closes over as
    variables)."""
    if isinstance(x, (int, np.integer)):
        return int(x)
    k = ctx.static_int(x)
    if k is None:
        raise ctx.unsupported(f"{what} that is not known when traced")
    return k


def _add(ctx, a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if isinstance(a, int) and a == 0:
        return b
    if isinstance(b, int) and b == 0:
        return a
    an = a.name if isinstance(a, Val) else ctx.em.const(a, "i32").name
    bn = b.name if isinstance(b, Val) else ctx.em.const(b, "i32").name
    return ctx.em.op(f"add {an}, {bn}", "i32", ())


def _mul(ctx, a, k: int):
    if isinstance(a, int):
        return a * k
    if k == 1:
        return a
    kn = ctx.em.const(k, "i32").name
    return ctx.em.op(f"mul {a.name}, {kn}", "i32", ())


class View:
    """A ref seen through indexers: per dimension of the ref, `full`,
    `("index", i)` or `("slice", start, size, stride)`, where `i` and
    `start` are ints or scalar i32 values."""

    def __init__(self, ref: Ref):
        self.ref = ref
        self.dims = [("slice", 0, int(n), 1) for n in ref.shape]

    def live(self):
        return [d for d, e in enumerate(self.dims) if e[0] == "slice"]

    @property
    def shape(self):
        return tuple(self.dims[d][2] for d in self.live())

    def apply(self, ctx, transform):
        if not isinstance(transform, _compat.NDIndexer):
            raise ctx.unsupported(
                f"the ref transform {type(transform).__name__} (only "
                "indexing with integers and pl.ds slices is supported)")
        if transform.int_indexer_shape:
            raise ctx.unsupported("an array used as a ref index here (loads "
                                  "of a gather are supported; stores into "
                                  "one, a scatter, and DMAs of one are not)")
        live = self.live()
        if len(transform.indices) != len(live):
            raise ctx.unsupported(
                f"an indexer of {len(transform.indices)} dimensions on a "
                f"view of {len(live)}")
        for d, ix in zip(live, transform.indices):
            _, start, _size, stride = self.dims[d]
            if isinstance(ix, _compat.Slice):
                s2 = _index_value(ctx, ix.start)
                st2 = _static(ctx, ix.stride, "a slice's stride")
                size = _static(ctx, ix.size, "a slice's size")
                self.dims[d] = ("slice", _add(ctx, start, _mul(ctx, s2, stride)),
                                size, stride * st2)
            else:
                i = _index_value(ctx, ix)
                self.dims[d] = ("index", _add(ctx, start, _mul(ctx, i, stride)))
        return self

    def defer_static_out_of_bounds(self, ctx):
        """An index known now to fall outside the ref is the kernel's
        fault, found when it runs (as JAX finds it, honouring
        `out_of_bounds_reads`), not a text the validator refuses: such an
        index or slice start becomes a run-time value."""
        for d, (n, e) in enumerate(zip(self.ref.shape, self.dims)):
            if e[0] == "index" and isinstance(e[1], int) and not 0 <= e[1] < n:
                self.dims[d] = ("index", ctx.em.const(e[1], "i32"))
            elif e[0] == "slice" and isinstance(e[1], int):
                _, start, size, stride = e
                last = start + (size - 1) * stride if size else start
                if start < 0 or (size and last >= n):
                    self.dims[d] = ("slice", ctx.em.const(start, "i32"), size,
                                    stride)

    def text(self) -> str:
        parts = []
        for n, e in zip(self.ref.shape, self.dims):
            if e[0] == "index":
                i = e[1]
                parts.append(str(i) if isinstance(i, int) else i.name)
                continue
            _, start, size, stride = e
            if start == 0 and size == n and stride == 1:
                parts.append(":")
                continue
            s = str(start) if isinstance(start, int) else start.name
            parts.append(f"ds({s}, {size})" if stride == 1
                         else f"ds({s}, {size}, {stride})")
        return f"{self.ref.name}[{', '.join(parts)}]"


def view(ctx, ref, transforms) -> View:
    """The view of `ref` through a sequence of transforms."""
    if not isinstance(ref, Ref):
        raise ctx.unsupported("indexing a value that is not a ref")
    v = View(ref)
    for t in transforms or ():
        v.apply(ctx, t)
    v.defer_static_out_of_bounds(ctx)
    return v
