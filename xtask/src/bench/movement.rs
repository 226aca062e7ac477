//! Data-movement workloads: the ring all-gather over 8 simulated devices
//! and a manual double-buffered DMA copy on one device, each beside a
//! plain copy of the same bytes into a fresh output (as a launch
//! allocates its outputs).

use ndarray::{s, ArrayD, IxDyn};
use pallas_corpus as corpus;
use pallas_exec::HostArray;
use pallas_sim::SimConfig;
use pallas_tests::data::{uniform_f32, Rng};
use pallas_tests::Tolerance;

use super::workloads::{cpu, reference, sim};
use super::{Variant, Workload};

/// Devices of the all-gather.
pub const DEVICES: usize = 8;

/// The ring all-gather of a `rows x 1024` f32 shard per device: every
/// device ends with every shard (`o[d, j] = x[j]`), 7 forwarding steps.
pub fn all_gather(rows: usize, repeats: usize) -> Workload {
    let (n, cols) = (DEVICES, 1024);
    let mut rng = Rng::new(17);
    let x = uniform_f32(&mut rng, &[n, rows, cols]);
    let xs = x.as_f32().expect("f32").clone();
    // The reference: one fresh output, every device's copy of all shards
    // by `memcpy`.
    let gathered = move |xs: &ArrayD<f32>| {
        let all = xs.as_slice().expect("contiguous");
        let mut o = Vec::with_capacity(n * all.len());
        for _ in 0..n {
            o.extend_from_slice(all);
        }
        HostArray::F32(ArrayD::from_shape_vec(IxDyn(&[n, n, rows, cols]), o).expect("shape"))
    };
    // The expected output, built independently: each device's slice.
    let mut want = ArrayD::<f32>::zeros(IxDyn(&[n, n, rows, cols]));
    for d in 0..n {
        want.slice_mut(s![d, .., .., ..]).assign(&xs);
    }
    let expected = vec![HostArray::F32(want)];
    let kernel = corpus::collectives::ring_all_gather(n, rows, cols);
    let args = vec![x];
    let variants: Vec<Variant> = vec![
        reference("plain copy of the same bytes", move || vec![gathered(&xs)]),
        sim("pallas-sim", SimConfig::default(), &kernel, args.clone()),
        sim(
            "pallas-sim, race detection",
            SimConfig::default().detect_races(true),
            &kernel,
            args.clone(),
        ),
        cpu(&kernel, args),
    ];
    let kib = rows * cols * 4 / 1024;
    let per_device = if kib >= 1024 {
        format!("{} MiB", kib / 1024)
    } else {
        format!("{kib} KiB")
    };
    Workload {
        name: format!("all-gather {n} x {per_device}"),
        expected,
        tolerance: Tolerance::EXACT,
        variants,
        repeats,
    }
}

/// `o = x` for `mib` MiB of f32 through a manual double buffer of DMAs
/// (HBM to VMEM to HBM, 2 MiB chunks).
pub fn dma_copy(mib: usize, repeats: usize) -> Workload {
    let cols = 1024;
    let chunk = 512;
    let rows = mib * 256;
    let mut rng = Rng::new(19);
    let x = uniform_f32(&mut rng, &[rows, cols]);
    let xs = x.as_f32().expect("f32").clone();
    let expected = vec![x.clone()];
    let kernel = corpus::dma_pipeline_copy(rows / chunk, chunk, cols);
    let args = vec![x];
    let variants: Vec<Variant> = vec![
        reference("plain copy of the same bytes", move || {
            vec![HostArray::F32(xs.to_owned())]
        }),
        sim("pallas-sim", SimConfig::default(), &kernel, args.clone()),
        // Race detection compares cores: with one core it keeps no
        // shadows, so it is timed on two.
        sim(
            "pallas-sim, 2 cores, race detection",
            SimConfig::default().num_cores(2).detect_races(true),
            &kernel,
            args.clone(),
        ),
        cpu(&kernel, args),
    ];
    Workload {
        name: format!("double-buffered DMA copy {mib} MiB"),
        expected,
        tolerance: Tolerance::EXACT,
        variants,
        repeats,
    }
}
