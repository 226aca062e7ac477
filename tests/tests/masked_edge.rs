//! A masked store whose region reaches past the buffer's edge: only the
//! lanes the mask enables are checked and written (as on TPU), on the
//! simulator and the fast mode, against an ndarray reference; an enabled
//! lane past the edge is an out-of-bounds fault naming the ref, the
//! dimension and the index.

use ndarray::{s, ArrayD, IxDyn};
use pallas_exec::{ExecError, Executor, FaultKind, HostArray};
use pallas_ir::text::parse_and_validate;
use pallas_sim::Simulator;

/// Stores the 4 x 8 `x` into rows 2..6 of the 4 x 8 output (zeros
/// first) where `m` is set: rows 4 and 5 lie past the edge.
const KERNEL: &str = "kernel masked_edge grid() {
  in x: f32[4, 8] vmem
  in m: bool[4, 8] vmem
  out o: f32[4, 8] vmem
  body(%0, %1, %2) {
    %3 = load %0[:, :]
    %4 = load %1[:, :]
    %5 = const 0.0:f32
    store %2[:, :], %5
    %6 = const 2:i32
    store %2[ds(%6, 4), :], %3 mask %4
  }
}";

fn inputs(enabled_rows: usize) -> (HostArray, HostArray, ArrayD<f32>) {
    let x = ArrayD::from_shape_fn(IxDyn(&[4, 8]), |i| (i[0] * 8 + i[1]) as f32 + 0.5);
    // Every other lane of the first `enabled_rows` rows.
    let m = ArrayD::from_shape_fn(IxDyn(&[4, 8]), |i| i[0] < enabled_rows && i[1] % 2 == 0);
    let mut want = ArrayD::<f32>::zeros(IxDyn(&[4, 8]));
    for r in 0..enabled_rows.min(2) {
        for c in (0..8).step_by(2) {
            want[[r + 2, c]] = x[[r, c]];
        }
    }
    assert_eq!(want.slice(s![0..2, ..]).sum(), 0.0);
    (HostArray::F32(x), HostArray::Bool(m), want)
}

fn backends() -> Vec<(&'static str, Box<dyn Executor>)> {
    // (The GPU checks a store's whole region: it reports this store as
    // out of bounds, a false alarm, never wrong data.)
    vec![
        ("sim", Box::new(Simulator::default())),
        ("cpu", Box::new(pallas_cpu::Cpu::default())),
    ]
}

#[test]
fn disabled_lanes_past_the_edge_are_neither_checked_nor_written() {
    let vk = parse_and_validate(KERNEL).unwrap();
    let (x, m, want) = inputs(2);
    for (name, exec) in backends() {
        let out = exec
            .compile(&vk)
            .unwrap()
            .launch(&[x.clone(), m.clone()])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.outputs[0], HostArray::F32(want.clone()), "{name}");
    }
}

#[test]
fn an_enabled_lane_past_the_edge_is_an_out_of_bounds_fault() {
    let vk = parse_and_validate(KERNEL).unwrap();
    let (x, m, _) = inputs(3);
    for (name, exec) in backends() {
        let err = exec
            .compile(&vk)
            .unwrap()
            .launch(&[x.clone(), m.clone()])
            .unwrap_err();
        let ExecError::Fault(f) = &err else {
            panic!("{name}: expected a fault, got {err}");
        };
        let FaultKind::OutOfBounds {
            access,
            name: r,
            dim,
            index,
            extent,
        } = &f.kind
        else {
            panic!("{name}: expected out of bounds, got {err}");
        };
        assert_eq!(
            (*access, r.as_str(), *dim, *index, *extent),
            ("masked store", "o", 0, Some(4), 4),
            "{name}: {err}"
        );
    }
}
