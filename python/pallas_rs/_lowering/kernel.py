"""A `pallas_call` (its `GridMapping`, block mappings, index-map jaxprs and
kernel jaxpr) lowered to one `.pk` kernel."""

from __future__ import annotations

import dataclasses
import re

from .. import _compat

from .context import Ctx
from .emitter import Ref, Val, shape_text
from .mesh import Mesh
from .rules import RULES


@dataclasses.dataclass(frozen=True)
class LoweredKernel:
    """A kernel as `.pk` text, with where each text line came from."""
    name: str
    text: str
    # .pk line number -> Python "file:line" of the equation it lowers.
    sources: dict
    # The kernel's Python definition ("kernel at file.py:12").
    origin: str | None
    num_prefetch: int
    num_inputs: int
    num_outputs: int
    # Parameter name -> Python place of its BlockSpec's index map.
    index_maps: dict = dataclasses.field(default_factory=dict)
    # Devices of the kernel's mesh: more than 1 when the body names
    # devices (a multi-device kernel, launched once for all of them).
    num_devices: int = 1
    # Parameter name -> "prefetch", "in", "out" or "scratch".
    param_kinds: dict = dataclasses.field(default_factory=dict)
    # Cores of a TPU core mesh (`pl.core_map`, `pl.kernel`): each runs
    # one point of the grid over the mesh at once; 0 without one.
    num_cores: int = 0

    def source_of_line(self, line):
        """The Python place behind a `.pk` line, or the nearest earlier
        line that has one."""
        if line is None:
            return None
        for n in range(int(line), 0, -1):
            if n in self.sources:
                return self.sources[n]
        return None


def _ident(s, fallback):
    s = re.sub(r"[^A-Za-z0-9_]", "_", str(s or ""))
    if not s or s[0].isdigit():
        s = fallback + ("_" + s if s else "")
    return s


def _space(ctx, memory_space, default="vmem") -> str:
    """The `.pk` memory space of a JAX memory space."""
    name = str(memory_space).lower() if memory_space is not None else ""
    name = name.rsplit(".", 1)[-1]
    if name in ("", "none", "default", "vmem", "device"):
        return default
    if name in ("any", "hbm"):
        return "any"
    if name == "smem":
        return "smem"
    raise ctx.unsupported(f"memory space {memory_space}")


def scratch_ref(ctx, aval):
    """The element (`f32`, `sem`, `dma_sem`) and memory space of a scratch
    ref's aval (`"any"` for HBM: the caller decides whether it may)."""
    inner = aval.inner_aval
    dt = str(getattr(inner, "dtype", ""))
    if "dma_sem" in dt:
        return "dma_sem", None
    if "sem" in dt:
        return "sem", None
    space = _space(ctx, getattr(aval, "memory_space", None))
    return ctx.dtype(inner, "scratch buffer"), space


def _semantics(compiler_params, n, vmapped=()):
    """Each grid dimension's semantics: the compiler params' for the
    author's dimensions, parallel for those `jax.vmap` added (batch
    elements are independent)."""
    sem = getattr(compiler_params, "dimension_semantics", None)
    user = ["arbitrary"] * (n - len(vmapped)) if sem is None else [
        "parallel" if "parallel" in str(s).lower() else "arbitrary"
        for s in sem]
    user = iter(user)
    out = ["parallel" if i in vmapped else next(user, "arbitrary")
           for i in range(n)]
    # The IR wants the parallel dimensions first; a parallel dimension after
    # an arbitrary one runs in order, which a parallel dimension allows.
    seen_arbitrary = False
    for i, s in enumerate(out):
        if s == "arbitrary":
            seen_arbitrary = True
        elif seen_arbitrary:
            out[i] = "arbitrary"
    return out


def lower_pallas_call(params, dynamic_grid=(), mesh_axes=(),
                      allow_hbm_scoped=False,
                      padded_scratch=False) -> LoweredKernel:
    """Lowers the parameters of a `pallas_call` equation to a kernel.
    `dynamic_grid` gives the values of the grid's dynamic dimensions
    (`DynamicGridDim`), in order: the kernel is lowered for those sizes.
    `mesh_axes` are the `(name, size)` axes of the enclosing `shard_map`,
    which the kernel's body may name. `allow_hbm_scoped`: JAX's
    `allow_hbm_allocation_in_run_scoped` (refused otherwise, as JAX does).
    `padded_scratch`: JAX's `buffer_bounds="padded"` (VMEM scratch padded
    to the tiling of the TPU generation the abstract mesh names)."""
    gm = params["grid_mapping"]
    jaxpr = params["jaxpr"]
    dbg = getattr(jaxpr, "debug_info", None)
    func_name = getattr(dbg, "func_name", None) or "kernel"
    name = _ident(params.get("name") or func_name.split(" ")[0], "kernel")
    ctx = Ctx(name, RULES)
    ctx.allow_hbm_scoped = bool(allow_hbm_scoped)
    ctx.mesh = Mesh.from_axis_sizes(mesh_axes)
    em = ctx.em
    origin = getattr(dbg, "func_src_info", None)
    ctx.origin = origin

    dynamic = list(dynamic_grid)
    grid_sizes = []
    for d in gm.grid:
        if isinstance(d, int):
            grid_sizes.append(int(d))
        elif dynamic:
            grid_sizes.append(max(0, int(dynamic.pop(0))))
        else:
            raise ctx.unsupported(f"a grid dimension {d} whose size is not "
                                  "known")
    if jaxpr.constvars:
        raise ctx.unsupported("a kernel with captured constants")

    arg_names = list(getattr(dbg, "arg_names", None) or [])
    n_idx, n_in, n_out = gm.num_index_operands, gm.num_inputs, gm.num_outputs
    n_scratch = len(gm.scratch_avals)
    kinds = (["prefetch"] * n_idx + ["in"] * n_in + ["out"] * n_out
             + ["scratch"] * n_scratch)
    names, seen = [], set()
    for i, kind in enumerate(kinds):
        base = arg_names[i] if i < len(arg_names) else None
        nm = _ident(base, f"{kind}{i}") if base else f"{kind}{i}"
        if nm in seen:
            nm = f"{nm}_{i}"
        seen.add(nm)
        names.append(nm)

    vmapped = tuple(int(d) for d in getattr(gm, "vmapped_dims", ()) or ())
    ctx.grid_axes = [i for i in range(len(gm.grid)) if i not in vmapped]
    # Named grid dimensions (`grid=(("x", 2),)`, a core mesh's axis), for
    # `lax.axis_index(name)` in the body.
    ctx.grid_names = {name: i for i, name in
                      enumerate(getattr(gm, "grid_names", None) or ())
                      if name is not None}
    ctx.grid_sizes = list(grid_sizes)
    semantics = _semantics(params.get("compiler_params"), len(gm.grid),
                           vmapped)
    num_cores = _compat.core_mesh_size(params.get("mesh"))
    if num_cores > 1:
        # A core mesh's points are its cores, which all run at once.
        semantics = ["parallel"] * len(gm.grid)
    grid = ", ".join(f"{s} {n}" for s, n in zip(semantics, grid_sizes))
    em.line(f"# lowered by pallas_rs from {origin or func_name}")
    em.line(f"kernel {name} grid({grid}) {{")
    header = len(em.lines) - 1
    em.depth += 1

    refs = []
    # Scalar prefetch: whole arrays in SMEM.
    for i in range(n_idx):
        aval = gm.index_map_avals[len(gm.grid) + i]
        inner = getattr(aval, "inner_aval", aval)
        dt = ctx.dtype(inner, f"scalar prefetch `{names[i]}`")
        em.line(f"prefetch {names[i]}: {dt}{shape_text(inner.shape)} smem")
        refs.append(Ref(em.fresh(), dt, tuple(inner.shape), "smem",
                        read_only=f"scalar prefetch `{names[i]}`"))

    index_maps = {}
    aliased = {int(a) - n_idx for a in dict(params.get("input_output_aliases") or ())}
    for j, bm in enumerate(gm.block_mappings):
        i = n_idx + j
        kind = "in" if j < n_in else "out"
        ref = _param(ctx, kind, names[i], bm, gm, n_idx)
        if kind == "in" and j not in aliased:
            ref = dataclasses.replace(ref, read_only=f"input `{names[i]}`")
        refs.append(ref)
        src = getattr(getattr(bm.index_map_jaxpr.jaxpr, "debug_info", None),
                      "func_src_info", None)
        if src:
            # "<lambda> at /path/file.py:12" -> "/path/file.py:12"
            index_maps[names[i]] = src.split(" at ", 1)[-1]

    for k, aval in enumerate(gm.scratch_avals):
        i = n_idx + n_in + n_out + k
        elem, space = scratch_ref(ctx, aval)
        if space == "any":
            raise ctx.unsupported("a scratch buffer in the ANY memory space")
        shape = tuple(aval.inner_aval.shape)
        sp = f" {space}" if space else ""
        if padded_scratch and space == "vmem":
            padded = _compat.padded_shape(shape, aval.inner_aval.dtype)
            if padded != shape:
                sp += f" padded{shape_text(padded)}"
        em.line(f"scratch {names[i]}: {elem}{shape_text(shape)}{sp}")
        refs.append(Ref(em.fresh(), elem, shape, space or "sem"))

    aliases = dict(params.get("input_output_aliases") or ())
    for a_in, a_out in sorted(aliases.items()):
        if a_in < n_idx:
            raise ctx.unsupported("an output aliased to a scalar-prefetch "
                                  "operand")
        em.line(f"alias {a_in - n_idx} -> {a_out}")

    body_args = [r.name for r in refs]
    body_line = len(em.lines)
    em.line(f"body({', '.join(body_args)}) {{")
    em.depth += 1
    ctx.lower_jaxpr(jaxpr, refs)
    em.depth -= 1
    em.line("}")
    if ctx.hbm_scratch:
        # HBM that `run_scoped` allocated: kernel-level scratch, declared
        # after the others, with the body's parameters to match.
        indent = em.lines[body_line][:len(em.lines[body_line])
                                     - len(em.lines[body_line].lstrip())]
        decls = [f"{indent}scratch hbm_scoped{j}: {elem}{shape_text(shape)} any"
                 for j, (_, elem, shape) in enumerate(ctx.hbm_scratch)]
        body_args += [ref_name for ref_name, _, _ in ctx.hbm_scratch]
        em.lines[body_line] = f"{indent}body({', '.join(body_args)}) {{"
        # Parameters come before the `alias` lines.
        at = next((i for i in range(header, body_line)
                   if em.lines[i].lstrip().startswith("alias ")), body_line)
        em.lines[at:at] = decls
        # Source locations are by line: those below move down.
        em.sources = {(n + len(decls) if n > at else n): src
                      for n, src in em.sources.items()}
    em.depth -= 1
    em.line("}")
    # The mesh is declared once the body is known to name devices.
    em.lines[header] = f"kernel {name} grid({grid}){ctx.mesh.header()} {{"
    return LoweredKernel(name=name, text=em.text(), sources=dict(em.sources),
                         origin=origin, num_prefetch=n_idx, num_inputs=n_in,
                         num_outputs=n_out, index_maps=index_maps,
                         num_devices=ctx.mesh.num_devices,
                         param_kinds=dict(zip(names, kinds)),
                         num_cores=num_cores)


def _param(ctx, kind, name, bm, gm, n_idx) -> Ref:
    em = ctx.em
    if bm.transforms:
        raise ctx.unsupported(
            f"`{name}`: a BlockSpec with transforms {bm.transforms}")
    arr = bm.array_aval
    dt = ctx.dtype(arr, f"{'input' if kind == 'in' else 'output'} `{name}`")
    shape = tuple(int(d) for d in arr.shape)
    space = _space(ctx, bm.transformed_block_aval.memory_space)
    head = f"{kind} {name}: {dt}{shape_text(shape)} {space}"
    if space == "any":
        em.line(head)
        return Ref(em.fresh(), dt, shape, "any")
    dims, view_shape = [], []
    for i, d in enumerate(bm.block_shape):
        if d is None or isinstance(d, _compat.Squeezed):
            dims.append("_")
        elif isinstance(d, _compat.Blocked):
            # A block larger than the array is padded as JAX pads it.
            dims.append(str(int(d.block_size)))
            view_shape.append(int(d.block_size))
        else:
            raise ctx.unsupported(
                f"`{name}`: block dimension {d} ({type(d).__name__}); only "
                "blocked and squeezed dimensions are supported")
    grid_args = [Val(em.fresh(), "i32", ()) for _ in gm.grid]
    pre_args = []
    for i in range(n_idx):
        aval = gm.index_map_avals[len(gm.grid) + i]
        inner = getattr(aval, "inner_aval", aval)
        pre_args.append(Ref(em.fresh(), ctx.dtype(inner), tuple(inner.shape),
                            "smem"))
    args = ", ".join(a.name for a in grid_args + pre_args)
    em.line(f"{head} block[{', '.join(dims)}] map({args}) {{")
    em.depth += 1
    ctx.in_index_map = True
    try:
        outs = ctx.lower_closed(bm.index_map_jaxpr, grid_args + pre_args)
    finally:
        ctx.in_index_map = False
    idx = []
    for o in outs:
        if isinstance(o, Val) and o.dtype != "i32":
            o = em.op(f"cast {o.name} to i32", "i32", ())
        idx.append(o)
    if idx:  # a rank-0 array's index map yields nothing
        em.line("yield " + ", ".join(o.name for o in idx))
    em.depth -= 1
    em.line("}")
    return Ref(em.fresh(), dt, tuple(view_shape), space)

