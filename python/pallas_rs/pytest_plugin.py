"""A pytest plugin: `pytest --pallas-rs=sim` (or `cpu`, `wgpu`) runs a test
suite with every `pallas_call` routed through pallas-rs, whatever its
`interpret=` argument. Installed with the package (a `pytest11` entry
point) and off unless asked for.

    pytest --pallas-rs=sim tests/                 # JAX's interpret mode -> pallas-rs
    pytest --pallas-rs=sim --pallas-rs-option detect_races=true tests/
    pytest --pallas-rs=cpu --pallas-rs-report launches.jsonl tests/
    pytest --pallas-rs-report jax.jsonl tests/    # JAX alone, same report
                                                  # (`launches`: JAX's own kernels)

Each test runs inside `pallas_rs.interpret(backend, **options)`. The
number of launches into Rust a test made is recorded (`launches` in the
test's `user_properties`, and in the `--pallas-rs-report` JSON lines with
the outcome and the first line of any failure), so that a test that passes
without ever reaching pallas-rs can be told apart.
"""

from __future__ import annotations

import json
import re

import pytest

BACKENDS = ("sim", "cpu", "wgpu")


def pytest_addoption(parser):
    group = parser.getgroup("pallas-rs", "run pallas_call through pallas-rs")
    group.addoption("--pallas-rs", dest="pallas_rs_backend", default=None,
                    choices=BACKENDS,
                    help="run every pallas_call on this pallas-rs backend")
    group.addoption("--pallas-rs-option", dest="pallas_rs_options",
                    action="append", default=[], metavar="NAME=VALUE",
                    help="an option of pallas_rs.interpret (repeatable); "
                         "values true/false/ints/floats are parsed")
    group.addoption("--pallas-rs-report", dest="pallas_rs_report",
                    default=None, metavar="FILE",
                    help="write one JSON line per test: outcome, launches "
                         "into pallas-rs, first line of any failure")


def _parse_value(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_options(items) -> dict:
    """`["detect_races=true", "random_seed=3"]` -> a dict of options."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise pytest.UsageError(
                f"--pallas-rs-option expects NAME=VALUE, got {item!r}")
        out[name.strip()] = _parse_value(value.strip())
    return out


class _PallasRs:
    """The plugin's state when `--pallas-rs` is given."""

    def __init__(self, config):
        # Imported only when asked for (the import checks JAX's version);
        # under JAX alone its hooks only count JAX's own kernels.
        import pallas_rs
        self.pallas_rs = pallas_rs
        self.backend = config.getoption("pallas_rs_backend")
        self.options = parse_options(config.getoption("pallas_rs_options"))
        # Checked now: a bad option is a usage error, not a failing test.
        try:
            if self.backend:
                self.pallas_rs.interpret(self.backend, **self.options)
        except (TypeError, ValueError) as e:
            raise pytest.UsageError(str(e)) from None
        path = config.getoption("pallas_rs_report")
        self.report = open(path, "w") if path else None
        self.launches: dict = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        # Under a backend: launches into Rust. Under JAX alone: the
        # pallas_calls JAX ran itself, so that a test that runs no kernel
        # can be told apart.
        key = "launches" if self.backend else "jax_kernels"
        before = self.pallas_rs.stats()[key]
        if self.backend:
            with self.pallas_rs.interpret(self.backend, **self.options):
                yield
        else:
            yield
        n = self.pallas_rs.stats()[key] - before
        self.launches[item.nodeid] = n
        item.user_properties.append(("launches", n))

    def pytest_runtest_logreport(self, report):
        if self.report is None:
            return
        if report.when == "call" or (report.when == "setup"
                                     and report.outcome != "passed"):
            cause = None
            if report.outcome == "failed":
                cause = _first_line(report)
            elif report.outcome == "skipped" and isinstance(report.longrepr, tuple):
                cause = str(report.longrepr[2])
            self.report.write(json.dumps({
                "test": report.nodeid, "outcome": report.outcome,
                "launches": self.launches.get(report.nodeid, 0),
                "cause": cause}) + "\n")
            self.report.flush()

    def pytest_terminal_summary(self, terminalreporter):
        if not self.backend:
            return
        total = sum(self.launches.values())
        reached = sum(1 for n in self.launches.values() if n > 0)
        terminalreporter.write_line(
            f"pallas-rs ({self.backend}): {total} launches into Rust from "
            f"{reached} of {len(self.launches)} tests run")

    def pytest_unconfigure(self, config):
        if self.report is not None:
            self.report.close()


def _first_line(report) -> str:
    """The exception line of a failure (`ExcType: message`), else the last
    line of its text."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        lines = [ln.strip() for ln in crash.message.splitlines() if ln.strip()]
        if len(lines) > 1 and "Traceback (most recent call last)" in crash.message:
            # An error raised inside a host callback: XLA wraps it; the
            # cause is the innermost exception line.
            inner = [ln for ln in lines
                     if re.match(r"^[\w.]+(Error|Exception|Fault)\b.*:", ln)]
            if inner:
                return inner[-1][:500]
        return lines[0][:500] if lines else ""
    text = str(report.longrepr).strip().splitlines()
    return text[-1][:500] if text else ""


def pytest_configure(config):
    # A backend routes pallas_call through pallas-rs; a report alone (no
    # backend) records the outcomes of a run under JAX, for comparison.
    if (config.getoption("pallas_rs_backend", None)
            or config.getoption("pallas_rs_report", None)):
        config.pluginmanager.register(_PallasRs(config), "pallas_rs_backend")
