"""The twelve corpus kernels of pallas-rs, written as ordinary Pallas TPU
kernels in Python (what a kernel author would write), each with a function
that makes its inputs. The tests run each under `pallas_rs.interpret` and
under JAX's own TPU interpret mode and compare."""

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu


def _params(*semantics):
    return pltpu.CompilerParams(dimension_semantics=semantics)


def seed(x, y, block=(16, 256)):
    """o = sin((x + y) * 2) (the seed workload)."""

    def kernel(x_ref, y_ref, o_ref):
        o_ref[...] = jnp.sin((x_ref[...] + y_ref[...]) * 2)

    grid = (x.shape[0] // block[0], x.shape[1] // block[1])
    spec = pl.BlockSpec(block, lambda i, j: (i, j))
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=grid,
        in_specs=[spec, spec],
        out_specs=spec,
        compiler_params=_params("parallel", "parallel"),
    )(x, y)


def vector_add(x, y):
    """o = x + y over 1000 elements in blocks of 128 (the last is partial)."""

    def kernel(x_ref, y_ref, o_ref):
        o_ref[...] = x_ref[...] + y_ref[...]

    spec = pl.BlockSpec((128,), lambda i: (i,))
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(pl.cdiv(x.shape[0], 128),),
        in_specs=[spec, spec],
        out_specs=spec,
    )(x, y)


def matmul(x, y, bm=32, bn=32, bk=16):
    """Tiled x @ y with an f32 scratch accumulator over an arbitrary K axis."""
    m, k = x.shape
    _, n = y.shape

    def kernel(x_ref, y_ref, o_ref, acc_ref):
        @pl.when(pl.program_id(2) == 0)
        def _():
            acc_ref[...] = jnp.zeros_like(acc_ref)

        acc_ref[...] += jnp.dot(x_ref[...], y_ref[...],
                                preferred_element_type=jnp.float32)

        @pl.when(pl.program_id(2) == pl.num_programs(2) - 1)
        def _():
            o_ref[...] = acc_ref[...]

    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((m, n), jnp.float32),
        grid=(m // bm, n // bn, k // bk),
        in_specs=[pl.BlockSpec((bm, bk), lambda i, j, kk: (i, kk)),
                  pl.BlockSpec((bk, bn), lambda i, j, kk: (kk, j))],
        out_specs=pl.BlockSpec((bm, bn), lambda i, j, kk: (i, j)),
        scratch_shapes=[pltpu.VMEM((bm, bn), jnp.float32)],
        compiler_params=_params("parallel", "parallel", "arbitrary"),
    )(x, y)


def softmax(x, rows=8):
    """Row softmax, `rows` rows per block."""

    def kernel(x_ref, o_ref):
        v = x_ref[...]
        m = jnp.max(v, axis=1, keepdims=True)
        e = jnp.exp(v - m)
        o_ref[...] = e / jnp.sum(e, axis=1, keepdims=True)

    spec = pl.BlockSpec((rows, x.shape[1]), lambda i: (i, 0))
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(x.shape[0] // rows,),
        in_specs=[spec],
        out_specs=spec,
    )(x)


def layer_norm(x, gamma, beta, rows=8, eps=1e-5):
    """Layer norm of rows with gamma and beta."""

    def kernel(x_ref, g_ref, b_ref, o_ref):
        v = x_ref[...]
        mean = jnp.mean(v, axis=1, keepdims=True)
        c = v - mean
        var = jnp.mean(c * c, axis=1, keepdims=True)
        o_ref[...] = c * jax.lax.rsqrt(var + eps) * g_ref[...] + b_ref[...]

    n = x.shape[1]
    spec = pl.BlockSpec((rows, n), lambda i: (i, 0))
    vec = pl.BlockSpec((n,), lambda i: (0,))
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(x.shape[0] // rows,),
        in_specs=[spec, vec, vec],
        out_specs=spec,
    )(x, gamma, beta)


def rms_norm(x, w, rows=8, eps=1e-6):
    """RMS norm of rows with a weight."""

    def kernel(x_ref, w_ref, o_ref):
        v = x_ref[...]
        ms = jnp.mean(v * v, axis=-1, keepdims=True)
        o_ref[...] = v / jnp.sqrt(ms + eps) * w_ref[...]

    n = x.shape[1]
    spec = pl.BlockSpec((rows, n), lambda i: (i, 0))
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(x.shape[0] // rows,),
        in_specs=[spec, pl.BlockSpec((n,), lambda i: (0,))],
        out_specs=spec,
    )(x, w)


def cumsum_rows(x, rows=8):
    """Inclusive cumulative sum along each row."""

    def kernel(x_ref, o_ref):
        o_ref[...] = jnp.cumsum(x_ref[...], axis=1)

    spec = pl.BlockSpec((rows, x.shape[1]), lambda i: (i, 0))
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(x.shape[0] // rows,),
        in_specs=[spec],
        out_specs=spec,
    )(x)


def block_sum(x, block=128):
    """The sum of each block of `block` elements, one scalar per block in
    SMEM."""

    def kernel(x_ref, s_ref):
        s_ref[0] = jnp.sum(x_ref[...])

    nb = x.shape[0] // block
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((nb,), x.dtype),
        grid=(nb,),
        in_specs=[pl.BlockSpec((block,), lambda i: (i,))],
        out_specs=pl.BlockSpec((1,), lambda i: (i,),
                               memory_space=pltpu.SMEM),
    )(x)


def flash_attention(q, k, v, bq=32, bk=64):
    """Flash-attention forward, one head, online softmax over KV blocks."""
    n, d = q.shape
    nk = k.shape[0]
    scale = 1.0 / np.sqrt(d)

    def kernel(q_ref, k_ref, v_ref, o_ref, m_ref, l_ref, acc_ref):
        j = pl.program_id(1)

        @pl.when(j == 0)
        def _():
            m_ref[...] = jnp.full_like(m_ref, -jnp.inf)
            l_ref[...] = jnp.zeros_like(l_ref)
            acc_ref[...] = jnp.zeros_like(acc_ref)

        s = jax.lax.dot_general(q_ref[...], k_ref[...],
                                (((1,), (1,)), ((), ())),
                                preferred_element_type=jnp.float32) * scale
        m_prev = m_ref[...]
        m_new = jnp.maximum(m_prev, jnp.max(s, axis=1, keepdims=True))
        p = jnp.exp(s - m_new)
        alpha = jnp.exp(m_prev - m_new)
        l_ref[...] = alpha * l_ref[...] + jnp.sum(p, axis=1, keepdims=True)
        acc_ref[...] = acc_ref[...] * alpha + jnp.dot(p, v_ref[...])
        m_ref[...] = m_new

        @pl.when(j == pl.num_programs(1) - 1)
        def _():
            o_ref[...] = acc_ref[...] / l_ref[...]

    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((n, d), q.dtype),
        grid=(n // bq, nk // bk),
        in_specs=[pl.BlockSpec((bq, d), lambda i, j: (i, 0)),
                  pl.BlockSpec((bk, d), lambda i, j: (j, 0)),
                  pl.BlockSpec((bk, d), lambda i, j: (j, 0))],
        out_specs=pl.BlockSpec((bq, d), lambda i, j: (i, 0)),
        scratch_shapes=[pltpu.VMEM((bq, 1), jnp.float32),
                        pltpu.VMEM((bq, 1), jnp.float32),
                        pltpu.VMEM((bq, d), jnp.float32)],
        compiler_params=_params("parallel", "arbitrary"),
    )(q, k, v)


def gather(idx, table, rows=8):
    """Gathers `rows`-row blocks of a table by an index table in scalar
    prefetch."""

    def kernel(idx_ref, t_ref, o_ref):
        o_ref[...] = t_ref[...]

    n = idx.shape[0]
    grid_spec = pltpu.PrefetchScalarGridSpec(
        num_scalar_prefetch=1,
        grid=(n,),
        in_specs=[pl.BlockSpec((rows, table.shape[1]),
                               lambda i, idx_ref: (idx_ref[i], 0))],
        out_specs=pl.BlockSpec((rows, table.shape[1]),
                               lambda i, idx_ref: (i, 0)),
    )
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((n * rows, table.shape[1]),
                                       table.dtype),
        grid_spec=grid_spec,
    )(idx, table)


def double_buffered_copy(x, chunk=16):
    """o = 2 * x, copied from HBM in chunks with a manual double buffer."""
    n_chunks = x.shape[0] // chunk

    def kernel(x_hbm, o_ref, buf, sem):
        def copy(c, slot):
            return pltpu.make_async_copy(
                x_hbm.at[pl.ds(c * chunk, chunk)], buf.at[slot], sem.at[slot])

        copy(0, 0).start()

        def body(c, carry):
            slot = c % 2

            @pl.when(c + 1 < n_chunks)
            def _():
                copy(c + 1, 1 - slot).start()

            copy(c, slot).wait()
            o_ref[pl.ds(c * chunk, chunk), :] = buf[slot] * 2
            return carry

        jax.lax.fori_loop(0, n_chunks, body, 0)

    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        in_specs=[pl.BlockSpec(memory_space=pl.ANY)],
        out_specs=pl.BlockSpec(memory_space=pltpu.VMEM),
        scratch_shapes=[pltpu.VMEM((2, chunk, x.shape[1]), x.dtype),
                        pltpu.SemaphoreType.DMA((2,))],
    )(x)


def histogram(x, bins=16, block=128):
    """Histogram of ints in [0, bins) with read-modify-write in a loop; the
    last block is partial and masked by the element count."""
    n = x.shape[0]

    def kernel(x_ref, h_ref):
        i = pl.program_id(0)

        @pl.when(i == 0)
        def _():
            h_ref[...] = jnp.zeros_like(h_ref)

        def body(e, carry):
            @pl.when(i * block + e < n)
            def _():
                b = x_ref[e]
                h_ref[b] = h_ref[b] + 1
            return carry

        jax.lax.fori_loop(0, block, body, 0)

    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((bins,), jnp.int32),
        grid=(pl.cdiv(n, block),),
        in_specs=[pl.BlockSpec((block,), lambda i: (i,))],
        out_specs=pl.BlockSpec(memory_space=pltpu.SMEM),
        compiler_params=_params("arbitrary"),
    )(x)


def _rng(seed):
    return np.random.default_rng(seed)


def _f32(rng, *shape):
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


CASES = {
    "seed": lambda r: (seed, (_f32(r, 16, 2048), _f32(r, 16, 2048))),
    "vector_add": lambda r: (vector_add, (_f32(r, 1000), _f32(r, 1000))),
    "matmul": lambda r: (matmul, (_f32(r, 64, 64), _f32(r, 64, 64))),
    "softmax": lambda r: (softmax, (_f32(r, 64, 256),)),
    "layer_norm": lambda r: (layer_norm,
                             (_f32(r, 64, 256), _f32(r, 256), _f32(r, 256))),
    "rms_norm": lambda r: (rms_norm, (_f32(r, 64, 256), _f32(r, 256))),
    "cumsum_rows": lambda r: (cumsum_rows, (_f32(r, 32, 128),)),
    "block_sum": lambda r: (block_sum, (_f32(r, 1024),)),
    "flash_attention": lambda r: (flash_attention,
                                  (_f32(r, 128, 64), _f32(r, 256, 64),
                                   _f32(r, 256, 64))),
    "gather": lambda r: (gather, (r.permutation(8)[:6].astype(np.int32),
                                  _f32(r, 64, 128))),
    "double_buffered_copy": lambda r: (double_buffered_copy,
                                       (_f32(r, 64, 128),)),
    "histogram": lambda r: (histogram,
                            (r.integers(0, 16, size=1000).astype(np.int32),)),
}


def case(name, seed_=0):
    """The kernel function and its inputs for a corpus case."""
    return CASES[name](_rng(seed_))
