"""The lowering context: the emitter, the environment from jaxpr variables
to `.pk` values and refs, and the walk over a jaxpr's equations that calls
one rule per primitive."""

from __future__ import annotations

import numpy as np

from .. import _compat

from ..errors import UnsupportedError
from .emitter import Emitter, pk_dtype
from .mesh import Mesh


def source_of(eqn) -> str | None:
    """The Python `file:line` of the user code behind a jaxpr equation."""
    frame = _compat.user_frame(eqn)
    if frame is None:
        return None
    return f"{frame.file_name}:{frame.start_line}"


class Ctx:
    """State of one kernel's lowering."""

    def __init__(self, kernel: str, rules: dict):
        self.kernel = kernel
        self.em = Emitter()
        self.env: dict = {}
        self.rules = rules
        self.eqn = None
        # "kernel at file.py:12": named when no equation's line is known.
        self.origin: str | None = None
        # The variables each jaxpr being lowered reads (innermost last).
        self.used: list[set] = []
        # i32 values that are a bool converted (a `pl.when` condition).
        self.from_bool: dict = {}
        # The enclosing `shard_map`'s mesh axes (none outside one).
        self.mesh = Mesh({})
        # The kernel grid dimension of each of the author's grid axes (the
        # body's `program_id(i)`): all of them, less those `jax.vmap` added.
        self.grid_axes: list = []
        # Named grid dimensions: name -> kernel grid dimension.
        self.grid_names: dict = {}
        # The grid's sizes, and whether an index map is being lowered.
        self.grid_sizes: list = []
        self.in_index_map = False
        # Whether `run_scoped` may allocate HBM (JAX's interpret option
        # `allow_hbm_allocation_in_run_scoped`), and the HBM buffers so
        # allocated: `(name, element, shape)`, declared as the kernel's HBM
        # scratch (one per device, shared by its cores, as JAX shares one
        # allocation between the cores of a core mesh).
        self.allow_hbm_scoped = False
        self.hbm_scratch: list = []

    # -- errors --------------------------------------------------------
    @property
    def source(self) -> str | None:
        """The Python place being lowered: the equation's line, else the
        kernel's definition."""
        if self.em.source is not None:
            return self.em.source
        if self.origin and " at " in self.origin:
            return self.origin.split(" at ", 1)[1]
        return None

    def unsupported(self, what: str, primitive: str | None = None):
        primitive = primitive or (self.eqn.primitive.name if self.eqn else None)
        where = f" at {self.source}" if self.source else ""
        return UnsupportedError(
            f"kernel `{self.kernel}`: {what}{where}",
            primitive=primitive, source=self.source)

    # -- values --------------------------------------------------------
    def dtype(self, aval, what="value") -> str:
        return pk_dtype(aval.dtype, f"kernel `{self.kernel}`: {what}",
                        self.source)

    def read(self, atom):
        """The `.pk` value (or ref) of a jaxpr atom; literals become
        constants."""
        if isinstance(atom, _compat.Literal):
            value = np.asarray(atom.val)
            dtype = self.dtype(atom.aval, "literal")
            if value.shape != ():
                raise self.unsupported("an array literal in the kernel")
            return self.em.const(value.item(), dtype)
        try:
            return self.env[atom]
        except KeyError:
            raise self.unsupported(f"variable {atom} used before it is "
                                   "defined") from None

    def static_int(self, atom):
        """An integer known at trace time, or None: a literal, or a
        variable bound to a constant (one a region closes over)."""
        if isinstance(atom, _compat.Literal):
            v = np.asarray(atom.val)
            if v.shape == () and np.issubdtype(v.dtype, np.integer):
                return int(v)
            return None
        if isinstance(atom, _compat.Var):
            known = self.em.known.get(getattr(self.env.get(atom), "name", None))
            if isinstance(known, (int, np.integer)) and not isinstance(known, bool):
                return int(known)
        return None

    def bind(self, var, value):
        if isinstance(var, _compat.DropVar):
            return
        self.env[var] = value

    # -- walking -------------------------------------------------------
    def lower_jaxpr(self, jaxpr, args, consts=()):
        """Lowers a jaxpr inline with its invars bound to `args` (and its
        constvars to `consts`); returns the values of its outvars."""
        for v, a in zip(_compat.all_invars(jaxpr), [*consts, *args]):
            self.bind(v, a)
        used = {v for e in jaxpr.eqns for v in e.invars
                if isinstance(v, _compat.Var)}
        used.update(v for v in jaxpr.outvars if isinstance(v, _compat.Var))
        self.used.append(used)
        try:
            for eqn in jaxpr.eqns:
                self.lower_eqn(eqn)
            return [self.read(v) for v in jaxpr.outvars]
        finally:
            self.used.pop()

    def is_used(self, var) -> bool:
        """Whether the jaxpr being lowered reads `var`."""
        return (not isinstance(var, _compat.DropVar)
                and bool(self.used) and var in self.used[-1])

    def lower_closed(self, closed, args):
        """Lowers a ClosedJaxpr inline; its constants must be scalars (or
        arrays of one value)."""
        consts = [self.const_array(c) for c in closed.consts]
        return self.lower_jaxpr(closed.jaxpr, args, consts)

    def const_array(self, c):
        arr = np.asarray(c)
        dtype = pk_dtype(arr.dtype, f"kernel `{self.kernel}`: captured constant",
                         self.source)
        if arr.shape == ():
            return self.em.const(arr.item(), dtype)
        flat = arr.reshape(-1)
        if flat.size and np.all(flat == flat[0]):
            from .emitter import literal, shape_text
            return self.em.op(f"full {literal(flat[0].item(), dtype)} "
                              f"{shape_text(arr.shape)}", dtype, arr.shape)
        raise self.unsupported(
            f"a captured constant array of shape {arr.shape} (pass it as an "
            "input instead)")

    def lower_eqn(self, eqn):
        outer_eqn, outer_source = self.eqn, self.em.source
        self.eqn = eqn
        src = source_of(eqn)
        if src is not None:
            self.em.source = src
        try:
            name = eqn.primitive.name
            rule = self.rules.get(name)
            if rule is None:
                raise self.unsupported(
                    f"primitive `{name}` is not supported by pallas-rs", name)
            outs = rule(self, eqn)
            if outs is None:
                outs = []
            if not eqn.primitive.multiple_results and not isinstance(outs, list):
                outs = [outs]
            for var, val in zip(eqn.outvars, outs):
                self.bind(var, val)
        finally:
            self.eqn = outer_eqn
            self.em.source = outer_source

