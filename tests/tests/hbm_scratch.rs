//! HBM scratch (`scratch h: f32[..] any`): one buffer per device that its
//! cores share, fresh at every launch: what `pl.run_scoped` allocates in
//! HBM inside a core mesh. A copy through it on the simulator and the
//! fast mode against the input itself; a hand-off between two cores
//! through it, ordered by a semaphore (no race) and not (a race on the
//! shared buffer, which per-core copies would never show); the GPU
//! refuses it by name.

use ndarray::{ArrayD, IxDyn};
use pallas_exec::{ExecError, Executor, FaultKind, HostArray};
use pallas_ir::text::parse_and_validate;
use pallas_sim::{Options, Simulator};

fn input() -> HostArray {
    let v = (0..16 * 128).map(|i| (i as f32) * 0.25 - 7.0).collect();
    HostArray::F32(ArrayD::from_shape_vec(IxDyn(&[16, 128]), v).unwrap())
}

const COPY: &str = "kernel through_hbm grid() {
  in x: f32[16, 128] any
  out o: f32[16, 128] any
  scratch h: f32[16, 128] any
  scratch d: dma_sem[1]
  body(%0, %1, %2, %3) {
    dma_start %0[:, :] -> %2[:, :] sem %3[0]
    dma_wait %2[:, :] sem %3[0]
    dma_start %2[:, :] -> %1[:, :] sem %3[0]
    dma_wait %1[:, :] sem %3[0]
  }
}";

/// Core 0 fills the shared buffer, core 1 copies it out; with `ordered`
/// core 0 signals core 1's semaphore when done and core 1 waits for it.
fn hand_off(ordered: bool) -> String {
    let (signal, wait) = if ordered {
        (
            "      %8 = const 1:i32\n      semaphore_signal %3[0], %8 core %8\n",
            "      %9 = const 1:i32\n      semaphore_wait %3[0], %9\n",
        )
    } else {
        ("", "")
    };
    format!(
        "kernel hand_off grid(parallel 2) {{
  in x: f32[16, 128] any
  out o: f32[16, 128] any
  scratch h: f32[16, 128] any
  scratch s: sem[1]
  scratch d: dma_sem[1]
  body(%0, %1, %2, %3, %4) {{
    %5 = program_id 0
    %6 = const 0:i32
    %7 = cmp eq %5, %6
    if %7 then {{
      dma_start %0[:, :] -> %2[:, :] sem %4[0]
      dma_wait %2[:, :] sem %4[0]
{signal}    }} else {{
{wait}      dma_start %2[:, :] -> %1[:, :] sem %4[0]
      dma_wait %1[:, :] sem %4[0]
    }}
  }}
}}"
    )
}

/// Core 0 fills the shared buffer and signals core 1's `run_scoped`
/// semaphore, most likely before core 1 has opened it (core 1 spins
/// first): the early signal must carry core 0's clock to the wait.
const EARLY_SIGNAL: &str = "kernel early_signal grid(parallel 2) {
  in x: f32[16, 128] any
  out o: f32[16, 128] any
  scratch h: f32[16, 128] any
  scratch d: dma_sem[1]
  body(%0, %1, %2, %3) {
    %4 = program_id 0
    %5 = const 0:i32
    %6 = cmp eq %4, %5
    %7 = const 1:i32
    if %6 then {
    } else {
      %8 = const 20000:i32
      for %5 to %8 step 1 init() do(%9) {
      }
    }
    run_scoped(%10: sem[1]) {
      if %6 then {
        dma_start %0[:, :] -> %2[:, :] sem %3[0]
        dma_wait %2[:, :] sem %3[0]
        semaphore_signal %10[0], %7 core %7
      } else {
        semaphore_wait %10[0], %7
        dma_start %2[:, :] -> %1[:, :] sem %3[0]
        dma_wait %1[:, :] sem %3[0]
      }
    }
  }
}";

fn two_cores_with_races() -> Simulator {
    Simulator::new(Options {
        num_cores: 2,
        detect_races: true,
        ..Options::default()
    })
}

#[test]
fn a_copy_through_hbm_scratch_is_exact_on_the_simulator_and_the_fast_mode() {
    let vk = parse_and_validate(COPY).unwrap();
    let x = input();
    let execs: Vec<(&str, Box<dyn Executor>)> = vec![
        ("sim", Box::new(Simulator::default())),
        ("sim, 2 cores, races", Box::new(two_cores_with_races())),
        ("cpu", Box::new(pallas_cpu::Cpu::default())),
    ];
    for (name, exec) in execs {
        let compiled = exec.compile(&vk).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Twice: the scratch is fresh at each launch, the result the same.
        for _ in 0..2 {
            let out = compiled.launch(std::slice::from_ref(&x)).unwrap();
            assert_eq!(out.outputs[0], x, "{name}");
        }
    }
}

#[test]
fn cores_share_one_hbm_scratch_buffer() {
    // Ordered by the semaphore: core 1 sees what core 0 wrote.
    let vk = parse_and_validate(&hand_off(true)).unwrap();
    let x = input();
    let out = two_cores_with_races()
        .compile(&vk)
        .unwrap()
        .launch(std::slice::from_ref(&x))
        .unwrap();
    assert_eq!(out.outputs[0], x);
    // Unordered: the two cores' DMAs on the one buffer race.
    let vk = parse_and_validate(&hand_off(false)).unwrap();
    let err = two_cores_with_races()
        .compile(&vk)
        .unwrap()
        .launch(std::slice::from_ref(&x))
        .unwrap_err();
    let ExecError::Fault(f) = &err else {
        panic!("expected a race, got {err}");
    };
    assert!(matches!(f.kind, FaultKind::Race { .. }), "{err}");
    assert!(err.to_string().contains("`h`"), "{err}");
}

#[test]
fn a_signal_that_lands_before_its_run_scoped_semaphore_opens_still_orders() {
    let vk = parse_and_validate(EARLY_SIGNAL).unwrap();
    let x = input();
    let compiled = two_cores_with_races().compile(&vk).unwrap();
    for _ in 0..5 {
        let out = compiled
            .launch(std::slice::from_ref(&x))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.outputs[0], x);
    }
}

#[test]
fn the_gpu_refuses_hbm_scratch_by_name() {
    let vk = parse_and_validate(COPY).unwrap();
    match pallas_wgpu::Wgpu::default().compile(&vk) {
        Err(ExecError::Unsupported { what, .. }) => {
            assert!(what.contains("HBM scratch (`h`"), "{what}")
        }
        Err(e) => panic!("expected Unsupported, got {e}"),
        Ok(_) => panic!("the GPU compiled a kernel with HBM scratch"),
    }
}
