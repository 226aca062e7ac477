//! Padded scratch (`scratch s: f32[10, 128] vmem padded[16, 128]`, JAX's
//! `buffer_bounds="padded"`): on the simulator an access past the shape
//! but inside the padding is no fault; it reads uninitialized values and
//! what it writes there is not kept. Past the padding it is a fault. The
//! fast mode and the GPU refuse it by name; the text round-trips; the
//! validator refuses padding where it cannot be.

use ndarray::{s, ArrayD, IxDyn};
use pallas_exec::{ExecError, Executor, FaultKind, HostArray};
use pallas_ir::text::{parse, parse_and_validate, print};
use pallas_sim::Simulator;

/// Writes `x`'s 8 rows into rows `at..at + 8` of the scratch (by a store,
/// or by a DMA with `dma`), then reads the same rows back into `o`.
fn kernel(at: i32, dma: bool) -> String {
    let write = if dma {
        "    dma_start %0[:, :] -> %2[ds(%4, 8), :] sem %3[0]\n    dma_wait %2[ds(%4, 8), :] sem %3[0]\n"
    } else {
        "    %5 = load %0[:, :]\n    store %2[ds(%4, 8), :], %5\n"
    };
    format!(
        "kernel padded grid() {{
  in x: f32[8, 128] vmem
  out o: f32[8, 128] vmem
  scratch s: f32[10, 128] vmem padded[16, 128]
  scratch d: dma_sem[1]
  body(%0, %1, %2, %3) {{
    %4 = const {at}:i32
{write}    %6 = load %2[ds(%4, 8), :]
    store %1[:, :], %6
  }}
}}"
    )
}

fn input() -> ArrayD<f32> {
    ArrayD::from_shape_fn(IxDyn(&[8, 128]), |i| (i[0] * 128 + i[1]) as f32)
}

#[test]
fn writes_into_the_padding_are_dropped_and_reads_there_are_uninitialized() {
    for dma in [false, true] {
        let vk = parse_and_validate(&kernel(4, dma)).unwrap();
        let x = input();
        let out = Simulator::default()
            .compile(&vk)
            .unwrap()
            .launch(&[HostArray::F32(x.clone())])
            .unwrap_or_else(|e| panic!("dma {dma}: {e}"));
        let HostArray::F32(o) = &out.outputs[0] else {
            panic!("f32 output");
        };
        // Rows 4..10 of the scratch are real: x's rows 0..6 come back.
        assert_eq!(o.slice(s![0..6, ..]), x.slice(s![0..6, ..]), "dma {dma}");
        // Rows 10..12 are padding: written, not kept, read as NaN.
        assert!(
            o.slice(s![6..8, ..]).iter().all(|v| v.is_nan()),
            "dma {dma}"
        );
    }
}

#[test]
fn past_the_padding_is_an_out_of_bounds_fault() {
    let vk = parse_and_validate(&kernel(12, false)).unwrap();
    let err = Simulator::default()
        .compile(&vk)
        .unwrap()
        .launch(&[HostArray::F32(input())])
        .unwrap_err();
    let ExecError::Fault(f) = &err else {
        panic!("expected a fault, got {err}");
    };
    assert!(
        matches!(
            &f.kind,
            FaultKind::OutOfBounds { name, dim: 0, index: Some(19), extent: 16, .. } if name == "s"
        ),
        "{err}"
    );
}

#[test]
fn the_fast_mode_and_the_gpu_refuse_padded_scratch_by_name() {
    let vk = parse_and_validate(&kernel(4, false)).unwrap();
    let execs: Vec<Box<dyn Executor>> = vec![
        Box::new(pallas_cpu::Cpu::default()),
        Box::new(pallas_wgpu::Wgpu::default()),
    ];
    for exec in execs {
        match exec.compile(&vk) {
            Err(ExecError::Unsupported { what, .. }) => {
                assert!(what.contains("padded scratch (`s`"), "{what}")
            }
            Err(e) => panic!("expected Unsupported, got {e}"),
            Ok(_) => panic!("compiled a kernel with padded scratch"),
        }
    }
}

#[test]
fn padded_scratch_round_trips_through_the_text() {
    let k = parse(&kernel(4, true)).unwrap();
    let text = print(&k);
    assert!(
        text.contains("scratch s: f32[10, 128] vmem padded[16, 128]"),
        "{text}"
    );
    assert_eq!(parse(&text).unwrap(), k);
}

#[test]
fn the_validator_refuses_padding_where_it_cannot_be() {
    for (from, to) in [
        // Smaller than the shape.
        ("vmem padded[16, 128]", "vmem padded[8, 128]"),
        // Another rank.
        ("vmem padded[16, 128]", "vmem padded[16]"),
        // Not VMEM.
        ("vmem padded[16, 128]", "smem padded[16, 128]"),
    ] {
        let text = kernel(4, false).replace(from, to);
        let err = parse_and_validate(&text).unwrap_err().to_string();
        assert!(err.contains("parameter `s`: a padded shape"), "{to}: {err}");
    }
}
