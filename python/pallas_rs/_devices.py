"""Multi-device launches under `shard_map`: the mesh a `pallas_call` sees,
this device's logical id, and the rendezvous that turns one host callback
per device into one launch for all of them.

Under `jax.jit(shard_map(...))` XLA runs the kernel's host callback once
per device, each on a thread of its own. A kernel whose devices talk to one
another (remote DMAs, signals, the barrier) must run as one launch of the
simulator, which holds every device's memory: each callback hands its
shard to a `Rendezvous`, the last one to arrive launches the kernel on the
shards stacked along a leading device axis (logical id order), and each
takes back its own slice of the outputs."""

from __future__ import annotations

import threading

import numpy as np
from jax import lax

from . import _compat
from ._compat import mlir

# How long a device waits for the others before it gives up (seconds).
RENDEZVOUS_TIMEOUT_S = 300.0


def mesh_axes() -> tuple:
    """The `(name, size)` axes of the enclosing `shard_map`'s mesh (empty
    outside one), in the axis environment's order."""
    sizes = _compat.axis_sizes()
    return tuple((name, int(size)) for name, size in sizes.items()
                 if name is not None)


def logical_id(axes):
    """This device's logical id, row-major over `axes` (traced: call it
    while the enclosing `shard_map` is being lowered)."""
    flat = None
    for name, size in axes:
        idx = lax.axis_index(name)
        flat = idx if flat is None else flat * size + idx
    return flat


def lower_multi_device_call(ctx, in_nodes, call, axes):
    """Lowers a multi-device launch: one host callback per device, given
    the device's logical id and its operands as host arrays.

    Not `jax.pure_callback`: that one first copies its operands onto CPU
    device 0, and with every device's callback blocked at the rendezvous a
    large copy can wait for an XLA worker thread that never comes (JAX's
    own interpret mode hangs so on a 2-core machine from a few hundred KiB
    per device). The raw host callback hands over the arrays XLA already
    holds."""
    i32 = _compat.ShapedArray((), np.dtype(np.int32))
    id_ctx = ctx.replace(avals_in=[], avals_out=[i32])
    (device,) = mlir.lower_fun(lambda: [logical_id(axes)],
                               multiple_results=True)(id_ctx)

    def host(device, *args):
        return call(device, *(np.asarray(a) for a in args))

    call_ctx = ctx.replace(avals_in=[i32, *ctx.avals_in])
    return _compat.emit_host_callback(
        call_ctx, host, [device, *in_nodes], [i32, *ctx.avals_in],
        ctx.avals_out)


class RendezvousError(RuntimeError):
    """Not every device reached a multi-device launch."""


class Rendezvous:
    """Gathers one call per device, runs `launch` once on all of them, and
    hands each device its part of the result."""

    def __init__(self, kernel: str, num_devices: int,
                 timeout_s: float = RENDEZVOUS_TIMEOUT_S):
        self._kernel = kernel
        self._n = num_devices
        self._timeout = timeout_s
        self._cv = threading.Condition()
        self._generation = 0
        self._arrived: dict = {}
        # generation -> [result or exception, devices yet to collect it]
        self._done: dict = {}

    def run(self, device: int, args, launch):
        """Called by each device with its operands; `launch(per_device)`
        gets the list of every device's operands (by logical id) and
        returns one result per device. Returns this device's result."""
        if not 0 <= device < self._n:
            raise RendezvousError(
                f"kernel `{self._kernel}`: device id {device} is outside the "
                f"mesh of {self._n} devices")
        with self._cv:
            if device in self._arrived:
                raise RendezvousError(
                    f"kernel `{self._kernel}`: device {device} launched the "
                    "multi-device kernel twice before every device had "
                    "launched it once (is the shard_map manual over every "
                    "mesh axis?)")
            generation = self._generation
            self._arrived[device] = args
            leader = len(self._arrived) == self._n
            if leader:
                gathered = [self._arrived[d] for d in range(self._n)]
                self._arrived = {}
                self._generation += 1
            else:
                ok = self._cv.wait_for(lambda: generation in self._done,
                                       timeout=self._timeout)
                if not ok:
                    missing = sorted(set(range(self._n)) - set(self._arrived))
                    self._arrived.pop(device, None)
                    raise RendezvousError(
                        f"kernel `{self._kernel}`: device {device} waited "
                        f"{self._timeout:.0f} s for devices {missing} to reach "
                        f"the launch of this {self._n}-device kernel; every "
                        "device of the mesh must call it")
        if leader:
            try:
                outcome = launch(gathered)
            except BaseException as e:  # noqa: BLE001 - handed to every device
                outcome = e
            with self._cv:
                self._done[generation] = [outcome, self._n]
                self._cv.notify_all()
        with self._cv:
            entry = self._done[generation]
            entry[1] -= 1
            if entry[1] == 0:
                del self._done[generation]
        outcome = entry[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome[device]
