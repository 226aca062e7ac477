"""The twelve corpus kernels, written as ordinary Pallas TPU kernels, on
every backend, against JAX's own TPU interpret mode run here."""

import jax
import pytest

import pallas_rs

import corpus
from helpers import assert_close, jax_interpret

# (rtol, atol) per kernel against JAX (XLA on CPU). Exact where the kernel
# only moves data or does integer arithmetic; otherwise a few ulp of the
# values involved: transcendental functions (sin, exp) and sums in another
# order (dot, reductions, cumsum) round differently from XLA.
TOLERANCE = {
    "seed": (1e-6, 1e-6),            # sin: within 2 ulp
    "vector_add": (0, 0),            # one rounding, same as XLA
    "matmul": (1e-5, 1e-5),          # sums of 64 products in another order
    "softmax": (1e-5, 1e-7),         # exp, sum of 256
    "layer_norm": (1e-5, 1e-6),      # mean, variance, rsqrt
    "rms_norm": (1e-5, 1e-6),
    "cumsum_rows": (1e-5, 2e-5),     # prefix sums of 128 in another order
    "block_sum": (1e-5, 1e-5),       # sums of 128
    "flash_attention": (1e-5, 1e-6),
    "gather": (0, 0),
    "double_buffered_copy": (0, 0),  # x * 2 is exact
    "histogram": (0, 0),             # integers
}


@pytest.mark.parametrize("name", sorted(corpus.CASES))
def test_corpus_kernel_matches_jax(name, backend):
    fn, args = corpus.case(name)
    want = jax_interpret(name, fn, args)
    rtol, atol = TOLERANCE[name]
    with pallas_rs.interpret(backend):
        jitted = jax.jit(fn)(*args)
        eager = fn(*args)
    assert_close(jitted, want, rtol, atol, f"{name} on {backend} (jit)")
    assert_close(eager, want, rtol, atol, f"{name} on {backend} (eager)")


@pytest.mark.parametrize("name", sorted(corpus.CASES))
def test_corpus_kernel_under_simulator_checks(name):
    """Every corpus kernel is clean under race detection on two cores with
    a shuffled order and DMAs executed on wait."""
    fn, args = corpus.case(name)
    want = jax_interpret(name, fn, args)
    rtol, atol = TOLERANCE[name]
    with pallas_rs.interpret("sim", detect_races=True, num_cores_or_threads=2,
                             random_seed=3, dma_execution_mode="on_wait"):
        got = jax.jit(fn)(*args)
    assert_close(got, want, rtol, atol, f"{name} with every check on")
