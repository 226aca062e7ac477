//! Hostile input: zero sizes, NaN and infinities, shapes past the memory
//! limit, huge block indices. Errors, never panics or hangs.

use ndarray::{ArrayD, IxDyn};
use pallas_corpus as corpus;
use pallas_exec::HostArray;
use pallas_exec::{ExecError, Executor};
use pallas_ir::{text, validate};
use pallas_sim::{FaultKind, SimConfig, Simulator};

fn launch(src: &str, cfg: SimConfig, args: &[HostArray]) -> Result<Vec<HostArray>, ExecError> {
    let k = validate(&text::parse(src).expect("parses")).expect("valid");
    Simulator::new(cfg)
        .compile(&k)?
        .launch(args)
        .map(|l| l.outputs)
}

#[test]
fn zero_size_grid_runs_nothing() {
    let src = "kernel k grid(parallel 0) {\n  out o: f32[4] vmem\n  body(%o) {\n    %f = const 1.0:f32\n    store %o[:], %f\n  }\n}";
    let out = launch(src, SimConfig::default(), &[]).unwrap();
    assert!(
        out[0].as_f32().unwrap().iter().all(|v| v.is_nan()),
        "never written"
    );
}

#[test]
fn zero_size_arrays() {
    let src = "kernel k grid() {\n  in x: f32[0, 4] vmem\n  out o: f32[0, 4] vmem\n  body(%x, %o) {\n    %v = load %x[:, :]\n    %s = sin %v\n    store %o[:, :], %s\n  }\n}";
    let x = HostArray::F32(ArrayD::zeros(IxDyn(&[0, 4])));
    let out = launch(src, SimConfig::default(), &[x]).unwrap();
    assert_eq!(out[0].shape(), &[0, 4]);
}

#[test]
fn nan_and_infinities_flow_through() {
    let k = validate(&corpus::seed(1, 4, [1, 4])).unwrap();
    let x = HostArray::F32(
        ArrayD::from_shape_vec(
            IxDyn(&[1, 4]),
            vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0],
        )
        .unwrap(),
    );
    let y = HostArray::F32(ArrayD::zeros(IxDyn(&[1, 4])));
    let out = Simulator::default()
        .compile(&k)
        .unwrap()
        .launch(&[x, y])
        .unwrap();
    let o = out.outputs[0].as_f32().unwrap();
    assert!(
        o.iter().take(3).all(|v| v.is_nan()),
        "sin of NaN and of infinities is NaN"
    );
    assert_eq!(o[[0, 3]], 0.0);
}

#[test]
fn arrays_past_the_memory_limit_are_refused_before_allocating() {
    // 2^40 f32 elements: 4 TiB of output; refused, not allocated.
    let src = "kernel k grid() {\n  out o: f32[1048576, 1048576] any\n  body(%o) {\n  }\n}";
    let err = launch(src, SimConfig::default(), &[]).unwrap_err();
    let ExecError::Fault(f) = err else {
        panic!("{err}")
    };
    let e = f;
    assert_eq!(
        e.kind,
        FaultKind::TooLarge {
            what: "the kernel's inputs and outputs".into(),
            bytes: 1 << 42,
            limit: 8 << 30
        }
    );
    let small = SimConfig::default().memory_limit_bytes(1024);
    let x = HostArray::F32(ArrayD::zeros(IxDyn(&[1000])));
    let k = validate(&corpus::vector_add(1000, 128)).unwrap();
    assert!(Simulator::new(small)
        .compile(&k)
        .unwrap()
        .launch(&[x.clone(), x])
        .is_err());
}

#[test]
fn huge_and_negative_block_indices_are_errors() {
    for bad in ["-1:i32", "2147483647:i32"] {
        let src = format!(
            "kernel k grid(parallel 2) {{\n  in x: f32[16] vmem block[8] map(%i) {{\n    %b = const {bad}\n    yield %b\n  }}\n  out o: f32[16] vmem block[8] map(%j) {{\n    yield %j\n  }}\n  body(%x, %o) {{\n  }}\n}}"
        );
        let x = HostArray::F32(ArrayD::zeros(IxDyn(&[16])));
        let err = launch(&src, SimConfig::default(), &[x]).unwrap_err();
        // The phase names the index map once; the kind says what it gave.
        let text = err.to_string();
        assert!(text.contains("index map of `x`: block index "), "{text}");
        assert_eq!(text.matches("index map").count(), 1, "{text}");
    }
}

#[test]
fn huge_dynamic_indices_are_errors() {
    let src = "kernel k grid() {\n  in x: f32[8] vmem\n  out o: f32[8] vmem\n  body(%x, %o) {\n    %i = const 2147483647:i32\n    %v = load %x[ds(%i, 2)]\n  }\n}";
    let x = HostArray::F32(ArrayD::zeros(IxDyn(&[8])));
    let err = launch(src, SimConfig::default(), &[x]).unwrap_err();
    assert!(
        err.to_string().contains("out-of-bounds read of `x`"),
        "{err}"
    );
}

#[test]
fn a_long_loop_of_deadlocking_waits_ends() {
    let src = "kernel k grid() {\n  out o: f32[1] vmem\n  scratch s: sem[1]\n  body(%o, %s) {\n    %lo = const 0:i32\n    %hi = const 1000000:i32\n    %one = const 1:i32\n    for %lo to %hi step 1 init() do(%i) {\n      semaphore_wait %s[0], %one\n    }\n  }\n}";
    let err = launch(src, SimConfig::default(), &[]).unwrap_err();
    assert!(err.to_string().contains("deadlock"), "{err}");
}

#[test]
fn absurd_scratch_is_refused_before_allocating() {
    // Found by the run_sim fuzz target: 55,555,555,555,552 DMA semaphores
    // were allocated as asked, and the allocation failed.
    let src = "kernel doy grid() {\n  in x: f32[64, 128] any\n  out o: f32[64, 1208] vmem\n  scratch buf: f32[2, 16, 128] vmem\n  scratch sem: dma_sem[55555555555552]\n  body(%0, %1, %2, %3) {\n  }\n}";
    let x = HostArray::F32(ArrayD::zeros(IxDyn(&[64, 128])));
    let err = launch(src, SimConfig::default(), &[x]).unwrap_err();
    assert!(
        err.to_string()
            .contains("the cores' block buffers, scratch and semaphores"),
        "{err}"
    );
}
