"""The front end itself: caching under jit, transformations (vmap, grad of
a custom_vjp), to_pk, unsupported primitives, options, the decorator."""

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu

import pallas_rs
from pallas_rs import _native

import corpus


def double(x):
    def kernel(x_ref, o_ref):
        o_ref[...] = x_ref[...] * 2
    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(x.shape[0] // 8,),
        in_specs=[pl.BlockSpec((8, x.shape[1]), lambda i: (i, 0))],
        out_specs=pl.BlockSpec((8, x.shape[1]), lambda i: (i, 0)))(x)


def test_second_jit_call_lowers_and_compiles_nothing():
    x = np.arange(16 * 128, dtype=np.float32).reshape(16, 128)
    f = jax.jit(double)
    with pallas_rs.interpret("sim"):
        first = np.asarray(f(x))
        before = pallas_rs.stats()
        second = np.asarray(f(x))
        after = pallas_rs.stats()
    np.testing.assert_array_equal(first, x * 2)
    np.testing.assert_array_equal(second, first)
    assert after["lowerings"] == before["lowerings"]
    assert after["compilations"] == before["compilations"]
    assert after["launches"] == before["launches"] + 1


def test_jitted_outside_the_context_runs_inside_it():
    """The backend is part of JAX's jit key: a function jitted (and run)
    elsewhere is traced again inside the context, and runs on pallas-rs."""
    x = np.ones((8, 128), np.float32)
    f = jax.jit(double)
    with pltpu.force_tpu_interpret_mode(pltpu.InterpretParams()):
        np.asarray(f(x))
    before = pallas_rs.stats()["launches"]
    with pallas_rs.interpret("cpu"):
        np.testing.assert_array_equal(np.asarray(f(x)), x * 2)
    assert pallas_rs.stats()["launches"] == before + 1


def test_vmap_adds_a_grid_dimension():
    xs = np.random.default_rng(0).uniform(-1, 1, (3, 16, 128)).astype(np.float32)
    with pallas_rs.interpret("sim"):
        got = np.asarray(jax.jit(jax.vmap(double))(xs))
    np.testing.assert_array_equal(got, xs * 2)


@jax.custom_vjp
def scaled_sin(x):
    return corpus.seed(x, jnp.zeros_like(x), block=(8, 128))


def _fwd(x):
    return scaled_sin(x), x


def _bwd(x, g):
    # d/dx sin(2x) = 2 cos(2x), with the cosine from a kernel too.
    def kernel(x_ref, g_ref, o_ref):
        o_ref[...] = g_ref[...] * 2 * jnp.cos(x_ref[...] * 2)
    spec = pl.BlockSpec((8, 128), lambda i, j: (i, j))
    dx = pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(x.shape[0] // 8, x.shape[1] // 128),
        in_specs=[spec, spec], out_specs=spec)(x, g)
    return (dx,)


scaled_sin.defvjp(_fwd, _bwd)


def test_grad_of_a_custom_vjp_runs_both_kernels():
    x = np.random.default_rng(1).uniform(-1, 1, (16, 256)).astype(np.float32)
    with pallas_rs.interpret("sim"):
        g = np.asarray(jax.jit(jax.grad(lambda x: scaled_sin(x).sum()))(x))
    want = 2 * np.cos(2 * x.astype(np.float64))
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


def test_to_pk_gives_valid_text_the_cli_can_run():
    fn, args = corpus.case("matmul")
    text = pallas_rs.to_pk(fn, *args)
    assert text.startswith("# lowered by pallas_rs from kernel at ")
    assert "grid(parallel 2, parallel 2, arbitrary 4)" in text
    assert "scratch acc_ref: f32[32, 32] vmem" in text
    assert _native.check(text) is None
    k = _native.compile(text, "sim", {})
    (out,) = k.launch(list(args))
    np.testing.assert_allclose(out, args[0] @ args[1], rtol=1e-5, atol=1e-5)


def test_to_pk_of_a_function_without_kernels():
    with pytest.raises(ValueError, match="launches no pallas_call"):
        pallas_rs.to_pk(lambda x: x + 1, np.ones(3, np.float32))


def asin_kernel(x):
    def kernel(x_ref, o_ref):
        o_ref[...] = jnp.arcsin(x_ref[...])  # MARK
    return pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct(
        x.shape, x.dtype))(x)


def test_unsupported_primitive_names_it_and_the_line_before_running():
    src, start = inspect.getsourcelines(asin_kernel)
    line = start + next(i for i, t in enumerate(src) if "MARK" in t)
    before = pallas_rs.stats()["launches"]
    with pytest.raises(pallas_rs.UnsupportedError) as info:
        with pallas_rs.interpret("sim"):
            jax.jit(asin_kernel)(np.ones(8, np.float32))
    assert info.value.primitive == "asin"
    assert "primitive `asin` is not supported" in str(info.value)
    assert f"{__file__}:{line}" in str(info.value)
    assert pallas_rs.stats()["launches"] == before


def test_unsupported_dtype_is_named():
    x = np.ones((8, 128), np.complex64)
    with pytest.raises(pallas_rs.UnsupportedError, match="complex64"):
        with pallas_rs.interpret("sim"):
            jax.jit(double)(x)


def test_options_are_checked():
    with pytest.raises(TypeError, match="unknown option 'detect_race'"):
        pallas_rs.interpret("sim", detect_race=True)
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        pallas_rs.interpret("tpu")
    with pytest.raises(ValueError, match="configures the simulator"):
        pallas_rs.interpret("cpu", detect_races=True)
    with pytest.raises(ValueError, match="dma_execution_mode"):
        with pallas_rs.interpret("sim", dma_execution_mode="later"):
            jax.jit(double)(np.ones((8, 128), np.float32))


def test_decorator_and_nesting():
    x = np.ones((8, 128), np.float32)

    @pallas_rs.interpret("sim")
    def run(x):
        return np.asarray(jax.jit(double)(x))

    np.testing.assert_array_equal(run(x), x * 2)
    with pallas_rs.interpret("cpu"):
        with pallas_rs.interpret("sim", detect_races=True):
            np.testing.assert_array_equal(np.asarray(double(x)), x * 2)
        np.testing.assert_array_equal(np.asarray(double(x)), x * 2)


def test_tpu_target_lint_from_python():
    """`target_tpu` checks the (8, 128) tiling the real compiler wants."""
    x = np.ones((16, 100), np.float32)

    def bad(x):
        def kernel(x_ref, o_ref):
            o_ref[...] = x_ref[...]
        spec = pl.BlockSpec((8, 50), lambda i, j: (i, j))
        return pl.pallas_call(kernel, out_shape=jax.ShapeDtypeStruct(
            x.shape, x.dtype), grid=(2, 2), in_specs=[spec],
            out_specs=spec)(x)

    with pallas_rs.interpret("sim"):
        np.testing.assert_array_equal(np.asarray(bad(x)), x)
    with pytest.raises(pallas_rs.KernelError) as info:
        with pallas_rs.interpret("sim", target_tpu=True):
            np.asarray(bad(x))
    assert info.value.kind == "tpu"


def test_trace_is_written(tmp_path):
    path = tmp_path / "trace.json"
    with pallas_rs.interpret("sim", trace=str(path)):
        np.asarray(double(np.ones((16, 128), np.float32)))
    import json
    events = json.loads(path.read_text())
    assert events


def test_integer_and_boolean_kernels():
    def kernel(x_ref, m_ref, o_ref):
        v = x_ref[...]
        o_ref[...] = jnp.where(m_ref[...], (v << 2) ^ 5, -v // 3)
    x = np.arange(-64, 64, dtype=np.int32)
    m = (x % 3 == 0)
    f = functools.partial(pl.pallas_call, kernel,
                          out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype))
    want = np.asarray(jax.jit(lambda x, m: jnp.where(m, (x << 2) ^ 5, -x // 3))(x, m))
    for be in ("sim", "cpu"):
        with pallas_rs.interpret(be):
            np.testing.assert_array_equal(np.asarray(f()(x, m)), want)


def test_second_eager_call_compiles_nothing():
    """Eagerly, JAX traces a kernel defined inside a function anew on each
    call; the kernel text is the same, so it is compiled once."""
    fn, args = corpus.case("softmax")
    with pallas_rs.interpret("sim"):
        first = np.asarray(fn(*args))
        before = pallas_rs.stats()
        second = np.asarray(fn(*args))
        after = pallas_rs.stats()
    np.testing.assert_array_equal(first, second)
    assert after["compilations"] == before["compilations"]
    assert after["launches"] == before["launches"] + 1


@pytest.mark.parametrize("version", ["0.9.1", "0.13.0", "1.0.0", "weird"])
def test_a_jax_outside_the_range_is_refused_at_import(version):
    import subprocess
    import sys
    code = (f"import jax; jax.__version__ = {version!r}\n"
            "try:\n"
            "    import pallas_rs\n"
            "except ImportError as e:\n"
            "    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert "refused: pallas_rs supports JAX 0.10.x, 0.11.x and 0.12.x" in out, out
    assert f"found JAX {version}" in out, out


@pytest.mark.parametrize("text, parsed, ok", [
    ("0.10.2", (0, 10, 2), True), ("0.11.2", (0, 11, 2), True),
    ("0.12.0.1", (0, 12, 0, 1), True), ("0.12.1.dev20261201", (0, 12, 1), True),
    ("0.12.0rc1", (0, 12, 0), True), ("0.13.0", (0, 13, 0), False),
    ("0.9.9", (0, 9, 9), False), ("", (), False)])
def test_jax_versions_parse_and_check(text, parsed, ok):
    from pallas_rs import _compat
    assert _compat.parse_version(text) == parsed
    if ok:
        assert _compat.check_version(text) == parsed
    else:
        with pytest.raises(ImportError, match="found JAX"):
            _compat.check_version(text)


def test_an_unknown_scan_layout_is_unsupported_naming_the_jax_version():
    from pallas_rs import _compat
    with pytest.raises(pallas_rs.UnsupportedError) as info:
        _compat.scan_counts({"jaxpr": None, "length": 3})
    assert f"JAX {jax.__version__}" in str(info.value)
    assert "`scan`" in str(info.value)


def test_the_installed_jax_is_in_the_supported_range():
    from pallas_rs import _compat
    assert _compat.SUPPORTED_FROM <= _compat.JAX_VERSION < _compat.SUPPORTED_BELOW
    assert pallas_rs.SUPPORTED_JAX == _compat.SUPPORTED_TEXT


def _reads_fresh_scratch(interpret):
    def kernel(o_ref, s_ref):
        o_ref[...] = s_ref[...]

    return pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct((8, 128), jnp.float32),
        scratch_shapes=[pltpu.VMEM((8, 128), jnp.float32)],
        interpret=interpret)()


def test_a_calls_own_interpret_params_win_over_the_contexts_defaults():
    # The context's default fills fresh memory with NaN; the call asks
    # for zeros, and gets them.
    with pallas_rs.interpret("sim"):
        nan = np.asarray(_reads_fresh_scratch(False))
        zero = np.asarray(_reads_fresh_scratch(
            pltpu.InterpretParams(uninitialized_memory="zero")))
    assert np.isnan(nan).all()
    np.testing.assert_array_equal(zero, np.zeros((8, 128), np.float32))
    # A call's setting equal to JAX's default cannot be told from no
    # setting: the context's choice stands then.
    with pallas_rs.interpret("sim", uninitialized_memory="zero"):
        zero = np.asarray(_reads_fresh_scratch(
            pltpu.InterpretParams(uninitialized_memory="nan")))
    np.testing.assert_array_equal(zero, np.zeros((8, 128), np.float32))


def test_call_options_merge_only_what_the_call_set():
    from pallas_rs._interpret import BackendParams, merge_call_options
    active = BackendParams("sim", (("detect_races", True),))
    merged = merge_call_options(active, pltpu.InterpretParams(random_seed=3))
    want = {"detect_races": True, "random_seed": 3}
    if not pallas_rs._compat.jax_raises_on_races():
        # Before JAX 0.12 its interpret mode reports races and goes on.
        want["on_race"] = "warn"
    assert merged.option_dict() == want
    # Not InterpretParams (True, False): the context as it is.
    assert merge_call_options(active, True) is active
    # The fast mode takes no simulator options.
    cpu = BackendParams("cpu", ())
    assert merge_call_options(cpu, pltpu.InterpretParams(random_seed=3)) is cpu


def _dma_read_race(x_ref, o_ref, t_ref, sem):
    copy = pltpu.make_async_copy(x_ref, t_ref, sem)
    copy.start()
    o_ref[...] = t_ref[...] + 1.0  # reads t_ref while the copy writes it
    copy.wait()


def _with_race(interpret):
    x = jnp.zeros((8, 128), jnp.float32)
    return pl.pallas_call(
        _dma_read_race, out_shape=jax.ShapeDtypeStruct((8, 128), jnp.float32),
        in_specs=[pl.BlockSpec(memory_space=pl.ANY)],
        scratch_shapes=[pltpu.VMEM((8, 128), jnp.float32),
                        pltpu.SemaphoreType.DMA],
        interpret=interpret)(x)


def test_on_race_warn_reports_and_goes_on_setting_jaxs_race_state(capfd):
    from jax._src.pallas.mosaic.interpret import interpret_pallas_call as m
    with pallas_rs.interpret("sim", detect_races=True, on_race="warn"):
        jax.block_until_ready(_with_race(False))
    assert m.races.races_found
    assert "data race on `t_ref`" in capfd.readouterr().err
    # The default raises, naming both sides.
    with pytest.raises(pallas_rs.KernelError, match="data race on `t_ref`"):
        with pallas_rs.interpret("sim", detect_races=True):
            jax.block_until_ready(_with_race(False))


def test_a_race_free_launch_clears_jaxs_race_state():
    from jax._src.pallas.mosaic.interpret import interpret_pallas_call as m

    def kernel(x_ref, o_ref):
        o_ref[...] = x_ref[...] + 1.0

    with pallas_rs.interpret("sim", detect_races=True, on_race="warn"):
        jax.block_until_ready(pl.pallas_call(
            kernel, out_shape=jax.ShapeDtypeStruct((8, 128), jnp.float32))(
                jnp.zeros((8, 128), jnp.float32)))
    assert m.races is not None and not m.races.races_found


@pytest.mark.parametrize("backend", ["sim", "cpu"])
def test_debug_print_prints_each_grid_points_values(backend, capfd):
    def kernel(x_ref, o_ref):
        i = pl.program_id(0)
        pl.debug_print("block {} of \"x\"", i)
        jax.debug.print("named {a}, {{braces}}", a=i * 10)
        o_ref[...] = x_ref[...] + 1.0

    def f(x):
        return pl.pallas_call(
            kernel, grid=(2,),
            in_specs=[pl.BlockSpec((8, 128), lambda i: (i, 0))],
            out_specs=pl.BlockSpec((8, 128), lambda i: (i, 0)),
            out_shape=jax.ShapeDtypeStruct((16, 128), jnp.float32))(x)

    x = jnp.zeros((16, 128), jnp.float32)
    with pallas_rs.interpret(backend=backend):
        out = np.asarray(jax.jit(f)(x))
    np.testing.assert_array_equal(out, np.ones((16, 128), np.float32))
    printed = capfd.readouterr().out
    for i in range(2):
        assert f'block {i} of "x"' in printed
        assert f"named {i * 10}, {{braces}}" in printed


def test_force_tpu_interpret_mode_inside_the_context_runs_here():
    """A kernel that asks for JAX's TPU interpret mode inside the context
    (`pltpu.force_tpu_interpret_mode`, a common test idiom) runs on the
    context's backend, with the forced options as the call's own."""
    def kernel(x_ref, o_ref):
        o_ref[...] = x_ref[...] * 2.0

    @jax.jit
    def f(x):
        return pl.pallas_call(
            kernel, out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype))(x)

    x = jnp.arange(8 * 128, dtype=jnp.float32).reshape(8, 128)
    with pallas_rs.interpret("sim"):
        before = pallas_rs.stats()["launches"]
        with pltpu.force_tpu_interpret_mode(pltpu.InterpretParams()):
            got = np.asarray(f(x))
        assert pallas_rs.stats()["launches"] == before + 1
    np.testing.assert_array_equal(got, np.asarray(x) * 2.0)
    # Outside the context the same function is JAX's own again.
    before = pallas_rs.stats()["launches"]
    with pltpu.force_tpu_interpret_mode(pltpu.InterpretParams()):
        np.asarray(f(x))
    assert pallas_rs.stats()["launches"] == before
