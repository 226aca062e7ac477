//! The DMA path (issue 25): a double-buffered HBM -> VMEM -> HBM copy and
//! strided DMAs between every pair of memories, on the simulator (every DMA
//! mode, race detection on, written-flags kept) and the fast mode, against
//! plain ndarray references; and repeated launches of one compiled kernel
//! (buffers reused between launches) give the same answer each time.

use ndarray::{s, ArrayD, IxDyn};
use pallas_corpus as corpus;
use pallas_exec::{Executor, HostArray};
use pallas_ir::builder::{at, ds_strided, full, ref_at, KernelBuilder, Spec};
use pallas_ir::DType::F32;
use pallas_ir::{validate, Kernel, MemorySpace, SemaphoreKind};
use pallas_sim::{DmaExecutionMode, Options, Simulator};

fn array(shape: &[usize], seed: u32) -> ArrayD<f32> {
    let n: usize = shape.iter().product();
    let v = (0..n)
        .map(|i| {
            let h = (i as u32).wrapping_mul(2654435761).wrapping_add(seed);
            (h >> 8) as f32 / (1u32 << 24) as f32
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
}

/// The option sets the simulator must agree under.
fn sims() -> Vec<Options> {
    let base = Options {
        detect_races: true,
        report_uninitialized_reads: true,
        ..Options::default()
    };
    vec![
        base.clone(),
        Options {
            dma_execution_mode: DmaExecutionMode::OnWait,
            ..base.clone()
        },
        Options {
            num_cores: 2,
            ..base
        },
        Options::default(),
    ]
}

/// Runs `k` three times on each simulator option set and on the fast mode
/// (one compiled kernel each: later launches reuse its buffers) and checks
/// every output against `want`.
fn check_everywhere(k: &Kernel, args: &[HostArray], want: &ArrayD<f32>) {
    let vk = validate(k).unwrap_or_else(|e| panic!("{}: {e}", k.name));
    let mut compiled: Vec<(String, std::sync::Arc<dyn pallas_exec::CompiledKernel>)> = sims()
        .into_iter()
        .map(|o| {
            let name = format!("sim {o:?}");
            (name, Simulator::new(o).compile(&vk).unwrap())
        })
        .collect();
    compiled.push((
        "cpu".into(),
        pallas_cpu::Cpu::default().compile(&vk).unwrap(),
    ));
    for (name, c) in &compiled {
        for launch in 0..3 {
            let out = c
                .launch(args)
                .unwrap_or_else(|e| panic!("{} on {name}: {e}", k.name));
            let got = out.outputs[0].as_f32().unwrap();
            assert_eq!(got, want, "{} on {name}, launch {launch}", k.name);
        }
    }
}

#[test]
fn a_double_buffered_dma_copy_copies_every_chunk() {
    for (chunks, chunk) in [(1, 8), (2, 8), (5, 16)] {
        let x = array(&[chunks * chunk, 128], chunks as u32);
        let k = corpus::dma_pipeline_copy(chunks, chunk, 128);
        check_everywhere(&k, &[x.clone().into()], &x);
    }
}

/// `o[:, 2j] = x[j, :]`-style moves: a DMA from a strided view of one
/// memory into a strided view of another, through VMEM scratch and back.
fn strided_kernel(rows: usize, cols: usize) -> Kernel {
    let mut k = KernelBuilder::new("strided_dma");
    k.input("x", F32, &[rows, cols], Spec::any());
    k.output("o", F32, &[cols, 2 * rows], Spec::any());
    k.scratch("t", F32, &[cols, rows], MemorySpace::Vmem);
    k.semaphores("sem", SemaphoreKind::Dma, &[]);
    k.body(|b, r| {
        let (x, o, t, sem) = (r[0], r[1], r[2], r[3]);
        let one = |s| ref_at(s, &[]);
        // Column c of x into row c of the scratch (a strided read).
        for c in 0..cols {
            b.dma_start(
                ref_at(x, &[full(), at(c as i32)]),
                ref_at(t, &[at(c as i32), full()]),
                one(sem),
            );
            b.dma_wait(ref_at(t, &[at(c as i32), full()]), one(sem));
        }
        // The scratch into every other column of o (a strided write).
        let every_other = ds_strided(0, rows, 2);
        b.dma_start(
            ref_at(t, &[full(), full()]),
            ref_at(o, &[full(), every_other]),
            one(sem),
        );
        b.dma_wait(ref_at(o, &[full(), every_other]), one(sem));
        // And the same rows again, contiguous, into the odd columns'
        // complement: o[:, 1::2] = o[:, ::2] within one buffer.
        let (odd, even) = (ds_strided(1, rows, 2), ds_strided(0, rows, 2));
        b.dma_start(
            ref_at(o, &[full(), even]),
            ref_at(o, &[full(), odd]),
            one(sem),
        );
        b.dma_wait(ref_at(o, &[full(), odd]), one(sem));
    });
    k.finish()
}

#[test]
fn strided_dmas_pair_elements_in_order() {
    let (rows, cols) = (6, 5);
    let x = array(&[rows, cols], 3);
    let mut want = ArrayD::<f32>::zeros(IxDyn(&[cols, 2 * rows]));
    let xt = x.clone().reversed_axes();
    want.slice_mut(s![.., 0..;2]).assign(&xt);
    want.slice_mut(s![.., 1..;2]).assign(&xt);
    check_everywhere(&strided_kernel(rows, cols), &[x.into()], &want);
}

#[test]
fn the_all_gather_is_the_same_on_every_repeated_launch() {
    let (n, rows, cols) = (4, 8, 128);
    let x = array(&[n, rows, cols], 9);
    let mut want = ArrayD::<f32>::zeros(IxDyn(&[n, n, rows, cols]));
    for d in 0..n {
        want.slice_mut(s![d, .., .., ..]).assign(&x);
    }
    let k = corpus::collectives::ring_all_gather(n, rows, cols);
    check_everywhere(&k, &[x.into()], &want);
}
