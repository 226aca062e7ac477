"""`pallas_rs.interpret`: every `pallas_call` traced inside it runs on a
pallas-rs backend, one host crossing per launch.

How a launch reaches Rust:

* The context sets JAX's own `pallas_tpu_interpret_mode_context_manager`
  config (the one `pltpu.force_tpu_interpret_mode` sets) to a
  `BackendParams` value. `pallas_call` reads it at trace time whatever its
  `interpret=` argument, and the config is part of JAX's jit cache key, so a
  function jitted outside the context is traced again inside it.
* A `pallas_call` equation whose `interpret` is a `BackendParams` is then
  run by this module: eagerly, by calling the compiled kernel on the
  operands directly (faults raise `KernelError` at the call); under
  `jax.jit`, by a lowering rule that turns the launch into one
  XLA FFI custom call whose Rust handler works on XLA's own buffers
  (`_ffi`; `jax.pure_callback` where the custom call cannot serve). Faults
  raise inside XLA, which wraps them; the context turns them back into
  `KernelError` on the way out.
* Each kernel is lowered to `.pk` and compiled once per kernel, shape,
  backend and options; `stats()` counts lowerings, compilations and
  launches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import sys
import threading

import jax
import numpy as np
from . import _compat, _devices, _ffi, _native
from ._compat import mlir
from ._lowering import LoweredKernel, lower_pallas_call
from ._lowering.emitter import RAW_BITS
from .errors import (KernelError, LoweringError, PallasRsError,
                     UnsupportedError, kernel_error_class)

# Options named as JAX's InterpretParams, then pallas-rs's own.
SIM_OPTIONS = (
    "detect_races", "on_race", "num_cores_or_threads", "random_seed",
    "dma_execution_mode", "out_of_bounds_reads", "uninitialized_memory",
    "skip_floating_point_ops", "target_tpu", "trace",
    "report_uninitialized_reads", "max_loop_iterations",
)

# JAX InterpretParams options that mean nothing here (they tune JAX's own
# callback machinery), accepted so that settings carry over unchanged.
IGNORED_OPTIONS = ("grid_point_recorder",)

# JAX InterpretParams options that decide how a kernel lowers, on every
# backend: `run_scoped` may allocate HBM (shared by a core mesh's cores);
# `buffer_bounds="padded"` pads VMEM scratch as JAX's allocations are.
LOWERING_OPTIONS = ("allow_hbm_allocation_in_run_scoped", "buffer_bounds")


@dataclasses.dataclass(frozen=True)
class BackendParams:
    """The value of JAX's interpret-mode config inside `pallas_rs.interpret`:
    which backend and options run each `pallas_call`.

    It is falsy on purpose: JAX picks a call's interpret setting as
    `config or interpret=`, so a falsy config lets the call's own
    `interpret=` argument through to the equation (where `_backend_of`
    merges a call's `pltpu.InterpretParams` into these options), while the
    config's presence still routes the call here and keys JAX's jit
    cache."""
    backend: str = "sim"
    options: tuple = ()

    def option_dict(self) -> dict:
        return dict(self.options)

    def __bool__(self):
        return False


_stats = {"lowerings": 0, "compilations": 0, "launches": 0, "jax_kernels": 0}
_stats_lock = threading.Lock()


def _count(what):
    with _stats_lock:
        _stats[what] += 1


def stats() -> dict:
    """Counts since import (or `reset_stats()`): `lowerings` (jaxpr to
    `.pk`), `compilations` (`.pk` to a backend's compiled kernel),
    `launches` (calls into Rust) and `jax_kernels` (`pallas_call`s run or
    lowered by JAX itself, outside a `pallas_rs.interpret` context).
    `launches` counts both crossings: calls from Python and the XLA FFI
    handler's launches."""
    with _stats_lock:
        out = dict(_stats)
        out["launches"] += _ffi.launches() - _ffi_launches_at_reset
    return out


_ffi_launches_at_reset = 0


def reset_stats():
    global _ffi_launches_at_reset
    with _stats_lock:
        for k in _stats:
            _stats[k] = 0
        _ffi_launches_at_reset = _ffi.launches()


# -- lowering and compiling, cached ------------------------------------------

@dataclasses.dataclass
class Kernel:
    """A lowered and compiled kernel."""
    lowered: LoweredKernel
    compiled: object
    out_avals: tuple
    # The backend and options it was compiled with.
    backend: BackendParams | None = None


class _BoundedCache:
    """A dict that drops its oldest entry past a capacity, safe across
    threads."""

    def __init__(self, capacity=256):
        self._lock = threading.Lock()
        self._items: dict = {}
        self._capacity = capacity

    def get(self, key):
        with self._lock:
            return self._items.get(key)

    def put(self, key, value):
        with self._lock:
            if key not in self._items and len(self._items) >= self._capacity:
                self._items.pop(next(iter(self._items)))
            self._items[key] = value


# Kernels by their `pallas_call` equation (and dynamic grid sizes).
_kernels = _BoundedCache()
# Compiled kernels by (.pk text, backend): a kernel traced again (eagerly,
# from a function defined anew per call) compiles once.
_compiled_by_text = _BoundedCache()


def _key(params, backend, mesh_axes):
    return (params["jaxpr"], params["grid_mapping"],
            tuple(params.get("input_output_aliases") or ()),
            params.get("compiler_params"), params.get("name"),
            tuple(params["out_avals"]), backend, mesh_axes)


def num_dynamic(params) -> int:
    """How many dynamic grid bounds lead the `pallas_call`'s operands."""
    return _compat.num_dynamic_grid_bounds(params["grid_mapping"])


def lower(params, dynamic_grid=None, mesh_axes=(),
          options=None) -> LoweredKernel:
    """The `.pk` kernel of a `pallas_call` equation's parameters (for a
    dynamic grid, with its dimensions' sizes given; 1 where not), inside a
    `shard_map` over `mesh_axes` (`(name, size)` pairs) if any; `options`
    the lowering's (`LOWERING_OPTIONS`)."""
    _count("lowerings")
    if dynamic_grid is None:
        dynamic_grid = (1,) * num_dynamic(params)
    options = options or {}
    lk = lower_pallas_call(
        params, tuple(dynamic_grid), tuple(mesh_axes),
        allow_hbm_scoped=bool(options.get("allow_hbm_allocation_in_run_scoped")),
        padded_scratch=options.get("buffer_bounds") == "padded")
    problem = _native.check(lk.text)
    if problem is not None:
        raise LoweringError(
            f"pallas_rs lowered kernel `{lk.name}` to text its validator "
            f"refuses (a bug in pallas_rs; please report it):\n{problem}\n"
            f"--- kernel text ---\n{lk.text}")
    return lk


def kernel_for(params, backend: BackendParams, dynamic_grid=(),
               mesh_axes=()) -> Kernel:
    """Lowers and compiles a `pallas_call` once per kernel, backend, sizes
    of its dynamic grid dimensions and enclosing mesh."""
    key = (_key(params, backend, mesh_axes), tuple(dynamic_grid))
    k = _kernels.get(key)
    if k is not None:
        return k
    lk = lower(params, dynamic_grid, mesh_axes, backend.option_dict())
    if lk.num_cores > 1 and backend.backend == "sim":
        # A core mesh's points run at once, one per simulated core (they
        # may wait for one another).
        backend = BackendParams(backend.backend, _check_options(
            backend.backend, {**backend.option_dict(),
                              "num_cores_or_threads": lk.num_cores}))
    text_key = (lk.text, backend)
    compiled = _compiled_by_text.get(text_key)
    if compiled is None:
        compiled = _compile(lk, backend)
        _compiled_by_text.put(text_key, compiled)
    k = Kernel(lk, compiled, tuple(params["out_avals"]), backend)
    _kernels.put(key, k)
    return k


def _backend_options(backend: BackendParams) -> dict:
    """The options the backend itself takes (not the lowering's)."""
    return {k: v for k, v in backend.option_dict().items()
            if k not in LOWERING_OPTIONS}


def _compile(lk: LoweredKernel, backend: BackendParams):
    """Compiles lowered text on the backend, errors mapped to ours."""
    try:
        compiled = _native.compile(lk.text, backend.backend,
                                   _backend_options(backend))
    except _native.Unsupported as e:
        raise UnsupportedError(
            f"{e.args[0]} (kernel defined at {lk.origin})") from None
    except _native.InvalidKernel as e:
        raise LoweringError(f"{e.args[0]}\n--- kernel text ---\n{lk.text}") from None
    except _native.Fault as e:
        # Found before running: the TPU target's block and VMEM checks.
        raise _fault_to_error(Kernel(lk, None, ()), e) from None
    _count("compilations")
    return compiled


# -- launching -----------------------------------------------------------------

class _RecentFaults:
    """The last few KernelErrors raised inside host callbacks. XLA may run a
    callback on a thread of its own, so this is shared, not thread-local;
    the context finds its fault by message."""

    def __init__(self, keep=16):
        self._lock = threading.Lock()
        self._faults: list = []
        self._keep = keep

    def add(self, err):
        with self._lock:
            self._faults.append(err)
            del self._faults[:-self._keep]

    def find(self, text: str):
        """The most recent fault whose first line appears in `text`."""
        with self._lock:
            for err in reversed(self._faults):
                if str(err).splitlines()[0] in text:
                    self._faults.remove(err)
                    return err
        return None


_recent_faults = _RecentFaults()


class _QuietKernelErrors(logging.Filter):
    """Drops JAX's log of a failed host callback when the failure is a
    KernelError: the error itself reaches the caller, whole."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, PallasRsError)


logging.getLogger(_compat.CALLBACK_LOGGER).addFilter(_QuietKernelErrors())


def _fault_to_error(k: Kernel, e) -> KernelError:
    message, details = e.args[0], (e.args[1] if len(e.args) > 1 else None)
    details = details if isinstance(details, dict) else {}
    line = details.get("line")
    source = k.lowered.source_of_line(line)
    op = details.get("op") or ""
    if source is None:
        # Faults of the block pipeline name a parameter; its BlockSpec's
        # index map is the Python place to look at.
        for name, place in k.lowered.index_maps.items():
            if (f"`{name}`" in op or op.endswith(f" {name}")
                    or (op == "compile" and f"`{name}`" in message)):
                source = place
                break
    text = message
    phrase = _jax_phrase(k, message, details.get("grid_point"))
    if phrase:
        text += f"\n  ({phrase})"
    if source:
        where = "index map" if line is None else "kernel source"
        text += f"\n  in the {where} at {source}"
    if line is not None:
        text += f" (.pk line {line}; see pallas_rs.to_pk)"
    return kernel_error_class(details.get("kind"))(
        text, kind=details.get("kind"), kernel=details.get("kernel"),
        backend=details.get("backend"), device=details.get("device"),
        core=details.get("core"),
        grid_point=details.get("grid_point"), op=details.get("op"),
        pk_line=line, pk_column=details.get("column"), source=source)


_OOB_ACCESS = re.compile(r"out-of-bounds (read|write|masked store) of `([^`]*)`")
# JAX's word for each access (a masked store is its masked swap).
_JAX_ACCESS = {"read": "read", "write": "write", "masked store": "masked swap"}
_OOB_BLOCK = re.compile(r"index map of `([^`]*)`: block index (-?\d+)")
_REVISIT = re.compile(r"output `([^`]*)` revisits block (\[[^\]]*\])")


def _jax_phrase(k: Kernel, message: str, grid_point=None):
    """How JAX's interpret mode words the same fault (its key phrase, which
    users' tests match), or None."""
    m = _OOB_ACCESS.search(message)
    if m:
        return f"Out-of-bounds {_JAX_ACCESS[m.group(1)]} of {m.group(2)}"
    m = _OOB_BLOCK.search(message)
    if m:
        kind = k.lowered.param_kinds.get(m.group(1), "input")
        kind = "output" if kind == "out" else "input"
        return (f"Out-of-bounds block index {m.group(2)} for {kind} "
                f"\"{m.group(1)}\"")
    m = _REVISIT.search(message)
    if m:
        outputs = [n for n, kind in k.lowered.param_kinds.items() if kind == "out"]
        which = outputs.index(m.group(1)) if m.group(1) in outputs else m.group(1)
        where = f" in iteration {tuple(grid_point)}" if grid_point else ""
        return (f"Revisited block {m.group(2)} of output {which}{where} "
                f"(`{m.group(1)}`)")
    return None


def launch(k: Kernel, args) -> list:
    """Runs a compiled kernel on NumPy arrays (scalar prefetch, inputs)."""
    _count("launches")
    # order="C" keeps a rank-0 operand rank 0 (ascontiguousarray makes it
    # shape (1,)).
    arrays = [_to_native(np.asarray(a, order="C")) for a in args]
    try:
        outs, counters, notes = k.compiled.launch_with_report(arrays)
    except _native.Fault as e:
        err = _fault_to_error(k, e)
        _recent_faults.add(err)
        raise err from None
    except _native.Unsupported as e:
        raise UnsupportedError(e.args[0]) from None
    except _native.BadArgument as e:
        raise ValueError(e.args[0]) from None
    _report_races(k, counters, notes)
    return outs


def _records_races(backend: BackendParams) -> bool:
    """Whether launches with these options report races after the
    launch (printed, and JAX's race state set) rather than raise them."""
    opts = backend.option_dict()
    return bool(opts.get("detect_races") or opts.get("on_race") == "warn")


def _report_races(k: Kernel, counters: dict, notes: list):
    """Races recorded rather than raised (`on_race="warn"`) are printed,
    and, where race detection was asked for, JAX's own race state
    (`races.races_found`, which users' tests read) is set as JAX's
    interpret mode sets it."""
    if k.backend is None or not _records_races(k.backend):
        return
    n = int(counters.get("races", 0))
    reports = [note for note in notes if note.startswith("race: ")]
    for note in reports:
        print(f"pallas_rs: {note}", file=sys.stderr)
    if n > len(reports):
        print(f"pallas_rs: {n} races in all in kernel `{k.lowered.name}`",
              file=sys.stderr)
    _compat.record_races(n > 0)


def _to_native(a: np.ndarray) -> np.ndarray:
    """An array as the binding takes it: bfloat16, float16 and the float8
    types as their raw bits (a view, no copy)."""
    bits = RAW_BITS.get(a.dtype)
    return a if bits is None else a.view(bits)


def _from_native(o: np.ndarray, dtype) -> np.ndarray:
    """An output as the kernel declares it: raw bits viewed as their
    dtype, others converted (a no-op when the dtype already matches)."""
    dtype = np.dtype(dtype)
    if dtype in RAW_BITS and o.dtype == RAW_BITS[dtype]:
        return o.view(dtype)
    return np.asarray(o, dtype=dtype)


def _host_call(params, backend: BackendParams, mesh_axes=()):
    """The host function of one `pallas_call`: operands in (dynamic grid
    bounds first), outputs out. A kernel without a dynamic grid is
    compiled now; one with a dynamic grid is compiled per grid size, when
    the sizes arrive (and checked now, with size 1, so that an unsupported
    primitive is reported before anything runs).

    Returns `(call, out_avals, num_devices, kernel)`, `kernel` the compiled
    kernel where there is one for every launch (no dynamic grid), else
    None. For a multi-device kernel (`num_devices > 1`) `call` takes this
    device's logical id first and meets the other devices' calls in one
    launch (see `_devices`)."""
    nd = num_dynamic(params)
    k0 = kernel_for(params, backend, (1,) * nd, mesh_axes)
    out_avals = k0.out_avals

    def kernel(args):
        if not nd:
            return k0, args
        sizes = tuple(int(np.asarray(a)) for a in args[:nd])
        return kernel_for(params, backend, sizes, mesh_axes), args[nd:]

    def shaped(outs):
        return tuple(_from_native(o, a.dtype).reshape(a.shape)
                     for o, a in zip(outs, out_avals))

    n = k0.lowered.num_devices
    if n == 1:
        def call(*args):
            k, args = kernel(args)
            return shaped(launch(k, args))
        return call, out_avals, 1, (None if nd else k0)

    rendezvous = _devices.Rendezvous(k0.lowered.name, n)

    def launch_all(per_device):
        k, first = kernel(per_device[0])
        skip = len(per_device[0]) - len(first)
        stacked = [np.stack([np.asarray(a[skip + i]) for a in per_device])
                   for i in range(len(first))]
        outs = launch(k, stacked)
        return [shaped([o[d] for o in outs]) for d in range(n)]

    def call(device, *args):
        return rendezvous.run(int(np.asarray(device)), args, launch_all)
    return call, out_avals, n, None


def _ffi_fault(text: str):
    """The error for a fault the FFI handler reported to XLA, found by
    the message of the error XLA raised; None if none matches."""
    found = _ffi.take_fault(text)
    if found is None:
        return None
    k, e = found
    if isinstance(e, _native.Fault):
        return _fault_to_error(k, e)
    if isinstance(e, _native.Unsupported):
        return UnsupportedError(e.args[0])
    return None


# -- hooks into the pallas_call primitive ---------------------------------------

_original_impl = _compat.original_pallas_call_impl
_original_lowering = _compat.original_pallas_call_lowering


def _backend_of(interpret):
    """The backend a `pallas_call` equation runs on, or None for JAX's own
    path: the `pallas_rs.interpret` context active now (whenever the
    `pallas_call` was built), with the call's own `interpret=
    pltpu.InterpretParams(...)` options merged in (see `merge_call_options`)."""
    if isinstance(interpret, BackendParams):
        return interpret
    active = _compat.interpret_config().value
    if isinstance(active, BackendParams):
        return merge_call_options(active, interpret)
    context = _compat.context_config().value
    if context is not None and isinstance(active, _compat.interpret_params_type()):
        # `pltpu.force_tpu_interpret_mode(params)` inside the context: the
        # kernel asks for interpret mode, which the context provides, with
        # `params` as the call's own options.
        return merge_call_options(context, interpret)
    return None


def merge_call_options(active: BackendParams, interpret) -> BackendParams:
    """The context's backend and options, with those a call set explicitly
    in its own `pltpu.InterpretParams` (fields that differ from
    `InterpretParams()`'s defaults and that the simulator knows) taking
    precedence. Only the simulator takes the simulation's options; the
    other backends check nothing and run as they are. Every backend takes
    the lowering's (`LOWERING_OPTIONS`)."""
    if not dataclasses.is_dataclass(interpret) \
            or not isinstance(interpret, _compat.interpret_params_type()):
        return active
    taken = (SIM_OPTIONS if active.backend == "sim" else ()) + LOWERING_OPTIONS
    defaults = type(interpret)()
    explicit = {f.name: getattr(interpret, f.name)
                for f in dataclasses.fields(interpret)
                if f.name in taken
                and getattr(interpret, f.name) != getattr(defaults, f.name)}
    if active.backend == "sim" and not _compat.jax_raises_on_races():
        # Before JAX 0.12 its interpret mode reports a race and goes on.
        explicit.setdefault("on_race", "warn")
    if not explicit:
        return active
    options = {**active.option_dict(), **explicit}
    return BackendParams(active.backend, _check_options(active.backend, options))


def _impl(*args, interpret, **params):
    backend = _backend_of(interpret)
    if backend is None:
        _count("jax_kernels")
        return _original_impl(*args, interpret=interpret, **params)
    interpret = backend
    call, _, n, _k = _host_call(params, interpret, _devices.mesh_axes())
    if n > 1:
        raise UnsupportedError(
            f"kernel `{params.get('name')}` names other devices; a "
            "multi-device kernel runs under `jax.jit(jax.shard_map(...))`")
    return [jax.numpy.asarray(o) for o in call(*args)]


def _lowering(ctx, *in_nodes, interpret, **params):
    backend = _backend_of(interpret)
    if backend is None:
        _count("jax_kernels")
        return _original_lowering(ctx, *in_nodes, interpret=interpret, **params)
    interpret = backend
    mesh_axes = _devices.mesh_axes()
    call, out_avals, n, k = _host_call(params, interpret, mesh_axes)
    # A call's own `interpret=pltpu.InterpretParams(...)` gives the
    # equation JAX's ordered IO effects; a launch here has no order to
    # keep with other effects: it is lowered without the effect tokens,
    # which pass through.
    inner = _compat.without_effect_tokens(ctx)
    outs = None
    if n > 1:
        outs = _devices.lower_multi_device_call(inner, in_nodes, call, mesh_axes)
    elif k is not None:
        outs = _ffi.lower(inner, k, in_nodes, _records_races(interpret))
    if outs is None:
        out_shapes = tuple(jax.ShapeDtypeStruct(a.shape, a.dtype)
                           for a in out_avals)

        def run(*args):
            return list(jax.pure_callback(call, out_shapes, *args,
                                          vmap_method="sequential"))

        outs = mlir.lower_fun(run, multiple_results=True)(inner, *in_nodes)
    _compat.pass_effect_tokens(ctx)
    return outs


def install():
    """Installs the hooks (idempotent; done at import)."""
    p = _compat.pallas_call_p
    if getattr(p, "_pallas_rs_installed", False):
        return
    p.def_impl(_impl)
    _compat.register_lowering(p, _lowering)
    p._pallas_rs_installed = True


# -- the context ------------------------------------------------------------------

def _check_options(backend: str, options: dict) -> tuple:
    if backend not in _native.backends():
        raise ValueError(f"unknown backend {backend!r}: this build has "
                         f"{', '.join(_native.backends())}")
    out = []
    for name, value in sorted(options.items()):
        if name in IGNORED_OPTIONS:
            continue
        if name in LOWERING_OPTIONS:
            if name == "buffer_bounds":
                if value not in ("logical", "padded"):
                    raise ValueError(
                        "pallas_rs.interpret: buffer_bounds is 'logical' or "
                        f"'padded', not {value!r}")
                if value == "padded":
                    out.append((name, value))
            elif value:
                out.append((name, bool(value)))
            continue
        if name not in SIM_OPTIONS:
            raise TypeError(
                f"pallas_rs.interpret: unknown option {name!r}; the options "
                f"are {', '.join(SIM_OPTIONS)}")
        if backend != "sim" and value not in (None, False):
            raise ValueError(
                f"pallas_rs.interpret: option {name!r} configures the "
                f"simulator; backend {backend!r} does not simulate (use "
                "backend='sim')")
        if name == "random_seed" and value is None:
            continue
        out.append((name, value))
    return tuple(out)


class interpret(contextlib.ContextDecorator):
    """Runs every `pallas_call` traced inside on a pallas-rs backend.

    `backend` is `"sim"` (the faithful simulator), `"cpu"` (the fast mode)
    or `"wgpu"` (the GPU, or Mesa's lavapipe). Options, named as JAX's
    `pltpu.InterpretParams` where one exists (simulator only):
    `detect_races`, `on_race` ("raise", the default, or "warn": print
    each race and go on, setting JAX's `races.races_found`),
    `num_cores_or_threads`, `random_seed`,
    `dma_execution_mode` ("eager" or "on_wait"), `out_of_bounds_reads`
    ("raise" or "uninitialized"), `uninitialized_memory` ("nan" or "zero"),
    `skip_floating_point_ops`; and pallas-rs's own: `target_tpu` (check the
    (8, 128) tiling and VMEM capacity), `trace` (a Chrome trace file path),
    `report_uninitialized_reads`, `max_loop_iterations`.

    Use it as `with pallas_rs.interpret(...):` or as a decorator. Kernel
    faults raise `KernelError`; unsupported primitives `UnsupportedError`.
    """

    def __init__(self, backend: str = "sim", **options):
        self.params = BackendParams(backend, _check_options(backend, options))
        self._prev = []

    def __enter__(self):
        install()
        cfg = _compat.interpret_config()
        self._prev.append((cfg.swap_local(self.params),
                           _compat.context_config().swap_local(self.params)))
        return self

    def __exit__(self, exc_type, exc, tb):
        cfg = _compat.interpret_config()
        prev, prev_context = self._prev.pop()
        cfg.set_local(prev)
        _compat.context_config().set_local(prev_context)
        if (exc is not None and not isinstance(exc, PallasRsError)
                and isinstance(exc, RuntimeError)):
            fault = _recent_faults.find(str(exc))
            if fault is None:
                fault = _ffi_fault(str(exc))
            if fault is not None:
                raise fault from exc
        return False
