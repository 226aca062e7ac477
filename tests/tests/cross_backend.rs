//! Backends against each other: every case a backend supports gives what
//! the simulator gives, within the case's tolerance.

use pallas_cpu::Cpu;
use pallas_exec::run;
use pallas_ir::validate;
use pallas_sim::Simulator;
use pallas_tests::{case, compare_outputs, Size};

#[test]
fn cpu_matches_the_simulator() {
    for name in [
        "seed_grid_512",
        "seed_grid_16384",
        "seed_grid_2097152",
        "vector_add",
    ] {
        for size in [Size::Small, Size::Full] {
            let c = case(name, size).unwrap();
            let vk = validate(&c.kernel).unwrap();
            let sim = run(&Simulator::default(), &vk, &c.args).unwrap();
            let cpu = run(&Cpu::default(), &vk, &c.args).unwrap();
            compare_outputs(&cpu.outputs, &sim.outputs, c.tolerance)
                .unwrap_or_else(|e| panic!("{name} {size:?}: {e}"));
        }
    }
}

#[test]
fn cpu_reports_coarsening_and_does_not_coarsen_program_id() {
    let c = case("seed_grid_2097152", Size::Full).unwrap();
    let vk = validate(&c.kernel).unwrap();
    let l = run(&Cpu::default(), &vk, &c.args).unwrap();
    assert_eq!(l.report.get("coarsened_grid_points"), 2_097_152);
    assert_eq!(l.report.get("strips"), 512);
    // A body that reads program_id depends on its grid point: not
    // coarsened, run per grid point, and right.
    let src = "kernel k grid(parallel 4) {\n  out o: i32[16] vmem block[4] map(%i) {\n    yield %i\n  }\n  body(%o) {\n    %p = program_id 0\n    store %o[:], %p\n  }\n}";
    let vk = validate(&pallas_ir::text::parse(src).unwrap()).unwrap();
    let l = run(&Cpu::default(), &vk, &[]).unwrap();
    assert_eq!(l.report.get("coarsened_grid_points"), 0);
    assert_eq!(l.report.get("grid_points"), 4);
    let want: Vec<i32> = (0..16).map(|i| i / 4).collect();
    assert_eq!(
        l.outputs[0]
            .as_i32()
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        want
    );
}

#[test]
fn cross_core_handshakes_are_unsupported_on_cpu() {
    let src = "kernel k grid(parallel 2) {\n  out o: f32[2] vmem block[1] map(%i) {\n    yield %i\n  }\n  scratch s: sem[1]\n  body(%o, %s) {\n    %one = const 1:i32\n    semaphore_signal %s[0], %one core %one\n  }\n}";
    let vk = validate(&pallas_ir::text::parse(src).unwrap()).unwrap();
    let err = run(&Cpu::default(), &vk, &[]).unwrap_err();
    assert!(
        matches!(err, pallas_exec::ExecError::Unsupported { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("a semaphore signal to another core"),
        "{err}"
    );
}

#[test]
fn absurd_scratch_is_refused_by_the_fast_mode_before_allocating() {
    let src = "kernel doy grid() {\n  in x: f32[64, 128] any\n  out o: f32[64, 1208] vmem\n  scratch sem: dma_sem[55555555555552]\n  body(%0, %1, %2) {\n  }\n}";
    let vk = validate(&pallas_ir::text::parse(src).unwrap()).unwrap();
    let x = pallas_exec::HostArray::zeros(pallas_ir::DType::F32, &[64, 128]);
    let err = run(&Cpu::default(), &vk, &[x]).unwrap_err().to_string();
    assert!(
        err.contains("bytes of block buffers, scratch and semaphores"),
        "{err}"
    );
}

/// Borrowed launches give what owned ones give, on contiguous views (read
/// in place by the fast mode) and on transposed ones (copied first), on
/// every backend; a view of the wrong shape is a clear argument error.
#[test]
fn borrowed_launches_match_owned_ones() {
    use pallas_exec::{ExecError, Executor};
    use pallas_exec::{HostArray, HostView};
    let c = case("seed_grid_512", Size::Small).unwrap();
    let vk = validate(&c.kernel).unwrap();
    let backends: Vec<Box<dyn Executor>> =
        vec![Box::new(Simulator::default()), Box::new(Cpu::default())];
    for b in &backends {
        let compiled = b.compile(&vk).unwrap();
        let owned = compiled.launch(&c.args).unwrap();
        let views: Vec<HostView<'_>> = c.args.iter().map(HostArray::view).collect();
        let borrowed = compiled.launch_views(&views).unwrap();
        assert_eq!(borrowed.outputs, owned.outputs, "{}", b.name());
        // The same data stored transposed, viewed back in the kernel's
        // shape: not contiguous, so copied before the launch.
        let transposed: Vec<HostArray> = c
            .args
            .iter()
            .map(|a| {
                let t = a.as_f32().unwrap().t().as_standard_layout().into_owned();
                HostArray::F32(t)
            })
            .collect();
        let views: Vec<HostView<'_>> = transposed
            .iter()
            .map(|a| HostView::F32(a.as_f32().unwrap().t()))
            .collect();
        assert!(views.iter().all(|v| match v {
            HostView::F32(a) => a.as_slice().is_none(),
            _ => false,
        }));
        let strided = compiled.launch_views(&views).unwrap();
        assert_eq!(strided.outputs, owned.outputs, "{}", b.name());
        let wrong = HostView::F32(transposed[0].as_f32().unwrap().view());
        let e = compiled
            .launch_views(&[wrong, views[1].clone()])
            .unwrap_err();
        assert!(matches!(e, ExecError::BadArgument { .. }), "{e}");
    }
}
