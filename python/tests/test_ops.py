"""Elementwise ops that needed IR support of their own (a composition would
round differently): expm1, round to nearest even, erf_inv, atan2,
population_count, clz; each on every backend against JAX's TPU interpret
mode, over ordinary values and edge cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import pallas as pl

import pallas_rs
from helpers import assert_close, jax_interpret


def _unary(fn):
    def call(x):
        def kernel(x_ref, o_ref):
            o_ref[...] = fn(x_ref[...])
        out = jax.eval_shape(fn, jax.ShapeDtypeStruct(x.shape, x.dtype))
        return pl.pallas_call(kernel, out_shape=out)(x)
    return call


def _binary(fn):
    def call(x, y):
        def kernel(x_ref, y_ref, o_ref):
            o_ref[...] = fn(x_ref[...], y_ref[...])
        return pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct(
            x.shape, x.dtype))(x, y)
    return call


def _floats(rng, lo, hi, extra):
    x = rng.uniform(lo, hi, 1024 - len(extra)).astype(np.float32)
    return np.concatenate([x, np.array(extra, np.float32)]).reshape(8, 128)


RNG = np.random.default_rng(7)
INTS = np.concatenate([RNG.integers(-2**31, 2**31 - 1, 1020, dtype=np.int64),
                       [0, -1, 1, 2**31 - 1]]).astype(np.int32).reshape(8, 128)

# name: (fn, inputs, (rtol, atol) for sim/cpu, for wgpu)
CASES = {
    # XLA's expm1 and Rust's exp_m1 (sim, cpu) differ by up to 3 ulp here;
    # WGSL: a degree-9 Taylor polynomial below 0.5, exp(x) - 1 above (the
    # spec allows exp 3 + 2|x| ulp): up to 4 ulp.
    "expm1": (_unary(jnp.expm1),
              (_floats(RNG, -5, 5, [0.0, -0.0, 1e-7, -1e-7, 1e-30, 80.0, -80.0,
                                    np.inf, -np.inf]),),
              (4e-7, 1e-37), (6e-7, 1e-37)),
    # Half-way cases must go to even: exact.
    "round_even": (_unary(jnp.round),
                   (_floats(RNG, -100, 100, [0.5, 1.5, 2.5, -0.5, -2.5, 3.5,
                                             1e9, -0.0]),),
                   (0, 0), (0, 0)),
    # XLA computes erf_inv with Giles' f32 polynomial in log1p; so do sim
    # and cpu (2 ulp apart: log1p implementations); WGSL uses log((1-y)(1+y)):
    # 4 ulp.
    "erf_inv": (_unary(jax.scipy.special.erfinv),
                (_floats(RNG, -0.999, 0.999, [0.0, 0.5, -0.5, 0.999999, -1.0,
                                              1.0, 1.5]),),
                (2.5e-7, 1e-38), (6e-7, 1e-38)),
    "atan2": (_binary(jnp.arctan2),
              (_floats(RNG, -3, 3, [0.0, -0.0, 1.0, -1.0]),
               _floats(RNG, -3, 3, [0.0, 0.0, -0.0, 0.0])),
              # libm's atan2f (sim, cpu); a Cephes-style atan on WGSL, whose
              # own atan2 may be 4096 ulp off: 2 ulp.
              (2e-7, 1e-38), (3e-7, 1e-38)),
    "population_count": (_unary(jax.lax.population_count), (INTS,),
                         (0, 0), (0, 0)),
    "clz": (_unary(jax.lax.clz), (INTS,), (0, 0), (0, 0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_matches_jax(name, backend):
    fn, args, tol, tol_gpu = CASES[name]
    want = jax_interpret(("op", name), fn, args)
    rtol, atol = tol_gpu if backend == "wgpu" else tol
    with pallas_rs.interpret(backend):
        got = np.asarray(jax.jit(fn)(*args))
    if want.dtype.kind == "f":
        # Same NaNs and infinities, then values within tolerance.
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        finite = np.isfinite(want)
        np.testing.assert_array_equal(got[~finite & ~np.isnan(want)],
                                      want[~finite & ~np.isnan(want)])
        got, want = got[finite], want[finite]
    assert_close(got, want, rtol, atol, f"{name} on {backend}")
