"""JAX's own shipped Pallas TPU kernels, unchanged, under
`pallas_rs.interpret`, against JAX's TPU interpret mode. Those that need
what pallas-rs does not have yet raise `UnsupportedError` with the exact
reason (the README's coverage table lists them)."""

import jax
import numpy as np
import pytest

import pallas_rs

import shipped
from conftest import skip_without_backend
from helpers import assert_close, jax_interpret

RUNS = {
    # (rtol, atol): f32 attention and matmul, sums in another order.
    "matmul": (1e-5, 1e-5),
    "flash_attention": (1e-5, 1e-6),
    "flash_attention_causal": (1e-5, 1e-6),
    "megablox_gmm": (1e-5, 1e-5),
    "paged_attention": (1e-5, 1e-5),
}

# Kernels a backend refuses by name: (backend, name) -> reason.
UNSUPPORTED = {
    # Paged attention keeps its loop state in its scalar-prefetch refs
    # (SMEM), which JAX lets a kernel write; the GPU binds inputs
    # read-only.
    ("wgpu", "paged_attention"): "a store into input `init_flag_ref`",
}

FAULTS = {}
if pallas_rs._compat.JAX_VERSION < (0, 12):
    # Up to JAX 0.11 its m, l and o "scratch" are outputs that keep block
    # (0, 0) at every grid point, also across the parallel head dimension:
    # on a two-core TPU both cores write them back (the wrapper discards
    # them). The default check reports it.
    FAULTS["splash_attention"] = (
        "output `m_scratch_ref` block [0, 0] is written at grid points "
        "[0, 0, 0] and [1, 0, 0], which differ in dimension 0, declared "
        "parallel")
else:
    # From JAX 0.12 they are scratch buffers: the kernel runs.
    RUNS["splash_attention"] = (1e-5, 1e-5)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_shipped_kernel_matches_jax(name, backend):
    if (backend, name) in UNSUPPORTED:
        pytest.skip(f"{backend} refuses {name}: see "
                    "test_shipped_kernel_unsupported_says_why")
    if name == "paged_attention" and pallas_rs._compat.JAX_VERSION >= (0, 12):
        # JAX 0.12's version of the kernel: the simulator reports a load of
        # `k_vmem_buffer` while a DMA into it is in flight (and the fast
        # mode, which checks nothing, is not compared alone). Not yet
        # examined whether the kernel or the check is at fault.
        pytest.skip("JAX 0.12's paged_attention: in-flight DMA hazard on "
                    "k_vmem_buffer reported by the simulator (open)")
    fn, args = shipped.KERNELS[name](np.random.default_rng(0))
    want = jax_interpret(("shipped", name), fn, args)
    rtol, atol = RUNS[name]
    with pallas_rs.interpret(backend):
        got = jax.jit(fn)(*args)
    assert_close(got, want, rtol, atol, f"{name} on {backend}")


@pytest.mark.parametrize("backend_name", sorted(UNSUPPORTED))
def test_shipped_kernel_unsupported_says_why(backend_name):
    backend, name = backend_name
    skip_without_backend(backend)
    fn, args = shipped.KERNELS[name](np.random.default_rng(0))
    with pytest.raises(pallas_rs.UnsupportedError) as info:
        with pallas_rs.interpret(backend):
            jax.jit(fn)(*args)
    assert UNSUPPORTED[backend_name] in str(info.value)
    # It names the Python line of the kernel source.
    assert ".py:" in str(info.value)


@pytest.mark.parametrize("name", ["splash_attention"])
def test_shipped_kernel_fault_says_why(name):
    if name not in FAULTS:
        pytest.skip(f"JAX {jax.__version__}'s {name} declares its scratch as "
                    "scratch: it runs (test_shipped_kernel_matches_jax)")
    fn, args = shipped.KERNELS[name](np.random.default_rng(0))
    with pytest.raises(pallas_rs.KernelError) as info:
        with pallas_rs.interpret("sim"):
            jax.block_until_ready(jax.jit(fn)(*args))
    assert FAULTS[name] in str(info.value)
