//! Runs the seed kernel at grid 512 twenty times (for profilers):
//! `cargo run --release -p pallas-sim --example seed_512`.

use pallas_corpus as corpus;
use pallas_exec::Executor;
use pallas_exec::HostArray;
use pallas_ir::validate;
use pallas_sim::{SimConfig, Simulator};

fn main() {
    let [rows, cols] = corpus::SEED_SHAPE;
    let x = HostArray::F32(ndarray::ArrayD::from_elem(
        ndarray::IxDyn(&[rows, cols]),
        0.25,
    ));
    let k = validate(&corpus::seed(rows, cols, corpus::SEED_BLOCKS[0])).unwrap();
    let c = Simulator::new(SimConfig::default().skip_floating_point_ops(true))
        .compile(&k)
        .unwrap();
    for _ in 0..20 {
        c.launch(&[x.clone(), x.clone()]).unwrap();
    }
}
