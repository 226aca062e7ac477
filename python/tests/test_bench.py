"""The benchmark commands run on the installed JAX (a smoke test at small
sizes: each variant's result is checked inside the bench, timings are
not)."""

import subprocess
import sys

import pallas_rs
from pallas_rs import bench


def test_bench_runs_every_variant_at_a_small_size(monkeypatch):
    monkeypatch.setattr(bench, "SHAPE", (16, 2048))
    monkeypatch.setattr(bench, "GRIDS", {8: (16, 256), 256: (1, 128)})
    lines = []
    rows = bench.run(repeats=1, legacy=False, out=lines.append)
    variants = {r["variant"] for r in rows}
    assert "JAX TPU interpret mode" in variants, lines
    for backend in ("sim", "cpu"):
        assert f"pallas_rs.interpret({backend!r})" in variants, lines
        assert f"{backend} launch only" in variants, lines
    assert any("faster than JAX's TPU interpret mode" in ln for ln in lines), lines


def test_bench_collectives_runs_on_two_devices():
    # A process of its own: it sets the number of CPU devices before JAX
    # starts. 2 devices x 4 KiB (8 rows): small enough that JAX's
    # interpret mode does not hang on 2 cores; a 1 MiB copy in 4 chunks.
    done = subprocess.run(
        [sys.executable, "-m", "pallas_rs.bench_collectives", "--devices", "2",
         "--sizes", "4", "--copy-mib", "1", "--repeats", "1",
         "--timeout", "120"],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "failed" not in out and "did not finish" not in out, out
    assert "faster than JAX's TPU interpret mode" in out, out
    # Every variant measured beside the copy, both jobs.
    assert "double-buffered DMA copy, 1 MiB" in out, out
    assert out.count("x the copy") == 2 * 4 - 1, out
    assert pallas_rs.__version__
