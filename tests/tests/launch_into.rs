//! `launch_into` (outputs written into the caller's buffers, as the XLA
//! FFI handler launches): for every corpus case, on the simulator, the
//! fast mode and wgpu (where an adapter opens; with `CI=true` it must), the buffers end up holding the independent reference's
//! values and exactly what `launch` returns, whatever they held before;
//! twice in a row (the simulator keeps its buffers pooled between
//! launches); multi-device outputs too; and a buffer of the wrong dtype,
//! size or count is a `BadArgument`, never a partial write.

use ndarray::{ArrayD, IxDyn};
use pallas_corpus as corpus;
use pallas_exec::{CompiledKernel, ExecError, Executor, HostArray, HostOut, HostView};
use pallas_ir::{validate, DType};
use pallas_sim::{SimConfig, Simulator};
use pallas_tests::{case, case_names, compare_outputs, Size};

/// A caller's buffer, pre-filled with garbage.
enum Buf {
    F32(Vec<f32>),
    I32(Vec<i32>),
}

impl Buf {
    fn garbage(d: DType, n: usize) -> Buf {
        match d {
            DType::F32 => Buf::F32(vec![-12345.5; n]),
            DType::I32 => Buf::I32(vec![-7; n]),
            other => panic!("no corpus case has {other} outputs"),
        }
    }

    fn out(&mut self) -> HostOut<'_> {
        match self {
            Buf::F32(v) => HostOut::F32(v),
            Buf::I32(v) => HostOut::I32(v),
        }
    }

    fn to_host(&self, shape: &[usize]) -> HostArray {
        match self {
            Buf::F32(v) => HostArray::F32(ArrayD::from_shape_vec(IxDyn(shape), v.clone()).unwrap()),
            Buf::I32(v) => HostArray::I32(ArrayD::from_shape_vec(IxDyn(shape), v.clone()).unwrap()),
        }
    }
}

fn launch_into(
    c: &dyn CompiledKernel,
    args: &[HostArray],
    like: &[HostArray],
) -> Result<Vec<HostArray>, ExecError> {
    let mut bufs: Vec<Buf> = like
        .iter()
        .map(|a| Buf::garbage(a.dtype(), a.len()))
        .collect();
    let views: Vec<HostView<'_>> = args.iter().map(HostArray::view).collect();
    let mut outs: Vec<HostOut<'_>> = bufs.iter_mut().map(Buf::out).collect();
    c.launch_into(&views, &mut outs)?;
    drop(outs);
    Ok(bufs
        .iter()
        .zip(like)
        .map(|(b, a)| b.to_host(a.shape()))
        .collect())
}

fn executors() -> Vec<(&'static str, Box<dyn Executor>)> {
    let mut v: Vec<(&'static str, Box<dyn Executor>)> = vec![
        ("sim", Box::new(Simulator::default())),
        (
            "sim 2 cores + races",
            Box::new(Simulator::new(
                SimConfig::default().num_cores(2).detect_races(true),
            )),
        ),
        ("cpu", Box::new(pallas_cpu::Cpu::default())),
    ];
    let gpu = pallas_wgpu::Wgpu::default();
    let probe = validate(&corpus::vector_add(8, 4)).unwrap();
    match gpu.compile(&probe) {
        Ok(_) => v.push(("wgpu", Box::new(gpu))),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but wgpu has no device: {e}")
        }
        Err(_) => {}
    }
    v
}

#[test]
fn every_case_lands_in_the_callers_buffers() {
    let mut ran = 0;
    for (backend, exec) in executors() {
        for name in case_names() {
            let c = case(name, Size::Small).unwrap();
            let vk = validate(&c.kernel).unwrap();
            let compiled = match exec.compile(&vk) {
                Ok(k) => k,
                Err(ExecError::Unsupported { .. }) => continue,
                Err(e) => panic!("{name} on {backend}: {e}"),
            };
            let launched = match compiled.launch(&c.args) {
                Ok(l) => l.outputs,
                Err(ExecError::Unsupported { .. }) => {
                    // Refused the same way, with nothing written.
                    let err = launch_into(&*compiled, &c.args, &c.expected).unwrap_err();
                    assert!(
                        matches!(err, ExecError::Unsupported { .. }),
                        "{name}: {err}"
                    );
                    continue;
                }
                Err(e) => panic!("{name} on {backend}: {e}"),
            };
            for round in 0..2 {
                let got = launch_into(&*compiled, &c.args, &c.expected)
                    .unwrap_or_else(|e| panic!("{name} on {backend}: {e}"));
                if let Err(msg) = compare_outputs(&got, &c.expected, c.tolerance) {
                    panic!("{name} on {backend} (round {round}): {msg}");
                }
                assert_eq!(got, launched, "{name} on {backend}: launch_into != launch");
            }
            ran += 1;
        }
    }
    assert!(ran >= 2 * case_names().len(), "only {ran} cases ran");
}

#[test]
fn a_multi_device_output_is_written_stacked() {
    let (n, rows, cols) = (4, 8, 128);
    let vk = validate(&corpus::collectives::ring_all_gather(n, rows, cols)).unwrap();
    let x = ArrayD::from_shape_fn(IxDyn(&[n, rows, cols]), |i| {
        (i[0] * 1000 + i[1] * 10 + i[2] % 7) as f32
    });
    // Every device gathers every shard: o[d] = x for each device d.
    let mut want = ArrayD::zeros(IxDyn(&[n, n, rows, cols]));
    for d in 0..n {
        want.index_axis_mut(ndarray::Axis(0), d).assign(&x);
    }
    let want = vec![HostArray::F32(want)];
    for (backend, exec) in executors() {
        let compiled = match exec.compile(&vk) {
            Ok(k) => k,
            // wgpu runs single-device kernels only.
            Err(ExecError::Unsupported { .. }) if backend == "wgpu" => continue,
            Err(e) => panic!("{backend}: {e}"),
        };
        for _ in 0..2 {
            let got = launch_into(&*compiled, &[HostArray::F32(x.clone())], &want)
                .unwrap_or_else(|e| panic!("{backend}: {e}"));
            assert_eq!(got, want, "{backend}");
        }
    }
}

#[test]
fn wrong_buffers_are_refused_before_anything_runs() {
    let c = case("seed_grid_512", Size::Small).unwrap();
    let vk = validate(&c.kernel).unwrap();
    let n = c.expected[0].len();
    let views: Vec<HostView<'_>> = c.args.iter().map(HostArray::view).collect();
    for (backend, exec) in executors() {
        let compiled = exec.compile(&vk).unwrap();
        let mut short = vec![0.0f32; n - 1];
        let mut ints = vec![0i32; n];
        let mut a = vec![0.0f32; n];
        let mut b = vec![0.0f32; n];
        for outs in [
            vec![HostOut::F32(&mut short)],
            vec![HostOut::I32(&mut ints)],
            vec![HostOut::F32(&mut a), HostOut::F32(&mut b)],
            vec![],
        ] {
            let mut outs = outs;
            match compiled.launch_into(&views, &mut outs) {
                Err(ExecError::BadArgument { kernel, .. }) => {
                    assert_eq!(kernel, c.kernel.name, "{backend}")
                }
                other => panic!("{backend}: expected BadArgument, got {other:?}"),
            }
        }
    }
}
