//! The fast mode beside hand-written loops over the same data, in one run:
//! the seed kernel at its three grids (against single-thread and rayon
//! loops using `f32::sin`), row softmax and layer norm (against
//! hand-written loops), and the tiled matmul against ndarray's `dot`.
//! `cargo bench -p pallas-cpu`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ndarray::Array2;
use pallas_corpus as corpus;
use pallas_cpu::Cpu;
use pallas_exec::Executor;
use pallas_exec::HostArray;
use pallas_ir::{validate, Kernel};
use pallas_tests::loops;
use rayon::prelude::*;
use std::hint::black_box;
use std::time::Duration;

fn uniform(seed: u64, shape: &[usize]) -> HostArray {
    let mut s = seed;
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    HostArray::F32(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).unwrap())
}

fn launch(
    c: &mut criterion::BenchmarkGroup<criterion::measurement::WallTime>,
    id: BenchmarkId,
    k: &Kernel,
    args: Vec<HostArray>,
) {
    let compiled = Cpu::default().compile(&validate(k).unwrap()).unwrap();
    c.bench_with_input(id, &args, |b, args| {
        b.iter(|| black_box(compiled.launch(args).unwrap()))
    });
}

fn seed(c: &mut Criterion) {
    let [rows, cols] = corpus::SEED_SHAPE;
    let (x, y) = (uniform(1, &[rows, cols]), uniform(2, &[rows, cols]));
    let (xs, ys) = (
        x.as_f32().unwrap().as_slice().unwrap(),
        y.as_f32().unwrap().as_slice().unwrap(),
    );
    let mut g = c.benchmark_group("seed");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.bench_function("loop, 1 thread", |b| {
        b.iter(|| {
            let o: Vec<f32> = xs
                .iter()
                .zip(ys)
                .map(|(&a, &b)| ((a + b) * 2.0).sin())
                .collect();
            black_box(o)
        })
    });
    g.bench_function("loop, rayon", |b| {
        b.iter(|| {
            let mut o = vec![0.0f32; xs.len()];
            o.par_chunks_mut(16384).enumerate().for_each(|(i, chunk)| {
                for (j, v) in chunk.iter_mut().enumerate() {
                    let k = i * 16384 + j;
                    *v = ((xs[k] + ys[k]) * 2.0).sin();
                }
            });
            black_box(o)
        })
    });
    for block in corpus::SEED_BLOCKS {
        let k = corpus::seed(rows, cols, block);
        let points = k.num_grid_points().unwrap();
        launch(
            &mut g,
            BenchmarkId::new("pallas-cpu", format!("grid {points}")),
            &k,
            vec![x.clone(), y.clone()],
        );
    }
    g.finish();
}

fn rows(c: &mut Criterion) {
    let n = 1024;
    let x = uniform(3, &[n, n]);
    let gm = uniform(4, &[n]);
    let bt = uniform(5, &[n]);
    let xa: Array2<f32> = x.as_f32().unwrap().clone().into_dimensionality().unwrap();
    let mut g = c.benchmark_group("rows");
    g.sample_size(30);
    g.bench_function("softmax loop", |b| {
        b.iter(|| {
            let mut o = xa.clone();
            loops::softmax_rows(&mut o);
            black_box(o)
        })
    });
    launch(
        &mut g,
        BenchmarkId::new("pallas-cpu", "softmax"),
        &corpus::softmax(n, n, 16),
        vec![x.clone()],
    );
    let (gs, bs) = (
        gm.as_f32().unwrap().as_slice().unwrap().to_vec(),
        bt.as_f32().unwrap().as_slice().unwrap().to_vec(),
    );
    g.bench_function("layer norm loop", |b| {
        b.iter(|| {
            let mut o = xa.clone();
            loops::layer_norm_rows(&mut o, &gs, &bs, 1e-5);
            black_box(o)
        })
    });
    launch(
        &mut g,
        BenchmarkId::new("pallas-cpu", "layer norm"),
        &corpus::layer_norm(n, n, 16, 1e-5),
        vec![x, gm, bt],
    );
    g.finish();
}

fn matmul(c: &mut Criterion) {
    let n = 1024;
    let (x, y) = (uniform(6, &[n, n]), uniform(7, &[n, n]));
    let (a, b): (Array2<f32>, Array2<f32>) = (
        x.as_f32().unwrap().clone().into_dimensionality().unwrap(),
        y.as_f32().unwrap().clone().into_dimensionality().unwrap(),
    );
    let mut g = c.benchmark_group("matmul 1024^3");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("ndarray dot", |bch| bch.iter(|| black_box(a.dot(&b))));
    launch(
        &mut g,
        BenchmarkId::new("pallas-cpu", "256 tiles"),
        &corpus::matmul(n, n, n, 256, 256, 256),
        vec![x, y],
    );
    g.finish();
}

criterion_group!(benches, seed, rows, matmul);
criterion_main!(benches);
