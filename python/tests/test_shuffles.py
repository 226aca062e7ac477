"""`pltpu.roll` (static and run-time shifts, strided or not, any sign) and
rank-0 operands, on every backend, against JAX's TPU interpret mode run
here (and NumPy's `roll` as a second, independent check)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

import pallas_rs
from helpers import assert_close, jax_interpret


def _roll_call(shape, dtype, axis, stride, stride_axis, dynamic, shift):
    def kernel(x_ref, s_ref, o_ref):
        amount = s_ref[0] if dynamic else shift
        o_ref[...] = pltpu.roll(x_ref[...], amount, axis, stride=stride,
                                stride_axis=stride_axis)

    def call(x, s):
        return pl.pallas_call(
            kernel, out_shape=jax.ShapeDtypeStruct(shape, dtype),
            in_specs=[pl.BlockSpec(memory_space=pltpu.VMEM),
                      pl.BlockSpec(memory_space=pltpu.SMEM)])(x, s)
    return call


def _numpy_roll(x, shift, axis, stride, stride_axis):
    if stride is None:
        return np.roll(x, shift, axis)
    rows = np.split(x, x.shape[stride_axis], stride_axis)
    return np.concatenate([np.roll(r, shift + i * stride, axis)
                           for i, r in enumerate(rows)], stride_axis)


CASES = [
    # shape, axis, stride, stride_axis, shift
    ((8, 128), 1, None, None, 3),
    ((15, 256), 0, None, None, 2),
    ((5, 8, 64), 0, None, None, 7),
    ((8, 128), 1, None, None, 129),
    ((8, 128), 1, None, None, 0),
    ((8, 128), 1, 2, 0, 3),
    ((4, 128), 1, 1, 0, 129),
]


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-ax{c[1]}-st{c[2]}-s{c[4]}")
def test_roll_matches_jax_and_numpy(case, dynamic, backend):
    shape, axis, stride, stride_axis, shift = case
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    s = np.array([shift], np.int32)
    fn = _roll_call(shape, np.float32, axis, stride, stride_axis, dynamic, shift)
    want = jax_interpret(("roll", case, dynamic), fn, (x, s))
    np.testing.assert_array_equal(want, _numpy_roll(x, shift, axis, stride,
                                                    stride_axis))
    with pallas_rs.interpret(backend):
        got = jax.jit(fn)(x, s)
    assert_close(got, want, 0, 0, f"roll {case} on {backend}")


@pytest.mark.parametrize("shift", [-1, -130, 2**31 - 1])
def test_roll_by_a_negative_or_huge_run_time_shift(shift, backend):
    shape = (8, 128)
    x = np.arange(1024, dtype=np.int32).reshape(shape)
    s = np.array([shift], np.int32)
    fn = _roll_call(shape, np.int32, 1, None, None, True, None)
    with pallas_rs.interpret(backend):
        got = np.asarray(jax.jit(fn)(x, s))
    np.testing.assert_array_equal(got, np.roll(x, shift, 1))


def test_rank_0_operands_lower_and_run(backend):
    """A scalar (shape ()) input and output: its index map yields nothing."""
    def kernel(x_ref, y_ref, o_ref):
        o_ref[...] = x_ref[...] * 2 + y_ref[...]

    def fn(x, y):
        return pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct(
            (), np.float32))(x, y)

    x, y = np.float32(3.5), np.float32(-1.25)
    want = jax_interpret(("rank0",), fn, (x, y))
    with pallas_rs.interpret(backend):
        got = jax.jit(fn)(x, y)
    assert_close(got, want, 0, 0, f"rank 0 on {backend}")
    text = pallas_rs.to_pk(fn, x, y)
    assert "yield \n" not in text and "yield\n" not in text, text


def test_vmap_program_id_counts_the_authors_grid(backend):
    """Under `jax.vmap` JAX adds a leading grid dimension; the body's
    `program_id(0)` is still the author's first dimension."""
    def kernel(x_ref, o_ref):
        i = pl.program_id(0)
        o_ref[i] = x_ref[i] + i

    def one(x):
        return pl.pallas_call(kernel, grid=(4,),
                              out_shape=jax.ShapeDtypeStruct((4,), np.int32))(x)

    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    fn = jax.vmap(one)
    want = jax_interpret(("vmap_pid",), fn, (x,))
    np.testing.assert_array_equal(want, x + np.arange(4))
    with pallas_rs.interpret(backend):
        got = jax.jit(fn)(x)
    assert_close(got, want, 0, 0, f"vmap program_id on {backend}")


def _moves(x_ref, s_ref, o_ref, p_ref, q_ref, r_ref):
    from jax import lax
    import jax.numpy as jnp
    v = x_ref[...]
    i, j = s_ref[0], s_ref[1]
    o_ref[...] = lax.dynamic_slice(v, (i, j), (2, 16))
    p_ref[...] = lax.dynamic_update_slice(
        v, jnp.full((2, 16), -1.0, jnp.float32), (i, j))
    a, b, c = jnp.split(v, [2, 5], axis=0)
    q_ref[...] = jnp.concatenate([c, b, a], axis=0)
    r_ref[...] = jnp.pad(v[:, :120], ((1, 0), (3, 5)), constant_values=7.0)[:8]


def _moves_call(x, s):
    f32 = np.float32
    return pl.pallas_call(
        _moves,
        out_shape=[jax.ShapeDtypeStruct((2, 16), f32),
                   jax.ShapeDtypeStruct((8, 128), f32),
                   jax.ShapeDtypeStruct((8, 128), f32),
                   jax.ShapeDtypeStruct((8, 128), f32)],
        in_specs=[pl.BlockSpec(memory_space=pltpu.VMEM),
                  pl.BlockSpec(memory_space=pltpu.SMEM)])(x, s)


@pytest.mark.parametrize("starts", [(3, 5), (7, 120), (-2, 200)],
                         ids=["inside", "clamped-high", "clamped-both"])
def test_dynamic_slice_update_split_pad_match_jax(starts, backend):
    """`lax.dynamic_slice`/`dynamic_update_slice` of a value (starts
    clamped as XLA does), `jnp.split` and `jnp.pad` (low, high, negative)."""
    x = np.arange(8 * 128, dtype=np.float32).reshape(8, 128)
    s = np.array(starts, np.int32)
    want = jax_interpret(("moves", starts), _moves_call, (x, s))
    # NumPy's view of the window, as a second check: `lax.dynamic_slice`
    # wraps a negative start once (as Python indexing does), then XLA
    # clamps the window into range.
    i, j = (st + n if st < 0 else st for st, n in zip(starts, (8, 128)))
    i, j = min(max(i, 0), 6), min(max(j, 0), 112)
    np.testing.assert_array_equal(want[0], x[i:i + 2, j:j + 16])
    with pallas_rs.interpret(backend):
        got = jax.jit(_moves_call)(x, s)
    for k, (g, w) in enumerate(zip(got, want)):
        assert_close(g, w, 0, 0, f"output {k} on {backend}")


def test_pallas_broadcast_to_stretches_size_1_dimensions(backend):
    """`jax._src.state.primitives.broadcast_to` (Pallas' equal-rank
    broadcast, what `jnp.broadcast_to` on a ref's value becomes in some
    kernels): size-1 dimensions stretch."""
    from jax._src.state.primitives import broadcast_to

    def kernel(x_ref, o_ref, p_ref):
        o_ref[...] = broadcast_to(x_ref[...], (8, 128))
        p_ref[...] = broadcast_to(x_ref[0:1, 0:1], (8, 128))

    def fn(x):
        out = jax.ShapeDtypeStruct((8, 128), np.float32)
        return pl.pallas_call(kernel, out_shape=[out, out])(x)

    x = np.arange(128, dtype=np.float32).reshape(1, 128)
    with pallas_rs.interpret(backend):
        o, p = jax.jit(fn)(x)
    np.testing.assert_array_equal(o, np.broadcast_to(x, (8, 128)))
    np.testing.assert_array_equal(p, np.full((8, 128), x[0, 0]))


def _stacks(x_ref, o_ref, p_ref, q_ref):
    import jax.numpy as jnp
    from jax import lax
    v = x_ref[...]
    o_ref[...] = jnp.stack([v, -v], axis=1)
    a, b = lax.unstack(v[0:2], axis=0)
    p_ref[...] = a - b
    q_ref[...] = pltpu.bitcast(v, np.int32)


def _stacks_call(x):
    return pl.pallas_call(_stacks, out_shape=[
        jax.ShapeDtypeStruct((8, 2, 128), np.float32),
        jax.ShapeDtypeStruct((128,), np.float32),
        jax.ShapeDtypeStruct((8, 128), np.int32)])(x)


def test_stack_unstack_and_same_width_tpu_bitcast_match_jax(backend):
    x = np.random.default_rng(3).standard_normal((8, 128)).astype(np.float32)
    want = jax_interpret(("stacks",), _stacks_call, (x,))
    np.testing.assert_array_equal(want[0], np.stack([x, -x], axis=1))
    np.testing.assert_array_equal(want[2], x.view(np.int32))
    with pallas_rs.interpret(backend):
        got = jax.jit(_stacks_call)(x)
    for k, (g, w) in enumerate(zip(got, want)):
        assert_close(g, w, 0, 0, f"output {k} on {backend}")


# Ref indexing with integer arrays (a gather). JAX's TPU interpret mode
# refuses these ("Advanced indexers are not supported on TPU"), so the
# reference is NumPy, with negative indices wrapped and the rest clamped
# as JAX's array indexing does.
_IDX = {"p": np.array([0, 3, 1, 3], np.int32),
        "q": np.array([2, -1, 0, 5], np.int32)}   # -1 wraps, 5 clamps


def _np_index(ix, n):
    ix = np.where(ix < 0, ix + n, ix)
    return np.clip(ix, 0, n - 1)


GATHERS = [
    # shape, kernel indexing, NumPy indexing on (x, p, q)
    ((4, 8), lambda r, p, q: r[p],
     lambda x, p, q: x[_np_index(p, 4)]),
    ((4, 6, 8), lambda r, p, q: r[:, q],
     lambda x, p, q: x[:, _np_index(q, 6)]),
    ((4, 6, 8), lambda r, p, q: r[p, q],
     lambda x, p, q: x[_np_index(p, 4), _np_index(q, 6)]),
    ((4, 6, 8), lambda r, p, q: r[p, ::2, q],
     lambda x, p, q: x[_np_index(p, 4), ::2, _np_index(q, 8)]),
    ((4, 6, 8), lambda r, p, q: r[1:3, p[:, None], q[None, :]],
     lambda x, p, q: x[1:3, _np_index(p, 6)[:, None], _np_index(q, 8)[None, :]]),
]


@pytest.mark.parametrize("case", range(len(GATHERS)))
def test_a_gather_from_a_ref_matches_numpy(case, backend):
    shape, in_kernel, in_numpy = GATHERS[case]
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    p, q = _IDX["p"], _IDX["q"]
    want = in_numpy(x, p, q)

    def kernel(x_ref, p_ref, q_ref, o_ref):
        o_ref[...] = in_kernel(x_ref, p_ref[...], q_ref[...])

    with pallas_rs.interpret(backend):
        got = pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct(
            want.shape, np.float32))(x, p, q)
    assert_close(got, want, 0, 0, f"gather {case} on {backend}")


# Stores through integer arrays (a scatter): NumPy's assignment as the
# reference (distinct indices, so that order does not matter; -1 wraps).
SCATTERS = [
    # out shape, value shape, kernel store, NumPy store on (o, v, p, q)
    ((6, 8), (3, 8), lambda r, v, p, q: r.__setitem__(p[:3], v),
     lambda o, v, p, q: o.__setitem__(p[:3], v)),
    ((4, 6, 8), (4, 4, 8), lambda r, v, p, q: r.__setitem__(
        (slice(None), q), v),
     lambda o, v, p, q: o.__setitem__((slice(None), q), v)),
    ((4, 6, 8), (4,), lambda r, v, p, q: r.__setitem__((p, q, 1), v),
     lambda o, v, p, q: o.__setitem__((p, q, 1), v)),
]
_SCATTER_IDX = {"p": np.array([2, 0, 3, -1], np.int32),
                "q": np.array([5, 1, 0, 3], np.int32)}


@pytest.mark.parametrize("case", range(len(SCATTERS)))
def test_a_scatter_into_a_ref_matches_numpy(case, backend):
    out_shape, v_shape, in_kernel, in_numpy = SCATTERS[case]
    v = np.arange(np.prod(v_shape), dtype=np.float32).reshape(v_shape) + 1
    p, q = _SCATTER_IDX["p"], _SCATTER_IDX["q"]
    want = np.zeros(out_shape, np.float32)
    in_numpy(want, v, p, q)

    def kernel(v_ref, p_ref, q_ref, o_ref):
        o_ref[...] = jnp.zeros(out_shape, jnp.float32)
        in_kernel(o_ref, v_ref[...], p_ref[...], q_ref[...])

    with pallas_rs.interpret(backend):
        got = pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct(
            out_shape, np.float32))(v, p, q)
    assert_close(got, want, 0, 0, f"scatter {case} on {backend}")


def _row_store_call(i, x, interpret=False):
    def kernel(i_ref, x_ref, o_ref):
        o_ref[...] = jnp.zeros((8, 128), jnp.float32)
        o_ref[i_ref[0]] = x_ref[0]
    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct((8, 128), np.float32),
        in_specs=[pl.BlockSpec(memory_space=pltpu.SMEM), pl.BlockSpec()],
        interpret=interpret)(i, x)


def test_a_vmapped_scalar_index_store_matches_jax(backend):
    """Under `jax.vmap` a store at a batched scalar index becomes a
    scatter; JAX's own (generic) interpreter, run here, is the
    reference."""
    i = np.array([[1], [6], [3]], np.int32)
    x = np.random.default_rng(7).standard_normal((3, 1, 128)).astype(np.float32)
    want = jax.vmap(lambda a, b: _row_store_call(a, b, interpret=True))(i, x)
    with pallas_rs.interpret(backend):
        got = jax.jit(jax.vmap(_row_store_call))(i, x)
    assert_close(got, want, 0, 0, f"vmapped row store on {backend}")


def _prefetch_kernel(s_ref, x_ref, o_ref):
    # (add, then multiply: XLA would fuse a multiply-add into an FMA)
    o_ref[...] = (x_ref[...] + s_ref[1]) * s_ref[0]


def _prefetch_call(s, x):
    spec = pl.BlockSpec((8, 128), lambda i, s_ref: (i, 0))
    return pl.pallas_call(
        _prefetch_kernel,
        grid_spec=pltpu.PrefetchScalarGridSpec(
            num_scalar_prefetch=1, grid=(2,), in_specs=[spec],
            out_specs=spec),
        out_shape=jax.ShapeDtypeStruct((16, 128), np.float32))(s, x)


def test_f32_scalar_prefetch_matches_jax(backend):
    """Scalar prefetch of f32 (JAX allows any 32-bit type and narrower)."""
    s = np.array([1.5, -0.25], np.float32)
    x = np.random.default_rng(5).standard_normal((16, 128)).astype(np.float32)
    want = jax_interpret(("f32_prefetch",), _prefetch_call, (s, x))
    with pallas_rs.interpret(backend):
        got = jax.jit(_prefetch_call)(s, x)
    assert_close(got, want, 0, 0, f"f32 prefetch on {backend}")
