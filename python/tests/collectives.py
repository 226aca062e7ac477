"""Multi-device Pallas TPU kernels for the distributed tests, written as
JAX users write them (in the shapes of JAX's distributed interpret tests):
remote copies with `pltpu.make_async_remote_copy`, the barrier semaphore,
signals to other devices, all under `jax.shard_map` on a 1-D mesh `x`.

Each builder takes the mesh and optionally a planted bug, and returns
`(fn, x, reference)`: the jitted function, its sharded input, and a NumPy
function computing what it must return from the global input."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

P = jax.sharding.PartitionSpec
MESH = pl.DeviceIdType.MESH


def mesh_of(n):
    """A 1-D mesh `x` over the first `n` CPU devices."""
    return jax.make_mesh((n,), ("x",), devices=jax.devices()[:n])


def _neighbours(n, bug=None):
    me = lax.axis_index("x")
    right = lax.rem(me + 1, n)
    if bug == "clamped_left":
        # Device 0 names itself instead of device n-1: n-1 waits forever.
        left = lax.max(me - 1, 0)
    else:
        left = lax.rem(me + n - 1, n)
    return me, left, right


def _barrier(left, right, bug=None):
    """Meets both neighbours before any data moves."""
    bar = pltpu.get_barrier_semaphore()
    pl.semaphore_signal(bar, 1, device_id=(left,), device_id_type=MESH)
    pl.semaphore_signal(bar, 1, device_id=(right,), device_id_type=MESH)
    if bug == "extra_signal":
        pl.semaphore_signal(bar, 1, device_id=(right,), device_id_type=MESH)
    pl.semaphore_wait(bar, 2)


def _sharded(mesh, shape, spec, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return jax.device_put(x, jax.sharding.NamedSharding(mesh, spec))


def _shard_map(kernel_call, mesh, in_spec, out_spec, jit=True):
    f = jax.shard_map(kernel_call, mesh=mesh, in_specs=in_spec,
                      out_specs=out_spec, check_vma=False)
    return jax.jit(f) if jit else f


def right_permute(mesh, bug=None, jit=True):
    """Each device sends its (8, 128) shard to its right neighbour (HBM to
    HBM); `jit=False` leaves the `shard_map` unjitted (run eagerly)."""
    n = mesh.shape["x"]

    def kernel(x_ref, o_ref, send, recv):
        _, left, right = _neighbours(n, bug)
        _barrier(left, right, bug)
        copy = pltpu.make_async_remote_copy(
            src_ref=x_ref, dst_ref=o_ref, send_sem=send, recv_sem=recv,
            device_id=(right,), device_id_type=MESH)
        copy.start()
        if bug == "no_recv_wait":
            copy.wait_send()
        else:
            copy.wait()

    call = pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((8, 128), jnp.float32),
        grid_spec=pltpu.PrefetchScalarGridSpec(
            num_scalar_prefetch=0,
            in_specs=[pl.BlockSpec(memory_space=pl.ANY)],
            out_specs=pl.BlockSpec(memory_space=pl.ANY),
            scratch_shapes=[pltpu.SemaphoreType.DMA] * 2),
        compiler_params=pltpu.CompilerParams(collective_id=0),
    )
    x = _sharded(mesh, (8, 128 * n), P(None, "x"))

    def reference(x):
        shards = np.split(x, n, axis=1)
        return np.concatenate([shards[(d - 1) % n] for d in range(n)], axis=1)

    return (_shard_map(call, mesh, P(None, "x"), P(None, "x"), jit), x,
            reference)


def ring_all_gather(mesh, bug=None, rows=8):
    """A ring all-gather of (rows, 128) shards over a grid of n-1 steps:
    step s forwards to the right the slot that arrived from the left at
    step s-1, with one receive semaphore per step."""
    n = mesh.shape["x"]

    def kernel(x_ref, o_ref, local_sem, send_sem, recv_sems):
        step = pl.program_id(0)
        me, left, right = _neighbours(n, bug)
        slot = lax.rem(me - step + n, n)

        @pl.when(step == 0)
        def _():
            _barrier(left, right, bug)
            local = pltpu.make_async_copy(x_ref, o_ref.at[me], local_sem)
            local.start()
            local.wait()

        copy = pltpu.make_async_remote_copy(
            src_ref=o_ref.at[slot], dst_ref=o_ref.at[slot],
            send_sem=send_sem, recv_sem=recv_sems.at[step],
            device_id=(right,), device_id_type=MESH)
        copy.start()
        if bug == "no_recv_wait":
            copy.wait_send()
            # The receive is counted only at the end: nothing orders the
            # next step's send of this slot after its arrival.
            @pl.when(step == n - 2)
            def _():
                for s in range(n - 1):
                    pltpu.make_async_copy(
                        o_ref.at[0], o_ref.at[0], recv_sems.at[s]).wait()
        else:
            copy.wait()

    call = pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((n, rows, 128), jnp.float32),
        grid_spec=pltpu.PrefetchScalarGridSpec(
            num_scalar_prefetch=0,
            in_specs=[pl.BlockSpec(memory_space=pl.ANY)],
            out_specs=pl.BlockSpec(memory_space=pl.ANY),
            scratch_shapes=[pltpu.SemaphoreType.DMA] * 2
            + [pltpu.SemaphoreType.DMA((n - 1,))],
            grid=(n - 1,)),
        compiler_params=pltpu.CompilerParams(collective_id=0),
    )
    x = _sharded(mesh, (rows * n, 128), P("x", None), seed=1)

    def reference(x):
        return np.concatenate([x.reshape(n, rows, 128)] * n, axis=0)

    return _shard_map(call, mesh, P("x", None), P("x", None)), x, reference


def all_reduce(mesh, bug=None):
    """A ring all-reduce (sum) over a grid of n steps: the partial sum
    travels right through an HBM double buffer (an output), each device
    adding what arrives into its VMEM output; a REGULAR `capacity`
    semaphore tells the left neighbour a slot is free."""
    n = mesh.shape["x"]

    def kernel(x_ref, o_ref, hbm, copy_sem, recv_sem, send_sem, capacity,
               scratch):
        step = pl.program_id(0)
        working = lax.rem(step, 2)
        receiving = 1 - working
        _, left, right = _neighbours(n, bug)

        @pl.when(step == 0)
        def _():
            _barrier(left, right, bug)
            o_ref[...] = jnp.zeros_like(o_ref)
            scratch[...] = jnp.zeros_like(scratch)
            first = pltpu.make_async_remote_copy(
                src_ref=x_ref, dst_ref=hbm.at[working], send_sem=send_sem,
                recv_sem=recv_sem, device_id=(right,), device_id_type=MESH)
            first.start()
            first.wait()

        pl.semaphore_signal(capacity, 1, device_id=(left,),
                               device_id_type=MESH)
        local = pltpu.make_async_copy(hbm.at[working], scratch, copy_sem)
        local.start()
        pl.semaphore_wait(capacity, 1)
        onward = pltpu.make_async_remote_copy(
            src_ref=hbm.at[working], dst_ref=hbm.at[receiving],
            send_sem=send_sem, recv_sem=recv_sem, device_id=(right,),
            device_id_type=MESH)
        onward.start()
        if bug == "read_before_wait":
            o_ref[...] += scratch[...]
            local.wait()
        else:
            local.wait()
            o_ref[...] += scratch[...]
        onward.wait()

    call = pl.pallas_call(
        kernel,
        out_shape=(jax.ShapeDtypeStruct((8, 128), jnp.float32),
                   jax.ShapeDtypeStruct((2, 8, 128), jnp.float32)),
        grid_spec=pltpu.PrefetchScalarGridSpec(
            num_scalar_prefetch=0,
            in_specs=[pl.BlockSpec(memory_space=pltpu.VMEM)],
            out_specs=[pl.BlockSpec(memory_space=pltpu.VMEM),
                       pl.BlockSpec(memory_space=pl.ANY)],
            grid=(n,),
            scratch_shapes=[pltpu.SemaphoreType.DMA] * 3
            + [pltpu.SemaphoreType.REGULAR, pltpu.VMEM((8, 128), jnp.float32)]),
        compiler_params=pltpu.CompilerParams(collective_id=0),
    )

    def summed(x):
        return call(x)[0]

    x = _sharded(mesh, (8, 128 * n), P(None, "x"), seed=2)

    def reference(x):
        total = np.sum(np.stack(np.split(x.astype(np.float64), n, axis=1)), 0)
        return np.concatenate([total] * n, axis=1)

    return _shard_map(summed, mesh, P(None, "x"), P(None, "x")), x, reference


def reduce_scatter(mesh, bug=None, rows=16):
    """A bidirectional ring reduce-scatter (sum) over a grid of n steps:
    each device's input holds one (rows, 128) chunk per device; the top
    halves of the chunks travel left and the bottom halves right, each
    device adding its own contribution as a partial sum passes, through an
    HBM double buffer (an output) with REGULAR `capacity` semaphores that
    tell a sender a slot is free again. Device c ends with the sum of every
    device's chunk c."""
    n = mesh.shape["x"]
    half = rows // 2
    top, bottom = pl.ds(0, half), pl.ds(half, half)

    def kernel(x_ref, o_ref, hbm, local_sem, send_l, recv_l, send_r, recv_r,
               cap_l, cap_r, acc, tmp):
        step = pl.program_id(0)
        me, left, right = _neighbours(n, bug)
        slot = lax.rem(step, 2)
        # The chunks whose partial sums pass through here at this step.
        c_left = lax.rem(me + step + 1, n)
        c_right = lax.rem(me - step - 1 + 2 * n, n)

        @pl.when(step == 0)
        def _():
            _barrier(left, right, bug)
            acc[top, :] = x_ref[c_left, top, :]
            acc[bottom, :] = x_ref[c_right, bottom, :]

        @pl.when(step > 0)
        def _():
            prev = pltpu.make_async_copy(hbm.at[1 - slot], tmp, local_sem)
            prev.start()
            prev.wait()
            acc[top, :] = tmp[top, :] + x_ref[c_left, top, :]
            acc[bottom, :] = tmp[bottom, :] + x_ref[c_right, bottom, :]

            # Slot 1 - slot is read: its senders may fill it again.
            @pl.when(step <= n - 3)
            def _():
                pl.semaphore_signal(cap_l, 1, device_id=(right,),
                                    device_id_type=MESH)
                pl.semaphore_signal(cap_r, 1, device_id=(left,),
                                    device_id_type=MESH)

        @pl.when(step < n - 1)
        def _():
            @pl.when(step >= 2)
            def _():
                if bug != "no_capacity_wait":
                    pl.semaphore_wait(cap_l, 1)
                    pl.semaphore_wait(cap_r, 1)

            to_left = pltpu.make_async_remote_copy(
                src_ref=acc.at[top], dst_ref=hbm.at[slot, top],
                send_sem=send_l, recv_sem=recv_l, device_id=(left,),
                device_id_type=MESH)
            to_right = pltpu.make_async_remote_copy(
                src_ref=acc.at[bottom], dst_ref=hbm.at[slot, bottom],
                send_sem=send_r, recv_sem=recv_r, device_id=(right,),
                device_id_type=MESH)
            to_left.start()
            to_right.start()
            to_left.wait()
            to_right.wait()

        @pl.when(step == n - 1)
        def _():
            o_ref[...] = acc[...]

    call = pl.pallas_call(
        kernel,
        out_shape=(jax.ShapeDtypeStruct((rows, 128), jnp.float32),
                   jax.ShapeDtypeStruct((2, rows, 128), jnp.float32)),
        grid_spec=pltpu.PrefetchScalarGridSpec(
            num_scalar_prefetch=0,
            in_specs=[pl.BlockSpec(memory_space=pltpu.VMEM)],
            out_specs=[pl.BlockSpec(memory_space=pltpu.VMEM),
                       pl.BlockSpec(memory_space=pl.ANY)],
            grid=(n,),
            scratch_shapes=[pltpu.SemaphoreType.DMA] * 5
            + [pltpu.SemaphoreType.REGULAR] * 2
            + [pltpu.VMEM((rows, 128), jnp.float32)] * 2),
        compiler_params=pltpu.CompilerParams(collective_id=0),
    )

    def per_device(x):
        return call(x.reshape(n, rows, 128))[0]

    x = _sharded(mesh, (rows * n, 128 * n), P(None, "x"), seed=4)

    def reference(x):
        shards = [s.reshape(n, rows, 128).astype(np.float64)
                  for s in np.split(x, n, axis=1)]
        return np.concatenate([sum(s[c] for s in shards) for c in range(n)])

    return _shard_map(per_device, mesh, P(None, "x"), P("x", None)), x, reference


def shipped_all_gather(mesh, memory_space=pltpu.VMEM):
    """JAX's shipped `jax.experimental.pallas.ops.tpu.all_gather`,
    unchanged: halves of each shard travel both ways round the ring."""
    from jax.experimental.pallas.ops.tpu import all_gather as shipped
    n = mesh.shape["x"]
    fn = functools.partial(shipped.all_gather, mesh=mesh, axis_name="x",
                           memory_space=memory_space)
    x = _sharded(mesh, (8 * n, 128), P("x", None), seed=3)
    return fn, x, lambda x: x


KERNELS = {
    "right_permute": right_permute,
    "ring_all_gather": ring_all_gather,
    "all_reduce": all_reduce,
    "reduce_scatter": reduce_scatter,
    "shipped_all_gather_vmem": functools.partial(shipped_all_gather,
                                                 memory_space=pltpu.VMEM),
    "shipped_all_gather_hbm": functools.partial(shipped_all_gather,
                                                memory_space=pl.ANY),
}
