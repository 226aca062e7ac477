"""JAX's own shipped Pallas TPU kernels, unchanged, under
`pallas_rs.interpret`, against JAX's TPU interpret mode. Those that need
what pallas-rs does not have yet raise `UnsupportedError` with the exact
reason (the README's coverage table lists them)."""

import jax
import numpy as np
import pytest

import pallas_rs

import shipped
from helpers import assert_close, jax_interpret

RUNS = {
    # (rtol, atol): f32 attention and matmul, sums in another order.
    "matmul": (1e-5, 1e-5),
    "flash_attention": (1e-5, 1e-6),
    "flash_attention_causal": (1e-5, 1e-6),
    "megablox_gmm": (1e-5, 1e-5),
}

UNSUPPORTED = {
    # f32 inputs, but the kernel computes in bf16 internally.
    "paged_attention": ("convert_element_type: dtype bfloat16 is not "
                        "supported by pallas-rs yet"),
    # The mask metadata is int8 scalar prefetch.
    "splash_attention": ("scalar prefetch `data_next_ref`: dtype int8 is "
                         "not supported by pallas-rs yet"),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_shipped_kernel_matches_jax(name, backend):
    fn, args = shipped.KERNELS[name](np.random.default_rng(0))
    want = jax_interpret(("shipped", name), fn, args)
    rtol, atol = RUNS[name]
    with pallas_rs.interpret(backend):
        got = jax.jit(fn)(*args)
    assert_close(got, want, rtol, atol, f"{name} on {backend}")


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_shipped_kernel_unsupported_says_why(name):
    fn, args = shipped.KERNELS[name](np.random.default_rng(0))
    with pytest.raises(pallas_rs.UnsupportedError) as info:
        with pallas_rs.interpret("sim"):
            jax.jit(fn)(*args)
    assert UNSUPPORTED[name] in str(info.value)
    # It names the Python line of the kernel source.
    assert ".py:" in str(info.value)
