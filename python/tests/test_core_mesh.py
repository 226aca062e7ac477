"""Core meshes (`pl.core_map` on `pltpu.create_tensorcore_mesh`) with HBM
that `pl.run_scoped` allocates: one buffer the mesh's cores share, as in
JAX's interpret mode (the reference here, run beside pallas-rs), refused
unless the call allows it, with JAX's message."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

import pallas_rs


def hand_off(num_cores, allow=True, ordered=True, space=None):
    """A function that copies `x` through one HBM buffer allocated in
    `run_scoped`: the last core writes `x` into it and the first copies it
    out, after a semaphore signal from the writer when `ordered`."""
    space = space or pltpu.HBM
    mesh = pltpu.create_tensorcore_mesh("core", num_cores=num_cores)
    writer, reader = num_cores - 1, 0

    @jax.jit
    def f(x):
        def inner(refs):
            x_ref, y_ref = refs

            @pl.core_map(mesh, interpret=pltpu.InterpretParams(
                allow_hbm_allocation_in_run_scoped=allow))
            def _():
                def with_sem(sem):
                    def use(buf):
                        me = jax.lax.axis_index("core")

                        @pl.when(me == writer)
                        def _():
                            pltpu.sync_copy(x_ref, buf)
                            if ordered and num_cores > 1:
                                pl.semaphore_signal(sem, 1, core_index=reader)

                        @pl.when(me == reader)
                        def _():
                            if ordered and num_cores > 1:
                                pl.semaphore_wait(sem, 1)
                            pltpu.sync_copy(buf, y_ref)

                    pl.run_scoped(use, space(x_ref.shape, x_ref.dtype))

                pl.run_scoped(with_sem, pltpu.SemaphoreType.REGULAR)

        _, y = pl.run_state(inner)((x, jnp.zeros_like(x)))
        return y

    return f


X = (jnp.arange(8 * 128, dtype=jnp.float32).reshape(8, 128) * 0.5 - 3.0)


@pytest.mark.parametrize("backend", ["sim", "cpu"])
def test_hbm_run_scoped_in_a_one_core_mesh_matches_jax(backend):
    f = hand_off(1)
    want = np.asarray(f(X))  # JAX's interpret mode
    with pallas_rs.interpret(backend=backend):
        got = np.asarray(hand_off(1)(X))
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, np.asarray(X))


@pytest.mark.parametrize("space", [pltpu.HBM, pl.ANY])
def test_cores_of_a_mesh_share_one_hbm_run_scoped_buffer(space):
    want = np.asarray(hand_off(2, space=space)(X))
    with pallas_rs.interpret(backend="sim", detect_races=True,
                             on_race="raise"):
        got = np.asarray(hand_off(2, space=space)(X))
    # What core 1 wrote, core 0 read: one buffer, not one per core.
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, np.asarray(X))


def test_unordered_cores_race_on_the_shared_buffer(capfd):
    # The call's own `InterpretParams` make the race a report on JAX
    # before 0.12 (its interpret mode goes on) and an error from 0.12.
    # The context turns the error XLA raises into the KernelError.
    try:
        with pallas_rs.interpret(backend="sim", detect_races=True):
            np.asarray(hand_off(2, ordered=False)(X))
        text = capfd.readouterr().err
    except pallas_rs.KernelError as e:
        text = str(e)
    assert "data race on `hbm_scoped0`" in text
    assert "core 0" in text and "core 1" in text


@pytest.mark.parametrize("backend", ["sim", "cpu"])
def test_hbm_run_scoped_is_refused_unless_allowed_as_jax_refuses_it(backend):
    with pytest.raises(ValueError, match="Cannot allocate HBM in `run_scoped`"):
        hand_off(1, allow=False)(X)  # JAX itself
    with pallas_rs.interpret(backend=backend):
        with pytest.raises(ValueError, match="Cannot allocate HBM in `run_scoped`"):
            hand_off(1, allow=False)(X)


def test_the_context_can_allow_hbm_run_scoped_for_every_call():
    mesh = pltpu.create_tensorcore_mesh("core", num_cores=1)

    @jax.jit
    def f(x):
        def inner(refs):
            x_ref, y_ref = refs

            @pl.core_map(mesh)
            def _():
                def use(buf):
                    pltpu.sync_copy(x_ref, buf)
                    pltpu.sync_copy(buf, y_ref)
                pl.run_scoped(use, pltpu.HBM(x_ref.shape, x_ref.dtype))

        _, y = pl.run_state(inner)((x, jnp.zeros_like(x)))
        return y

    with pallas_rs.interpret(backend="sim",
                             allow_hbm_allocation_in_run_scoped=True):
        got = np.asarray(f(X))
    np.testing.assert_array_equal(got, np.asarray(X))

