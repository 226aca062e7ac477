//! One dispatch per launch for every corpus kernel at every size, and the
//! same answers as the simulator, on whatever adapter there is (lavapipe
//! in CI).

mod common;

use pallas_exec::run;
use pallas_ir::validate;
use pallas_sim::Simulator;
use pallas_tests::{case, case_names, compare_outputs, Size};
use pallas_wgpu::Wgpu;

#[test]
fn every_launch_is_one_dispatch_and_matches_the_simulator() {
    if !common::have_gpu() {
        return;
    }
    let wgpu = Wgpu::default();
    for name in case_names() {
        for size in [Size::Small, Size::Full] {
            let c = case(name, size).unwrap();
            let vk = validate(&c.kernel).unwrap();
            let g = run(&wgpu, &vk, &c.args).unwrap_or_else(|e| panic!("{name} {size:?}: {e}"));
            assert_eq!(g.report.get("dispatches"), 1, "{name} {size:?}");
            assert_eq!(
                g.report.get("grid_points"),
                c.kernel.num_grid_points().unwrap() as u64,
                "{name} {size:?}"
            );
            let s = run(&Simulator::default(), &vk, &c.args).unwrap();
            compare_outputs(&g.outputs, &s.outputs, c.tolerance)
                .unwrap_or_else(|e| panic!("{name} {size:?} wgpu vs sim: {e}"));
        }
    }
}

#[test]
fn a_second_launch_reuses_the_pipeline_and_buffers() {
    if !common::have_gpu() {
        return;
    }
    let wgpu = Wgpu::default();
    let c = case("matmul", Size::Small).unwrap();
    let vk = validate(&c.kernel).unwrap();
    let first = run(&wgpu, &vk, &c.args).unwrap();
    let t = std::time::Instant::now();
    let second = run(&wgpu, &vk, &c.args).unwrap();
    let _ = t.elapsed();
    assert_eq!(first.outputs, second.outputs);
    assert_eq!(second.report.get("dispatches"), 1);
}

#[test]
fn a_dynamic_index_out_of_bounds_is_a_fault_not_data() {
    if !common::have_gpu() {
        return;
    }
    let src = "kernel oob grid(parallel 1) {\n  in x: f32[8] vmem block[8] map(%i) {\n    yield %i\n  }\n  out o: f32[8] vmem block[8] map(%j) {\n    yield %j\n  }\n  body(%x, %o) {\n    %k = const 6:i32\n    %v = load %x[ds(%k, 4)]\n    store %o[ds(%k, 4)], %v\n  }\n}";
    let vk = pallas_ir::text::parse_and_validate(src).unwrap();
    let x = pallas_exec::HostArray::zeros(pallas_ir::DType::F32, &[8]);
    let err = run(&Wgpu::default(), &vk, &[x]).unwrap_err();
    let pallas_exec::ExecError::Fault(f) = &err else {
        panic!("expected a fault, got {err}");
    };
    assert_eq!(
        f.to_string(),
        "kernel `oob`, op `load` at 10:5: out-of-bounds read of `x`: an index on dimension 0, which has 8 elements"
    );
}

#[test]
fn past_the_edge_a_partial_block_reads_zeros() {
    if !common::have_gpu() {
        return;
    }
    let src = "kernel edge grid(parallel 3) {\n  in x: f32[10] vmem block[4] map(%i) {\n    yield %i\n  }\n  out s: f32[3] smem block[_] map(%j) {\n    yield %j\n  }\n  body(%x, %s) {\n    %v = load %x[:]\n    %t = reduce sum %v axes [0]\n    store %s[], %t\n  }\n}";
    let vk = pallas_ir::text::parse_and_validate(src).unwrap();
    let x =
        pallas_exec::HostArray::F32(ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[10]), |i| {
            (i[0] + 1) as f32
        }));
    let out = run(&Wgpu::default(), &vk, &[x]).unwrap();
    let s = out.outputs[0].as_f32().unwrap();
    assert_eq!(
        s.iter().copied().collect::<Vec<_>>(),
        vec![10.0, 26.0, 19.0]
    );
}
