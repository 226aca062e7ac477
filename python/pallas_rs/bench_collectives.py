"""`python -m pallas_rs.bench_collectives`: a ring all-gather of 8 devices
x 1 MiB each (f32 (2048, 128) per device) under `jax.shard_map` on 8 CPU
devices, in one run: JAX's TPU interpret mode and `pallas_rs.interpret`
on the simulator, both with race detection, and the ratio; and the fast
mode, which checks nothing. Each variant
runs in a process of its own, under a time limit.

    python -m pallas_rs.bench_collectives [--devices N] [--rows R]
                                          [--repeats N] [--timeout S]
                                          [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import jax

from .bench import _time


def ring_all_gather(mesh, rows):
    """The ring all-gather as a kernel author writes it: n-1 grid steps,
    each forwarding to the right neighbour the slot that came from the
    left, one receive semaphore per step; the shards stay in HBM."""
    import jax.numpy as jnp
    from jax import lax
    from jax.experimental import pallas as pl
    from jax.experimental.pallas import tpu as pltpu

    n = mesh.shape["x"]
    mesh_id = pl.DeviceIdType.MESH

    def kernel(x_ref, o_ref, local_sem, send_sem, recv_sems):
        step = pl.program_id(0)
        me = lax.axis_index("x")
        right = lax.rem(me + 1, n)
        left = lax.rem(me + n - 1, n)
        slot = lax.rem(me - step + n, n)

        @pl.when(step == 0)
        def _():
            bar = pltpu.get_barrier_semaphore()
            pl.semaphore_signal(bar, 1, device_id=(left,), device_id_type=mesh_id)
            pl.semaphore_signal(bar, 1, device_id=(right,), device_id_type=mesh_id)
            pl.semaphore_wait(bar, 2)
            local = pltpu.make_async_copy(x_ref, o_ref.at[me], local_sem)
            local.start()
            local.wait()

        copy = pltpu.make_async_remote_copy(
            src_ref=o_ref.at[slot], dst_ref=o_ref.at[slot], send_sem=send_sem,
            recv_sem=recv_sems.at[step], device_id=(right,),
            device_id_type=mesh_id)
        copy.start()
        copy.wait()

    def per_device(x):
        return pl.pallas_call(
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
        )(x)

    P = jax.sharding.PartitionSpec
    return jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=P("x", None),
                                 out_specs=P("x", None), check_vma=False))


VARIANTS = {
    "jax": "JAX TPU interpret mode (eager DMAs)",
    "sim": "pallas_rs.interpret('sim')",
    "cpu": "pallas_rs.interpret('cpu') (no checks)",
}


def measure(variant, devices, rows, repeats):
    """Times one variant in this process: (median, min) seconds."""
    import numpy as np
    from jax.experimental.pallas import tpu as pltpu

    import pallas_rs

    mesh = jax.make_mesh((devices,), ("x",), devices=jax.devices()[:devices])
    x = np.random.default_rng(0).standard_normal(
        (devices * rows, 128)).astype(np.float32)
    xs = jax.device_put(x, jax.sharding.NamedSharding(
        mesh, jax.sharding.PartitionSpec("x", None)))
    want = np.concatenate([x.reshape(devices, rows, 128)] * devices, axis=0)
    if variant == "jax":
        context = pltpu.force_tpu_interpret_mode(pltpu.InterpretParams(
            detect_races=True, dma_execution_mode="eager"))
    elif variant == "sim":
        context = pallas_rs.interpret("sim", detect_races=True)
    else:
        context = pallas_rs.interpret("cpu")
    with context:
        fn = ring_all_gather(mesh, rows)
        if not np.array_equal(np.asarray(fn(xs)), want):
            raise SystemExit(f"{VARIANTS[variant]}: wrong result")
        return _time(lambda: fn(xs), repeats)


def run(devices=8, rows=2048, repeats=3, timeout_s=300.0, out=print):
    """Each variant in a process of its own, so that one that hangs (JAX's
    interpret mode does on a 2-core machine from about 32 KiB per device)
    is reported and the other still measured."""
    mib = rows * 128 * 4 / 2 ** 20
    out(f"ring all-gather, {devices} devices x {mib:g} MiB (f32 ({rows}, 128) "
        "each); JAX and sim with race detection")
    rows_out, by = [], {}
    for variant, name in VARIANTS.items():
        cmd = [sys.executable, "-m", "pallas_rs.bench_collectives",
               "--variant", variant, "--devices", str(devices),
               "--rows", str(rows), "--repeats", str(repeats)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired:
            out(f"  {name:<40}: did not finish in {timeout_s:.0f} s")
            rows_out.append({"variant": name, "devices": devices, "mib": mib,
                             "timed_out_s": timeout_s})
            continue
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        if done.returncode != 0 or not line:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            out(f"  {name:<40}: failed: {' '.join(tail)}")
            continue
        r = json.loads(line[-1])
        by[variant] = r["median_s"]
        rows_out.append({"variant": name, "devices": devices, "mib": mib,
                         "median_s": r["median_s"], "min_s": r["min_s"]})
        out(f"  {name:<40}: {r['median_s'] * 1e3:10.1f} ms "
            f"(min {r['min_s'] * 1e3:.1f})")
    if "jax" in by and "sim" in by:
        out(f"  sim is {by['jax'] / by['sim']:.1f}x faster than JAX's TPU "
            "interpret mode")
    return rows_out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m pallas_rs.bench_collectives",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=8)
    ap.add_argument("--rows", type=int, default=2048,
                    help="rows of 128 f32 per device (2048: 1 MiB)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds each variant may take")
    ap.add_argument("--variant", choices=sorted(VARIANTS),
                    help="time one variant here and print it as JSON")
    ap.add_argument("--json", help="write the rows as JSON here")
    a = ap.parse_args(argv)
    # Before anything asks JAX for its devices.
    jax.config.update("jax_num_cpu_devices", max(a.devices, 1))
    if a.variant:
        med, best = measure(a.variant, a.devices, a.rows, a.repeats)
        print(json.dumps({"median_s": med, "min_s": best}))
        return 0
    print(f"JAX {jax.__version__}")
    rows = run(a.devices, a.rows, a.repeats, a.timeout)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
