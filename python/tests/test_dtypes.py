"""Low-precision dtypes through the front end (issue 15): JAX bfloat16,
float16, int8 and float8 arrays in and out of unchanged Pallas kernels, on
every backend, against JAX's TPU interpret mode.

Tolerances: integer results exact; conversions exact; a bf16 result whose
f32 sum JAX adds in another order within one bf16 ulp (rtol 2^-8); an f16
result of f32 math within one f16 ulp (rtol 2^-10); the GPU within the
same (its exp is a few f32 ulp from XLA's, and its f16 rounding exact)."""

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

import pallas_rs
from helpers import jax_interpret

HOST_BACKENDS = ["sim", "cpu"]


def matmul(out_dtype, acc_dtype, bm=16, bn=128, bk=128):
    """Tiled matmul with a VMEM accumulator, as TPU kernels write it."""
    def call(x, y):
        m, kd = x.shape
        n = y.shape[1]

        def kernel(x_ref, y_ref, o_ref, acc_ref):
            @pl.when(pl.program_id(2) == 0)
            def _():
                acc_ref[...] = jnp.zeros_like(acc_ref)

            acc_ref[...] += jnp.dot(x_ref[...], y_ref[...],
                                    preferred_element_type=acc_dtype)

            @pl.when(pl.program_id(2) == pl.num_programs(2) - 1)
            def _():
                o_ref[...] = acc_ref[...].astype(out_dtype)

        return pl.pallas_call(
            kernel,
            grid=(m // bm, n // bn, kd // bk),
            in_specs=[pl.BlockSpec((bm, bk), lambda i, j, k: (i, k)),
                      pl.BlockSpec((bk, bn), lambda i, j, k: (k, j))],
            out_specs=pl.BlockSpec((bm, bn), lambda i, j, k: (i, j)),
            out_shape=jax.ShapeDtypeStruct((m, n), out_dtype),
            scratch_shapes=[pltpu.VMEM((bm, bn), acc_dtype)],
        )(x, y)
    return call


def elementwise(fn, out_dtype):
    def call(x):
        def kernel(x_ref, o_ref):
            o_ref[...] = fn(x_ref[...])
        return pl.pallas_call(
            kernel, grid=(x.shape[0] // 16,),
            in_specs=[pl.BlockSpec((16, x.shape[1]), lambda i: (i, 0))],
            out_specs=pl.BlockSpec((16, x.shape[1]), lambda i: (i, 0)),
            out_shape=jax.ShapeDtypeStruct(x.shape, out_dtype))(x)
    return call


def softmax_in_f32(x):
    v = x.astype(jnp.float32)
    e = jnp.exp(v - jnp.max(v, axis=-1, keepdims=True))
    return (e / jnp.sum(e, axis=-1, keepdims=True)).astype(jnp.float16)


RNG = np.random.default_rng(15)
BF16 = ml_dtypes.bfloat16
F8 = ml_dtypes.float8_e4m3fn
X_BF16 = RNG.uniform(-1, 1, (32, 256)).astype(BF16)
Y_BF16 = RNG.uniform(-1, 1, (256, 128)).astype(BF16)
X_I8 = RNG.integers(-128, 128, (32, 256)).astype(np.int8)
Y_I8 = RNG.integers(-128, 128, (256, 128)).astype(np.int8)
X_F16 = RNG.uniform(-4, 4, (32, 128)).astype(np.float16)
X_F32 = np.concatenate([
    RNG.uniform(-500, 500, 32 * 128 - 8),
    [np.nan, np.inf, -np.inf, 448.0, 460.0, 470.0, -0.0, 1e-9]],
).astype(np.float32).reshape(32, 128)

# name: (fn, args, rtol)
CASES = {
    "bf16 matmul, f32 accumulator, bf16 out": (
        matmul(jnp.bfloat16, jnp.float32), (X_BF16, Y_BF16), 2.0 ** -8),
    "int8 matmul into int32": (
        matmul(jnp.int32, jnp.int32), (X_I8, Y_I8), 0),
    "int8 dequantization into bf16": (
        elementwise(lambda q: q.astype(jnp.bfloat16) * jnp.bfloat16(0.0390625),
                    jnp.bfloat16), (X_I8,), 0),
    "f16 softmax computed in f32": (
        elementwise(softmax_in_f32, jnp.float16), (X_F16,), 2.0 ** -10),
    "f32 to float8_e4m3fn": (
        elementwise(lambda x: x.astype(jnp.float8_e4m3fn), jnp.float8_e4m3fn),
        (X_F32,), 0),
}


def compare(got, want, rtol, what):
    assert got.dtype == want.dtype and got.shape == want.shape, (
        f"{what}: {got.dtype}{got.shape} vs {want.dtype}{want.shape}")
    g, w = got.astype(np.float64), want.astype(np.float64)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg=what)
    ok = ~np.isnan(w)
    if rtol == 0:
        np.testing.assert_array_equal(g[ok], w[ok], err_msg=what)
    else:
        np.testing.assert_allclose(g[ok], w[ok], rtol=rtol, atol=1e-6,
                                   err_msg=what)


@pytest.mark.parametrize("name", sorted(CASES))
def test_low_precision_kernel_matches_jax(name, backend):
    fn, args, rtol = CASES[name]
    want = jax_interpret(("dtype", name), fn, args)
    with pallas_rs.interpret(backend):
        got = np.asarray(jax.jit(fn)(*args))
    compare(got, want, rtol, f"{name} on {backend}")


def test_sim_and_cpu_agree_bit_for_bit():
    # (Not the softmax: the fast mode's vectorized exp is a few f32 ulp
    # from the simulator's libm, which may move an f16 rounding.)
    for name, (fn, args, _) in sorted(CASES.items()):
        if "softmax" in name:
            continue
        outs = []
        for backend in HOST_BACKENDS:
            with pallas_rs.interpret(backend):
                outs.append(np.asarray(jax.jit(fn)(*args)))
        bits = [o.view(f"u{o.dtype.itemsize}") for o in outs]
        np.testing.assert_array_equal(bits[0], bits[1], err_msg=name)


def test_a_bf16_kernel_given_f32_arrays_is_refused():
    # (Through JAX, the traced types decide the kernel's; here a compiled
    # bf16 kernel is handed an f32 array directly.)
    from pallas_rs import _native
    text = ("kernel k grid(parallel 1) {\n"
            "  in x: bf16[4] vmem block[4] map(%0) {\n    yield %0\n  }\n"
            "  out o: bf16[4] vmem block[4] map(%1) {\n    yield %1\n  }\n"
            "  body(%2, %3) {\n    %4 = load %2[:]\n    store %3[:], %4\n  }\n"
            "}\n")
    c = _native.compile(text, "sim", {})
    with pytest.raises(_native.BadArgument, match=r"expected bf16\[4\]"):
        c.launch([np.zeros(4, np.float32)])
    # Raw bits of the right width are what the binding takes for bf16.
    x = np.array([1.0, -2.0, np.nan, 3.5], BF16)
    out = c.launch([x.view(np.uint16)])[0]
    np.testing.assert_array_equal(out, x.view(np.uint16))
