"""JAX's own shipped Pallas TPU kernels, called unchanged, with small f32
inputs: each entry makes the call and its inputs."""

import functools

import jax.numpy as jnp
import numpy as np
from jax.experimental.pallas.ops.tpu import flash_attention as fa
from jax.experimental.pallas.ops.tpu import matmul as mm
from jax.experimental.pallas.ops.tpu.paged_attention import paged_attention


def _f32(rng, *shape):
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


def matmul(rng):
    x, y = _f32(rng, 256, 256), _f32(rng, 256, 256)
    return functools.partial(mm.matmul, block_shape=(128, 128), block_k=128), (x, y)


def _flash(rng, causal):
    b, h, s, d = 1, 2, 256, 64
    q, k, v = (_f32(rng, b, h, s, d) for _ in range(3))
    sizes = fa.BlockSizes(block_q=128, block_k_major=128, block_k=128, block_b=1)
    fn = functools.partial(fa.flash_attention, causal=causal, sm_scale=0.125,
                           block_sizes=sizes)
    return fn, (q, k, v)


def flash_attention(rng):
    return _flash(rng, False)


def flash_attention_causal(rng):
    return _flash(rng, True)


def paged(rng):
    batch, heads, kv_heads, d = 2, 4, 2, 128
    page_size, pages, per_seq = 16, 16, 4
    q = _f32(rng, batch, heads, d)
    k_pages = _f32(rng, kv_heads, pages, page_size, d)
    v_pages = _f32(rng, kv_heads, pages, page_size, d)
    lengths = np.array([37, 64], np.int32)
    page_indices = rng.permutation(pages)[:batch * per_seq].reshape(
        batch, per_seq).astype(np.int32)
    fn = functools.partial(paged_attention, pages_per_compute_block=2)
    return fn, (q, k_pages, v_pages, lengths, page_indices)


def splash(rng):
    from jax.experimental.pallas.ops.tpu.splash_attention import (
        splash_attention_kernel as sk, splash_attention_mask as sm)
    h, s, d = 2, 256, 128
    mask = sm.MultiHeadMask([sm.CausalMask((s, s)) for _ in range(h)])
    sizes = sk.BlockSizes(block_q=128, block_kv=128, block_kv_compute=128)
    kernel = sk.make_splash_mha(mask, head_shards=1, q_seq_shards=1,
                                block_sizes=sizes)
    q, k, v = (_f32(rng, h, s, d) for _ in range(3))
    return kernel, (q, k, v)


def gmm(rng):
    from jax.experimental.pallas.ops.tpu.megablox import gmm as gmm_fn
    m, k, n, groups = 256, 128, 128, 2
    lhs, rhs = _f32(rng, m, k), _f32(rng, groups, k, n)
    sizes = np.array([100, 156], np.int32)
    fn = functools.partial(gmm_fn, preferred_element_type=jnp.float32,
                           tiling=(128, 128, 128))
    return fn, (lhs, rhs, sizes)


KERNELS = {
    "matmul": matmul,
    "flash_attention": flash_attention,
    "flash_attention_causal": flash_attention_causal,
    "paged_attention": paged,
    "splash_attention": splash,
    "megablox_gmm": gmm,
}
