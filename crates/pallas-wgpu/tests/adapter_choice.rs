//! Which adapter the backend picks, and what happens without one: with
//! Vulkan hidden (`VK_ICD_FILENAMES`/`VK_DRIVER_FILES` pointing nowhere)
//! the wgpu tests skip with a printed reason, quickly, even where OpenGL
//! is installed (GL is never picked unless `WGPU_BACKEND=gl`), and every
//! entry point answers `NoDevice` instead of panicking.
//!
//! Each case runs this test binary again as a child process with the
//! environment it needs, since the device is chosen once per process.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use pallas_exec::{run, ExecError, Executor, HostArray};
use pallas_wgpu::Wgpu;

const CHILD: &str = "PALLAS_WGPU_TEST_CHILD";

/// A small elementwise kernel: o = x * 2 + 1 over f32[64, 128].
const KERNEL: &str = "kernel axpy grid(parallel 4) {\n  in x: f32[64, 128] vmem block[16, 128] map(%i) {\n    %z = const 0:i32\n    yield %i, %z\n  }\n  out o: f32[64, 128] vmem block[16, 128] map(%j) {\n    %y = const 0:i32\n    yield %j, %y\n  }\n  body(%x, %o) {\n    %v = load %x[:, :]\n    %two = const 2.0:f32\n    %one = const 1.0:f32\n    %m = mul %v, %two\n    %a = add %m, %one\n    store %o[:, :], %a\n  }\n}";

fn input(seed: u32) -> HostArray {
    let data: Vec<f32> = (0..64 * 128)
        .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 7.0)
        .collect();
    HostArray::F32(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[64, 128]), data).unwrap())
}

/// The reference: plain ndarray arithmetic (exact in f32: x*2 is exact,
/// the add rounds once, as the shader's does).
fn expected(x: &HostArray) -> HostArray {
    match x {
        HostArray::F32(a) => HostArray::F32(a.mapv(|v| v * 2.0 + 1.0)),
        _ => unreachable!(),
    }
}

/// Runs test `name` of this binary in a child with `env` set (and `CI`
/// and `WGPU_BACKEND` cleared unless given), returning (success, stderr
/// and stdout, time taken).
fn child(name: &str, env: &[(&str, &str)]) -> (bool, String, Duration) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("CI")
        .env_remove("WGPU_BACKEND");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t = Instant::now();
    let out = cmd.output().expect("running the test binary again");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    (out.status.success(), text, t.elapsed())
}

const NOWHERE: &str = "/nonexistent/pallas-rs-no-vulkan.json";

#[test]
fn without_vulkan_the_wgpu_tests_skip_quickly_with_a_reason() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let (ok, text, took) = child(
        "child_without_vulkan",
        &[("VK_ICD_FILENAMES", NOWHERE), ("VK_DRIVER_FILES", NOWHERE)],
    );
    assert!(ok, "the child failed:\n{text}");
    assert!(
        text.contains("skipping the wgpu tests") && text.contains("no GPU adapter"),
        "no printed reason:\n{text}"
    );
    assert!(
        text.contains("WGPU_BACKEND=gl"),
        "the reason does not say how to ask for GL:\n{text}"
    );
    assert!(took < Duration::from_secs(60), "took {took:?}:\n{text}");
}

#[test]
fn child_without_vulkan() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    // The shared skip check says why and returns false (CI is cleared).
    assert!(!common::have_gpu());
    // Compiling answers NoDevice, naming the backends tried.
    let vk = pallas_ir::text::parse_and_validate(KERNEL).unwrap();
    match Wgpu::default().compile(&vk) {
        Err(ExecError::NoDevice { message, .. }) => {
            assert!(message.contains("no GPU adapter"), "{message}")
        }
        Err(e) => panic!("expected NoDevice, got {e}"),
        Ok(_) => panic!("expected NoDevice, got a compiled kernel"),
    }
    // So does the generated-WGSL entry point's device query, without panicking.
    assert!(Wgpu::wgsl(&vk).is_ok());
}

#[test]
fn gl_when_asked_takes_concurrent_launches_without_a_panic() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let (ok, text, took) = child("child_on_gl", &[("WGPU_BACKEND", "gl")]);
    assert!(ok, "the child failed:\n{text}");
    assert!(
        text.contains("GL: 4 threads x 8 launches matched") || text.contains("no GL adapter here"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    assert!(took < Duration::from_secs(120), "took {took:?}:\n{text}");
}

#[test]
fn child_on_gl() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let gpu = match pallas_wgpu::Gpu::shared() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("no GL adapter here ({e}); nothing to check");
            return;
        }
    };
    assert_eq!(gpu.info.backend, wgpu::Backend::Gl, "{}", gpu.describe());
    let vk = pallas_ir::text::parse_and_validate(KERNEL).unwrap();
    let backend = Wgpu::default();
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let (backend, vk) = (&backend, &vk);
            s.spawn(move || {
                for n in 0..8u32 {
                    let x = input(t * 100 + n);
                    let r = run(backend, vk, std::slice::from_ref(&x)).unwrap();
                    assert_eq!(r.outputs[0], expected(&x), "thread {t} launch {n}");
                }
            });
        }
    });
    eprintln!("GL: 4 threads x 8 launches matched on {}", gpu.describe());
}

#[test]
fn the_default_backends_leave_out_gl() {
    assert!(!pallas_wgpu::runtime::DEFAULT_BACKENDS.contains(wgpu::Backends::GL));
    assert!(pallas_wgpu::runtime::DEFAULT_BACKENDS.contains(wgpu::Backends::VULKAN));
}

#[test]
fn a_panic_inside_the_gpu_stack_becomes_a_backend_error() {
    let r: Result<(), ExecError> =
        pallas_wgpu::runtime::guarded("a launch", || panic!("Could not lock adapter context"));
    match r {
        Err(ExecError::Backend { message, .. }) => {
            assert!(message.contains("a launch"), "{message}");
            assert!(
                message.contains("Could not lock adapter context"),
                "{message}"
            );
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
}
