"""Shared fixtures: the backends to test on (wgpu where a device opens;
with CI=true a missing device fails instead of skipping)."""

import os

# Eight host CPU devices for the multi-device tests (test_distributed): set
# before anything imports JAX.
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " "
                               "--xla_force_host_platform_device_count=8").strip()

import numpy as np  # noqa: E402
import pytest  # noqa: E402

BACKENDS = ["sim", "cpu", "wgpu"]

_wgpu_state = {}


def wgpu_available():
    """Whether the wgpu backend opens a device here (lavapipe in CI)."""
    if "ok" not in _wgpu_state:
        from pallas_rs import _native
        text = ("kernel probe grid(parallel 1) {\n"
                "  in x: f32[4] vmem block[4] map(%0) {\n    yield %0\n  }\n"
                "  out o: f32[4] vmem block[4] map(%1) {\n    yield %1\n  }\n"
                "  body(%2, %3) {\n    %4 = load %2[:]\n    store %3[:], %4\n  }\n"
                "}\n")
        try:
            k = _native.compile(text, "wgpu", {})
            k.launch([np.zeros(4, np.float32)])
            _wgpu_state["ok"] = (True, "")
        except Exception as e:  # noqa: BLE001 - any failure means no device
            _wgpu_state["ok"] = (False, str(e))
    return _wgpu_state["ok"]


def skip_without_backend(backend):
    if backend != "wgpu":
        return
    ok, why = wgpu_available()
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the wgpu backend has no device: {why}")
        pytest.skip(f"no wgpu device here: {why}")


@pytest.fixture(params=BACKENDS)
def backend(request):
    skip_without_backend(request.param)
    return request.param
