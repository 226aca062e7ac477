//! One test per planted bug: the exact fault and where it happened; the
//! same kernel without the bug runs.

use ndarray::{ArrayD, IxDyn};
use pallas_exec::HostArray;
use pallas_exec::{ExecError, Executor, Launch};
use pallas_ir::{text, validate};
use pallas_sim::{DmaExecutionMode, Fault, FaultKind, SimConfig, Simulator};

fn run(src: &str, cfg: SimConfig, args: &[HostArray]) -> Result<Launch, Box<Fault>> {
    let k = validate(&text::parse(src).expect("parses")).expect("valid");
    match Simulator::new(cfg)
        .compile(&k)
        .expect("compiles")
        .launch(args)
    {
        Ok(l) => Ok(l),
        Err(ExecError::Fault(e)) => Err(e),
        Err(other) => panic!("unexpected error {other}"),
    }
}

fn f32s(n: usize, v: f32) -> HostArray {
    HostArray::F32(ArrayD::from_elem(IxDyn(&[n]), v))
}

/// Copies 8-element blocks of x to o, reading at offset `%off` in-block.
fn copy_with_offset(off: i32) -> String {
    format!(
        "kernel k grid(parallel 4) {{
  in x: f32[32] vmem block[8] map(%i) {{
    yield %i
  }}
  out o: f32[32] vmem block[8] map(%j) {{
    yield %j
  }}
  body(%x, %o) {{
    %p = program_id 0
    %c = const {off}:i32
    %two = const 2:i32
    %is2 = cmp eq %p, %two
    %zero = const 0:i32
    %s = select %is2, %c, %zero
    %v = load %x[ds(%s, 8)]
    store %o[:], %v
  }}
}}"
    )
}

#[test]
fn out_of_bounds_read_names_the_grid_point() {
    let e = run(&copy_with_offset(1), SimConfig::default(), &[f32s(32, 1.0)]).unwrap_err();
    assert_eq!(e.grid_point, Some(vec![2]));
    assert_eq!(e.op, "op `load`");
    assert_eq!(e.loc.map(|l| l.line), Some(15));
    assert_eq!(
        e.kind,
        FaultKind::OutOfBounds {
            access: "read",
            name: "x".into(),
            dim: 0,
            index: Some(8),
            extent: 8
        }
    );
    // Without the bug (offset 0) it runs and copies.
    let ok = run(&copy_with_offset(0), SimConfig::default(), &[f32s(32, 1.0)]).unwrap();
    assert_eq!(ok.outputs[0], f32s(32, 1.0));
}

#[test]
fn out_of_bounds_read_can_give_uninitialized_values() {
    let cfg = SimConfig::default().out_of_bounds_reads(pallas_sim::OutOfBoundsReads::Uninitialized);
    let out = run(&copy_with_offset(1), cfg, &[f32s(32, 1.0)]).unwrap();
    let o = out.outputs[0].as_f32().unwrap();
    // Grid point 2 reads elements 1..9 of its 8-element block: the seven
    // in bounds are read, the one past the edge is uninitialized (NaN), as
    // in JAX's interpret mode.
    assert!(o.iter().skip(16).take(7).all(|&v| v == 1.0));
    assert!(o[23].is_nan());
    assert!(o.iter().take(16).all(|&v| v == 1.0));
}

#[test]
fn out_of_bounds_write() {
    let src = "kernel k grid(parallel 2) {
  out o: f32[16] vmem block[8] map(%j) {
    yield %j
  }
  body(%o) {
    %p = program_id 0
    %f = const 1.0:f32
    %s = const 9:i32
    %one = const 1:i32
    %bad = cmp eq %p, %one
    %zero = const 0:i32
    %at = select %bad, %s, %zero
    store %o[%at], %f
    store %o[:], %f
  }
}";
    let e = run(src, SimConfig::default(), &[]).unwrap_err();
    assert_eq!(e.grid_point, Some(vec![1]));
    assert_eq!(
        e.kind,
        FaultKind::OutOfBounds {
            access: "write",
            name: "o".into(),
            dim: 0,
            index: Some(9),
            extent: 8
        }
    );
}

#[test]
fn uninitialized_scratch_reads_propagate_nan() {
    let src = |init: bool| {
        format!(
            "kernel k grid() {{
  out o: f32[4] vmem
  scratch s: f32[4] vmem
  body(%o, %s) {{
    {}
    %v = load %s[:]
    store %o[:], %v
  }}
}}",
            if init {
                "%z = const 0.5:f32\n    store %s[:], %z"
            } else {
                ""
            }
        )
    };
    let bad = run(&src(false), SimConfig::default(), &[]).unwrap();
    assert!(bad.outputs[0].as_f32().unwrap().iter().all(|v| v.is_nan()));
    let good = run(&src(true), SimConfig::default(), &[]).unwrap();
    assert_eq!(good.outputs[0], f32s(4, 0.5));
    // With the report switch, the bad read is an error naming the ref.
    let strict = SimConfig::default().report_uninitialized_reads(true);
    let e = run(&src(false), strict.clone(), &[]).unwrap_err();
    assert_eq!(e.op, "op `load`");
    assert_eq!(
        e.kind,
        FaultKind::UninitializedRead {
            name: "s".into(),
            element: vec![0],
            detail: String::new(),
        }
    );
    assert!(run(&src(true), strict, &[]).is_ok());
}

#[test]
fn reads_past_a_partial_block_are_uninitialized() {
    let strict = SimConfig::default().report_uninitialized_reads(true);
    let k = validate(&pallas_corpus::vector_add(10, 4)).unwrap();
    let err = Simulator::new(strict.clone())
        .compile(&k)
        .unwrap()
        .launch(&[f32s(10, 1.0), f32s(10, 2.0)])
        .unwrap_err();
    let ExecError::Fault(f) = err else { panic!() };
    let e = f;
    assert_eq!(e.grid_point, Some(vec![2]));
    // Block 2 of x covers elements 8..12 of a 10-element array: its element
    // 2 is array element 10, past the edge.
    assert_eq!(
        e.kind,
        FaultKind::UninitializedRead {
            name: "x".into(),
            element: vec![2],
            detail: " (array element [10], past the array's edge: `x` has 10 elements on \
                     dimension 0; a partial block)"
                .into(),
        }
    );
    assert_eq!(
        e.kind.to_string(),
        "read of uninitialized memory in `x` at element [2] (array element [10], past the \
         array's edge: `x` has 10 elements on dimension 0; a partial block)"
    );
    // Every block full: no uninitialized reads.
    let k = validate(&pallas_corpus::vector_add(12, 4)).unwrap();
    assert!(Simulator::new(strict)
        .compile(&k)
        .unwrap()
        .launch(&[f32s(12, 1.0), f32s(12, 2.0)])
        .is_ok());
}

#[test]
fn corpus_kernels_read_only_written_memory() {
    let strict = SimConfig::default()
        .report_uninitialized_reads(true)
        .dma_execution_mode(DmaExecutionMode::OnWait);
    for e in pallas_corpus::all() {
        // vector_add reads past the edge of its partial last block by
        // design (those lanes are dropped); histogram masks them off.
        if matches!(e.name, "seed" | "vector_add") {
            continue;
        }
        let k = validate(&e.kernel).unwrap();
        let args = pallas_tests_args(&k);
        let r = Simulator::new(strict.clone())
            .compile(&k)
            .unwrap()
            .launch(&args);
        assert!(r.is_ok(), "{}: {}", e.name, r.err().unwrap());
    }
}

fn dma_kernel(wait: bool) -> String {
    format!(
        "kernel k grid() {{
  in x: f32[8] any
  out o: f32[8] vmem
  scratch buf: f32[8] vmem
  scratch sem: dma_sem[1]
  body(%x, %o, %buf, %sem) {{
    dma_start %x[:] -> %buf[:] sem %sem[0]
    {}
    %v = load %buf[:]
    store %o[:], %v
  }}
}}",
        if wait {
            "dma_wait %buf[:] sem %sem[0]"
        } else {
            ""
        }
    )
}

/// A DMA into `buf` that nobody waits for and nobody reads.
fn unwaited_unread_dma() -> String {
    dma_kernel(false).replace("    %v = load %buf[:]\n", "    %v = const 0.0:f32\n")
}

#[test]
fn missing_dma_wait_under_on_wait() {
    let cfg = SimConfig::default().dma_execution_mode(DmaExecutionMode::OnWait);
    let e = run(&unwaited_unread_dma(), cfg.clone(), &[f32s(8, 3.0)]).unwrap_err();
    // Reported where the DMA started.
    assert_eq!(e.op, "op `dma_start`");
    assert_eq!(e.loc.map(|l| (l.line, l.col)), Some((7, 5)));
    assert_eq!(e.grid_point, None);
    assert_eq!(
        e.kind,
        FaultKind::DmaNotWaited {
            dst: "buf".into(),
            sem: "`sem`[0]".into()
        }
    );
    let ok = run(&dma_kernel(true), cfg, &[f32s(8, 3.0)]).unwrap();
    assert_eq!(ok.outputs[0], f32s(8, 3.0));
    assert_eq!(ok.report.get("dmas"), 1);
    assert_eq!(ok.report.get("dma_bytes"), 32);
}

#[test]
fn missing_dma_wait_under_eager() {
    let e = run(
        &unwaited_unread_dma(),
        SimConfig::default(),
        &[f32s(8, 3.0)],
    )
    .unwrap_err();
    assert_eq!(
        e.kind,
        FaultKind::DmaNotWaited {
            dst: "buf".into(),
            sem: "`sem`[0]".into()
        }
    );
    assert_eq!(e.op, "op `dma_start`");
    assert_eq!(e.loc.map(|l| (l.line, l.col)), Some((7, 5)));
}

/// Reading a DMA's destination before its wait is caught by default (no
/// race detection), in either DMA mode, at the read.
#[test]
fn read_of_a_dma_destination_before_its_wait() {
    let read_then_wait = dma_kernel(false).replace(
        "    store %o[:], %v\n",
        "    store %o[:], %v\n    dma_wait %buf[:] sem %sem[0]\n",
    );
    for mode in [DmaExecutionMode::Eager, DmaExecutionMode::OnWait] {
        let cfg = SimConfig::default().dma_execution_mode(mode);
        let e = run(&read_then_wait, cfg, &[f32s(8, 3.0)]).unwrap_err();
        assert_eq!(e.op, "op `load`");
        assert_eq!(e.loc.map(|l| (l.line, l.col)), Some((9, 5)));
        assert_eq!(
            e.kind.to_string(),
            "data race on `buf` element 0: a DMA in flight (started on core 0) and load \
             by core 0 are not ordered by a semaphore or DMA completion"
        );
    }
}

/// Writing a DMA's destination (or source) before its wait is caught too.
#[test]
fn write_of_a_dma_destination_before_its_wait() {
    let src = dma_kernel(true).replace(
        "    dma_wait %buf[:] sem %sem[0]\n",
        "    %z = const 0.0:f32\n    store %buf[ds(4, 2)], %z\n    dma_wait %buf[:] sem %sem[0]\n",
    );
    let e = run(&src, SimConfig::default(), &[f32s(8, 3.0)]).unwrap_err();
    assert_eq!(e.op, "op `store`");
    let FaultKind::Race { name, index, .. } = &e.kind else {
        panic!("{e}")
    };
    assert_eq!((name.as_str(), *index), ("buf", 4));
}

fn semaphore_kernel(signal: i32, wait: i32) -> String {
    format!(
        "kernel k grid(arbitrary 3) {{
  out o: f32[4] vmem
  scratch s: sem[2]
  body(%o, %s) {{
    %a = const {signal}:i32
    %b = const {wait}:i32
    semaphore_signal %s[1], %a
    semaphore_wait %s[1], %b
    %f = const 1.0:f32
    store %o[:], %f
  }}
}}"
    )
}

#[test]
fn semaphore_deadlock_is_an_error_not_a_hang() {
    let e = run(&semaphore_kernel(1, 2), SimConfig::default(), &[]).unwrap_err();
    assert_eq!(e.grid_point, Some(vec![0]));
    assert_eq!(e.op, "op `semaphore_wait`");
    assert!(matches!(e.kind, FaultKind::Deadlock { .. }), "{e}");
    assert!(run(&semaphore_kernel(2, 2), SimConfig::default(), &[]).is_ok());
}

#[test]
fn leftover_semaphore_count() {
    let e = run(&semaphore_kernel(3, 2), SimConfig::default(), &[]).unwrap_err();
    assert_eq!(e.op, "end of kernel");
    assert_eq!(
        e.kind,
        FaultKind::SemaphoreLeftNonZero {
            name: "s".into(),
            index: 1,
            value: 3
        }
    );
}

fn revisit_kernel(modulus: i32, alias: bool) -> String {
    format!(
        "kernel k grid(arbitrary 3) {{
  in x: f32[16] vmem
  out o: f32[16] vmem block[8] map(%i) {{
    %m = const {modulus}:i32
    %b = rem %i, %m
    yield %b
  }}
  {}
  body(%x, %o) {{
    %f = const 1.0:f32
    store %o[:], %f
  }}
}}",
        if alias { "alias 0 -> 0" } else { "" }
    )
}

#[test]
fn non_consecutive_output_revisit() {
    // Blocks 0, 1, 0: block 0 comes back after block 1 was written.
    let e = run(
        &revisit_kernel(2, false),
        SimConfig::default(),
        &[f32s(16, 0.0)],
    )
    .unwrap_err();
    assert_eq!(e.grid_point, Some(vec![2]));
    assert_eq!(
        e.kind,
        FaultKind::Revisit {
            name: "o".into(),
            block: vec![0]
        }
    );
    // Consecutive revisits (blocks 0, 0, 0) accumulate and are fine.
    let ok = run(
        &revisit_kernel(1, false),
        SimConfig::default(),
        &[f32s(16, 0.0)],
    )
    .unwrap();
    let o = ok.outputs[0].as_f32().unwrap();
    assert_eq!(o[[0]], 1.0);
    assert!(o[[8]].is_nan(), "block 1 was never written");
    // An aliased output may revisit.
    assert!(run(
        &revisit_kernel(2, true),
        SimConfig::default(),
        &[f32s(16, 0.0)]
    )
    .is_ok());
}

#[test]
fn index_map_out_of_range() {
    let src = "kernel k grid(parallel 2) {
  out o: f32[16] vmem block[8] map(%i) {
    %one = const 1:i32
    %b = add %i, %one
    yield %b
  }
  body(%o) {
  }
}";
    let e = run(src, SimConfig::default(), &[]).unwrap_err();
    assert_eq!(e.grid_point, Some(vec![1]));
    assert_eq!(
        e.kind,
        FaultKind::BlockIndexOutOfRange {
            name: "o".into(),
            dim: 0,
            index: Some(2),
            blocks: 2
        }
    );
}

#[test]
fn pipelining_copies_only_when_the_block_index_changes() {
    // matmul 64^3 in 32^3 tiles: grid (2, 2, 2); x's block (i, k) changes
    // every point, the output block (i, j) every second point.
    let k = validate(&pallas_corpus::matmul(64, 64, 64, 32, 32, 32)).unwrap();
    let x = HostArray::F32(ArrayD::from_elem(IxDyn(&[64, 64]), 1.0));
    let out = Simulator::default()
        .compile(&k)
        .unwrap()
        .launch(&[x.clone(), x])
        .unwrap();
    assert_eq!(out.report.get("grid_points"), 8);
    assert_eq!(out.report.get("block_copies_in"), 16);
    assert_eq!(out.report.get("block_copies_out"), 4);
    assert!(out.outputs[0].as_f32().unwrap().iter().all(|&v| v == 64.0));
}

#[test]
fn partial_blocks_drop_writes_past_the_edge() {
    let k = validate(&pallas_corpus::vector_add(10, 4)).unwrap();
    let out = Simulator::default()
        .compile(&k)
        .unwrap()
        .launch(&[f32s(10, 1.0), f32s(10, 2.0)])
        .unwrap();
    assert_eq!(out.outputs[0], f32s(10, 3.0));
    assert_eq!(out.report.get("bytes_vmem_to_hbm"), 40);
}

#[test]
fn two_cores_split_the_parallel_grid() {
    let k = validate(&pallas_corpus::vector_add(64, 8)).unwrap();
    let sim = Simulator::new(SimConfig::default().num_cores(2).random_seed(3));
    let out = sim
        .compile(&k)
        .unwrap()
        .launch(&[f32s(64, 1.0), f32s(64, 2.0)])
        .unwrap();
    assert_eq!(out.outputs[0], f32s(64, 3.0));
    assert_eq!(out.report.get("cores"), 2);
    assert_eq!(out.report.get("grid_points"), 8);
}

#[test]
fn compilation_is_cached_per_kernel() {
    let k = validate(&pallas_corpus::vector_add(64, 8)).unwrap();
    let sim = Simulator::default();
    let a = sim.compile(&k).unwrap();
    let b = sim.compile(&k).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
}

#[test]
fn bad_arguments_are_errors() {
    let k = validate(&pallas_corpus::vector_add(64, 8)).unwrap();
    let err = Simulator::default()
        .compile(&k)
        .unwrap()
        .launch(&[f32s(63, 1.0), f32s(64, 1.0)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "kernel `vector_add`: argument `x`: expected f32[64], found f32[63]"
    );
}

/// Two parallel grid points that both write output block 0: a race on two
/// cores, a consecutive revisit on one.
const RACING: &str = "kernel k grid(parallel 2) {
  out o: f32[8] vmem block[8] map(%i) {
    %z = const 0:i32
    yield %z
  }
  body(%o) {
    %f = const 1.0:f32
    store %o[:], %f
  }
}";

fn race_cfg(cores: usize) -> SimConfig {
    SimConfig::default().num_cores(cores).detect_races(true)
}

#[test]
fn two_cores_writing_one_output_block_race() {
    let src = RACING;
    let e = run(src, race_cfg(2), &[]).unwrap_err();
    let FaultKind::Race {
        name,
        index,
        first,
        second,
    } = &e.kind
    else {
        panic!("{e}")
    };
    assert_eq!((name.as_str(), *index), ("o", 0));
    // Which core writes back first depends on the threads; both are named.
    let both = format!("{first} / {second}");
    assert!(
        both.contains("core 0 at grid point [0]") && both.contains("core 1 at grid point [1]"),
        "{both}"
    );
    // Each side is tagged with what it was.
    assert!(
        first.starts_with("write (block write-back) by core"),
        "{first}"
    );
    assert!(
        second.starts_with("write (block write-back) by core"),
        "{second}"
    );
    // Found by the pipeline, and said so (not the last op the body ran).
    assert_eq!(e.op, "write-back of `o` block [0]");
    assert_eq!(e.loc, None);
    // One core visits the block consecutively: no race and no revisit,
    // but the block stays across a parallel coordinate, which the default
    // check reports.
    let e = run(src, race_cfg(1), &[]).unwrap_err();
    assert!(
        matches!(e.kind, FaultKind::OutputAcrossParallel { dim: 0, .. }),
        "{e}"
    );
}

fn handoff_kernel(synchronized: bool) -> String {
    let (wait, signal) = if synchronized {
        (
            "semaphore_wait %s[0], %one",
            "semaphore_signal %s[0], %one core %one",
        )
    } else {
        ("", "")
    };
    format!(
        "kernel k grid(parallel 2) {{
  out o: f32[8] any
  scratch buf: f32[8] vmem
  scratch d: dma_sem[1]
  scratch s: sem[1]
  body(%o, %buf, %d, %s) {{
    %c = program_id 0
    %zero = const 0:i32
    %one = const 1:i32
    %first = cmp eq %c, %zero
    %second = cmp eq %c, %one
    %f = cast %c to f32
    store %buf[:], %f
    if %second then {{
      {wait}
    }}
    dma_start %buf[:] -> %o[:] sem %d[0]
    dma_wait %o[:] sem %d[0]
    if %first then {{
      {signal}
    }}
  }}
}}"
    )
}

#[test]
fn semaphores_order_cross_core_writes() {
    let ok = run(&handoff_kernel(true), race_cfg(2), &[]).unwrap();
    assert_eq!(ok.outputs[0], f32s(8, 1.0));
    let e = run(&handoff_kernel(false), race_cfg(2), &[]).unwrap_err();
    let FaultKind::Race { name, .. } = &e.kind else {
        panic!("{e}")
    };
    assert_eq!(name, "o");
}

#[test]
fn touching_a_dma_destination_before_the_wait_races() {
    let src = |early_read: bool| {
        format!(
            "kernel k grid() {{
  in x: f32[8] any
  out o: f32[8] vmem
  scratch buf: f32[8] vmem
  scratch sem: dma_sem[1]
  body(%x, %o, %buf, %sem) {{
    dma_start %x[:] -> %buf[:] sem %sem[0]
    {}
    dma_wait %buf[:] sem %sem[0]
    %v = load %buf[:]
    store %o[:], %v
  }}
}}",
            if early_read {
                "%early = load %buf[ds(2, 2)]"
            } else {
                ""
            }
        )
    };
    let e = run(&src(true), race_cfg(1), &[f32s(8, 3.0)]).unwrap_err();
    assert_eq!(e.op, "op `load`");
    assert_eq!(
        e.kind,
        FaultKind::Race {
            name: "buf".into(),
            index: 2,
            first: "a DMA in flight (started on core 0)".into(),
            second: "load by core 0".into(),
        }
    );
    assert!(run(&src(false), race_cfg(1), &[f32s(8, 3.0)]).is_ok());
}

#[test]
fn corpus_kernels_are_race_free() {
    for e in pallas_corpus::all() {
        if e.name == "seed" {
            continue; // covered at full size by the benchmarks
        }
        let k = validate(&e.kernel).unwrap();
        let c = pallas_tests_args(&k);
        let sim = Simulator::new(race_cfg(2));
        let r = sim.compile(&k).unwrap().launch(&c);
        assert!(r.is_ok(), "{}: {}", e.name, r.err().unwrap());
    }
}

/// Arguments for a corpus kernel: zeros, with in-range integers.
fn pallas_tests_args(k: &pallas_ir::ValidatedKernel) -> Vec<HostArray> {
    k.kernel()
        .params
        .iter()
        .filter(|p| {
            matches!(
                p.kind,
                pallas_ir::ParamKind::ScalarPrefetch | pallas_ir::ParamKind::Input
            )
        })
        .map(|p| HostArray::zeros(p.dtype().unwrap(), &p.shape))
        .collect()
}

#[test]
fn tpu_block_shape_rule() {
    let cfg = SimConfig::default().target(pallas_sim::Target::Tpu);
    let k = validate(&pallas_corpus::seed(16, 1024, [1, 100])).unwrap();
    let err = Simulator::new(cfg.clone())
        .compile(&k)
        .err()
        .expect("rejected");
    let ExecError::Fault(f) = err else {
        panic!("{err}")
    };
    let e = f;
    assert_eq!(e.op, "compile");
    assert_eq!(
        e.kind,
        FaultKind::Tpu("`x`: block dimension 0 is 1, which is neither a multiple of 8 nor the array's 16 (32-bit blocks tile as (8, 128))".into())
    );
    // (8, 128) tiles, or blocks equal to the array, pass; so does the
    // interpret-mode default.
    assert!(Simulator::new(cfg.clone())
        .compile(&validate(&pallas_corpus::seed(16, 1024, [8, 128])).unwrap())
        .is_ok());
    assert!(Simulator::new(cfg)
        .compile(&validate(&pallas_corpus::seed(16, 1000, [16, 1000])).unwrap())
        .is_ok());
    assert!(Simulator::default().compile(&k).is_ok());
}

#[test]
fn tpu_vmem_capacity() {
    let cfg = SimConfig::default()
        .target(pallas_sim::Target::Tpu)
        .vmem_capacity_bytes(1 << 20);
    // Three double-buffered f32 blocks of 16 x 2048: 768 KiB fits in 1 MiB,
    // 16 x 4096 (1.5 MiB) does not.
    let fits = validate(&pallas_corpus::seed(16, 8192, [16, 2048])).unwrap();
    assert!(Simulator::new(cfg.clone()).compile(&fits).is_ok());
    let big = validate(&pallas_corpus::seed(16, 8192, [16, 4096])).unwrap();
    let err = Simulator::new(cfg).compile(&big).err().expect("rejected");
    assert!(
        err.to_string()
            .contains("VMEM use per core is 1572864 bytes"),
        "{err}"
    );
}

#[test]
fn race_detection_holds_on_repeated_launches() {
    let racing = RACING;
    let k = validate(&text::parse(racing).unwrap()).unwrap();
    let c = Simulator::new(race_cfg(2)).compile(&k).unwrap();
    for _ in 0..3 {
        assert!(matches!(c.launch(&[]), Err(ExecError::Fault(_))));
    }
    let fine = validate(&pallas_corpus::vector_add(64, 8)).unwrap();
    let c = Simulator::new(race_cfg(2)).compile(&fine).unwrap();
    for _ in 0..3 {
        assert_eq!(
            c.launch(&[f32s(64, 1.0), f32s(64, 2.0)]).unwrap().outputs[0],
            f32s(64, 3.0)
        );
    }
}

#[test]
fn two_cores_waiting_on_each_other_deadlock() {
    // Each core waits for a signal the other sends only after its own wait.
    let src = "kernel k grid(parallel 2) {
  out o: f32[2] vmem block[1] map(%i) {
    yield %i
  }
  scratch s: sem[1]
  body(%o, %s) {
    %c = program_id 0
    %one = const 1:i32
    %other = sub %one, %c
    semaphore_wait %s[0], %one
    semaphore_signal %s[0], %one core %other
    %f = const 1.0:f32
    store %o[:], %f
  }
}";
    let e = run(src, SimConfig::default().num_cores(2), &[]).unwrap_err();
    assert!(matches!(e.kind, FaultKind::Deadlock { .. }), "{e}");
    assert_eq!(e.op, "op `semaphore_wait`");
    assert!(e.grid_point == Some(vec![0]) || e.grid_point == Some(vec![1]));
}

#[test]
fn a_cross_core_handshake_is_not_a_deadlock() {
    // Each core signals the other, then waits for the other's signal; the
    // core that finishes first must not make the other's wait look stuck.
    let src = "kernel hs grid(parallel 2) {
  out o: f32[2] vmem block[1] map(%i) {
    yield %i
  }
  scratch s: sem[1]
  body(%o, %s) {
    %c = program_id 0
    %one = const 1:i32
    %other = sub %one, %c
    semaphore_signal %s[0], %one core %other
    semaphore_wait %s[0], %one
    %f = const 1.0:f32
    store %o[:], %f
  }
}";
    for _ in 0..50 {
        let out = run(src, SimConfig::default().num_cores(2), &[]).unwrap();
        assert_eq!(out.outputs[0], f32s(2, 1.0));
    }
}

#[test]
fn a_loop_past_the_iteration_limit_stops_with_an_error() {
    let src = "kernel spin grid() {\n  out o: i32[1] vmem\n  body(%o) {\n    %z = const 0:i32\n    %r = while init(%z) cond(%a) {\n      %t = const true\n      yield %t\n    } do(%b) {\n      %one = const 1:i32\n      %n = add %b, %one\n      yield %n\n    }\n    store %o[0], %r\n  }\n}\n";
    let vk = pallas_ir::text::parse_and_validate(src).unwrap();
    let sim = Simulator::new(SimConfig::default().max_loop_iterations(1000));
    let err = pallas_exec::run(&sim, &vk, &[]).unwrap_err().to_string();
    assert!(err.contains("more than 1000 loop iterations"), "{err}");
    assert!(err.contains("kernel `spin`"), "{err}");
    // Under the limit, loops run as usual.
    let src = "kernel count grid() {\n  out o: i32[1] vmem\n  body(%o) {\n    %z = const 0:i32\n    %n = const 10:i32\n    %r = for %z to %n step 1 init(%z) do(%i, %c) {\n      %s = add %c, %i\n      yield %s\n    }\n    store %o[0], %r\n  }\n}\n";
    let vk = pallas_ir::text::parse_and_validate(src).unwrap();
    let l = pallas_exec::run(&sim, &vk, &[]).unwrap();
    assert_eq!(l.outputs[0].as_i32().unwrap()[[0]], 45);
}

/// The corpus matmul with its reduction axis K wrongly declared parallel.
fn k_parallel_matmul() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/kernels/matmul.pk"
    ))
    .unwrap()
    .replace(
        "grid(parallel 2, parallel 2, arbitrary 4)",
        "grid(parallel 2, parallel 2, parallel 4)",
    )
}

#[test]
fn reduction_axis_declared_parallel_is_caught_on_one_core_in_order() {
    let x = HostArray::F32(ArrayD::from_elem(IxDyn(&[256, 256]), 1.0));
    let e = run(
        &k_parallel_matmul(),
        SimConfig::default(),
        &[x.clone(), x.clone()],
    )
    .unwrap_err();
    assert_eq!(
        e.kind,
        FaultKind::OutputAcrossParallel {
            name: "o".into(),
            block: vec![0, 0],
            first: vec![0, 0, 0],
            second: vec![0, 0, 1],
            dim: 2,
        }
    );
    assert_eq!(
        e.to_string(),
        "kernel `matmul`, core 0, grid point [0, 0, 1], output `o`: output `o` block [0, 0] is \
         written at grid points [0, 0, 0] and [0, 0, 1], which differ in dimension 2, declared \
         parallel; a dimension along which an output block stays must be `arbitrary`"
    );
    // Declared arbitrary, as it should be, it runs.
    let ok = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/kernels/matmul.pk"
    ))
    .unwrap();
    assert!(run(&ok, SimConfig::default(), &[x.clone(), x]).is_ok());
}

#[test]
fn output_block_shared_by_parallel_points_is_caught_without_race_detection() {
    // Every grid point of a parallel grid writes block 0 of `o`.
    let src = "kernel k grid(parallel 4) {
  in x: f32[32] vmem block[8] map(%i) {
    yield %i
  }
  out o: f32[8] vmem block[8] map(%j) {
    %z = const 0:i32
    yield %z
  }
  body(%x, %o) {
    %v = load %x[:]
    store %o[:], %v
  }
}";
    let e = run(src, SimConfig::default(), &[f32s(32, 1.0)]).unwrap_err();
    assert!(matches!(
        e.kind,
        FaultKind::OutputAcrossParallel { dim: 0, .. }
    ));
    assert_eq!(e.grid_point, Some(vec![1]));
}

#[test]
fn a_dma_never_waited_for_names_its_semaphore_slot() {
    let src = unwaited_unread_dma()
        .replace("scratch sem: dma_sem[1]", "scratch sem: dma_sem[2]")
        .replace("sem %sem[0]", "sem %sem[1]");
    let e = run(&src, SimConfig::default(), &[f32s(8, 3.0)]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "kernel `k`, core 0, op `dma_start` at 7:5: DMA into `buf` started and never waited \
         for (it signals `sem`[1])"
    );
}
