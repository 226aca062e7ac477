//! Every kernel under `tests/regressions/` (each once a disagreement
//! between backends or a backend failure, with how it was found in its
//! header comment) runs on every backend and agrees with the simulator:
//! exactly for integers and booleans, within 1e-6 relative for f32.

use std::path::PathBuf;

use pallas_exec::HostArray;
use pallas_exec::{run, Executor};
use pallas_ir::{DType, ParamKind};
use pallas_sim::Simulator;
use pallas_tests::data::{uniform_f32, Rng};
use pallas_tests::{compare_outputs, Tolerance};

fn regressions() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pk"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.display().to_string(), text)
        })
        .collect()
}

#[test]
fn every_regression_kernel_agrees_on_every_backend() {
    let files = regressions();
    assert!(files.len() >= 3, "the regression kernels are missing");
    let mut backends: Vec<Box<dyn Executor>> = vec![Box::new(pallas_cpu::Cpu::default())];
    match pallas_wgpu::Gpu::shared() {
        Ok(_) => backends.push(Box::new(pallas_wgpu::Wgpu::default())),
        Err(e) => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but no wgpu adapter: {e}"
            );
        }
    }
    for (path, text) in files {
        let vk =
            pallas_ir::text::parse_and_validate(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut rng = Rng::new(17);
        let args: Vec<HostArray> = vk
            .kernel()
            .params
            .iter()
            .filter(|p| matches!(p.kind, ParamKind::ScalarPrefetch | ParamKind::Input))
            .map(|p| match p.dtype() {
                Some(DType::F32) => uniform_f32(&mut rng, &p.shape),
                Some(d) => HostArray::zeros(d, &p.shape),
                None => unreachable!("inputs hold data"),
            })
            .collect();
        let want =
            run(&Simulator::default(), &vk, &args).unwrap_or_else(|e| panic!("{path} on sim: {e}"));
        for b in &backends {
            let got = run(b.as_ref(), &vk, &args)
                .unwrap_or_else(|e| panic!("{path} on {}: {e}", b.name()));
            compare_outputs(
                &got.outputs,
                &want.outputs,
                Tolerance {
                    abs: 0.0,
                    rel: 1e-6,
                },
            )
            .unwrap_or_else(|e| panic!("{path} on {} vs sim: {e}", b.name()));
        }
    }
}
