"""One lowering rule per JAX primitive: the table `RULES` maps a
primitive's name to a function `(ctx, eqn) -> value | [values]`.

A primitive missing from the table raises `UnsupportedError` naming it and
the Python line, before anything runs. Elementwise compositions are used
only where they give XLA's result exactly (`square` is `x * x`, `clamp` is
`min(max(x, lo), hi)`, `integer_pow` multiplies in XLA's order)."""

from __future__ import annotations

from jax import tree_util

from .. import _compat
from ..errors import KernelDefinitionError
from . import gather, mesh, shuffles
from .emitter import Ref, Val, literal, shape_text
from .indexing import view

RULES: dict = {}


def rule(*names):
    def register(fn):
        for n in names:
            RULES[n] = fn
        return fn
    return register


def _out(eqn, i=0):
    return eqn.outvars[i].aval


def _shape(aval):
    return tuple(int(d) for d in aval.shape)


def _val(ctx, atom) -> Val:
    v = ctx.read(atom)
    if not isinstance(v, Val):
        raise ctx.unsupported("a ref used where a value is expected")
    return v


def _broadcast_to(ctx, v: Val, shape) -> Val:
    """`v` broadcast to `shape` (NumPy rules over trailing dims); scalars
    stay scalars, the IR broadcasts them."""
    shape = tuple(shape)
    if v.shape == shape or v.shape == ():
        return v
    offset = len(shape) - len(v.shape)
    dims = list(range(offset, len(shape)))
    return ctx.em.op(
        f"broadcast_in_dim {v.name} to {shape_text(shape)} dims "
        f"{shape_text(dims)}", v.dtype, shape)


# -- elementwise ---------------------------------------------------------

_UNARY = {
    "neg": "neg", "abs": "abs", "exp": "exp", "exp2": "exp2", "log": "log",
    "log1p": "log1p", "sqrt": "sqrt", "rsqrt": "rsqrt", "sin": "sin",
    "cos": "cos", "tan": "tan", "tanh": "tanh", "logistic": "logistic",
    "erf": "erf", "floor": "floor", "ceil": "ceil", "sign": "sign",
    "not": "not", "expm1": "expm1", "erf_inv": "erf_inv",
    "population_count": "population_count", "clz": "clz",
}

_BINARY = {
    "add": "add", "add_any": "add", "sub": "sub", "mul": "mul", "div": "div",
    "rem": "rem", "pow": "pow", "max": "max", "min": "min", "and": "and",
    "or": "or", "xor": "xor", "shift_left": "shl",
    "shift_right_logical": "shr_logical",
    "shift_right_arithmetic": "shr_arith", "atan2": "atan2",
}

_COMPARE = {"eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt",
            "ge": "ge"}


def _unary(ctx, eqn):
    x = _val(ctx, eqn.invars[0])
    out = _out(eqn)
    return ctx.em.op(f"{_UNARY[eqn.primitive.name]} {x.name}",
                     ctx.dtype(out), _shape(out))


def _binary_op(ctx, op, a: Val, b: Val, dtype, shape) -> Val:
    a, b = _broadcast_to(ctx, a, shape), _broadcast_to(ctx, b, shape)
    return ctx.em.op(f"{op} {a.name}, {b.name}", dtype, shape)


def _binary(ctx, eqn):
    a, b = _val(ctx, eqn.invars[0]), _val(ctx, eqn.invars[1])
    out = _out(eqn)
    if a.dtype != b.dtype:
        raise ctx.unsupported(
            f"`{eqn.primitive.name}` of {a.dtype} and {b.dtype}")
    return _binary_op(ctx, _BINARY[eqn.primitive.name], a, b,
                      ctx.dtype(out), _shape(out))


def _compare(ctx, eqn):
    a, b = _val(ctx, eqn.invars[0]), _val(ctx, eqn.invars[1])
    out = _out(eqn)
    shape = _shape(out)
    a, b = _broadcast_to(ctx, a, shape), _broadcast_to(ctx, b, shape)
    return ctx.em.op(f"cmp {_COMPARE[eqn.primitive.name]} {a.name}, {b.name}",
                     "bool", shape)


for _n in _UNARY:
    RULES[_n] = _unary
for _n in _BINARY:
    RULES[_n] = _binary
for _n in _COMPARE:
    RULES[_n] = _compare


@rule("round")
def _round(ctx, eqn):
    # lax.RoundingMethod: 0 away from zero, 1 to nearest even (jnp.round).
    method = eqn.params.get("rounding_method")
    op = "round_even" if method is not None and int(method) == 1 else "round"
    x = _val(ctx, eqn.invars[0])
    return ctx.em.op(f"{op} {x.name}", x.dtype, x.shape)


@rule("square")
def _square(ctx, eqn):
    x = _val(ctx, eqn.invars[0])
    return ctx.em.op(f"mul {x.name}, {x.name}", x.dtype, x.shape)


@rule("reciprocal")
def _reciprocal(ctx, eqn):
    x = _val(ctx, eqn.invars[0])
    one = ctx.em.const(1.0, x.dtype)
    return ctx.em.op(f"div {one.name}, {x.name}", x.dtype, x.shape)


@rule("integer_pow")
def _integer_pow(ctx, eqn):
    x = _val(ctx, eqn.invars[0])
    y = int(eqn.params["y"])
    if y == 0:
        return ctx.em.op(f"full {literal(1, x.dtype)} {shape_text(x.shape)}",
                         x.dtype, x.shape)
    recip, y = y < 0, abs(y)
    acc = None
    base = x
    # Square-and-multiply in the order XLA's lowering of integer_pow uses.
    while y > 0:
        if y & 1:
            acc = base if acc is None else ctx.em.op(
                f"mul {acc.name}, {base.name}", x.dtype, x.shape)
        y >>= 1
        if y > 0:
            base = ctx.em.op(f"mul {base.name}, {base.name}", x.dtype, x.shape)
    if recip:
        one = ctx.em.const(1, x.dtype)
        acc = ctx.em.op(f"div {one.name}, {acc.name}", x.dtype, x.shape)
    return acc


@rule("is_finite")
def _is_finite(ctx, eqn):
    x = _val(ctx, eqn.invars[0])
    a = ctx.em.op(f"abs {x.name}", x.dtype, x.shape)
    inf = ctx.em.const(float("inf"), x.dtype)
    return ctx.em.op(f"cmp lt {a.name}, {inf.name}", "bool", x.shape)


@rule("clamp")
def _clamp(ctx, eqn):
    lo, x, hi = (_val(ctx, a) for a in eqn.invars)
    m = _binary_op(ctx, "max", x, lo, x.dtype, x.shape)
    return _binary_op(ctx, "min", m, hi, x.dtype, x.shape)


@rule("select_n")
def _select_n(ctx, eqn):
    pred = _val(ctx, eqn.invars[0])
    cases = [_val(ctx, a) for a in eqn.invars[1:]]
    out = _out(eqn)
    shape, dtype = _shape(out), ctx.dtype(out)
    if pred.dtype == "bool":
        if len(cases) == 1:
            return cases[0]
        f, t = cases
        return ctx.em.op(f"select {pred.name}, {t.name}, {f.name}", dtype, shape)
    result = cases[0]
    for i, c in enumerate(cases[1:], start=1):
        k = ctx.em.const(i, pred.dtype)
        is_i = ctx.em.op(f"cmp eq {pred.name}, {k.name}", "bool", pred.shape)
        result = ctx.em.op(f"select {is_i.name}, {c.name}, {result.name}",
                           dtype, shape)
    return result


@rule("convert_element_type")
def _convert(ctx, eqn):
    x = _val(ctx, eqn.invars[0])
    to = ctx.dtype(_out(eqn), "convert_element_type")
    if to == x.dtype:
        return x
    r = ctx.em.op(f"cast {x.name} to {to}", to, x.shape)
    if x.dtype == "bool" and x.shape == ():
        ctx.from_bool[r.name] = x
    return r


@rule("bitcast_convert_type")
def _bitcast(ctx, eqn):
    x = _val(ctx, eqn.invars[0])
    out = _out(eqn)
    to = ctx.dtype(out)
    if _shape(out) != x.shape:
        raise ctx.unsupported("a bitcast between types of different widths")
    return ctx.em.op(f"bitcast {x.name} to {to}", to, x.shape)


@rule("stop_gradient", "copy", "copy_p", "multiple_of", "optimization_barrier",
      "reduce_precision")
def _identity(ctx, eqn):
    vals = [ctx.read(a) for a in eqn.invars]
    return vals if eqn.primitive.multiple_results else vals[0]


# -- shapes --------------------------------------------------------------

@rule("broadcast_in_dim")
def _broadcast_in_dim(ctx, eqn):
    x = _val(ctx, eqn.invars[0])
    shape = tuple(int(d) for d in eqn.params["shape"])
    dims = tuple(int(d) for d in eqn.params["broadcast_dimensions"])
    if shape == x.shape:
        return x
    return ctx.em.op(f"broadcast_in_dim {x.name} to {shape_text(shape)} dims "
                     f"{shape_text(dims)}", x.dtype, shape)


@rule("broadcast_to")
def _broadcast_to_rule(ctx, eqn):
    """Pallas' equal-rank `broadcast_to` (NumPy rules: size-1 dimensions
    stretch): the stretched dimensions dropped, then `broadcast_in_dim`."""
    x = _val(ctx, eqn.invars[0])
    shape = tuple(int(d) for d in eqn.params["shape"])
    if shape == x.shape:
        return x
    offset = len(shape) - len(x.shape)
    keep = [i for i, n in enumerate(x.shape) if n == shape[i + offset]]
    kept = tuple(x.shape[i] for i in keep)
    if kept != x.shape:
        x = ctx.em.op(f"reshape {x.name} to {shape_text(kept)}", x.dtype, kept)
    if not kept:
        return ctx.em.op(f"broadcast_in_dim {x.name} to {shape_text(shape)} "
                         "dims []", x.dtype, shape)
    return ctx.em.op(
        f"broadcast_in_dim {x.name} to {shape_text(shape)} dims "
        f"{shape_text([i + offset for i in keep])}", x.dtype, shape)


@rule("reshape", "squeeze", "expand_dims")
def _reshape(ctx, eqn):
    x = _val(ctx, eqn.invars[0])
    if eqn.params.get("dimensions") not in (None, ()) and eqn.primitive.name == "reshape":
        raise ctx.unsupported("`reshape` with `dimensions` (a transpose first)")
    shape = _shape(_out(eqn))
    if shape == x.shape:
        return x
    return ctx.em.op(f"reshape {x.name} to {shape_text(shape)}", x.dtype, shape)


@rule("transpose")
def _transpose(ctx, eqn):
    x = _val(ctx, eqn.invars[0])
    perm = tuple(int(p) for p in eqn.params["permutation"])
    if perm == tuple(range(len(perm))):
        return x
    return ctx.em.op(f"transpose {x.name} perm {shape_text(perm)}", x.dtype,
                     _shape(_out(eqn)))


@rule("concatenate")
def _concatenate(ctx, eqn):
    xs = [_val(ctx, a) for a in eqn.invars]
    out = _out(eqn)
    names = ", ".join(x.name for x in xs)
    return ctx.em.op(f"concatenate {names} axis {int(eqn.params['dimension'])}",
                     ctx.dtype(out), _shape(out))


@rule("iota")
def _iota(ctx, eqn):
    out = _out(eqn)
    dtype = ctx.dtype(out)
    shape = _shape(out)
    return ctx.em.op(f"iota {dtype}{shape_text(shape)} dim "
                     f"{int(eqn.params['dimension'])}", dtype, shape)


@rule("slice")
def _slice(ctx, eqn):
    x = _val(ctx, eqn.invars[0])
    start = [int(s) for s in eqn.params["start_indices"]]
    limit = [int(s) for s in eqn.params["limit_indices"]]
    strides = eqn.params.get("strides") or [1] * len(start)
    return ctx.em.op(
        f"slice {x.name} start {shape_text(start)} limit {shape_text(limit)} "
        f"strides {shape_text(strides)}", x.dtype, _shape(_out(eqn)))


def _reduce(op):
    def lower(ctx, eqn):
        x = _val(ctx, eqn.invars[0])
        axes = tuple(int(a) for a in eqn.params["axes"])
        out = _out(eqn)
        if not axes:
            return x
        return ctx.em.op(f"reduce {op} {x.name} axes {shape_text(axes)}",
                         ctx.dtype(out), _shape(out))
    return lower


for _p, _o in [("reduce_sum", "sum"), ("reduce_max", "max"),
               ("reduce_min", "min"), ("reduce_prod", "prod"),
               ("reduce_and", "and"), ("reduce_or", "or"),
               ("argmax", "argmax"), ("argmin", "argmin")]:
    RULES[_p] = _reduce(_o)


@rule("cumsum")
def _cumsum(ctx, eqn):
    if eqn.params.get("reverse"):
        raise ctx.unsupported("`cumsum` with reverse=True")
    x = _val(ctx, eqn.invars[0])
    return ctx.em.op(f"cumsum {x.name} axis {int(eqn.params['axis'])}",
                     x.dtype, x.shape)


@rule("dot_general")
def _dot_general(ctx, eqn):
    a, b = _val(ctx, eqn.invars[0]), _val(ctx, eqn.invars[1])
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    out = _out(eqn)
    if lb or rb or len(a.shape) != 2 or len(b.shape) != 2 or len(lc) != 1:
        raise ctx.unsupported(
            "`dot_general` other than a 2-D matrix product (batch dims or "
            f"operands of rank {len(a.shape)} and {len(b.shape)})")
    if a.dtype != b.dtype:
        # Mixed operands convert to the result dtype first, as XLA lowers
        # them on CPU and GPU (f32 x bf16 into f32: exact).
        to = ctx.dtype(out)
        a, b = (v if v.dtype == to else
                ctx.em.op(f"cast {v.name} to {to}", to, v.shape)
                for v in (a, b))
    tl = " transpose_lhs" if int(lc[0]) == 0 else ""
    tr = " transpose_rhs" if int(rc[0]) == 1 else ""
    if a.dtype not in ("f32", "bf16", "f16", "i32", "i8", "u8"):
        raise ctx.unsupported(f"`dot_general` of {a.dtype}")
    # Floats accumulate in f32 and integers in i32; the result is the
    # operands' dtype or the accumulator's (preferred_element_type), else
    # a cast of the accumulator.
    wide = "f32" if a.dtype in ("f32", "bf16", "f16") else "i32"
    to = ctx.dtype(out)
    into = to if to in (a.dtype, wide) else wide
    clause = "" if into == a.dtype else f" into {into}"
    r = ctx.em.op(f"dot {a.name}, {b.name}{tl}{tr}{clause}", into, _shape(out))
    if to != into:
        r = ctx.em.op(f"cast {r.name} to {to}", to, r.shape)
    return r


# -- grid ----------------------------------------------------------------

def _grid_axis(ctx, eqn) -> int:
    """The kernel grid dimension of a body's `program_id(axis)`: `axis`
    counts the author's grid, which leaves out the dimensions `jax.vmap`
    added."""
    axis = int(eqn.params["axis"])
    if not 0 <= axis < len(ctx.grid_axes):
        raise ctx.unsupported(
            f"`{eqn.primitive.name}({axis})` on a grid of "
            f"{len(ctx.grid_axes)} dimensions")
    return ctx.grid_axes[axis]


@rule("program_id")
def _program_id(ctx, eqn):
    return ctx.em.op(f"program_id {_grid_axis(ctx, eqn)}", "i32", ())


@rule("num_programs")
def _num_programs(ctx, eqn):
    axis = _grid_axis(ctx, eqn)
    if ctx.in_index_map:
        # A constant there: the grid's size is known when lowered.
        return ctx.em.const(ctx.grid_sizes[axis], "i32")
    return ctx.em.op(f"num_programs {axis}", "i32", ())


# -- refs ----------------------------------------------------------------

def _unflatten(eqn, atoms):
    """A state primitive's transforms (indexers) from its flat operands."""
    return tree_util.tree_unflatten(eqn.params["tree"], atoms)


def _used(ctx, eqn, i=0):
    return ctx.is_used(eqn.outvars[i])


def _not_hbm(ctx, ref, what):
    """A load or store on a ref in HBM is the kernel's mistake."""
    if isinstance(ref, Ref) and ref.space == "any":
        where = f" at {ctx.source}" if ctx.source else ""
        raise KernelDefinitionError(
            f"kernel `{ctx.kernel}`: `{what}` on a ref in HBM{where}: "
            f"{_JAX_PRIMITIVE[what]}: Buffers with a memory space of HBM or "
            "ANY cannot be referenced directly. Instead, use "
            "`pltpu.sync_copy` or `pltpu.async_copy`.")


# The JAX primitive behind each access, as JAX's message names it.
_JAX_PRIMITIVE = {"load": "get_p", "store": "swap_p", "addupdate": "addupdate_p",
                  "pl.load": "load_p"}


@rule("get")
def _get(ctx, eqn):
    ref = ctx.read(eqn.invars[0])
    _not_hbm(ctx, ref, "load")
    transforms = _unflatten(eqn, eqn.invars[1:])
    out = _out(eqn)
    if gather.has_array_index(transforms):
        return gather.gather_load(ctx, ref, transforms, ctx.dtype(out))
    v = view(ctx, ref, transforms)
    return ctx.em.op(f"load {v.text()}", ctx.dtype(out), _shape(out))


def _writable(ctx, ref):
    """Refuses a store into a ref in HBM that is an input: the caller's
    array. (JAX lets a kernel write its SMEM and VMEM copies of scalar
    prefetch and inputs; the simulator runs that, the other backends
    refuse it by name.)"""
    if isinstance(ref, Ref) and ref.read_only and ref.space == "any":
        raise ctx.unsupported(f"a store into {ref.read_only}, which is in HBM")


def _store(ctx, eqn, ref, transforms, value, mask=None):
    _not_hbm(ctx, ref, "store")
    _writable(ctx, ref)
    if gather.has_array_index(transforms):
        if mask is not None or _used(ctx, eqn):
            raise ctx.unsupported(
                "a masked store or a swap through an index array (a plain "
                "store through one, a scatter, is supported)")
        gather.scatter_store(ctx, ref, transforms, value)
        return None
    v = view(ctx, ref, transforms)
    value = _broadcast_to(ctx, value, v.shape)
    m = f" mask {_broadcast_to(ctx, mask, v.shape).name}" if mask is not None else ""
    if _used(ctx, eqn):
        return ctx.em.op(f"swap {v.text()}, {value.name}{m}", value.dtype, v.shape)
    ctx.em.line(f"store {v.text()}, {value.name}{m}")
    return None


@rule("swap")
def _swap(ctx, eqn):
    ref = ctx.read(eqn.invars[0])
    value = _val(ctx, eqn.invars[1])
    transforms = _unflatten(eqn, eqn.invars[2:])
    return _store(ctx, eqn, ref, transforms, value)


@rule("addupdate")
def _addupdate(ctx, eqn):
    ref = ctx.read(eqn.invars[0])
    value = _val(ctx, eqn.invars[1])
    transforms = _unflatten(eqn, eqn.invars[2:])
    _not_hbm(ctx, ref, "addupdate")
    _writable(ctx, ref)
    v = view(ctx, ref, transforms)
    old = ctx.em.op(f"load {v.text()}", value.dtype, v.shape)
    new = _binary_op(ctx, "add", old, value, value.dtype, v.shape)
    ctx.em.line(f"store {v.text()}, {new.name}")
    return []


def _args(eqn):
    """A Pallas primitive's arguments from its flat operands."""
    return tree_util.tree_unflatten(eqn.params["args_tree"], eqn.invars)


@rule("masked_load")
def _masked_load(ctx, eqn):
    ref, transforms, mask, other = _args(eqn)
    _not_hbm(ctx, ctx.read(ref), "pl.load")
    v = view(ctx, ctx.read(ref), transforms)
    out = _out(eqn)
    text = f"load {v.text()}"
    if mask is not None:
        text += f" mask {_broadcast_to(ctx, _val(ctx, mask), v.shape).name}"
        if other is not None:
            text += f" other {_val(ctx, other).name}"
    return ctx.em.op(text, ctx.dtype(out), _shape(out))


@rule("masked_swap")
def _masked_swap(ctx, eqn):
    ref, transforms, val, mask = _args(eqn)
    m = _val(ctx, mask) if mask is not None else None
    return _store(ctx, eqn, ctx.read(ref), transforms, _val(ctx, val), m)


# -- control flow ----------------------------------------------------------

def _region_args(ctx, avals):
    """Fresh values for a region's arguments."""
    return [Val(ctx.em.fresh(), ctx.dtype(a, "loop carry"), _shape(a))
            for a in avals]


def _yield(ctx, vals):
    for v in vals:
        if not isinstance(v, Val):
            raise ctx.unsupported("a ref returned from a region")
    if vals:
        ctx.em.line("yield " + ", ".join(v.name for v in vals))


def _lhs(vals):
    return (", ".join(v.name for v in vals) + " = ") if vals else ""


@rule("cond")
def _cond(ctx, eqn):
    branches = eqn.params["branches"]
    index = _val(ctx, eqn.invars[0])
    operands = [ctx.read(a) for a in eqn.invars[1:]]
    if len(branches) == 1:
        return ctx.lower_closed(branches[0], operands)
    outs = [Val(ctx.em.fresh(), ctx.dtype(v.aval), _shape(v.aval))
            for v in eqn.outvars]
    _emit_cond(ctx, index, branches, 0, operands, outs)
    return outs


def _emit_cond(ctx, index, branches, first, operands, results):
    """`if index <= first then {branch first} else {the rest}`: lax.cond
    clamps the index into range, and so does this chain. A bool index
    picks branch 1 when true."""
    em = ctx.em
    if len(branches) == 2 and index.name in ctx.from_bool:
        index = ctx.from_bool[index.name]
    if index.dtype == "bool":
        c, then_b, else_b = index, branches[1], branches[0]
    else:
        k = em.const(first, index.dtype)
        c = em.op(f"cmp le {index.name}, {k.name}", "bool", ())
        then_b, else_b = branches[first], None
    em.line(f"{_lhs(results)}if {c.name} then {{")
    em.depth += 1
    _yield(ctx, ctx.lower_closed(then_b, operands))
    em.depth -= 1
    em.line("} else {")
    em.depth += 1
    if else_b is not None:
        _yield(ctx, ctx.lower_closed(else_b, operands))
    elif first + 2 == len(branches):
        _yield(ctx, ctx.lower_closed(branches[first + 1], operands))
    else:
        inner = [Val(em.fresh(), r.dtype, r.shape) for r in results]
        _emit_cond(ctx, index, branches, first + 1, operands, inner)
        _yield(ctx, inner)
    em.depth -= 1
    em.line("}")


@rule("scan")
def _scan(ctx, eqn):
    p = eqn.params
    nc, nk = _compat.scan_counts(p)
    body = p["jaxpr"]
    n_xs = len(eqn.invars) - nc - nk
    n_ys = len(eqn.outvars) - nk
    if n_xs or any(not isinstance(v, _compat.DropVar)
                   for v in eqn.outvars[nk:]):
        raise ctx.unsupported(
            "`scan` over arrays (xs or stacked ys); only fori_loop-style "
            "scans (consts and carries) are supported")
    consts = [ctx.read(a) for a in eqn.invars[:nc]]
    inits = [_val(ctx, a) for a in eqn.invars[nc:nc + nk]]
    em = ctx.em
    lo, hi = em.const(0, "i32"), em.const(int(p["length"]), "i32")
    i = em.fresh()
    args = _region_args(ctx, [v.aval for v in body.jaxpr.invars[nc:nc + nk]])
    outs = [Val(em.fresh(), a.dtype, a.shape) for a in args]
    head = (f"{_lhs(outs)}for {lo.name} to {hi.name} step 1 init("
            f"{', '.join(v.name for v in inits)}) do("
            f"{', '.join([i] + [a.name for a in args])}) {{")
    with em.block(head):
        ys = ctx.lower_closed(body, consts + args)
        _yield(ctx, ys[:nk])
    return outs + [None] * n_ys


@rule("while")
def _while(ctx, eqn):
    p = eqn.params
    cn, bn = int(p["cond_nconsts"]), int(p["body_nconsts"])
    cconsts = [ctx.read(a) for a in eqn.invars[:cn]]
    bconsts = [ctx.read(a) for a in eqn.invars[cn:cn + bn]]
    inits = [_val(ctx, a) for a in eqn.invars[cn + bn:]]
    em = ctx.em
    cargs = _region_args(ctx, [v.aval for v in p["cond_jaxpr"].jaxpr.invars[cn:]])
    bargs = _region_args(ctx, [v.aval for v in p["body_jaxpr"].jaxpr.invars[bn:]])
    outs = [Val(em.fresh(), a.dtype, a.shape) for a in bargs]
    em.line(f"{_lhs(outs)}while init({', '.join(v.name for v in inits)}) "
            f"cond({', '.join(a.name for a in cargs)}) {{")
    em.depth += 1
    (c,) = ctx.lower_closed(p["cond_jaxpr"], cconsts + cargs)
    if not isinstance(c, Val) or c.shape != () or c.dtype != "bool":
        raise ctx.unsupported("a while condition that is not a scalar bool")
    _yield(ctx, [c])
    em.depth -= 1
    em.line(f"}} do({', '.join(a.name for a in bargs)}) {{")
    em.depth += 1
    _yield(ctx, ctx.lower_closed(p["body_jaxpr"], bconsts + bargs))
    em.depth -= 1
    em.line("}")
    return outs


@rule("pjit", "jit", "closed_call", "core_call", "remat", "checkpoint",
      "custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr")
def _call(ctx, eqn):
    p = eqn.params
    inner = (p.get("jaxpr") or p.get("call_jaxpr") or p.get("fun_jaxpr"))
    if inner is None:
        raise ctx.unsupported(f"`{eqn.primitive.name}` without a jaxpr")
    args = [ctx.read(a) for a in eqn.invars]
    if isinstance(inner, _compat.ClosedJaxpr):
        return ctx.lower_closed(inner, args)
    return ctx.lower_jaxpr(inner, args)


@rule("run_scoped")
def _run_scoped(ctx, eqn):
    body = eqn.params["jaxpr"]
    if eqn.params.get("collective_axes"):
        raise ctx.unsupported("`run_scoped` with collective axes")
    from .kernel import scratch_ref  # the declaration of a scratch ref
    em = ctx.em
    refs, decls = [], []
    # The body's leading inputs are the values it closes over (the
    # equation's operands); the rest are the scoped refs.
    for var in _compat.all_invars(body)[len(eqn.invars):]:
        elem, space = scratch_ref(ctx, var.aval)
        if space == "any":
            refs.append(_hbm_scoped(ctx, elem, var.aval))
            continue
        r = Ref(em.fresh(), elem, _shape(var.aval.inner_aval), space)
        refs.append(r)
        sp = f" {space}" if space else ""
        decls.append(f"{r.name}: {elem}{shape_text(r.shape)}{sp}")
    outs = [Val(em.fresh(), ctx.dtype(v.aval), _shape(v.aval))
            for v in eqn.outvars]
    # The body's constvars are the values it closes over: the equation's
    # operands.
    consts = [ctx.read(a) for a in eqn.invars]
    with em.block(f"{_lhs(outs)}run_scoped({', '.join(decls)}) {{"):
        _yield(ctx, ctx.lower_jaxpr(body, refs, consts))
    return outs


def _hbm_scoped(ctx, elem, aval):
    """The ref of a `run_scoped` allocation in HBM (`pltpu.HBM` or
    `pl.ANY`): a kernel-level HBM scratch buffer, shared by the cores of a
    core mesh as JAX shares the one allocation between them. Refused, with
    JAX's message, unless the call allows it."""
    if not ctx.allow_hbm_scoped:
        where = f" at {ctx.source}" if ctx.source else ""
        raise KernelDefinitionError(
            f"kernel `{ctx.kernel}`: Cannot allocate HBM in `run_scoped`.{where} "
            "(JAX's interpret mode allows it with "
            "`pltpu.InterpretParams(allow_hbm_allocation_in_run_scoped=True)`)")
    r = Ref(ctx.em.fresh(), elem, _shape(aval.inner_aval), "any")
    ctx.hbm_scratch.append((r.name, elem, r.shape))
    return r


# -- debug printing ----------------------------------------------------------

def _pk_string(text: str) -> str:
    """A `.pk` string literal: quotes, backslashes and control characters
    escaped."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32:
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


@rule("debug_print")
def _debug_print(ctx, eqn):
    """`jax.debug.print` / `pl.debug_print`: the format's fields resolved
    to the values they name (static arguments formatted now), each dynamic
    one a `{}` of the `.pk` op, which prints it with the core and grid
    point; without placeholders the values follow the text, as on TPU."""
    import string
    p = eqn.params
    vals = [ctx.read(a) for a in eqn.invars]
    fmt = p.get("fmt", "")

    class _Dyn:
        def __init__(self, i):
            self.i = i

    args, kwargs = _compat.debug_print_arguments(
        p, [_Dyn(i) for i in range(len(vals))])
    text, used = [], []
    if not p.get("has_placeholders", True):
        text.append(fmt.replace("{}", "{ }"))
        for v in vals:
            text.append(" {}")
            used.append(v)
    else:
        auto = 0
        for lit, field, spec, conv in string.Formatter().parse(fmt):
            text.append(lit.replace("{}", "{ }"))
            if field is None:
                continue
            if field == "":
                value, auto = args[auto], auto + 1
            elif field.isdigit():
                value = args[int(field)]
            elif field in kwargs:
                value = kwargs[field]
            else:
                raise ctx.unsupported(
                    f"a debug print field `{{{field}}}` (attribute or index "
                    "access)")
            if isinstance(value, _Dyn):
                if spec or conv:
                    raise ctx.unsupported(
                        "a debug print of a traced value with a format spec "
                        "or conversion")
                text.append("{}")
                used.append(vals[value.i])
            else:
                text.append(("{" + ("!" + conv if conv else "")
                             + (":" + spec if spec else "") + "}").format(value))
    operands = "".join(f", {v.name}" for v in used)
    ctx.em.line(f"debug_print {_pk_string(''.join(text))}{operands}")
    return []


# -- DMAs and semaphores ---------------------------------------------------

def _dma_parts(eqn):
    """A DMA primitive's `(src, dst, dst_sem, src_sem, device_id)`."""
    return tree_util.tree_unflatten(eqn.params["tree"], eqn.invars)


def _at(ctx, tref):
    """The view of a DMA operand: a ref, or a ref with transforms."""
    if hasattr(tref, "transforms"):
        return view(ctx, ctx.read(tref.ref), tref.transforms)
    return view(ctx, ctx.read(tref), ())


@rule("dma_start")
def _dma_start(ctx, eqn):
    if eqn.params.get("add"):
        raise ctx.unsupported("a DMA with add=True")
    src, dst, sem, src_sem, device_id = _dma_parts(eqn)
    _writable(ctx, ctx.read(getattr(dst, "ref", dst)))
    head = f"{_at(ctx, src).text()} -> {_at(ctx, dst).text()}"
    if device_id is None:
        ctx.em.line(f"dma_start {head} sem {_at(ctx, sem).text()}")
        return []
    # A remote copy: `sem` counts on the receiving device, `src_sem` here.
    dev = mesh.device_id(ctx, device_id, eqn.params.get("device_id_type"))
    ctx.em.line(f"remote_dma_start {head} send {_at(ctx, src_sem).text()} "
                f"recv {_at(ctx, sem).text()} device {dev.name}")
    return []


@rule("dma_wait")
def _dma_wait(ctx, eqn):
    # A wait is always local: on the receive semaphore for the destination's
    # bytes, or (a remote copy's `wait_send`, operands swapped) on the send
    # semaphore for the source's. Its `device_id` names no device to wait on.
    src, dst, sem, src_sem, device_id = _dma_parts(eqn)
    ctx.em.line(f"dma_wait {_at(ctx, dst).text()} sem {_at(ctx, sem).text()}")
    return []


def _sem_view(ctx, ref, transforms):
    return view(ctx, ctx.read(ref), transforms)


@rule("semaphore_signal")
def _semaphore_signal(ctx, eqn):
    ref, transforms, inc, device_id, core_index = _args(eqn)
    text = f"semaphore_signal {_sem_view(ctx, ref, transforms).text()}, " \
           f"{_val(ctx, inc).name}"
    if core_index is not None:
        text += f" core {_val(ctx, core_index).name}"
    if device_id is not None:
        dev = mesh.device_id(ctx, device_id, eqn.params.get("device_id_type"))
        text += f" device {dev.name}"
    ctx.em.line(text)
    return []


@rule("semaphore_wait")
def _semaphore_wait(ctx, eqn):
    ref, transforms, value, decrement = _args(eqn)
    # `decrement` arrives as a literal operand (True unless asked otherwise).
    known_true = decrement is None or decrement is True or (
        isinstance(decrement, _compat.Literal) and bool(decrement.val))
    if not known_true:
        raise ctx.unsupported(
            "`semaphore_wait` with decrement=False (or not known when traced)")
    ctx.em.line(f"semaphore_wait {_sem_view(ctx, ref, transforms).text()}, "
                f"{_val(ctx, value).name}")
    return []


@rule("semaphore_read")
def _semaphore_read(ctx, eqn):
    ref, transforms = _args(eqn)
    return ctx.em.op(f"semaphore_read {_sem_view(ctx, ref, transforms).text()}",
                     "i32", ())


@rule("tile")
def _tile(ctx, eqn):
    """`jnp.tile`: the operand broadcast along a new leading axis per
    dimension, then merged (`(r0, s0, r1, s1, ...)` to `(r0*s0, ...)`)."""
    x = _val(ctx, eqn.invars[0])
    reps = tuple(int(r) for r in eqn.params["reps"])
    if all(r == 1 for r in reps):
        return x
    wide = tuple(n for r, s in zip(reps, x.shape) for n in (r, s))
    dims = tuple(2 * i + 1 for i in range(len(x.shape)))
    b = ctx.em.op(f"broadcast_in_dim {x.name} to {shape_text(wide)} dims "
                  f"{shape_text(dims)}", x.dtype, wide)
    out = _shape(_out(eqn))
    return ctx.em.op(f"reshape {b.name} to {shape_text(out)}", x.dtype, out)


mesh.register(rule)
shuffles.register(rule, _val, lambda ctx, atom: ctx.static_int(atom))
