//! One fault type on every backend: the same planted bugs reported as a
//! typed `Fault` by the simulator, the fast mode and the GPU, each with
//! as much of the place as the backend knows (the simulator names the core
//! and grid point; the fast mode the grid point; the GPU the operation).

use pallas_cpu::Cpu;
use pallas_exec::{run, ExecError, Executor, Fault, FaultKind, HostArray};
use pallas_ir::text::parse_and_validate;
use pallas_ir::DType;
use pallas_sim::Simulator;
use pallas_wgpu::Wgpu;

/// The fault a kernel gives on a backend (panics on anything else).
fn fault(exec: &dyn Executor, src: &str, args: &[HostArray]) -> Fault {
    let vk = parse_and_validate(src).unwrap();
    match run(exec, &vk, args) {
        Err(ExecError::Fault(f)) => *f,
        Err(e) => panic!("{}: expected a fault, got {e}", exec.name()),
        Ok(_) => panic!("{}: expected a fault, the kernel ran", exec.name()),
    }
}

/// Whether the GPU tests run here (an adapter, or CI, which has one).
fn gpu() -> bool {
    pallas_wgpu::Gpu::shared().is_ok()
}

const OOB: &str = "kernel oob grid(parallel 2) {\n  in x: f32[8] vmem block[8] map(%i) {\n    %z = const 0:i32\n    yield %z\n  }\n  out o: f32[8] vmem block[4] map(%j) {\n    yield %j\n  }\n  body(%x, %o) {\n    %k = const 6:i32\n    %v = load %x[ds(%k, 4)]\n    store %o[:], %v\n  }\n}";

#[test]
fn a_dynamic_index_out_of_bounds_is_the_same_fault_everywhere() {
    let x = [HostArray::zeros(DType::F32, &[8])];
    let kind = |index| FaultKind::OutOfBounds {
        access: "read",
        name: "x".into(),
        dim: 0,
        index,
        extent: 8,
    };
    let sim = fault(&Simulator::default(), OOB, &x);
    assert_eq!(
        sim.to_string(),
        "kernel `oob`, core 0, grid point [0], op `load` at 11:5: out-of-bounds read of `x`: index 9 on dimension 0, which has 8 elements"
    );
    assert_eq!(sim.kind, kind(Some(9)));
    let cpu = fault(&Cpu::default(), OOB, &x);
    assert_eq!(
        cpu.to_string(),
        "kernel `oob`, grid point [0], op `load` at 11:5: out-of-bounds read of `x`: index 9 on dimension 0, which has 8 elements"
    );
    assert_eq!(cpu.kind, kind(Some(9)));
    if gpu() {
        let gpu = fault(&Wgpu::default(), OOB, &x);
        assert_eq!(
            gpu.to_string(),
            "kernel `oob`, op `load` at 11:5: out-of-bounds read of `x`: an index on dimension 0, which has 8 elements"
        );
        assert_eq!(gpu.kind, kind(None));
    }
}

const BAD_BLOCK: &str = "kernel k grid(parallel 2) {\n  in x: f32[16] vmem block[8] map(%i) {\n    %b = const -1:i32\n    yield %b\n  }\n  out o: f32[16] vmem block[8] map(%j) {\n    yield %j\n  }\n  body(%x, %o) {\n    %v = load %x[:]\n    store %o[:], %v\n  }\n}";

#[test]
fn a_block_index_out_of_range_is_the_same_fault_everywhere() {
    let x = [HostArray::zeros(DType::F32, &[16])];
    let sim = fault(&Simulator::default(), BAD_BLOCK, &x);
    let cpu = fault(&Cpu::default(), BAD_BLOCK, &x);
    let want = FaultKind::BlockIndexOutOfRange {
        name: "x".into(),
        dim: 0,
        index: Some(-1),
        blocks: 2,
    };
    assert_eq!(sim.kind, want);
    assert_eq!(cpu.kind, want);
    assert_eq!(cpu.grid_point, Some(vec![0]));
    assert_eq!(
        cpu.kind.to_string(),
        "block index -1 on dimension 0 of `x`, which has 2 blocks there"
    );
    if gpu() {
        let gpu = fault(&Wgpu::default(), BAD_BLOCK, &x);
        assert_eq!(
            gpu.to_string(),
            "kernel `k`, block pipeline: a block index out of range on dimension 0 of `x`, which has 2 blocks there"
        );
    }
}

const WAIT: &str = "kernel k grid() {\n  out o: f32[1] vmem\n  scratch s: sem[1]\n  body(%o, %s) {\n    %one = const 1:i32\n    semaphore_wait %s[0], %one\n  }\n}";

#[test]
fn a_wait_nothing_can_satisfy_is_a_fault_everywhere() {
    let sim = fault(&Simulator::default(), WAIT, &[]);
    assert!(matches!(sim.kind, FaultKind::Deadlock { .. }), "{sim}");
    let cpu = fault(&Cpu::default(), WAIT, &[]);
    assert_eq!(
        cpu.to_string(),
        "kernel `k`, op `semaphore_wait` at 6:5: a wait on semaphore `s` would never return: it holds 0 and the wait asks 1; the fast mode runs one program at a time, so nothing else can signal it"
    );
    if gpu() {
        let gpu = fault(&Wgpu::default(), WAIT, &[]);
        assert!(
            matches!(gpu.kind, FaultKind::WaitNeverReturns { ref sem, .. } if sem == "s"),
            "{gpu}"
        );
    }
}
