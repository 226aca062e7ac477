//! The seed kernel `o = sin((x + y) * 2)` over f32 (16, 131072) on the
//! simulator at grids 512, 16,384 and 2,097,152, beside a hand-written
//! single-thread loop over the same arrays: `cargo bench -p pallas-sim`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use pallas_corpus as corpus;
use pallas_exec::Executor;
use pallas_exec::HostArray;
use pallas_ir::validate;
use pallas_sim::{SimConfig, Simulator};
use std::hint::black_box;
use std::time::Duration;

/// Uniform in [-1, 1), as the conformance tests use.
fn input(seed: u64) -> HostArray {
    let [rows, cols] = corpus::SEED_SHAPE;
    let mut s = seed;
    let v: Vec<f32> = (0..rows * cols)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    HostArray::F32(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[rows, cols]), v).unwrap())
}

fn seed(c: &mut Criterion) {
    let (x, y) = (input(1), input(2));
    let mut g = c.benchmark_group("seed");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    {
        let (xs, ys) = (
            x.as_f32().unwrap().as_slice().unwrap(),
            y.as_f32().unwrap().as_slice().unwrap(),
        );
        let mut o = vec![0.0f32; xs.len()];
        g.bench_function("reference loop, 1 thread", |b| {
            b.iter(|| {
                for ((o, &a), &b) in o.iter_mut().zip(xs).zip(ys) {
                    *o = ((a + b) * 2.0).sin();
                }
                black_box(&o);
            })
        });
    }
    let configs = [
        ("sim", SimConfig::default()),
        (
            "sim 2 cores races",
            SimConfig::default().num_cores(2).detect_races(true),
        ),
        ("sim 2 cores", SimConfig::default().num_cores(2)),
    ];
    for block in corpus::SEED_BLOCKS {
        let k = validate(&corpus::seed(
            corpus::SEED_SHAPE[0],
            corpus::SEED_SHAPE[1],
            block,
        ))
        .unwrap();
        let points = k.kernel().num_grid_points().unwrap();
        for (name, cfg) in &configs {
            let compiled = Simulator::new(cfg.clone()).compile(&k).unwrap();
            let args = [x.clone(), y.clone()];
            g.bench_with_input(
                BenchmarkId::new(*name, format!("grid {points}")),
                &args,
                |b, args| b.iter(|| black_box(compiled.launch(args).unwrap())),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, seed);
criterion_main!(benches);
