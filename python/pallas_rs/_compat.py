"""Every place pallas_rs reads JAX's internals, in one module, so that a new
JAX release is a change here and nowhere else.

Supported: JAX 0.10.x, 0.11.x and 0.12.x. What differs between them, and
how each difference is handled, is listed in ARCHITECTURE.md ("JAX
versions"). The rest of the package imports JAX's private modules only
through the names defined here; a construct this module does not
understand raises `UnsupportedError` naming the JAX version and the
construct, never an AttributeError or KeyError from the lowering.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

# The supported range: [SUPPORTED_FROM, SUPPORTED_BELOW).
SUPPORTED_FROM = (0, 10, 0)
SUPPORTED_BELOW = (0, 13, 0)
SUPPORTED_TEXT = "JAX 0.10.x, 0.11.x and 0.12.x (>=0.10.0, <0.13)"


def parse_version(text: str) -> tuple:
    """`"0.12.0.1"` -> `(0, 12, 0, 1)`; a suffix such as `.dev20260101`
    or `rc1` ends the numeric part."""
    parts = []
    for piece in str(text).split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(piece):
            break
    return tuple(parts)


def check_version(text: str) -> tuple:
    """The parsed version, or ImportError naming it and the supported
    range."""
    v = parse_version(text)
    if not v or not (SUPPORTED_FROM <= v < SUPPORTED_BELOW):
        raise ImportError(
            f"pallas_rs supports {SUPPORTED_TEXT}; found JAX {text}. Install "
            "a supported version, e.g. `pip install 'jax>=0.10,<0.13'`.")
    return v


JAX_VERSION_TEXT = jax.__version__
JAX_VERSION = check_version(JAX_VERSION_TEXT)

# Past the version check: JAX's private modules.
from jax._src import callback as _callback  # noqa: E402
from jax._src import config as _config  # noqa: E402
from jax._src import core as _core  # noqa: E402
from jax._src import source_info_util as _source_info  # noqa: E402
from jax._src.interpreters import mlir  # noqa: E402,F401 (re-exported)
from jax._src.pallas import core as _pallas_core  # noqa: E402
from jax._src.pallas import pallas_call as _pallas_call  # noqa: E402
from jax._src.state import indexing as _indexing  # noqa: E402

from .errors import UnsupportedError  # noqa: E402

# -- jaxpr building blocks ------------------------------------------------------
Literal = _core.Literal
DropVar = _core.DropVar
Var = _core.Var
# JAX 0.12 folded ClosedJaxpr into Jaxpr (a Jaxpr may carry its constants'
# values: `consts`, with `constvars` the inputs they belong to, and
# `.jaxpr` returning itself); before, a ClosedJaxpr wrapped a Jaxpr.
ClosedJaxpr = getattr(_core, "ClosedJaxpr", _core.Jaxpr)
ShapedArray = _core.ShapedArray
jaxprs_in_params = _core.jaxprs_in_params



def all_invars(jaxpr) -> list:
    """A jaxpr's inputs, its constvars first: the values of a closed
    jaxpr's constants, or of the values an open jaxpr closes over (a
    `run_scoped` body's), bind to the leading ones. The same on every
    version: JAX 0.12 keeps constvars without attached values as plain
    leading invars, and `constvars + invars` is its `all_invars`."""
    return list(jaxpr.constvars) + list(jaxpr.invars)


# -- Pallas block shapes and ref indexers ---------------------------------------
Squeezed = _pallas_core.Squeezed
Blocked = _pallas_core.Blocked
NDIndexer = _indexing.NDIndexer
Slice = _indexing.Slice


def unsupported(construct: str) -> UnsupportedError:
    """The error for a JAX construct this module does not understand."""
    return UnsupportedError(
        f"pallas_rs does not understand {construct} in JAX "
        f"{JAX_VERSION_TEXT} (supported: {SUPPORTED_TEXT}); please report "
        "it with the JAX version", primitive=None, source=None)


# -- the pallas_call primitive and the interpret-mode config ----------------------
pallas_call_p = _pallas_call.pallas_call_p
original_pallas_call_impl = pallas_call_p.impl
original_pallas_call_lowering = _pallas_call._pallas_call_lowering


def interpret_config():
    """JAX's config that `pltpu.force_tpu_interpret_mode` sets and that
    `pallas_call` reads at trace time (part of the jit cache key)."""
    return _config.pallas_tpu_interpret_mode_context_manager


def padded_shape(shape, dtype) -> tuple:
    """The padded shape JAX's TPU interpret mode allocates a buffer of
    `shape` and `dtype` with under `buffer_bounds="padded"` (its tiling of
    the TPU generation that `jax.sharding.use_abstract_mesh` names; JAX's
    own `ValueError` where none is named)."""
    from jax._src.pallas.mosaic.interpret import interpret_pallas_call as m
    return tuple(int(d) for d in m._get_padded_shape(tuple(shape), np.dtype(dtype)))


_CONTEXT_CONFIG = None


def context_config():
    """A JAX config of pallas-rs's own, in JAX's jit key and trace context:
    the innermost open `pallas_rs.interpret` context's parameters (None
    outside any). `pltpu.force_tpu_interpret_mode` inside a context
    replaces the interpret config, not this one, so the context still
    routes the kernel, and a function jitted under the same forced
    options outside the context is traced apart (JAX 0.10-0.12 make their
    own configs with `config_ext.Config`, as this does)."""
    global _CONTEXT_CONFIG
    if _CONTEXT_CONFIG is None:
        _CONTEXT_CONFIG = _config.config_ext.Config(
            "pallas_rs_interpret_context", None, include_in_jit_key=True,
            include_in_trace_context=True)
    return _CONTEXT_CONFIG


def interpret_params_type():
    """JAX's `pltpu.InterpretParams` class (the TPU interpret mode's
    options)."""
    from jax.experimental.pallas import tpu as pltpu
    return pltpu.InterpretParams


def jax_raises_on_races() -> bool:
    """Whether JAX's interpret mode stops at a race by default
    (`InterpretParams.on_race`, from JAX 0.12) rather than reporting it
    and going on."""
    return "on_race" in {f.name for f in
                         dataclasses.fields(interpret_params_type())}


def record_races(found: bool) -> None:
    """Sets JAX's TPU interpret-mode race state (`races.races_found` of
    `jax._src.pallas.mosaic.interpret.interpret_pallas_call`) as a launch
    with race detection leaves it."""
    try:
        from jax._src.pallas.mosaic.interpret import interpret_pallas_call as m
        from jax._src.pallas.mosaic.interpret import race_detection_state as r
    except ImportError:
        return
    cls = r.RaceDetectionState
    kwargs = {}
    for f in dataclasses.fields(cls):
        if (f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING):
            kwargs[f.name] = 1  # `num_cores` (JAX 0.10, 0.11)
    state = cls(**kwargs)
    state.races_found = bool(found)
    m.races = state


def register_lowering(primitive, rule):
    """Registers `rule` as the MLIR lowering of `primitive` on every
    platform, and as the `pallas_call` lowering that `mpmd_map` (what
    `pl.core_map` and `pl.kernel` on a core mesh become) calls directly
    on CPU."""
    mlir.register_lowering(primitive, rule)
    if primitive is pallas_call_p:
        _pallas_call._pallas_call_lowering = rule


def debug_print_arguments(params, dynamic) -> tuple:
    """The `(args, kwargs)` a `debug_print` equation formats its string
    with: its static arguments in place, `dynamic[i]` for its `i`-th
    operand (JAX 0.10-0.12 keep them as `in_tree` and `static_args`)."""
    from jax._src import debugging
    return debugging.merge_callback_args(
        params["in_tree"], list(dynamic), params.get("static_args", ()))


def core_mesh_size(mesh) -> int:
    """The number of cores of a `pallas_call`'s TPU core mesh (the mesh of
    `pl.core_map`/`pl.kernel` with `pltpu.create_tensorcore_mesh`), or 0
    when it has none."""
    if mesh is None:
        return 0
    devices = getattr(mesh, "devices", None)
    if devices is not None:
        return int(np.size(devices))
    shape = getattr(mesh, "shape", None)
    if shape:
        return int(np.prod(list(dict(shape).values())))
    return 0


def pass_effect_tokens(ctx) -> None:
    """Sets a lowering rule's output effect tokens to its input ones (for
    an equation with ordered effects whose lowering orders nothing)."""
    if getattr(ctx, "tokens_in", None) is not None and ctx.tokens_in.effects():
        ctx.set_tokens_out(ctx.tokens_in)


def without_effect_tokens(ctx):
    """The lowering context with no effect tokens, for lowering a function
    whose own effects (a host callback) are unordered."""
    if getattr(ctx, "tokens_in", None) is None or not ctx.tokens_in.effects():
        return ctx
    return ctx.replace(tokens_in=mlir.TokenSet(), tokens_out=None)


def num_dynamic_grid_bounds(grid_mapping) -> int:
    """How many dynamic grid bounds lead a `pallas_call`'s operands."""
    return int(getattr(grid_mapping, "num_dynamic_grid_bounds", 0))


# -- control flow parameters ------------------------------------------------------

def scan_counts(params) -> tuple:
    """`(num_consts, num_carry)` of a `scan` equation. JAX 0.10 gives them
    as parameters; 0.11 and later give `ft_in`, a FlatTree of (consts,
    carry, xs)."""
    if "num_consts" in params and "num_carry" in params:
        return int(params["num_consts"]), int(params["num_carry"])
    ft_in = params.get("ft_in")
    if ft_in is not None:
        try:
            consts, carry, _xs = ft_in.unpack()
            return len(list(consts)), len(list(carry))
        except (AttributeError, TypeError, ValueError):
            pass
    raise unsupported("the parameters of `scan` "
                      f"({', '.join(sorted(params))})")


# -- source locations -----------------------------------------------------------

def user_frame(eqn):
    """The user's frame (`file_name`, `start_line`) behind an equation, or
    None."""
    try:
        return _source_info.user_frame(eqn.source_info.traceback)
    except Exception:  # noqa: BLE001 - source info is best effort
        return None


# -- shard_map: the axis environment and host callbacks per device ----------------

def axis_sizes() -> dict:
    """The enclosing `shard_map`'s axes, name -> size (empty outside
    one)."""
    return dict(_core.get_axis_env().axis_sizes)


def emit_host_callback(ctx, host, operands, avals_in, avals_out):
    """Emits a raw host callback (no copy onto device 0, unlike
    `jax.pure_callback`) taking the host arrays XLA holds; returns the
    result nodes."""
    sharding = _callback._callback_op_sharding(
        ctx.module_context.axis_context, None, avals_out)
    results, _, _ = _callback.emit_python_callback(
        ctx, host, None, list(operands), list(avals_in), list(avals_out),
        has_side_effect=False, returns_token=False, sharding=sharding)
    return results


CALLBACK_LOGGER = "jax._src.callback"


# -- the XLA FFI crossing ---------------------------------------------------------

def ffi_api_version():
    """The XLA FFI C API version `(major, minor)` of the running jaxlib,
    read from the header it ships (`jax.ffi.include_dir()`); XLA refuses
    a handler that reports another. None where the header is missing or
    unreadable (then launches keep the host callback)."""
    import os
    import re
    try:
        path = os.path.join(jax.ffi.include_dir(), "xla", "ffi", "api",
                            "c_api.h")
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (AttributeError, OSError):
        return None
    major = re.search(r"#define\s+XLA_FFI_API_MAJOR\s+(\d+)", text)
    minor = re.search(r"#define\s+XLA_FFI_API_MINOR\s+(\d+)", text)
    if not (major and minor):
        return None
    return int(major.group(1)), int(minor.group(1))


def register_ffi_target(name: str, capsule) -> None:
    """Registers an XLA FFI handler (a PyCapsule) for the CPU platform."""
    jax.ffi.register_ffi_target(name, capsule, platform="cpu")


def ffi_call(target: str, out_shapes, **attributes):
    """A function of the operands that runs the FFI target once (vmapped:
    once per batch element), with the attributes given."""
    call = jax.ffi.ffi_call(target, out_shapes, vmap_method="sequential")
    return lambda *args: call(*args, **attributes)


def lowering_platforms(ctx) -> tuple:
    """The platforms a lowering targets (`("cpu",)` on the host)."""
    return tuple(getattr(ctx.module_context, "platforms", ()) or ())
