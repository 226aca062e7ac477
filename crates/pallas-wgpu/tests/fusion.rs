//! Op fusion in the general module: which values are computed where
//! they are used (no GPU needed), and kernels where inlining a value
//! past a write would read the wrong data (run on the adapter, compared
//! with an ndarray reference and the simulator).

mod common;

use ndarray::{Array2, ArrayView2};
use pallas_exec::run;
use pallas_exec::HostArray;
use pallas_ir::{Op, ValidatedKernel};
use pallas_sim::Simulator;
use pallas_wgpu::wgsl::fuse::deferred;

fn parse(text: &str) -> ValidatedKernel {
    pallas_ir::text::parse_and_validate(text).unwrap_or_else(|e| panic!("{e}"))
}

/// The names of the operations whose results are deferred, in order.
fn deferred_ops(vk: &ValidatedKernel) -> Vec<String> {
    let k = vk.kernel();
    let set = deferred(vk);
    k.insts
        .iter()
        .filter(|(i, _)| set.contains(i))
        .map(|(_, d)| d.op.name().to_string())
        .collect()
}

/// `s = x; s = transpose(s); o = s`: the transpose reads the scratch it
/// is stored back into, at other elements.
const TRANSPOSE_IN_PLACE: &str = r#"
kernel transpose_in_place grid() {
  in x: f32[16, 16] vmem
  out o: f32[16, 16] vmem
  scratch s: f32[16, 16] vmem
  body(%0, %1, %2) {
    %3 = load %0[:, :]
    store %2[:, :], %3
    %4 = load %2[:, :]
    %5 = transpose %4 perm [1, 0]
    store %2[:, :], %5
    %6 = load %2[:, :]
    store %1[:, :], %6
  }
}
"#;

/// `a = s; s = 0; o = a + 1`: the load must happen before the store.
const LOAD_BEFORE_STORE: &str = r#"
kernel load_before_store grid() {
  in x: f32[16, 16] vmem
  out o: f32[16, 16] vmem
  scratch s: f32[16, 16] vmem
  body(%0, %1, %2) {
    %3 = load %0[:, :]
    store %2[:, :], %3
    %4 = load %2[:, :]
    %5 = full 0.0:f32 [16, 16]
    store %2[:, :], %5
    %6 = const 1.0:f32
    %7 = broadcast_in_dim %6 to [16, 16] dims []
    %8 = add %4, %7
    store %1[:, :], %8
  }
}
"#;

/// `s = x; s = s * 2 + s[1:17]`: an in-place update at the same
/// element (fusable) next to a read of other rows (not).
const SHIFTED_UPDATE: &str = r#"
kernel shifted_update grid() {
  in x: f32[16, 16] vmem
  out o: f32[16, 16] vmem
  scratch s: f32[32, 16] vmem
  body(%0, %1, %2) {
    %3 = load %0[:, :]
    store %2[ds(0, 16), :], %3
    store %2[ds(16, 16), :], %3
    %4 = load %2[ds(0, 16), :]
    %5 = const 2.0:f32
    %6 = broadcast_in_dim %5 to [16, 16] dims []
    %7 = mul %4, %6
    store %2[ds(0, 16), :], %7
    %8 = load %2[ds(0, 16), :]
    %9 = load %2[ds(1, 16), :]
    %10 = add %8, %9
    store %2[ds(0, 16), :], %10
    %11 = load %2[ds(0, 16), :]
    store %1[:, :], %11
  }
}
"#;

#[test]
fn matmul_accumulates_in_one_loop() {
    let vk = pallas_ir::validate(&pallas_corpus::matmul(256, 256, 256, 128, 128, 64)).unwrap();
    let ops = deferred_ops(&vk);
    // `acc + dot(x, y)` stored to `acc`: the load of `acc` and the add
    // are computed in the store's loop; the final `o = acc` copies once.
    assert!(ops.iter().filter(|o| *o == "add").count() >= 1, "{ops:?}");
    assert!(ops.iter().filter(|o| *o == "load").count() >= 2, "{ops:?}");
    let k = vk.kernel();
    let set = deferred(&vk);
    assert!(
        k.insts
            .iter()
            .all(|(i, d)| !set.contains(&i) || !matches!(d.op, Op::Dot { .. })),
        "a dot is never inlined"
    );
}

#[test]
fn reads_of_a_ref_are_not_moved_past_a_write_to_it() {
    // The transpose of `s` stored to `s` stays materialized.
    let vk = parse(TRANSPOSE_IN_PLACE);
    assert!(!deferred_ops(&vk).contains(&"transpose".to_string()));
    // The load before the store of zeros stays where it is.
    let vk = parse(LOAD_BEFORE_STORE);
    let k = vk.kernel();
    let set = deferred(&vk);
    let body = &k.regions[k.body].insts;
    assert!(
        !set.contains(&body[2]),
        "the load before the store of zeros was deferred past it"
    );
    // The in-place scale is fused; the sum with other rows is not.
    let vk = parse(SHIFTED_UPDATE);
    let k = vk.kernel();
    let set = deferred(&vk);
    let body = &k.regions[k.body].insts;
    let add = body
        .iter()
        .position(|&i| matches!(k.insts[i].op, Op::Binary(pallas_ir::BinaryOp::Add, ..)))
        .unwrap();
    assert!(set.contains(&body[3]), "the in-place scale's load");
    assert!(!set.contains(&body[add]), "the add that reads other rows");
}

fn x16() -> Array2<f32> {
    Array2::from_shape_fn((16, 16), |(i, j)| (i * 16 + j) as f32 * 0.25 - 7.0)
}

fn run_both(vk: &ValidatedKernel, x: &Array2<f32>) -> Array2<f32> {
    let args = [HostArray::F32(x.clone().into_dyn())];
    let sim = run(&Simulator::default(), vk, &args).unwrap();
    let gpu = run(&pallas_wgpu::Wgpu::default(), vk, &args).unwrap();
    assert_eq!(
        gpu.outputs[0],
        sim.outputs[0],
        "kernel `{}`: wgpu and the simulator disagree",
        vk.kernel().name
    );
    gpu.outputs[0]
        .as_f32()
        .unwrap()
        .clone()
        .into_dimensionality()
        .unwrap()
}

fn same(got: &Array2<f32>, want: ArrayView2<f32>, what: &str) {
    assert_eq!(got.view(), want, "{what}");
}

#[test]
fn unfused_hazards_give_the_reference_on_the_gpu() {
    if !common::have_gpu() {
        return;
    }
    let x = x16();
    let got = run_both(&parse(TRANSPOSE_IN_PLACE), &x);
    same(&got, x.t(), "transpose in place");
    let got = run_both(&parse(LOAD_BEFORE_STORE), &x);
    same(&got, (&x + 1.0).view(), "load before store");
    // Rows 0..16 of s become 2x, then row r adds row r + 1 of the
    // scaled rows (row 15 adds row 16, an unscaled copy of x's row 0).
    let mut s = ndarray::concatenate![ndarray::Axis(0), x.mapv(|v| v * 2.0), x];
    let old = s.clone();
    for r in 0..16 {
        for c in 0..16 {
            s[[r, c]] = old[[r, c]] + old[[r + 1, c]];
        }
    }
    let got = run_both(&parse(SHIFTED_UPDATE), &x);
    same(&got, s.slice(ndarray::s![0..16, ..]), "shifted update");
}
