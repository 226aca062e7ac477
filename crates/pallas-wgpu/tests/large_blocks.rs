//! Blocks too large for workgroup memory live in a per-workgroup slice of
//! a global buffer; loops over them stay within lavapipe's loop budget
//! (a regression: whole-array blocks of 512K elements came back as zeros
//! past the first 64 elements when every invocation looped over them).

mod common;

use pallas_exec::Executor;
use pallas_exec::HostArray;

#[test]
fn whole_array_blocks_in_the_global_area() {
    if !common::have_gpu() {
        return;
    }
    let w = pallas_wgpu::Wgpu::default();
    for n in [1000usize, 262_144, 600_000, 1_048_576] {
        let src = format!(
            "kernel big grid() {{\n  in x: f32[{n}] vmem\n  out o: f32[{n}] vmem\n  body(%0, %1) {{\n    %2 = load %0[:]\n    %3 = const 2.0:f32\n    %4 = mul %2, %3\n    store %1[:], %4\n  }}\n}}\n"
        );
        let vk = pallas_ir::text::parse_and_validate(&src).expect("valid kernel");
        let x = HostArray::F32(ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[n]), |i| {
            i[0] as f32 - 7.5
        }));
        let out = w
            .compile(&vk)
            .expect("compiles")
            .launch(&[x])
            .expect("runs");
        assert_eq!(out.report.get("dispatches"), 1);
        let o = out.outputs[0].as_f32().expect("f32 output");
        for (i, &v) in o.iter().enumerate() {
            assert_eq!(v, 2.0 * (i as f32 - 7.5), "n = {n}, element {i}");
        }
    }
}
