//! The workloads: the seed kernel at its three grids, and the corpus's
//! matmul, softmax, layer norm and flash attention, each on every backend
//! (pallas-wgpu where the machine has an adapter) beside hand-written
//! references.

use ndarray::{Array2, ArrayD, Axis, Ix2, IxDyn};
use pallas_corpus as corpus;
use pallas_exec::Executor;
use pallas_exec::HostArray;
use pallas_ir::{validate, DType, Kernel};
use pallas_sim::{SimConfig, Simulator};
use pallas_tests::data::{uniform_f32, Rng};
use pallas_tests::{loops, reference as r, Tolerance};
use rayon::prelude::*;

use super::movement;
use super::report::Report;
use super::{Variant, Workload};

fn f32s(h: &HostArray) -> &ArrayD<f32> {
    h.as_f32().expect("f32 input")
}

pub(super) fn sim(name: &str, cfg: SimConfig, kernel: &Kernel, args: Vec<HostArray>) -> Variant {
    let vk = validate(kernel).expect("corpus kernels validate");
    let compiled = Simulator::new(cfg)
        .compile(&vk)
        .expect("the simulator compiles every corpus kernel");
    Variant {
        name: name.into(),
        reference: false,
        run: Box::new(move || {
            compiled
                .launch(&args)
                .map(|l| l.outputs)
                .map_err(|e| e.to_string())
        }),
    }
}

pub(super) fn cpu(kernel: &Kernel, args: Vec<HostArray>) -> Variant {
    let vk = validate(kernel).expect("corpus kernels validate");
    let compiled = pallas_cpu::Cpu::default()
        .compile(&vk)
        .expect("the fast mode compiles this kernel");
    Variant {
        name: "pallas-cpu".into(),
        reference: false,
        run: Box::new(move || {
            compiled
                .launch(&args)
                .map(|l| l.outputs)
                .map_err(|e| e.to_string())
        }),
    }
}

/// The wgpu backend, when this machine has an adapter (lavapipe counts).
fn wgpu(kernel: &Kernel, args: &[HostArray]) -> Option<Variant> {
    pallas_wgpu::Gpu::shared().ok()?;
    let vk = validate(kernel).expect("corpus kernels validate");
    let compiled = pallas_wgpu::Wgpu::default()
        .compile(&vk)
        .expect("the wgpu backend compiles every corpus kernel");
    let args = args.to_vec();
    Some(Variant {
        name: "pallas-wgpu".into(),
        reference: false,
        run: Box::new(move || {
            compiled
                .launch(&args)
                .map(|l| l.outputs)
                .map_err(|e| e.to_string())
        }),
    })
}

pub(super) fn reference(name: &str, f: impl FnMut() -> Vec<HostArray> + 'static) -> Variant {
    let mut f = f;
    Variant {
        name: name.into(),
        reference: true,
        run: Box::new(move || Ok(f())),
    }
}

fn sim_variants(kernel: &Kernel, args: &[HostArray], extra: bool) -> Vec<Variant> {
    let mut v = vec![sim(
        "pallas-sim",
        SimConfig::default(),
        kernel,
        args.to_vec(),
    )];
    if extra {
        v.push(sim(
            "pallas-sim, 2 cores",
            SimConfig::default().num_cores(2),
            kernel,
            args.to_vec(),
        ));
        // Race detection compares cores: on one core it has nothing to
        // find and costs nothing, so it is timed on two.
        v.push(sim(
            "pallas-sim, 2 cores, race detection",
            SimConfig::default().num_cores(2).detect_races(true),
            kernel,
            args.to_vec(),
        ));
    }
    v
}

fn seed(block: [usize; 2], repeats: usize) -> Workload {
    let [rows, cols] = corpus::SEED_SHAPE;
    let mut rng = Rng::new(7);
    let (x, y) = (
        uniform_f32(&mut rng, &[rows, cols]),
        uniform_f32(&mut rng, &[rows, cols]),
    );
    let expected = vec![HostArray::F32(r::seed(f32s(&x), f32s(&y)))];
    let kernel = corpus::seed(rows, cols, block);
    let points = kernel.num_grid_points().unwrap_or(0);
    let xs: Vec<f32> = f32s(&x).iter().copied().collect();
    let ys: Vec<f32> = f32s(&y).iter().copied().collect();
    let (xs2, ys2) = (xs.clone(), ys.clone());
    let shape = [rows, cols];
    let mut variants = vec![
        reference("reference loop, 1 thread", move || {
            let mut o = vec![0.0f32; xs.len()];
            for ((o, &a), &b) in o.iter_mut().zip(&xs).zip(&ys) {
                *o = ((a + b) * 2.0).sin();
            }
            vec![HostArray::F32(
                ArrayD::from_shape_vec(IxDyn(&shape), o).expect("shape"),
            )]
        }),
        Variant {
            name: "reference loop, rayon".into(),
            reference: false,
            run: Box::new(move || {
                let mut o = vec![0.0f32; xs2.len()];
                o.par_chunks_mut(16384).enumerate().for_each(|(c, chunk)| {
                    let base = c * 16384;
                    for (i, o) in chunk.iter_mut().enumerate() {
                        *o = ((xs2[base + i] + ys2[base + i]) * 2.0).sin();
                    }
                });
                Ok(vec![HostArray::F32(
                    ArrayD::from_shape_vec(IxDyn(&shape), o).expect("shape"),
                )])
            }),
        },
    ];
    variants.extend(sim_variants(&kernel, &[x.clone(), y.clone()], true));
    variants.extend(wgpu(&kernel, &[x.clone(), y.clone()]));
    variants.push(cpu(&kernel, vec![x, y]));
    Workload {
        name: format!("seed grid {points}"),
        expected,
        tolerance: Tolerance::abs(2e-6),
        variants,
        repeats,
    }
}

fn matmul(n: usize, b: usize, repeats: usize) -> Workload {
    let mut rng = Rng::new(11);
    let (x, y) = (
        uniform_f32(&mut rng, &[n, n]),
        uniform_f32(&mut rng, &[n, n]),
    );
    let expected = vec![HostArray::F32(r::matmul(f32s(&x), f32s(&y)))];
    let (a, bm) = (
        f32s(&x).clone().into_dimensionality::<Ix2>().expect("2-D"),
        f32s(&y).clone().into_dimensionality::<Ix2>().expect("2-D"),
    );
    let mut variants = vec![reference("ndarray dot", move || {
        vec![HostArray::F32(a.dot(&bm).into_dyn())]
    })];
    let kernel = corpus::matmul(n, n, n, b, b, b);
    variants.extend(sim_variants(&kernel, &[x.clone(), y.clone()], false));
    variants.extend(wgpu(&kernel, &[x.clone(), y.clone()]));
    variants.push(cpu(&kernel, vec![x, y]));
    Workload {
        name: format!("matmul {n}^3"),
        expected,
        tolerance: Tolerance::abs(4e-7 * n as f64),
        variants,
        repeats,
    }
}

fn rows_of(h: &HostArray) -> Array2<f32> {
    f32s(h).clone().into_dimensionality::<Ix2>().expect("2-D")
}

fn softmax(n: usize, repeats: usize) -> Workload {
    let mut rng = Rng::new(13);
    let x = uniform_f32(&mut rng, &[n, n]);
    let expected = vec![HostArray::F32(r::softmax(f32s(&x)))];
    let xa = rows_of(&x);
    let mut variants = vec![reference("hand-written loop", move || {
        let mut o = xa.clone();
        loops::softmax_rows(&mut o);
        vec![HostArray::F32(o.into_dyn())]
    })];
    let kernel = corpus::softmax(n, n, 16);
    variants.extend(sim_variants(&kernel, std::slice::from_ref(&x), false));
    variants.extend(wgpu(&kernel, std::slice::from_ref(&x)));
    variants.push(cpu(&kernel, vec![x]));
    Workload {
        name: format!("softmax {n}x{n}"),
        expected,
        tolerance: Tolerance {
            abs: 1e-8,
            rel: 1e-5,
        },
        variants,
        repeats,
    }
}

fn layer_norm(n: usize, repeats: usize) -> Workload {
    let mut rng = Rng::new(17);
    let x = uniform_f32(&mut rng, &[n, n]);
    let g = uniform_f32(&mut rng, &[n]);
    let b = uniform_f32(&mut rng, &[n]);
    let expected = vec![HostArray::F32(r::layer_norm(
        f32s(&x),
        f32s(&g),
        f32s(&b),
        1e-5,
    ))];
    let (xa, ga, ba) = (rows_of(&x), f32s(&g).clone(), f32s(&b).clone());
    let mut variants = vec![reference("hand-written loop", move || {
        let mut o = xa.clone();
        let (gs, bs) = (
            ga.as_slice().expect("contiguous"),
            ba.as_slice().expect("contiguous"),
        );
        loops::layer_norm_rows(&mut o, gs, bs, 1e-5);
        vec![HostArray::F32(o.into_dyn())]
    })];
    let kernel = corpus::layer_norm(n, n, 16, 1e-5);
    variants.extend(sim_variants(
        &kernel,
        &[x.clone(), g.clone(), b.clone()],
        false,
    ));
    variants.extend(wgpu(&kernel, &[x.clone(), g.clone(), b.clone()]));
    variants.push(cpu(&kernel, vec![x, g, b]));
    Workload {
        name: format!("layer norm {n}x{n}"),
        expected,
        tolerance: Tolerance {
            abs: 2e-6,
            rel: 1e-5,
        },
        variants,
        repeats,
    }
}

fn flash_attention(n: usize, d: usize, repeats: usize) -> Workload {
    let mut rng = Rng::new(19);
    let q = uniform_f32(&mut rng, &[n, d]);
    let k = uniform_f32(&mut rng, &[n, d]);
    let v = uniform_f32(&mut rng, &[n, d]);
    let expected = vec![HostArray::F32(r::attention(f32s(&q), f32s(&k), f32s(&v)))];
    let (qa, ka, va) = (rows_of(&q), rows_of(&k), rows_of(&v));
    let mut variants = vec![reference("ndarray attention", move || {
        let scale = 1.0 / (qa.ncols() as f32).sqrt();
        let mut s = qa.dot(&ka.t()) * scale;
        for mut row in s.axis_iter_mut(Axis(0)) {
            let m = row.fold(f32::NEG_INFINITY, |m, &x| m.max(x));
            row.mapv_inplace(|x| (x - m).exp());
            let sum = row.sum();
            row.mapv_inplace(|x| x / sum);
        }
        vec![HostArray::F32(s.dot(&va).into_dyn())]
    })];
    let b = 128.min(n);
    let kernel = corpus::flash_attention(n, n, d, b, b);
    variants.extend(sim_variants(
        &kernel,
        &[q.clone(), k.clone(), v.clone()],
        false,
    ));
    variants.extend(wgpu(&kernel, &[q.clone(), k.clone(), v.clone()]));
    variants.push(cpu(&kernel, vec![q, k, v]));
    Workload {
        name: format!("flash attention {n}x{n}x{d}"),
        expected,
        tolerance: Tolerance {
            abs: 2e-6,
            rel: 1e-5,
        },
        variants,
        repeats,
    }
}

/// An array's values in its wide dtype (f32, i32 or u32): exact, for
/// comparing low-precision outputs with one reference.
fn widened(h: &HostArray) -> HostArray {
    pallas_exec::eval::Data::from_view(&h.view()).into_host(h.shape(), h.dtype().wide())
}

/// The fast mode on a kernel whose outputs are compared in their wide
/// dtype.
fn cpu_widened(name: &str, reference: bool, kernel: &Kernel, args: Vec<HostArray>) -> Variant {
    let mut v = cpu(kernel, args);
    let mut run = v.run;
    v.name = name.into();
    v.reference = reference;
    v.run = Box::new(move || run().map(|outs| outs.iter().map(widened).collect()));
    v
}

/// `x` converted to `dt` (rounded), and the same values as f32.
fn lowp(x: &HostArray, dt: DType) -> (HostArray, HostArray) {
    let d = pallas_exec::eval::Data::from_view(&x.view());
    let n = pallas_exec::eval::narrow::cast(&d, dt);
    let f = pallas_exec::eval::cast(&n, DType::F32);
    (
        n.into_host(x.shape(), dt),
        f.into_host(x.shape(), DType::F32),
    )
}

/// A low-precision matmul (`dt` in, `acc` accumulator, `out` out) on the
/// fast mode beside the f32 kernel over the same values (the base of the
/// ratio): both against the exact product.
fn matmul_lowp(n: usize, b: usize, dt: DType, acc: DType, out: DType, repeats: usize) -> Workload {
    let mut rng = Rng::new(23);
    let scale = if dt.is_int() { 127.0 } else { 1.0 };
    let mk = |rng: &mut Rng| {
        let u = uniform_f32(rng, &[n, n]);
        let v = pallas_exec::eval::Data::F32(
            f32s(&u)
                .iter()
                .map(|&x| (x * scale).trunc().max(-scale))
                .collect(),
        );
        v.into_host(&[n, n], DType::F32)
    };
    let (x0, y0) = (mk(&mut rng), mk(&mut rng));
    let ((x, xf), (y, yf)) = (lowp(&x0, dt), lowp(&y0, dt));
    // The exact product (f64 sums of exact products), as f32 or i32.
    let (a, bm) = (rows_of(&xf), rows_of(&yf));
    let exact = a.mapv(|v| v as f64).dot(&bm.mapv(|v| v as f64));
    let expected = if out.is_int() {
        HostArray::I32(exact.mapv(|v| v as i32).into_dyn())
    } else {
        HostArray::F32(exact.mapv(|v| v as f32).into_dyn())
    };
    let f32_kernel = corpus::matmul(n, n, n, b, b, b);
    let mut f32_variant = cpu_widened(
        "pallas-cpu, the f32 kernel",
        true,
        &f32_kernel,
        vec![xf, yf],
    );
    if out.is_int() {
        // The f32 kernel's sums of 8-bit products stay below 2^24: exact.
        let mut run = f32_variant.run;
        f32_variant.run = Box::new(move || {
            run().map(|outs| {
                outs.iter()
                    .map(|h| {
                        let d = pallas_exec::eval::cast(
                            &pallas_exec::eval::Data::from_view(&h.view()),
                            DType::I32,
                        );
                        d.into_host(h.shape(), DType::I32)
                    })
                    .collect()
            })
        });
    }
    let kernel = corpus::matmul_lowp(n, n, n, [b, b, b], dt, acc, out);
    let variants = vec![
        f32_variant,
        cpu_widened(
            &format!("pallas-cpu, {dt} in, {acc} accumulator"),
            false,
            &kernel,
            vec![x, y],
        ),
    ];
    Workload {
        name: format!("matmul {n}^3 {dt} (against the f32 kernel)"),
        expected: vec![expected],
        // bf16 out: one rounding (2^-8 relative) of sums whose f32
        // accumulation errs by about n * 2^-24 of |x||y|.
        tolerance: if out.is_int() {
            Tolerance::abs(0.0)
        } else {
            Tolerance {
                abs: 1e-6 * n as f64,
                rel: 2f64.powi(-8),
            }
        },
        variants,
        repeats,
    }
}

/// The seed kernel's blocks of (16, 256) in bf16 beside the f32 kernel
/// over the same values (the base of the ratio).
fn seed_bf16(repeats: usize) -> Workload {
    let [rows, cols] = corpus::SEED_SHAPE;
    let block = [16, 256];
    let mut rng = Rng::new(29);
    let ((x, xf), (y, yf)) = (
        lowp(&uniform_f32(&mut rng, &[rows, cols]), DType::BF16),
        lowp(&uniform_f32(&mut rng, &[rows, cols]), DType::BF16),
    );
    let expected = vec![HostArray::F32(r::seed(f32s(&xf), f32s(&yf)))];
    let variants = vec![
        cpu_widened(
            "pallas-cpu, the f32 kernel",
            true,
            &corpus::seed(rows, cols, block),
            vec![xf, yf],
        ),
        cpu_widened(
            "pallas-cpu, bf16",
            false,
            &corpus::seed_in(rows, cols, block, DType::BF16),
            vec![x, y],
        ),
    ];
    Workload {
        name: "seed grid 512 bf16 (against the f32 kernel)".into(),
        expected,
        // x + y in [-2, 2) rounds by up to 2^-8 of itself (2^-7), doubled
        // exactly, so sin's argument is off by up to 2^-6, and so is sin;
        // then sin rounds by 2^-8 of itself.
        tolerance: Tolerance {
            abs: 2f64.powi(-6),
            rel: 2f64.powi(-8),
        },
        variants,
        repeats,
    }
}

/// Every workload; `quick` takes smaller sizes and fewer repeats.
pub fn all(quick: bool) -> Vec<Workload> {
    let rep = if quick { 1 } else { 7 };
    let big_rep = if quick { 1 } else { 3 };
    let mut w: Vec<Workload> = corpus::SEED_BLOCKS
        .iter()
        .map(|&b| seed(b, if b == [1, 1] { big_rep } else { rep }))
        .collect();
    if quick {
        w.push(matmul(256, 128, rep));
        w.push(softmax(256, rep));
        w.push(layer_norm(256, rep));
        w.push(flash_attention(256, 64, rep));
        w.push(matmul_lowp(
            256,
            128,
            DType::BF16,
            DType::F32,
            DType::BF16,
            rep,
        ));
        w.push(matmul_lowp(
            256,
            128,
            DType::I8,
            DType::I32,
            DType::I32,
            rep,
        ));
        w.push(seed_bf16(rep));
        w.push(movement::all_gather(16, rep));
        w.push(movement::dma_copy(4, rep));
    } else {
        w.push(matmul(1024, 256, big_rep));
        w.push(softmax(1024, rep));
        w.push(layer_norm(1024, rep));
        w.push(flash_attention(1024, 64, big_rep));
        w.push(matmul_lowp(
            1024,
            256,
            DType::BF16,
            DType::F32,
            DType::BF16,
            big_rep,
        ));
        w.push(matmul_lowp(
            1024,
            256,
            DType::I8,
            DType::I32,
            DType::I32,
            big_rep,
        ));
        w.push(seed_bf16(rep));
        for rows in [16, 256, 1024] {
            w.push(movement::all_gather(
                rows,
                if rows > 16 { big_rep } else { rep },
            ));
        }
        w.push(movement::dma_copy(64, big_rep));
    }
    w
}

/// JAX interpret mode's published seed numbers, beside the sim's rows.
pub fn published(r: &Report) -> Vec<(String, String)> {
    let table = [
        ("seed grid 512", "1.87 s; 11.1 s with race detection"),
        ("seed grid 16384", "107 s; many minutes with race detection"),
        ("seed grid 2097152", "hours (estimated)"),
    ];
    table
        .iter()
        .filter(|(w, _)| r.rows.iter().any(|row| row.workload == *w))
        .map(|(w, t)| (w.to_string(), t.to_string()))
        .collect()
}
