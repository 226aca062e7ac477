"""Helpers of the Python tests: JAX's own TPU interpret mode as the
oracle, and comparisons with stated tolerances."""

import jax
import numpy as np
from jax.experimental.pallas import tpu as pltpu

_oracle_cache = {}


def jax_interpret(key, fn, args):
    """`fn(*args)` under JAX's TPU interpret mode (run once per key)."""
    if key not in _oracle_cache:
        with pltpu.force_tpu_interpret_mode(pltpu.InterpretParams()):
            out = jax.jit(fn)(*args)
            _oracle_cache[key] = (tuple(np.asarray(o) for o in out)
                                  if isinstance(out, (tuple, list))
                                  else np.asarray(out))
    return _oracle_cache[key]


def assert_close(got, want, rtol, atol, what=""):
    got = np.asarray(got)
    assert got.shape == want.shape and got.dtype == want.dtype, (
        f"{what}: {got.dtype}{got.shape} vs {want.dtype}{want.shape}")
    if rtol == 0 and atol == 0:
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol,
                                   err_msg=what)
