"""Rules for primitives that move elements around a value, built from the
IR's slices and concatenations, or, where a position is known only at run
time, a scoped VMEM buffer and dynamic loads and stores:

* `roll` (JAX's TPU `pltpu.roll`: static or run-time shift, with or
  without a stride), exactly `jnp.roll` (elements move toward higher
  indices);
* `split` (slices), `pad` (low/high padding, negative padding as slices;
  interior padding is refused by name);
* `dynamic_slice` and `dynamic_update_slice` of a value, their start
  indices clamped into range as XLA does."""

from __future__ import annotations

from .emitter import Ref, Val, shape_text


def _slice(ctx, x: Val, axis: int, start: int, stop: int) -> Val:
    starts = [0] * len(x.shape)
    limits = list(x.shape)
    starts[axis], limits[axis] = start, stop
    shape = list(x.shape)
    shape[axis] = stop - start
    return ctx.em.op(
        f"slice {x.name} start {shape_text(starts)} limit {shape_text(limits)} "
        f"strides {shape_text([1] * len(x.shape))}", x.dtype, shape)


def _concat(ctx, parts, axis: int) -> Val:
    if len(parts) == 1:
        return parts[0]
    shape = list(parts[0].shape)
    shape[axis] = sum(p.shape[axis] for p in parts)
    names = ", ".join(p.name for p in parts)
    return ctx.em.op(f"concatenate {names} axis {axis}", parts[0].dtype, shape)


def roll_static(ctx, x: Val, shift: int, axis: int) -> Val:
    """`jnp.roll(x, shift, axis)` for a shift known now."""
    n = x.shape[axis]
    k = shift % n if n else 0
    if k == 0:
        return x
    return _concat(ctx, [_slice(ctx, x, axis, n - k, n),
                         _slice(ctx, x, axis, 0, n - k)], axis)


def _i32(ctx, k: int) -> Val:
    return ctx.em.const(k, "i32")


def _start_of(ctx, shift: Val, n: int) -> Val:
    """The first element of the doubled buffer that a roll by `shift`
    starts at: `(n - shift mod n) mod n`, for any sign of `shift`."""
    em = ctx.em
    nv = _i32(ctx, n)
    r = em.op(f"rem {shift.name}, {nv.name}", "i32", ())
    zero = _i32(ctx, 0)
    neg = em.op(f"cmp lt {r.name}, {zero.name}", "bool", ())
    fixed = em.op(f"add {r.name}, {nv.name}", "i32", ())
    r = em.op(f"select {neg.name}, {fixed.name}, {r.name}", "i32", ())
    back = em.op(f"sub {nv.name}, {r.name}", "i32", ())
    return em.op(f"rem {back.name}, {nv.name}", "i32", ())


def roll_dynamic(ctx, x: Val, shift: Val, axis: int, stride=None,
                 stride_axis=None) -> Val:
    """A roll by a shift known at run time: `x` stored twice along `axis`
    in a scoped VMEM buffer, then read back from the shifted start (per
    slice along `stride_axis`, each `stride` further, when strided)."""
    em = ctx.em
    n = x.shape[axis]
    if shift.dtype != "i32":
        shift = em.op(f"cast {shift.name} to i32", "i32", ())
    wide = list(x.shape)
    wide[axis] = 2 * n
    buf = Ref(em.fresh(), x.dtype, tuple(wide), "vmem")
    out = Val(em.fresh(), x.dtype, x.shape)

    def index(what):
        """An indexer of the buffer: `what` for the dimensions it names,
        whole ones elsewhere."""
        return ", ".join(what.get(i, ":") for i in range(len(wide)))

    with em.block(f"{out.name} = run_scoped({buf.name}: {x.dtype}"
                  f"{shape_text(wide)} vmem) {{"):
        em.line(f"store {buf.name}[{index({axis: f'ds(0, {n})'})}], {x.name}")
        em.line(f"store {buf.name}[{index({axis: f'ds({n}, {n})'})}], {x.name}")
        if stride is None:
            start = _start_of(ctx, shift, n)
            v = em.op(f"load {buf.name}[{index({axis: f'ds({start.name}, {n})'})}]",
                      x.dtype, x.shape)
        else:
            rows = []
            row_shape = list(x.shape)
            row_shape[stride_axis] = 1
            for i in range(x.shape[stride_axis]):
                step = _i32(ctx, i * int(stride))
                s = em.op(f"add {shift.name}, {step.name}", "i32", ())
                start = _start_of(ctx, s, n)
                rows.append(em.op(
                    f"load {buf.name}[{index({axis: f'ds({start.name}, {n})', stride_axis: f'ds({i}, 1)'})}]",
                    x.dtype, row_shape))
            v = _concat(ctx, rows, stride_axis)
        em.line(f"yield {v.name}")
    return out


def _scalar_i32(ctx, v: Val) -> Val:
    if v.shape != ():
        raise ctx.unsupported("a start index that is not a scalar")
    return v if v.dtype == "i32" else ctx.em.op(f"cast {v.name} to i32", "i32", ())


def _clamped_start(ctx, start: Val, dim: int, size: int) -> Val:
    """`clamp(start, 0, dim - size)`, as XLA clamps dynamic slices."""
    em = ctx.em
    lo, hi = _i32(ctx, 0), _i32(ctx, dim - size)
    s = em.op(f"max {start.name}, {lo.name}", "i32", ())
    return em.op(f"min {s.name}, {hi.name}", "i32", ())


def _window(starts, sizes, full):
    """An indexer: `ds(start, size)` per dimension (`:` where whole)."""
    parts = []
    for st, size, n in zip(starts, sizes, full):
        if isinstance(st, int) and st == 0 and size == n:
            parts.append(":")
        else:
            parts.append(f"ds({st if isinstance(st, int) else st.name}, {size})")
    return ", ".join(parts)


def dynamic_update(ctx, x: Val, update: Val | None, starts, sizes) -> Val:
    """Through a scoped VMEM buffer holding `x`: the window at `starts`
    (already clamped) of `sizes` read back (`update` None), or `x` with
    that window replaced by `update`."""
    em = ctx.em
    buf = Ref(em.fresh(), x.dtype, tuple(x.shape), "vmem")
    out_shape = tuple(sizes) if update is None else x.shape
    out = Val(em.fresh(), x.dtype, out_shape)
    whole = ", ".join(":" for _ in x.shape)
    with em.block(f"{out.name} = run_scoped({buf.name}: {x.dtype}"
                  f"{shape_text(x.shape)} vmem) {{"):
        em.line(f"store {buf.name}[{whole}], {x.name}")
        window = _window(starts, sizes, x.shape)
        if update is None:
            v = em.op(f"load {buf.name}[{window}]", x.dtype, out_shape)
        else:
            em.line(f"store {buf.name}[{window}], {update.name}")
            v = em.op(f"load {buf.name}[{whole}]", x.dtype, x.shape)
        em.line(f"yield {v.name}")
    return out


def register(rule, val, static_int):
    """Registers this module's rules with the rules table's decorator."""

    @rule("roll")
    def _roll(ctx, eqn):
        x = val(ctx, eqn.invars[0])
        axis = int(eqn.params["axis"])
        stride, stride_axis = eqn.params.get("stride"), eqn.params.get("stride_axis")
        if not x.shape:
            return x
        k = static_int(ctx, eqn.invars[1])
        if k is not None:
            if stride is None:
                return roll_static(ctx, x, k, axis)
            rows = [roll_static(ctx, _slice(ctx, x, int(stride_axis), i, i + 1),
                                k + i * int(stride), axis)
                    for i in range(x.shape[int(stride_axis)])]
            return _concat(ctx, rows, int(stride_axis))
        shift = val(ctx, eqn.invars[1])
        if shift.shape != ():
            raise ctx.unsupported("`roll` with a shift that is not a scalar")
        return roll_dynamic(ctx, x, shift, axis,
                            None if stride is None else int(stride),
                            None if stride_axis is None else int(stride_axis))

    @rule("split")
    def _split(ctx, eqn):
        x = val(ctx, eqn.invars[0])
        axis = int(eqn.params["axis"])
        outs, at = [], 0
        for size in eqn.params["sizes"]:
            outs.append(_slice(ctx, x, axis, at, at + int(size)))
            at += int(size)
        return outs

    @rule("pad")
    def _pad(ctx, eqn):
        x = val(ctx, eqn.invars[0])
        fill = val(ctx, eqn.invars[1])
        for axis, (lo, hi, interior) in enumerate(eqn.params["padding_config"]):
            lo, hi, interior = int(lo), int(hi), int(interior)
            if interior:
                raise ctx.unsupported("`pad` with interior padding")
            n = x.shape[axis]
            # Negative padding cuts.
            x = _slice(ctx, x, axis, max(0, -lo), n - max(0, -hi))
            parts = []
            for width in (lo, None, hi):
                if width is None:
                    parts.append(x)
                elif width > 0:
                    shape = list(x.shape)
                    shape[axis] = width
                    parts.append(ctx.em.op(
                        f"broadcast_in_dim {fill.name} to {shape_text(shape)} "
                        "dims []", x.dtype, shape))
            x = _concat(ctx, parts, axis)
        return x

    @rule("dynamic_slice")
    def _dynamic_slice(ctx, eqn):
        x = val(ctx, eqn.invars[0])
        sizes = [int(s) for s in eqn.params["slice_sizes"]]
        starts = []
        for atom, n, size in zip(eqn.invars[1:], x.shape, sizes):
            k = static_int(ctx, atom)
            if k is not None:
                starts.append(min(max(k, 0), n - size))
            else:
                starts.append(_clamped_start(ctx, _scalar_i32(ctx, val(ctx, atom)),
                                             n, size))
        if all(isinstance(st, int) for st in starts):
            for axis, (st, size) in enumerate(zip(starts, sizes)):
                if (st, size) != (0, x.shape[axis]):
                    x = _slice(ctx, x, axis, st, st + size)
            return x
        return dynamic_update(ctx, x, None, starts, sizes)

    @rule("dynamic_update_slice")
    def _dynamic_update_slice(ctx, eqn):
        x, upd = val(ctx, eqn.invars[0]), val(ctx, eqn.invars[1])
        starts = []
        for atom, n, size in zip(eqn.invars[2:], x.shape, upd.shape):
            k = static_int(ctx, atom)
            starts.append(min(max(k, 0), n - size) if k is not None else
                          _clamped_start(ctx, _scalar_i32(ctx, val(ctx, atom)),
                                         n, size))
        return dynamic_update(ctx, x, upd, starts, upd.shape)

    def _expand(ctx, x: Val, axis: int) -> Val:
        shape = list(x.shape)
        shape.insert(axis, 1)
        return ctx.em.op(f"reshape {x.name} to {shape_text(shape)}", x.dtype, shape)

    @rule("stack")
    def _stack(ctx, eqn):
        axis = int(eqn.params["axis"])
        return _concat(ctx, [_expand(ctx, val(ctx, a), axis)
                             for a in eqn.invars], axis)

    @rule("unstack")
    def _unstack(ctx, eqn):
        x = val(ctx, eqn.invars[0])
        axis = int(eqn.params["axis"])
        shape = list(x.shape)
        del shape[axis]
        return [ctx.em.op(f"reshape {_slice(ctx, x, axis, i, i + 1).name} to "
                          f"{shape_text(shape)}", x.dtype, shape)
                for i in range(x.shape[axis])]

    @rule("bitcast")
    def _tpu_bitcast(ctx, eqn):
        # `pltpu.bitcast` between types of one width; packing narrower
        # types into wider ones (or back) changes the shape.
        x = val(ctx, eqn.invars[0])
        out = eqn.outvars[0].aval
        to = ctx.dtype(out)
        if tuple(out.shape) != x.shape:
            raise ctx.unsupported(
                f"`pltpu.bitcast` from {x.dtype} to {to} (types of different "
                "widths pack elements)")
        return ctx.em.op(f"bitcast {x.name} to {to}", to, x.shape)
