"""`python -m pallas_rs.bench_collectives`: data movement from Python, in
one run, each variant in a process of its own under a time limit.

* A ring all-gather over 8 CPU devices under `jax.shard_map`, at 64 KiB,
  1 MiB and 4 MiB per device (f32 (rows, 128) each): JAX's TPU interpret
  mode with race detection (it hangs on a 2-core machine above about
  16 KiB per device; `--variants` leaves it out), `pallas_rs.interpret` on
  the simulator with and without race detection and on the fast mode,
  beside NumPy copying the same bytes into a new array (the reference).
* A manual double-buffered DMA copy of 64 MiB on one device (HBM -> VMEM
  -> HBM in 2 MiB chunks, two slots), on the same variants but JAX, beside
  NumPy's copy.

    python -m pallas_rs.bench_collectives [--devices N] [--sizes KiB,...]
                                          [--copy-mib M] [--variants ...]
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


def dma_copy(rows, chunk_rows, cols):
    """A manual double-buffered copy as a kernel author writes it: chunk
    `i + 1` is fetched into one VMEM slot while chunk `i` is written back
    from the other; a slot is refilled only after its write-back landed."""
    import jax.numpy as jnp
    from jax import lax
    from jax.experimental import pallas as pl
    from jax.experimental.pallas import tpu as pltpu

    if rows % chunk_rows:
        raise ValueError(f"{rows} rows do not split into chunks of {chunk_rows}")
    n = rows // chunk_rows

    def kernel(x_hbm, o_hbm, buf, sem_in, sem_out):
        def fetch(i, slot):
            return pltpu.make_async_copy(
                x_hbm.at[pl.ds(i * chunk_rows, chunk_rows)], buf.at[slot],
                sem_in.at[slot])

        def store(i, slot):
            return pltpu.make_async_copy(
                buf.at[slot], o_hbm.at[pl.ds(i * chunk_rows, chunk_rows)],
                sem_out.at[slot])

        fetch(0, 0).start()

        def step(i, carry):
            slot = lax.rem(i, 2)

            @pl.when(i + 1 < n)
            def _():
                @pl.when(i >= 1)
                def _():
                    store(i - 1, 1 - slot).wait()
                fetch(i + 1, 1 - slot).start()

            fetch(i, slot).wait()
            store(i, slot).start()
            return carry

        lax.fori_loop(0, n, step, 0)
        if n >= 2:
            store(n - 2, (n - 2) % 2).wait()
        store(n - 1, (n - 1) % 2).wait()

    return jax.jit(lambda x: pl.pallas_call(
        kernel, out_shape=jax.ShapeDtypeStruct((rows, cols), jnp.float32),
        in_specs=[pl.BlockSpec(memory_space=pl.ANY)],
        out_specs=pl.BlockSpec(memory_space=pl.ANY),
        scratch_shapes=[pltpu.VMEM((2, chunk_rows, cols), jnp.float32),
                        pltpu.SemaphoreType.DMA((2,)),
                        pltpu.SemaphoreType.DMA((2,))])(x))


VARIANTS = {
    "copy": "NumPy copy of the same bytes (reference)",
    "jax": "JAX TPU interpret mode +races (eager DMAs)",
    "sim-races": "pallas_rs.interpret('sim') +races",
    "sim": "pallas_rs.interpret('sim')",
    "cpu": "pallas_rs.interpret('cpu') (no checks)",
}
# The copy's cols and chunk: 2 MiB chunks of f32 (512, 1024) (a quarter
# of the array where that is smaller).
COPY_COLS, COPY_CHUNK_ROWS = 1024, 512


def _context(variant):
    from jax.experimental.pallas import tpu as pltpu

    import pallas_rs
    if variant == "jax":
        return pltpu.force_tpu_interpret_mode(pltpu.InterpretParams(
            detect_races=True, dma_execution_mode="eager"))
    if variant == "sim-races":
        return pallas_rs.interpret("sim", detect_races=True)
    return pallas_rs.interpret(variant)


def measure(variant, job, devices, rows, repeats):
    """Times one variant of a job (`gather` or `copy`) in this process:
    (median, min) seconds."""
    import numpy as np

    if job == "copy":
        x = np.random.default_rng(0).standard_normal(
            (rows, COPY_COLS)).astype(np.float32)
        if variant == "copy":
            return _time(lambda: x.copy(), repeats)
        # On the device already, as the all-gather's shards are: the time
        # is the kernel's, not a host-to-device copy of its operand.
        xj = jax.device_put(x)
        with _context(variant):
            fn = dma_copy(rows, min(COPY_CHUNK_ROWS, max(rows // 4, 1)),
                          COPY_COLS)
            if not np.array_equal(np.asarray(fn(xj)), x):
                raise SystemExit(f"{VARIANTS[variant]}: wrong result")
            return _time(lambda: fn(xj), repeats)
    mesh = jax.make_mesh((devices,), ("x",), devices=jax.devices()[:devices])
    x = np.random.default_rng(0).standard_normal(
        (devices * rows, 128)).astype(np.float32)
    if variant == "copy":
        # The bytes the all-gather writes: every device's copy of all shards.
        shards = x.reshape(devices, rows, 128)
        return _time(lambda: np.broadcast_to(
            shards, (devices,) + shards.shape).copy(), repeats)
    xs = jax.device_put(x, jax.sharding.NamedSharding(
        mesh, jax.sharding.PartitionSpec("x", None)))
    want = np.concatenate([x.reshape(devices, rows, 128)] * devices, axis=0)
    with _context(variant):
        fn = ring_all_gather(mesh, rows)
        if not np.array_equal(np.asarray(fn(xs)), want):
            raise SystemExit(f"{VARIANTS[variant]}: wrong result")
        return _time(lambda: fn(xs), repeats)


def _one(variant, job, devices, rows, repeats, timeout_s):
    """Runs one measurement in a process of its own: a row, or the reason
    it has none."""
    cmd = [sys.executable, "-m", "pallas_rs.bench_collectives",
           "--variant", variant, "--job", job, "--devices", str(devices),
           "--rows", str(rows), "--repeats", str(repeats)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None, f"did not finish in {timeout_s:.0f} s"
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not line:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        return None, f"failed: {' '.join(tail)}"
    return json.loads(line[-1]), None


def run(devices=8, sizes_kib=(64, 1024, 4096), copy_mib=64,
        variants=tuple(VARIANTS), repeats=3, timeout_s=300.0, out=print):
    """Every job at every size on every variant; each measurement in a
    process of its own, so that one that hangs (JAX's interpret mode does
    on a 2-core machine from about 32 KiB per device) is reported and the
    others still measured."""
    jobs = [("gather", int(kib * 1024) // 512, f"all-gather {devices} x {kib:g} KiB")
            for kib in sizes_kib]
    if copy_mib:
        jobs.append(("copy", copy_mib * 2 ** 20 // (4 * COPY_COLS),
                     f"double-buffered DMA copy, {copy_mib:g} MiB"))
    rows_out = []
    for job, rows, title in jobs:
        out(title + (" (JAX and sim +races with race detection)"
                     if job == "gather" else ""))
        by = {}
        for variant in variants:
            if job == "copy" and variant == "jax":
                continue
            name = VARIANTS[variant]
            r, why = _one(variant, job, devices, rows, repeats, timeout_s)
            row = {"job": title, "variant": name}
            if r is None:
                out(f"  {name:<44}: {why}")
                rows_out.append({**row, "not_measured": why})
                continue
            by[variant] = r["median_s"]
            ratio = (f"  {r['median_s'] / by['copy']:6.2f}x the copy"
                     if "copy" in by and variant != "copy" else "")
            out(f"  {name:<44}: {r['median_s'] * 1e3:10.2f} ms "
                f"(min {r['min_s'] * 1e3:.2f}){ratio}")
            rows_out.append({**row, "median_s": r["median_s"],
                             "min_s": r["min_s"]})
        if "jax" in by and "sim-races" in by:
            out(f"  sim +races is {by['jax'] / by['sim-races']:.1f}x faster "
                "than JAX's TPU interpret mode +races")
    return rows_out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m pallas_rs.bench_collectives",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=8)
    ap.add_argument("--sizes", default="64,1024,4096",
                    help="all-gather sizes, KiB per device, comma-separated")
    ap.add_argument("--copy-mib", type=int, default=64,
                    help="MiB of the double-buffered copy (0: none)")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help=f"comma-separated, of {', '.join(VARIANTS)}")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds each measurement may take")
    ap.add_argument("--variant", choices=sorted(VARIANTS),
                    help="time one variant here and print it as JSON")
    ap.add_argument("--job", choices=("gather", "copy"), default="gather")
    ap.add_argument("--rows", type=int, default=2048,
                    help="with --variant: rows per device (gather, of 128 "
                         "f32) or in all (copy, of 1024 f32)")
    ap.add_argument("--json", help="write the rows as JSON here")
    a = ap.parse_args(argv)
    # Before anything asks JAX for its devices.
    jax.config.update("jax_num_cpu_devices", max(a.devices, 1))
    if a.variant:
        med, best = measure(a.variant, a.job, a.devices, a.rows, a.repeats)
        print(json.dumps({"median_s": med, "min_s": best}))
        return 0
    variants = tuple(v for v in a.variants.split(",") if v)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; the variants are {list(VARIANTS)}")
    sizes = tuple(float(k) for k in a.sizes.split(",") if k)
    print(f"JAX {jax.__version__}")
    rows = run(a.devices, sizes, a.copy_mib, variants, a.repeats, a.timeout)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
