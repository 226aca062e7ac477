//! Times the seed kernel on the simulator at the three grids:
//! `cargo run --release -p pallas-sim --example seed_timing [FILTER]`;
//! FILTER keeps the rows whose label contains it (`[1, 1] races`); a
//! second argument sets the number of columns (default 131072), for
//! shorter runs under a profiler.

use std::time::Instant;

use pallas_corpus as corpus;
use pallas_exec::Executor;
use pallas_exec::HostArray;
use pallas_ir::validate;
use pallas_sim::{SimConfig, Simulator};

fn main() {
    let [rows, mut cols] = corpus::SEED_SHAPE;
    if let Some(c) = std::env::args().nth(2).and_then(|c| c.parse().ok()) {
        cols = c;
    }
    let n = rows * cols;
    let mk = |seed: u32| {
        let v: Vec<f32> = (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32
                    / (1u32 << 24) as f32
                    - 0.5
            })
            .collect();
        HostArray::F32(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[rows, cols]), v).unwrap())
    };
    let args = [mk(1), mk(2)];
    let configs = [
        ("default", SimConfig::default()),
        (
            "skip float ops",
            SimConfig::default().skip_floating_point_ops(true),
        ),
        ("2 cores", SimConfig::default().num_cores(2)),
        ("races", SimConfig::default().detect_races(true)),
        (
            "2 cores races",
            SimConfig::default().num_cores(2).detect_races(true),
        ),
    ];
    let filter = std::env::args().nth(1).unwrap_or_default();
    for block in corpus::SEED_BLOCKS {
        let k = validate(&corpus::seed(rows, cols, block)).unwrap();
        for (name, cfg) in &configs {
            if !format!("{block:?} {name}").contains(&filter) {
                continue;
            }
            let c = Simulator::new(cfg.clone()).compile(&k).unwrap();
            let mut best = f64::MAX;
            for _ in 0..3 {
                let t = Instant::now();
                c.launch(&args).unwrap();
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!("block {block:?} {name:>15}: {:8.1} ms", best * 1e3);
        }
    }
    let (x, y) = (
        args[0].as_f32().unwrap().as_slice().unwrap(),
        args[1].as_f32().unwrap().as_slice().unwrap(),
    );
    let mut o = vec![0.0f32; n];
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for i in 0..n {
            o[i] = ((x[i] + y[i]) * 2.0).sin();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("hand-written loop: {:8.1} ms ({})", best * 1e3, o[n / 2]);
}
