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
    # starts. 2 devices x 8 rows: small enough that JAX's interpret mode
    # does not hang on 2 cores.
    done = subprocess.run(
        [sys.executable, "-m", "pallas_rs.bench_collectives", "--devices", "2",
         "--rows", "8", "--repeats", "1", "--timeout", "120"],
        capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "failed" not in out and "did not finish" not in out, out
    assert "faster than JAX's TPU interpret mode" in out, out
    assert pallas_rs.__version__
