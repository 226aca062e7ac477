//! Hostile input on the wgpu backend: zero-size grids and arrays, NaN and
//! infinities, block indices out of range, arrays past the adapter's
//! largest binding, a semaphore wait that would never return. Errors, not
//! panics and not wrong data.

mod common;

use ndarray::{ArrayD, IxDyn};
use pallas_exec::run;
use pallas_exec::HostArray;
use pallas_ir::text::parse_and_validate;
use pallas_wgpu::Wgpu;

fn launch(src: &str, args: &[HostArray]) -> Result<pallas_exec::Launch, String> {
    let vk = parse_and_validate(src).map_err(|e| e.to_string())?;
    run(&Wgpu::default(), &vk, args).map_err(|e| e.to_string())
}

#[test]
fn zero_size_grids_and_arrays() {
    if !common::have_gpu() {
        return;
    }
    let src = "kernel k grid(parallel 0) {\n  out o: f32[4] vmem\n  body(%o) {\n    %f = const 1.0:f32\n    store %o[:], %f\n  }\n}";
    let l = launch(src, &[]).unwrap();
    assert_eq!(l.report.get("dispatches"), 1);
    assert!(l.outputs[0].as_f32().unwrap().iter().all(|&v| v == 0.0));
    let src = "kernel k grid() {\n  in x: f32[0, 4] vmem\n  out o: f32[0, 4] vmem\n  body(%x, %o) {\n    %v = load %x[:, :]\n    %s = sin %v\n    store %o[:, :], %s\n  }\n}";
    let l = launch(src, &[HostArray::F32(ArrayD::zeros(IxDyn(&[0, 4])))]).unwrap();
    assert_eq!(l.outputs[0].shape(), &[0, 4]);
}

#[test]
fn nan_and_infinities_flow_through() {
    if !common::have_gpu() {
        return;
    }
    let src = "kernel k grid(parallel 1) {\n  in x: f32[4] vmem block[4] map(%i) {\n    yield %i\n  }\n  out o: f32[4] vmem block[4] map(%j) {\n    yield %j\n  }\n  body(%x, %o) {\n    %v = load %x[:]\n    %w = max %v, %v\n    store %o[:], %w\n  }\n}";
    let x = HostArray::F32(
        ArrayD::from_shape_vec(
            IxDyn(&[4]),
            vec![f32::NAN, f32::INFINITY, -f32::INFINITY, 1.0],
        )
        .unwrap(),
    );
    let o = launch(src, &[x]).unwrap();
    let o = o.outputs[0].as_f32().unwrap();
    assert!(o[[0]].is_nan());
    assert_eq!(
        (o[[1]], o[[2]], o[[3]]),
        (f32::INFINITY, -f32::INFINITY, 1.0)
    );
}

#[test]
fn block_indices_out_of_range_are_errors() {
    if !common::have_gpu() {
        return;
    }
    for bad in ["-1:i32", "2147483647:i32"] {
        let src = format!(
            "kernel k grid(parallel 2) {{\n  in x: f32[16] vmem block[8] map(%i) {{\n    %b = const {bad}\n    yield %b\n  }}\n  out o: f32[16] vmem block[8] map(%j) {{\n    yield %j\n  }}\n  body(%x, %o) {{\n    %v = load %x[:]\n    store %o[:], %v\n  }}\n}}"
        );
        let x = HostArray::F32(ArrayD::zeros(IxDyn(&[16])));
        let err = launch(&src, &[x]).unwrap_err();
        assert_eq!(
            err,
            "kernel `k`, block pipeline: a block index out of range on dimension 0 of `x`, which has 2 blocks there"
        );
    }
}

#[test]
fn arrays_past_the_largest_binding_are_refused() {
    if !common::have_gpu() {
        return;
    }
    // 2^30 elements: 4 GiB, past any adapter's storage binding.
    let src = "kernel k grid() {\n  out o: f32[32768, 32768] any\n  body(%o) {\n  }\n}";
    let err = launch(src, &[]).unwrap_err();
    assert!(err.contains("largest storage binding"), "{err}");
    // 2^40 elements: past what a shader's 32-bit indices count.
    let src = "kernel k grid() {\n  out o: f32[1048576, 1048576] any\n  body(%o) {\n  }\n}";
    let err = launch(src, &[]).unwrap_err();
    assert!(
        err.contains("parameter `o`") && err.contains("32-bit"),
        "{err}"
    );
}

#[test]
fn a_wait_that_would_never_return_is_an_error() {
    if !common::have_gpu() {
        return;
    }
    let src = "kernel k grid() {\n  out o: f32[1] vmem\n  scratch s: sem[1]\n  body(%o, %s) {\n    %one = const 1:i32\n    semaphore_wait %s[0], %one\n  }\n}";
    let err = launch(src, &[]).unwrap_err();
    assert_eq!(
        err,
        "kernel `k`, op `semaphore_wait` at 6:5: a wait on semaphore `s` would never return: it holds less than the wait asks, and one workgroup runs each program alone, so nothing else can signal it"
    );
}
