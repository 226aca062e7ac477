"""The XLA FFI crossing: a jitted single-device launch is one XLA custom
call into Rust (no host callback), with the same results, counts and
faults as the host-callback path; the callback stays where the custom
call cannot serve."""

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

import pallas_rs
from pallas_rs import _ffi, _native

TARGET = "pallas_rs_launch"


def seed(x, y, block=(8, 128)):
    def kernel(x_ref, y_ref, o_ref):
        o_ref[...] = jnp.sin((x_ref[...] + y_ref[...]) * 2)
    spec = pl.BlockSpec(block, lambda i, j: (i, j))
    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(x.shape[0] // block[0], x.shape[1] // block[1]),
        in_specs=[spec, spec], out_specs=spec)(x, y)


def two_outputs(x):
    """An f32 sum and a bool mask of the same block, two outputs."""
    def kernel(x_ref, s_ref, m_ref):
        s_ref[...] = x_ref[...] + 1
        m_ref[...] = x_ref[...] > 0
    spec = pl.BlockSpec((8, 128), lambda i: (i, 0))
    return pl.pallas_call(
        kernel, grid=(x.shape[0] // 8,),
        out_shape=(jax.ShapeDtypeStruct(x.shape, jnp.float32),
                   jax.ShapeDtypeStruct(x.shape, jnp.bool_)),
        in_specs=[spec], out_specs=(spec, spec))(x)


def scale_bf16(x):
    def kernel(x_ref, o_ref):
        o_ref[...] = x_ref[...] * 2
    spec = pl.BlockSpec((16, 128), lambda i: (i, 0))
    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(x.shape[0] // 16,), in_specs=[spec], out_specs=spec)(x)


def _inputs(shape=(16, 256)):
    rng = np.random.default_rng(7)
    return (rng.uniform(-1, 1, shape).astype(np.float32),
            rng.uniform(-1, 1, shape).astype(np.float32))


def _lowers_to_ffi(f, *args):
    return TARGET in f.lower(*args).as_text()


def test_the_handler_is_registered_with_this_jaxlib():
    assert _ffi.available(), "the FFI header of this jaxlib could not be read"


def test_a_jitted_launch_is_one_custom_call_with_the_same_result(backend):
    x, y = _inputs()
    want = np.sin((x.astype(np.float64) + y) * 2)
    f = jax.jit(seed)
    with pallas_rs.interpret(backend):
        assert _lowers_to_ffi(f, x, y)
        pallas_rs.reset_stats()
        for _ in range(3):
            got = np.asarray(f(x, y))
            # f32 sin: within 2 ulp of the f64 value (|sin| <= 1).
            assert np.max(np.abs(got - want)) <= 2.5e-7
        # Every launch counted, though none crossed through Python.
        assert pallas_rs.stats()["launches"] == 3


def test_outputs_of_other_dtypes_cross_as_their_bits(backend):
    x = np.random.default_rng(3).uniform(-2, 2, (32, 128)).astype(np.float32)
    with pallas_rs.interpret(backend):
        f = jax.jit(two_outputs)
        assert _lowers_to_ffi(f, x)
        s, m = f(x)
    np.testing.assert_array_equal(np.asarray(s), x + 1)
    np.testing.assert_array_equal(np.asarray(m), x > 0)
    assert np.asarray(m).dtype == np.bool_


@pytest.mark.parametrize("backend", ["sim", "cpu"])
def test_bf16_crosses_both_ways(backend):
    x = np.random.default_rng(5).uniform(-4, 4, (32, 128)).astype(
        ml_dtypes.bfloat16)
    with pallas_rs.interpret(backend):
        f = jax.jit(scale_bf16)
        assert _lowers_to_ffi(f, x)
        got = np.asarray(f(x))
    assert got.dtype == ml_dtypes.bfloat16
    # Doubling a bf16 is exact.
    np.testing.assert_array_equal(got.astype(np.float32),
                                  x.astype(np.float32) * 2)


def test_a_vmapped_kernel_crosses_once():
    # JAX batches a pallas_call into one kernel with a batch grid axis.
    x, y = _inputs()
    xs, ys = np.stack([x, -x]), np.stack([y, y])
    with pallas_rs.interpret("sim"):
        f = jax.jit(jax.vmap(seed))
        assert _lowers_to_ffi(f, xs, ys)
        pallas_rs.reset_stats()
        got = np.asarray(f(xs, ys))
        assert pallas_rs.stats()["launches"] == 1
    want = np.sin((xs.astype(np.float64) + ys) * 2)
    assert np.max(np.abs(got - want)) <= 2.5e-7


def test_a_fault_comes_back_as_the_same_kernel_error():
    def past_the_end(x):
        def kernel(x_ref, o_ref):
            o_ref[...] = x_ref[pl.ds(pl.program_id(0) * 128 + 64, 128)]
        return pl.pallas_call(
            kernel, out_shape=jax.ShapeDtypeStruct((256,), x.dtype),
            grid=(2,), in_specs=[pl.BlockSpec(memory_space=pltpu.VMEM)],
            out_specs=pl.BlockSpec((128,), lambda i: (i,)))(x)

    x = np.arange(256, dtype=np.float32)
    f = jax.jit(past_the_end)
    with pytest.raises(pallas_rs.KernelError) as jitted:
        with pallas_rs.interpret("sim"):
            assert _lowers_to_ffi(f, x)
            f(x)
    with pytest.raises(pallas_rs.KernelError) as eager:
        with pallas_rs.interpret("sim"):
            past_the_end(x)
    assert type(jitted.value) is type(eager.value)
    assert jitted.value.kind == eager.value.kind == "out_of_bounds"
    assert list(jitted.value.grid_point) == list(eager.value.grid_point) == [1]
    assert jitted.value.source == eager.value.source
    assert "test_ffi.py" in jitted.value.source


@pytest.mark.parametrize("backend", ["sim", "cpu"])
def test_the_error_xla_raises_carries_jax_s_phrase(backend):
    # Inside the context (where users' tests match JAX's wording) the error
    # is XLA's, and it must say what JAX's interpret mode says.
    def past_the_end(x):
        def kernel(x_ref, o_ref):
            o_ref[...] = x_ref[pl.ds(pl.program_id(0) * 128 + 64, 128)]
        return pl.pallas_call(
            kernel, out_shape=jax.ShapeDtypeStruct((256,), x.dtype),
            grid=(2,), in_specs=[pl.BlockSpec(memory_space=pltpu.VMEM)],
            out_specs=pl.BlockSpec((128,), lambda i: (i,)))(x)

    def index_map_past_the_array(x):
        def kernel(x_ref, o_ref):
            o_ref[...] = x_ref[...] * 2
        return pl.pallas_call(
            kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
            grid=(2,), in_specs=[pl.BlockSpec((128,), lambda i: (i + 1,))],
            out_specs=pl.BlockSpec((128,), lambda i: (i,)))(x)

    x = np.arange(256, dtype=np.float32)
    for fn, phrase in [(past_the_end, "Out-of-bounds read of x_ref"),
                       (index_map_past_the_array,
                        'Out-of-bounds block index 2 for input "x_ref"')]:
        f = jax.jit(fn)
        with pytest.raises(pallas_rs.KernelError):
            with pallas_rs.interpret(backend):
                assert _lowers_to_ffi(f, x)
                with pytest.raises(Exception) as raised:
                    f(x)
                assert phrase in str(raised.value)
                raise raised.value


def test_recorded_races_keep_the_host_callback():
    x, y = _inputs()
    f = jax.jit(seed)
    with pallas_rs.interpret("sim", detect_races=True, on_race="warn"):
        assert not _lowers_to_ffi(f, x, y)
        got = np.asarray(f(x, y))
    assert np.max(np.abs(got - np.sin((x.astype(np.float64) + y) * 2))) <= 2.5e-7


def test_launch_into_writes_the_callers_arrays(backend):
    x, y = _inputs()
    from pallas_rs import _interpret
    from pallas_rs.bench import _find_params
    params = _find_params(seed, x, y)
    k = _interpret.kernel_for(params, _interpret.BackendParams(backend))
    out = np.full_like(x, np.nan)
    assert k.compiled.launch_into([x, y], [out]) is None
    np.testing.assert_array_equal(out, k.compiled.launch([x, y])[0])
    with pytest.raises(_native.BadArgument, match="output `"):
        k.compiled.launch_into([x, y], [np.zeros(x.shape, np.int32)])
    with pytest.raises(_native.BadArgument, match="C-contiguous"):
        k.compiled.launch_into([x, y], [np.zeros((x.shape[1], x.shape[0]), np.float32).T])
