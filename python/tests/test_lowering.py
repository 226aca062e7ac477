"""One small kernel per group of lowering rules, each on every backend
against JAX's TPU interpret mode: masked loads and stores, shape ops,
reductions and argmax, control flow (fori_loop with static and dynamic
bounds, while, multi-way cond), run_scoped with scratch and a semaphore,
regular semaphores, input_output_aliases, num_programs in index maps,
strided and chained ref indexing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

import pallas_rs
from helpers import assert_close, jax_interpret

RNG = np.random.default_rng(11)
X = RNG.uniform(-1, 1, (16, 128)).astype(np.float32)
I = RNG.integers(-50, 50, (16, 128)).astype(np.int32)


def _call(kernel, out, *args, **kw):
    return pl.pallas_call(kernel, out_shape=out, **kw)(*args)


def masked(x):
    """pltpu.load / pltpu.store with masks (masked-off loaded elements are
    undefined, so they are replaced before use)."""
    def kernel(x_ref, o_ref):
        col = jax.lax.broadcasted_iota(jnp.int32, x_ref.shape, 1)
        keep = col < 100
        v = jnp.where(keep, pltpu.load(x_ref, mask=keep), -7.0)
        o_ref[...] = jnp.zeros_like(o_ref)
        pltpu.store(o_ref, v * 3, mask=col % 2 == 0)
    return _call(kernel, jax.ShapeDtypeStruct(x.shape, x.dtype), x)


def shapes(x):
    """reshape, transpose, concatenate, slicing, broadcast, expand/squeeze,
    iota, select_n, integer_pow, clamp, tile."""
    def kernel(x_ref, o_ref):
        v = x_ref[...]                                   # (16, 128)
        t = v.T                                          # (128, 16)
        r = t.reshape(16, 128)
        c = jnp.concatenate([v[:, :64], r[:, 64:]], axis=1)
        e = jnp.expand_dims(c[0], 0)                     # (1, 128)
        b = jnp.broadcast_to(e, (16, 128))
        i = jax.lax.broadcasted_iota(jnp.float32, (16, 128), 0)
        s = jnp.where(i > 7, c, b) ** 3
        o_ref[...] = jnp.clip(s, -0.5, 0.25) + jnp.tile(v[:8, :64], (2, 2))
    return _call(kernel, jax.ShapeDtypeStruct(x.shape, x.dtype), x)


def reductions(x):
    """sum/max/min/prod over each axis, argmax/argmin, keepdims."""
    def kernel(x_ref, s_ref, a_ref):
        v = x_ref[...]
        s_ref[...] = (jnp.sum(v, axis=1) + jnp.max(v, axis=1)
                      - jnp.min(v, axis=1) + jnp.prod(1 + v[:, :8] / 4, axis=1))
        a_ref[...] = (jnp.argmax(v, axis=1).astype(jnp.int32) * 1000
                      + jnp.argmin(v, axis=1).astype(jnp.int32))
    n = x.shape[0]
    return _call(kernel, (jax.ShapeDtypeStruct((n,), x.dtype),
                          jax.ShapeDtypeStruct((n,), jnp.int32)), x)


def loops(x):
    """fori_loop with static bounds and a carry, fori_loop with a bound read
    from memory (a while), and a three-way switch."""
    def kernel(n_ref, x_ref, o_ref):
        def body(i, acc):
            return acc + x_ref[pl.ds(i, 1), :] * (i + 1).astype(jnp.float32)
        acc = jax.lax.fori_loop(0, 8, body, jnp.zeros((1, 128), jnp.float32))
        n = n_ref[0]
        acc = jax.lax.fori_loop(0, n, lambda i, a: a * 0.5 + 1.0, acc)
        k = jax.lax.rem(n, 3)
        acc = jax.lax.switch(k, [lambda a: a + 1, lambda a: a * 2,
                                 lambda a: -a], acc)
        o_ref[...] = acc
    n = np.array([5], np.int32)
    return _call(kernel, jax.ShapeDtypeStruct((1, 128), x.dtype), n, x,
                 in_specs=[pl.BlockSpec(memory_space=pltpu.SMEM),
                           pl.BlockSpec(memory_space=pltpu.VMEM)])


def scoped(x):
    """run_scoped scratch with a DMA into it and a regular semaphore
    signalled and waited on one core."""
    def kernel(x_hbm, o_ref, sem):
        def body(buf, dsem):
            cp = pltpu.make_async_copy(x_hbm.at[pl.ds(8, 8)], buf, dsem)
            cp.start()
            cp.wait()
            pl.semaphore_signal(sem, 2)
            pl.semaphore_wait(sem, 2)
            o_ref[...] = buf[...] * 2
        pl.run_scoped(body, pltpu.VMEM((8, 128), jnp.float32),
                      pltpu.SemaphoreType.DMA(()))
    return _call(kernel, jax.ShapeDtypeStruct((8, 128), x.dtype), x,
                 in_specs=[pl.BlockSpec(memory_space=pl.ANY)],
                 out_specs=pl.BlockSpec(memory_space=pltpu.VMEM),
                 scratch_shapes=[pltpu.SemaphoreType.REGULAR(())])


def semaphore_count(x):
    """semaphore_read after two signals and one wait (JAX's interpret mode
    has no semaphore_read: the reference is NumPy's)."""
    def kernel(x_ref, o_ref, sem):
        pl.semaphore_signal(sem, 3)
        pl.semaphore_signal(sem, 4)
        pl.semaphore_wait(sem, 5)
        o_ref[...] = x_ref[...] + pl.semaphore_read(sem).astype(jnp.float32)
        pl.semaphore_wait(sem, 2)
    return _call(kernel, jax.ShapeDtypeStruct(x.shape, x.dtype), x,
                 scratch_shapes=[pltpu.SemaphoreType.REGULAR(())])


def aliased(x):
    """input_output_aliases: the output starts as the input; half the blocks
    are rewritten."""
    def kernel(x_ref, o_ref):
        o_ref[...] = x_ref[...] * 10
    return _call(kernel, jax.ShapeDtypeStruct(x.shape, x.dtype), x,
                 grid=(2,),
                 in_specs=[pl.BlockSpec((8, 128), lambda i: (i, 0))],
                 out_specs=pl.BlockSpec((8, 128), lambda i: (i, 0)),
                 input_output_aliases={0: 0})


def reversed_blocks(x):
    """num_programs inside an index map; strided and chained indexing."""
    def kernel(x_ref, o_ref):
        even = x_ref.at[pl.ds(0, 4, stride=2)]
        o_ref[...] = jnp.concatenate([even[...], x_ref.at[1:][pl.ds(0, 4), :]
                                      ], axis=0)
    return _call(kernel, jax.ShapeDtypeStruct(x.shape, x.dtype), x,
                 grid=(2,),
                 in_specs=[pl.BlockSpec(
                     (8, 128), lambda i: (pl.num_programs(0) - 1 - i, 0))],
                 out_specs=pl.BlockSpec((8, 128), lambda i: (i, 0)))


def integers(x):
    """Integer arithmetic, shifts, bit ops, comparisons, casts both ways."""
    def kernel(x_ref, o_ref):
        v = x_ref[...]
        u = v.astype(jnp.uint32)
        w = (u >> 3) ^ (u << 5)
        f = v.astype(jnp.float32) * 0.37
        o_ref[...] = (w.astype(jnp.int32) % 97 + (v // 7) * jnp.sign(v)
                      + f.astype(jnp.int32) + (v > 3).astype(jnp.int32))
    return _call(kernel, jax.ShapeDtypeStruct(x.shape, x.dtype), x)


def _masked_reference(x):
    col = np.arange(x.shape[1])[None, :]
    v = np.where(col < 100, x, np.float32(-7.0)) * np.float32(3)
    return np.where(col % 2 == 0, v, np.float32(0)).astype(np.float32)


# Kernels JAX's TPU interpret mode cannot run (it has no masked loads and no
# semaphore_read): an independent NumPy reference instead.
NUMPY_REFERENCE = {
    "masked": _masked_reference,
    "semaphore_count": lambda x: x + np.float32(2),
}

CASES = {
    # name: (fn, args, (rtol, atol))
    "masked": (masked, (X,), (0, 0)),
    "semaphore_count": (semaphore_count, (X,), (0, 0)),
    "shapes": (shapes, (X,), (1e-6, 1e-7)),      # x**3, then exact ops
    "reductions": (reductions, (X,), (1e-5, 1e-5)),  # sums of 128
    "loops": (loops, (X,), (1e-6, 1e-6)),
    "scoped": (scoped, (X,), (0, 0)),
    "aliased": (aliased, (X,), (0, 0)),
    "reversed_blocks": (reversed_blocks, (X,), (0, 0)),
    "integers": (integers, (I,), (0, 0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_lowering_matches_jax(name, backend):
    fn, args, (rtol, atol) = CASES[name]
    if name in NUMPY_REFERENCE:
        want = NUMPY_REFERENCE[name](*args)
    else:
        want = jax_interpret(("lowering", name), fn, args)
    with pallas_rs.interpret(backend):
        got = jax.jit(fn)(*args)
    if isinstance(got, (tuple, list)):
        for g, w in zip(got, want):
            assert_close(g, w, rtol, atol, f"{name} on {backend}")
    else:
        assert_close(got, want, rtol, atol, f"{name} on {backend}")
