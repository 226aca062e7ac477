"""Kernel faults from Python: each a `KernelError` naming the Python line
of the kernel that caused it, eagerly and under `jax.jit`."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

import pallas_rs


def _line_of(fn, marker):
    """The line number of `marker` in this file (so the test does not
    depend on line numbers typed by hand)."""
    import inspect
    src, start = inspect.getsourcelines(fn)
    for i, text in enumerate(src):
        if marker in text:
            return start + i
    raise AssertionError(marker)


def index_map_past_the_array(x):
    def kernel(x_ref, o_ref):
        o_ref[...] = x_ref[...] * 2
    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype), grid=(8,),
        in_specs=[pl.BlockSpec((128,), lambda i: (i + 1,))],  # MARK-MAP
        out_specs=pl.BlockSpec((128,), lambda i: (i,)))(x)


def two_cores_one_block(x):
    def kernel(x_ref, o_ref):
        o_ref[...] = x_ref[...] + 1
    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct((128,), x.dtype),
        grid=(x.shape[0] // 128,),
        in_specs=[pl.BlockSpec((128,), lambda i: (i,))],
        out_specs=pl.BlockSpec((128,), lambda i: (0,)),  # MARK-OUT
        compiler_params=pltpu.CompilerParams(
            dimension_semantics=("parallel",)))(x)


def _hbm_to_vmem(kernel, x):
    """`kernel(x_hbm, o_ref, buf, sem)` with `x` left in HBM, a VMEM buffer
    of its shape and one DMA semaphore."""
    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        in_specs=[pl.BlockSpec(memory_space=pl.ANY)],
        out_specs=pl.BlockSpec(memory_space=pltpu.VMEM),
        scratch_shapes=[pltpu.VMEM(x.shape, x.dtype),
                        pltpu.SemaphoreType.DMA(())])(x)


def missing_dma_wait(x):
    def kernel(x_hbm, o_ref, buf, sem):
        pltpu.make_async_copy(x_hbm, buf, sem).start()
        o_ref[...] = buf[...] * 2  # MARK-READ
    return _hbm_to_vmem(kernel, x)


def dma_never_waited(x):
    def kernel(x_hbm, o_ref, buf, sem):
        pltpu.make_async_copy(x_hbm, buf, sem).start()  # MARK-DMA
        o_ref[...] = jnp.zeros_like(o_ref)
    return _hbm_to_vmem(kernel, x)


def dynamic_slice_past_the_block(x):
    def kernel(x_ref, o_ref):
        i = pl.program_id(0)
        o_ref[...] = x_ref[pl.ds(i * 64, 128)]  # MARK-OOB
    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct((128,), x.dtype), grid=(4,),
        in_specs=[pl.BlockSpec((256,), lambda i: (0,))],
        out_specs=pl.BlockSpec((128,), lambda i: (0,)))(x)


X = np.arange(1024, dtype=np.float32)

CASES = [
    # (kernel fn, input, options, kind, marker, grid point, message part)
    (index_map_past_the_array, X, {}, "block_index_out_of_range", "MARK-MAP",
     (7,), "index map of `x_ref`: block index 8 on dimension 0 of `x_ref`, "
     "which has 8 blocks there"),
    # Two cores, one grid point each, write block 0: either core may be the
    # one that sees the race (they run on threads); both points are named.
    # Found at a block write-back, so it names the out_spec's index map.
    (two_cores_one_block, X[:256],
     dict(detect_races=True, num_cores_or_threads=2),
     "race", "MARK-OUT", {(0,), (1,)}, "write-back of `o_ref` block [0]: "
     "data race on `o_ref` element 0"),
    # On one core, in order, the block stays resident across the parallel
    # dimension: caught without race detection, at the out_spec.
    (two_cores_one_block, X, {}, "output_across_parallel", "MARK-OUT", (1,),
     "output `o_ref` block [0] is written at grid points [0] and [1], which "
     "differ in dimension 0, declared parallel; a dimension along which an "
     "output block stays must be `arbitrary`"),
    # A read of the DMA's destination before any wait: caught at the read,
    # by default, in either DMA mode.
    (missing_dma_wait, X[:128], {}, "race", "MARK-READ", None,
     "data race on `buf` element 0: a DMA in flight (started on core 0) "
     "and load by core 0"),
    (missing_dma_wait, X[:128], dict(dma_execution_mode="on_wait"), "race",
     "MARK-READ", None, "a DMA in flight (started on core 0)"),
    # Never waited and never read: caught at the end, named at its start.
    (dma_never_waited, X[:128], {}, "dma_not_waited", "MARK-DMA", None,
     "DMA into `buf` started and never waited for"),
    (dma_never_waited, X[:128], dict(dma_execution_mode="on_wait"),
     "dma_not_waited", "MARK-DMA", None,
     "DMA into `buf` started and never waited for"),
    (dynamic_slice_past_the_block, X[:256], {}, "out_of_bounds", "MARK-OOB",
     (3,), "out-of-bounds read of `x_ref`: index 319 on dimension 0, which "
     "has 256 elements"),
]


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].__name__}-{c[3]}"
                         + ("-" + "-".join(c[2]) if c[2] else ""))
def test_fault_names_the_python_line(case, jit):
    fn, x, options, kind, marker, point, part = case
    line = _line_of(fn, marker)
    with pytest.raises(pallas_rs.KernelError) as info:
        with pallas_rs.interpret("sim", **options):
            np.asarray((jax.jit(fn) if jit else fn)(x))
    e = info.value
    assert isinstance(e, RuntimeError)
    assert e.kind == kind
    if isinstance(point, set):
        assert e.grid_point in point
        assert all(f"grid point [{p[0]}]" in str(e) for p in point), str(e)
    else:
        assert e.grid_point == point
    assert e.backend == "sim"
    assert part in str(e)
    assert e.source == f"{__file__}:{line}", str(e)
    assert f"{__file__}:{line}" in str(e)


@pytest.mark.parametrize("backend,point,index", [
    ("cpu", (3,), "index 319"),
    # The GPU records no grid point nor the index; the rest is the same.
    ("wgpu", None, "an index"),
])
def test_fault_on_the_other_backends_is_typed_too(backend, point, index):
    """pallas-cpu and pallas-wgpu do not simulate, but an out-of-bounds
    slice is still an error (never wrong data), typed like the simulator's:
    kind, grid point where known, and the Python line (no cores to name)."""
    from conftest import skip_without_backend
    skip_without_backend(backend)
    line = _line_of(dynamic_slice_past_the_block, "MARK-OOB")
    with pytest.raises(pallas_rs.KernelError) as info:
        with pallas_rs.interpret(backend):
            np.asarray(jax.jit(dynamic_slice_past_the_block)(X[:256]))
    e = info.value
    assert e.kind == "out_of_bounds"
    assert e.backend == backend
    assert e.grid_point == point
    assert (f"out-of-bounds read of `x_ref`: {index} on dimension 0, which "
            "has 256 elements") in str(e)
    assert e.source == f"{__file__}:{line}", str(e)


def test_clean_kernel_after_a_fault_runs():
    """A fault leaves nothing behind: the next launch runs normally."""
    with pytest.raises(pallas_rs.KernelError):
        with pallas_rs.interpret("sim"):
            np.asarray(index_map_past_the_array(X))
    x = np.ones(128, np.float32)

    def ok(x):
        def kernel(x_ref, o_ref):
            o_ref[...] = x_ref[...] + 1
        return pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct(
            x.shape, x.dtype))(x)
    with pallas_rs.interpret("sim"):
        np.testing.assert_array_equal(np.asarray(ok(x)), x + 1)


def test_out_of_bounds_reads_option():
    """`out_of_bounds_reads="uninitialized"` reads past the block instead of
    raising (as JAX's option of that name does); the values there are the
    simulator's uninitialized fill (NaN), and the in-bounds part is right."""
    x = X[:256]
    with pallas_rs.interpret("sim", out_of_bounds_reads="uninitialized"):
        got = np.asarray(jax.jit(dynamic_slice_past_the_block)(x))
    # The last grid point (3) reads elements 192..319: 192..255 are x's,
    # the rest lie past the block.
    np.testing.assert_array_equal(got[:64], x[192:256])
    assert np.isnan(got[64:]).all()


def uninitialized_scratch(x):
    def kernel(x_ref, o_ref, acc_ref):
        o_ref[...] = x_ref[...] + acc_ref[...]  # MARK-UNINIT
    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        scratch_shapes=[pltpu.VMEM(x.shape, x.dtype)])(x)


def test_uninitialized_memory_options():
    x = np.ones((8, 128), np.float32)
    with pallas_rs.interpret("sim"):
        assert np.isnan(np.asarray(uninitialized_scratch(x))).all()
    with pallas_rs.interpret("sim", uninitialized_memory="zero"):
        np.testing.assert_array_equal(np.asarray(uninitialized_scratch(x)), x)
    line = _line_of(uninitialized_scratch, "MARK-UNINIT")
    with pytest.raises(pallas_rs.KernelError) as info:
        with pallas_rs.interpret("sim", report_uninitialized_reads=True):
            np.asarray(uninitialized_scratch(x))
    assert info.value.kind == "uninitialized_read"
    assert "acc_ref" in str(info.value)
    assert info.value.source == f"{__file__}:{line}"


def test_skip_floating_point_ops():
    """`skip_floating_point_ops` runs the memory traffic without the float
    arithmetic (JAX's option of that name): the kernel still runs and
    faults are still found, the values are not computed."""
    with pallas_rs.interpret("sim", skip_floating_point_ops=True):
        got = np.asarray(jax.jit(two_cores_one_block)(X[:128]))
    assert got.shape == (128,) and got.dtype == np.float32
    with pytest.raises(pallas_rs.KernelError):
        with pallas_rs.interpret("sim", skip_floating_point_ops=True):
            np.asarray(index_map_past_the_array(X))


def test_a_load_of_an_hbm_ref_is_a_value_error_with_jaxs_phrase():
    def kernel(x_ref, o_ref):
        o_ref[...] = x_ref[...]

    def fn(x):
        return pl.pallas_call(
            kernel, out_shape=jax.ShapeDtypeStruct((8, 128), jnp.float32),
            in_specs=[pl.BlockSpec(memory_space=pl.ANY)])(x)

    x = jnp.zeros((8, 128), jnp.float32)
    with pytest.raises(ValueError, match="cannot be referenced directly") as info:
        with pallas_rs.interpret("sim"):
            jax.jit(fn)(x)
    assert isinstance(info.value, pallas_rs.KernelDefinitionError)
    assert "test_faults.py:" in str(info.value)


def test_out_of_bounds_faults_are_index_errors_with_jaxs_phrase():
    def kernel(i_ref, x_ref, o_ref):
        o_ref[...] = x_ref[pl.ds(i_ref[0], 8)]

    def fn(i, x):
        return pl.pallas_call(
            kernel, out_shape=jax.ShapeDtypeStruct((8, 128), jnp.float32),
            in_specs=[pl.BlockSpec(memory_space=pltpu.SMEM),
                      pl.BlockSpec(memory_space=pltpu.VMEM)])(i, x)

    x = jnp.zeros((16, 128), jnp.float32)
    with pytest.raises(IndexError, match="Out-of-bounds read of") as info:
        with pallas_rs.interpret("sim"):
            jax.block_until_ready(jax.jit(fn)(jnp.array([12], jnp.int32), x))
    assert isinstance(info.value, pallas_rs.KernelError)
    assert "out-of-bounds read of `x_ref`" in str(info.value)


def _masked_store_call(i, x, mask, interpret=None):
    def kernel(i_ref, x_ref, m_ref, o_ref):
        o_ref[...] = jnp.zeros(o_ref.shape, o_ref.dtype)
        pltpu.store(o_ref.at[pl.ds(i_ref[0], 16), :], x_ref[...],
                    mask=m_ref[...])
    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct((16, 128), jnp.float32),
        grid_spec=pltpu.PrefetchScalarGridSpec(num_scalar_prefetch=1),
        interpret=interpret)(i, x, mask)


@pytest.mark.parametrize("backend", ["sim", "cpu"])
def test_a_masked_store_past_the_edge_writes_only_enabled_lanes(backend):
    """Rows 8..24 of a 16-row output: the mask enables lanes in the first
    8 rows only, so nothing past the edge is written, and nothing is
    checked there; enabling one lane past it is JAX's out-of-bounds
    masked swap."""
    i = jnp.array([8], jnp.int32)
    x = jnp.arange(16 * 128, dtype=jnp.float32).reshape(16, 128) + 1.0
    mask = np.zeros((16, 128), bool)
    mask[:8, ::3] = True
    want = np.asarray(_masked_store_call(i, x, jnp.asarray(mask),
                                         pltpu.InterpretParams()))
    with pallas_rs.interpret(backend=backend):
        got = np.asarray(jax.jit(_masked_store_call)(i, x, jnp.asarray(mask)))
    np.testing.assert_array_equal(got, want)
    mask[8, 0] = True
    with pytest.raises(Exception, match="Out-of-bounds masked swap"):
        with pallas_rs.interpret(backend=backend):
            np.asarray(jax.jit(_masked_store_call)(i, x, jnp.asarray(mask)))


def _padded_scratch_call(x, interpret=None):
    def kernel(x_ref, o_ref, s_ref):
        # Rows 4..12 of a (10, 128) scratch: rows 10 and 11 are padding.
        pltpu.sync_copy(x_ref, s_ref.at[pl.ds(jnp.int32(4), 8)])
        o_ref[...] = s_ref[pl.ds(jnp.int32(4), 8)]
    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct((8, 128), jnp.float32),
        scratch_shapes=[pltpu.VMEM((10, 128), jnp.float32)],
        interpret=interpret)(x)


def test_padded_scratch_bounds_match_jax():
    """`buffer_bounds="padded"`: what lands in the padding is not kept and
    reads back uninitialized; JAX's TPU interpret mode, run here under the
    same TPU generation, is the reference."""
    tpu = jax.sharding.AbstractMesh(
        (), (), abstract_device=jax.sharding.AbstractDevice("TPU v6e", 1, "tpu"))
    x = jnp.arange(8 * 128, dtype=jnp.float32).reshape(8, 128)
    padded = pltpu.InterpretParams(buffer_bounds="padded")
    with jax.sharding.use_abstract_mesh(tpu):
        want = np.asarray(jax.jit(
            lambda x: _padded_scratch_call(x, padded))(x))
        with pallas_rs.interpret("sim", buffer_bounds="padded"):
            got = np.asarray(jax.jit(_padded_scratch_call)(x))
    np.testing.assert_array_equal(got[:6], want[:6])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isnan(got[6:]).all()
    # Logical bounds (the default): the same copy is out of bounds.
    with pytest.raises(pallas_rs.KernelError, match="out-of-bounds write of `s_ref`"):
        with pallas_rs.interpret("sim"):
            np.asarray(jax.jit(_padded_scratch_call)(x))
