"""`python -m pallas_rs.bench`: the seed kernel `sin((x + y) * 2)` over f32
(16, 131072) from Python, in one run: JAX's TPU interpret mode, JAX's
legacy `interpret=True`, plain `jax.jit` of the same math, and
`pallas_rs.interpret` on each backend; plus the overhead a cached call adds
over the backend's own launch time (into new arrays, and into the caller's
buffers as the XLA FFI handler launches).

    python -m pallas_rs.bench [--repeats N] [--tpu-interpret-all-grids]
                              [--skip-legacy] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

import pallas_rs
from pallas_rs import _interpret

SHAPE = (16, 131072)
GRIDS = {512: (16, 256), 16384: (1, 128)}


def seed(x, y, block, interpret=False):
    """The seed kernel as a kernel author writes it."""

    def kernel(x_ref, y_ref, o_ref):
        o_ref[...] = jnp.sin((x_ref[...] + y_ref[...]) * 2)

    spec = pl.BlockSpec(block, lambda i, j: (i, j))
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(x.shape[0] // block[0], x.shape[1] // block[1]),
        in_specs=[spec, spec],
        out_specs=spec,
        compiler_params=pltpu.CompilerParams(
            dimension_semantics=("parallel", "parallel")),
        interpret=interpret,
    )(x, y)


def _time(fn, repeats):
    """Median and minimum seconds of `fn()` after one warm-up call."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def run(repeats=5, tpu_all=False, legacy=True, out=print):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, SHAPE).astype(np.float32)
    y = rng.uniform(-1, 1, SHAPE).astype(np.float32)
    want = np.sin((x.astype(np.float64) + y) * 2)
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    rows = []

    def record(name, grid, fn, reps=repeats):
        got = np.asarray(fn())
        err = float(np.max(np.abs(got - want)))
        if err > 1e-5:
            raise SystemExit(f"{name} at grid {grid}: wrong result "
                             f"(max error {err})")
        med, best = _time(fn, reps)
        rows.append({"variant": name, "grid": grid, "median_s": med,
                     "min_s": best})
        out(f"  {name:<34} grid {grid:>6}: {med * 1e3:10.2f} ms "
            f"(min {best * 1e3:.2f})")
        return med

    plain = jax.jit(lambda a, b: jnp.sin((a + b) * 2))
    for grid, block in GRIDS.items():
        out(f"seed kernel, f32 {SHAPE}, grid {grid}, block {block}")
        record("jax.jit (XLA, no kernel)", grid, lambda: plain(xj, yj))
        # JAX's interpret mode at the first (coarsest) grid; the others
        # take minutes on it.
        if grid == next(iter(GRIDS)) or tpu_all:
            f = jax.jit(lambda a, b, bl=block: seed(
                a, b, bl, interpret=pltpu.InterpretParams()))
            record("JAX TPU interpret mode", grid, lambda: f(xj, yj),
                   reps=max(1, min(repeats, 3)))
        if legacy:
            f = jax.jit(lambda a, b, bl=block: seed(a, b, bl, interpret=True))
            record("JAX interpret=True (legacy)", grid, lambda: f(xj, yj),
                   reps=max(1, min(repeats, 3)))
        for backend in pallas_rs.backends():
            f = jax.jit(lambda a, b, bl=block: seed(a, b, bl))
            try:
                with pallas_rs.interpret(backend):
                    med = record(f"pallas_rs.interpret({backend!r})", grid,
                                 lambda: f(xj, yj))
                    # The backend's own time: its compiled kernel launched
                    # directly on NumPy arrays, no JAX in between; into new
                    # arrays (`launch`) and into the caller's (`launch_into`,
                    # what the XLA FFI handler does with XLA's buffers).
                    params = _find_params(f, xj, yj)
                    k = _interpret.kernel_for(params, _interpret.BackendParams(backend))
                    direct, _ = _time(lambda: k.compiled.launch([x, y]), repeats)
                    buf = np.empty_like(x)
                    into, _ = _time(lambda: k.compiled.launch_into([x, y], [buf]),
                                    repeats)
                rows.append({"variant": f"{backend} launch only", "grid": grid,
                             "median_s": direct, "min_s": direct})
                rows.append({"variant": f"{backend} launch_into only", "grid": grid,
                             "median_s": into, "min_s": into})
                out(f"  {backend + ' launch only (no JAX)':<34} grid {grid:>6}: "
                    f"{direct * 1e3:10.2f} ms; a cached call adds "
                    f"{(med - direct) * 1e3:.3f} ms")
                out(f"  {backend + ' launch_into (no JAX)':<34} grid {grid:>6}: "
                    f"{into * 1e3:10.2f} ms; a cached call adds "
                    f"{(med - into) * 1e3:.3f} ms")
            except pallas_rs.PallasRsError as e:
                out(f"  pallas_rs.interpret({backend!r}): not run: {e}")
            except RuntimeError as e:
                out(f"  pallas_rs.interpret({backend!r}): no device: "
                    f"{str(e).splitlines()[0]}")
    _ratios(rows, out)
    return rows


def _find_params(f, *args):
    jaxpr = jax.make_jaxpr(f)(*args)
    from pallas_rs._topk import _pallas_calls
    eqn, _mesh_axes = next(_pallas_calls(jaxpr.jaxpr))
    return eqn.params


def _ratios(rows, out):
    by = {(r["variant"], r["grid"]): r["median_s"] for r in rows}
    out("ratios (medians, same run)")
    for grid in GRIDS:
        tpu = by.get(("JAX TPU interpret mode", grid))
        sim = by.get(("pallas_rs.interpret('sim')", grid))
        cpu = by.get(("pallas_rs.interpret('cpu')", grid))
        xla = by.get(("jax.jit (XLA, no kernel)", grid))
        if tpu and sim:
            out(f"  grid {grid}: sim is {tpu / sim:.0f}x faster than JAX's "
                "TPU interpret mode")
        if cpu and xla:
            out(f"  grid {grid}: cpu takes {cpu / xla:.2f}x jax.jit's time")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m pallas_rs.bench",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--tpu-interpret-all-grids", action="store_true",
                    help="also run JAX's TPU interpret mode at grid 16,384 "
                         "(minutes)")
    ap.add_argument("--skip-legacy", action="store_true",
                    help="leave out JAX's interpret=True")
    ap.add_argument("--json", help="write the rows as JSON here")
    a = ap.parse_args(argv)
    print(f"JAX {jax.__version__}, pallas_rs {pallas_rs.__version__}, "
          f"backends {pallas_rs.backends()}")
    rows = run(a.repeats, a.tpu_interpret_all_grids, not a.skip_legacy)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
