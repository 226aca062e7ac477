"""The device mesh of a kernel run under `shard_map`: its axes as the
kernel's `mesh(...)`, and the rules of the primitives that name devices
(`axis_index`, `get_barrier_semaphore`, remote `dma_start`, `semaphore_signal`
with a `device_id`).

A kernel becomes a multi-device kernel only when its body uses one of
these; one that does not runs on each device on its own, as before. Device
ids are lowered to one logical id, row-major over the mesh's axes in the
order of JAX's axis environment: the order in which `pallas_rs` stacks the
devices' shards for the launch (see `_interpret`)."""

from __future__ import annotations

import dataclasses
import re

from .emitter import Ref, Val


@dataclasses.dataclass
class Mesh:
    """The mesh axes a kernel may name: JAX axis name -> (`.pk` identifier,
    size), in the axis environment's order."""
    axes: dict
    # Set when the body names a device: the kernel then declares the mesh.
    used: bool = False

    @staticmethod
    def from_axis_sizes(sizes) -> "Mesh":
        """The mesh of an axis environment's `(name, size)` pairs."""
        axes, seen = {}, set()
        for name, size in sizes:
            ident = re.sub(r"[^A-Za-z0-9_]", "_", str(name)) or "axis"
            if ident[0].isdigit():
                ident = "axis_" + ident
            while ident in seen:
                ident += "_"
            seen.add(ident)
            axes[name] = (ident, int(size))
        return Mesh(axes)

    def header(self) -> str:
        """The kernel header's ` mesh(x 4, y 2)`, or nothing when unused."""
        if not self.used:
            return ""
        return " mesh(" + ", ".join(f"{i} {s}" for i, s in self.axes.values()) + ")"

    @property
    def num_devices(self) -> int:
        n = 1
        for _, size in self.axes.values():
            n *= size
        return n if self.used else 1


def _mesh(ctx, what) -> Mesh:
    mesh = ctx.mesh
    if not mesh.axes:
        raise ctx.unsupported(
            f"{what} outside a `shard_map` (a multi-device kernel runs on a "
            "mesh: call the `pallas_call` inside `jax.shard_map`)")
    mesh.used = True
    return mesh


def axis_index(ctx, name) -> Val:
    """This device's coordinate along mesh axis `name`."""
    mesh = _mesh(ctx, f"`axis_index({name!r})`")
    if name not in mesh.axes:
        raise ctx.unsupported(
            f"`axis_index({name!r})`: {name!r} is not an axis of the "
            f"enclosing mesh (its axes: {', '.join(map(repr, mesh.axes))})")
    return ctx.em.op(f"axis_index {mesh.axes[name][0]}", "i32", ())


def _i32(ctx, v) -> Val:
    if not isinstance(v, Val) or v.shape != ():
        raise ctx.unsupported("a device id that is not a scalar")
    if v.dtype != "i32":
        v = ctx.em.op(f"cast {v.name} to i32", "i32", ())
    return v


def _row_major(ctx, coords, sizes) -> Val:
    """The flat index of `coords` (values) on axes of `sizes`."""
    flat = coords[0]
    for c, size in zip(coords[1:], sizes[1:]):
        k = ctx.em.const(size, "i32")
        flat = ctx.em.op(f"mul {flat.name}, {k.name}", "i32", ())
        flat = ctx.em.op(f"add {flat.name}, {c.name}", "i32", ())
    return flat


def device_id(ctx, device_id, device_id_type) -> Val:
    """The logical id (a scalar i32 value) of a primitive's `device_id`
    operand: MESH coordinates (a tuple, one per mesh axis, or a dict from
    axis names, the others being this device's own), or a LOGICAL id."""
    mesh = _mesh(ctx, "a remote DMA or signal (`device_id`)")
    names = list(mesh.axes)
    sizes = [s for _, s in mesh.axes.values()]
    kind = str(getattr(device_id_type, "name", device_id_type)).lower()
    if kind.endswith("logical"):
        if isinstance(device_id, (tuple, list, dict)):
            raise ctx.unsupported("a LOGICAL device id given as a tuple or dict")
        return _i32(ctx, ctx.read(device_id))
    if isinstance(device_id, dict):
        coords = []
        for key in device_id:
            if key not in mesh.axes:
                raise ctx.unsupported(
                    f"a device id naming axis {key!r}, which is not an axis "
                    f"of the enclosing mesh ({', '.join(map(repr, names))})")
        for name in names:
            if name in device_id:
                coords.append(_i32(ctx, ctx.read(device_id[name])))
            else:
                coords.append(axis_index(ctx, name))
        return _row_major(ctx, coords, sizes)
    atoms = list(device_id) if isinstance(device_id, (tuple, list)) else [device_id]
    if len(atoms) != len(names):
        raise ctx.unsupported(
            f"a MESH device id of {len(atoms)} coordinate(s) on a mesh of "
            f"{len(names)} axes ({', '.join(map(repr, names))})")
    coords = [_i32(ctx, ctx.read(a)) for a in atoms]
    return _row_major(ctx, coords, sizes)


def register(rule):
    """Registers this module's rules with `rule` (the rules table's
    decorator)."""

    @rule("axis_index")
    def _axis_index(ctx, eqn):
        name = eqn.params["axis_name"]
        names = name if isinstance(name, tuple) else (name,)
        if len(names) == 1 and names[0] in ctx.grid_names:
            # A named grid dimension (a core mesh's axis): the grid index.
            return ctx.em.op(f"program_id {ctx.grid_names[names[0]]}", "i32", ())
        mesh = _mesh(ctx, f"`axis_index({name!r})`")
        coords = [axis_index(ctx, n) for n in names]
        return _row_major(ctx, coords, [mesh.axes[n][1] for n in names])

    @rule("get_barrier_semaphore")
    def _barrier(ctx, eqn):
        _mesh(ctx, "`get_barrier_semaphore()`")
        name = ctx.em.fresh()
        ctx.em.line(f"{name} = barrier_semaphore")
        return Ref(name, "sem", (), "sem")

