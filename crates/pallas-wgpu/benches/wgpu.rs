//! The wgpu backend on the seed kernel at its three grids and the
//! 1024^3 tiled matmul: end-to-end (upload, the one dispatch, read-back)
//! and device-only (the dispatch's own time from timestamp queries, when
//! the adapter has them), with pallas-cpu beside it for the ratio.
//! `cargo bench -p pallas-wgpu`; on a machine without a GPU it runs on
//! lavapipe, and without any adapter it says so and measures nothing.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use pallas_corpus as corpus;
use pallas_exec::HostArray;
use pallas_exec::{CompiledKernel, Executor};
use pallas_ir::{validate, Kernel};

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

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn compiled(exec: &dyn Executor, k: &Kernel) -> Arc<dyn CompiledKernel> {
    exec.compile(&validate(k).unwrap()).unwrap()
}

/// End-to-end, device-only (when timestamps exist) and pallas-cpu rows.
fn rows(g: &mut Group, label: &str, k: &Kernel, args: &[HostArray]) {
    let gpu = compiled(&pallas_wgpu::Wgpu::default(), k);
    g.bench_with_input(BenchmarkId::new("wgpu end-to-end", label), args, |b, a| {
        b.iter(|| black_box(gpu.launch(a).unwrap()))
    });
    if gpu
        .launch(args)
        .unwrap()
        .report
        .counters
        .contains_key("device_ns")
    {
        g.bench_with_input(BenchmarkId::new("wgpu device-only", label), args, |b, a| {
            b.iter_custom(|iters| {
                let mut ns = 0u64;
                for _ in 0..iters {
                    ns += gpu.launch(a).unwrap().report.get("device_ns");
                }
                Duration::from_nanos(ns)
            })
        });
    }
    let cpu = compiled(&pallas_cpu::Cpu::default(), k);
    g.bench_with_input(BenchmarkId::new("cpu", label), args, |b, a| {
        b.iter(|| black_box(cpu.launch(a).unwrap()))
    });
}

fn seed(c: &mut Criterion) {
    if let Err(e) = pallas_wgpu::Gpu::shared() {
        eprintln!("no wgpu adapter, nothing to measure: {e}");
        return;
    }
    let [r, cols] = corpus::SEED_SHAPE;
    let args = [uniform(1, &[r, cols]), uniform(2, &[r, cols])];
    let mut g = c.benchmark_group("seed");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    for block in corpus::SEED_BLOCKS {
        let k = corpus::seed(r, cols, block);
        let label = format!("grid {}", k.num_grid_points().unwrap());
        rows(&mut g, &label, &k, &args);
    }
    g.finish();
}

fn matmul(c: &mut Criterion) {
    if pallas_wgpu::Gpu::shared().is_err() {
        return;
    }
    let n = 1024;
    let k = corpus::matmul(n, n, n, 256, 256, 256);
    let args = [uniform(3, &[n, n]), uniform(4, &[n, n])];
    let mut g = c.benchmark_group("matmul 1024^3");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    rows(&mut g, "blocks 256", &k, &args);
    g.finish();
}

criterion_group!(benches, seed, matmul);
criterion_main!(benches);
