//! Differential testing: random valid elementwise kernels (random grids,
//! partial edge blocks, chains of elementwise ops over every dtype) run on
//! the simulator and the fast mode; the outputs must be identical bit for
//! bit (both take their value semantics from `pallas_exec::eval`, so any
//! difference is a bug in blocking, coarsening or memory handling).
//!
//! `sin`, `cos`, `exp`, `logistic`, `tanh` and `log` are left out of the
//! chains: the fast
//! mode's vectorized versions are within a few ulp, not bit-identical, and a
//! later `floor` or comparison could turn an ulp into any difference; they
//! are tested on their own in pallas-cpu.
//!
//! The wgpu backend joins where the machine has an adapter (lavapipe in
//! CI): on integer and boolean elementwise kernels it must agree bit for
//! bit; on f32 ones (add, sub, min, max, rounding) within a few ulp, since
//! a GPU compiler may reassociate (lavapipe does). WGSL leaves the results of operations on
//! infinities and NaN indeterminate (lavapipe folds `x - x` to 0 even for
//! an infinite `x`), so the wgpu runs keep f32 values finite: no NaN or
//! infinite inputs, no products that could overflow, no `sqrt`/`rsqrt` of
//! values that may be negative or zero. Row-wise and block kernels (reductions,
//! `dot`, masked loads, loops, branches, scratch accumulated across
//! arbitrary steps, scalar-prefetch index maps) agree within the stated
//! tolerance on all three backends.
//!
//! Case counts: `PALLAS_DIFF_CASES` (default 200; 10,000 locally) for sim
//! and cpu, `PALLAS_DIFF_GPU_CASES` (default 40: each wgpu case builds a
//! pipeline) for the runs with wgpu; the seed is `PALLAS_DIFF_SEED`
//! (default fixed, so CI runs the same cases every time).

use ndarray::{ArrayD, IxDyn};
use pallas_cpu::Cpu;
use pallas_exec::run;
use pallas_exec::HostArray;
use pallas_ir::builder::{KernelBuilder, Spec};
use pallas_ir::{validate, BinaryOp, CmpOp, DType, DimSemantics, Scalar, UnaryOp, Value};
use pallas_sim::{SimConfig, Simulator, UninitializedMemory};
use pallas_tests::{compare_outputs, Tolerance};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

struct Gen {
    data: Vec<u32>,
    pos: usize,
}

impl Gen {
    fn next(&mut self) -> u32 {
        let v = self.data[self.pos % self.data.len()]
            .rotate_left((self.pos / self.data.len()) as u32 * 7);
        self.pos += 1;
        v
    }
    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n.max(1)
    }
}

/// A random elementwise kernel and matching inputs.
fn gen_case(data: Vec<u32>) -> (pallas_ir::Kernel, Vec<HostArray>) {
    gen_elementwise(data, false)
}

/// A random elementwise kernel; with `gpu_exact`, only operations WGSL
/// computes exactly (no f32 division, remainder, power, square root or
/// logarithm, whose WGSL accuracy is a few ulp).
fn gen_elementwise(data: Vec<u32>, gpu_exact: bool) -> (pallas_ir::Kernel, Vec<HostArray>) {
    let mut g = Gen { data, pos: 0 };
    let rank = 1 + g.below(2);
    let shape: Vec<usize> = (0..rank).map(|_| 1 + g.below(37)).collect();
    let block: Vec<usize> = shape.iter().map(|&n| 1 + g.below(n)).collect();
    let grid: Vec<(usize, DimSemantics)> = shape
        .iter()
        .zip(&block)
        .map(|(&n, &b)| {
            (
                n.div_ceil(b),
                if g.below(4) == 0 {
                    DimSemantics::Arbitrary
                } else {
                    DimSemantics::Parallel
                },
            )
        })
        .collect();
    // Parallel dims must lead.
    let mut grid = grid;
    let mut seen_arbitrary = false;
    for d in grid.iter_mut() {
        if seen_arbitrary {
            d.1 = DimSemantics::Arbitrary;
        }
        seen_arbitrary |= d.1 == DimSemantics::Arbitrary;
    }
    // Every dtype on the CPU backends and the GPU alike (the GPU's kernels
    // keep floats and integers apart, below).
    let all = DType::ALL;
    // On a GPU, f32 arithmetic may be reassociated (lavapipe turns
    // `(x + a) + b` into `x + (a + b)`), so its kernels are either all f32
    // (compared within a tolerance) or all integer and boolean (compared
    // exactly): an ulp never reaches an integer through a comparison.
    let float_family = gpu_exact && g.below(2) == 0;
    let dtypes: &[DType] = match (gpu_exact, float_family) {
        (false, _) => &all,
        (true, true) => &[
            DType::F32,
            DType::BF16,
            DType::F16,
            DType::F8E4M3FN,
            DType::F8E5M2,
        ],
        (true, false) => &[
            DType::I32,
            DType::U32,
            DType::Bool,
            DType::I8,
            DType::U8,
            DType::I16,
            DType::U16,
        ],
    };
    let nin = 1 + g.below(3);
    let in_types: Vec<DType> = (0..nin).map(|_| dtypes[g.below(dtypes.len())]).collect();
    let nout = 1 + g.below(2);
    let out_types: Vec<DType> = (0..nout).map(|_| dtypes[g.below(dtypes.len())]).collect();
    let mut k = KernelBuilder::new("diff");
    k.grid(&grid);
    let spec = || Spec::block(block.clone(), |_, a: &[Value]| a.to_vec());
    for (i, &d) in in_types.iter().enumerate() {
        k.input(&format!("x{i}"), d, &shape, spec());
    }
    for (i, &d) in out_types.iter().enumerate() {
        k.output(&format!("o{i}"), d, &shape, spec());
    }
    let nops = g.below(10);
    let choices: Vec<u32> = (0..nops * 4 + 8).map(|_| g.next()).collect();
    k.body(|b, r| {
        let mut pool: Vec<(Value, DType)> =
            (0..nin).map(|i| (b.load_all(r[i]), in_types[i])).collect();
        let mut c = choices.iter().copied();
        let mut pick = |n: usize| c.next().unwrap_or(0) as usize % n.max(1);
        for _ in 0..nops {
            let (x, dx) = pool[pick(pool.len())];
            let same: Vec<(Value, DType)> =
                pool.iter().copied().filter(|(_, d)| *d == dx).collect();
            let (y, _) = same[pick(same.len())];
            let v = match pick(6) {
                // fp8 is storage only: it meets arithmetic through a cast.
                0 | 1 | 5 if dx.is_fp8() => (b.cast(x, DType::BF16), DType::BF16),
                0 => {
                    let ops: &[UnaryOp] = match dx {
                        DType::F32 | DType::BF16 | DType::F16 if gpu_exact => &[
                            UnaryOp::Neg,
                            UnaryOp::Abs,
                            UnaryOp::Floor,
                            UnaryOp::Round,
                            UnaryOp::Ceil,
                            UnaryOp::Sign,
                        ],
                        DType::F32 | DType::BF16 | DType::F16 => &[
                            UnaryOp::Neg,
                            UnaryOp::Abs,
                            UnaryOp::Log1p,
                            UnaryOp::Sqrt,
                            UnaryOp::Floor,
                            UnaryOp::Round,
                            UnaryOp::Ceil,
                            UnaryOp::Sign,
                        ],
                        DType::Bool => &[UnaryOp::Not],
                        // Narrow integers: the width-aware bit counts too.
                        d if d.is_narrow() => &[
                            UnaryOp::Neg,
                            UnaryOp::Abs,
                            UnaryOp::Not,
                            UnaryOp::Sign,
                            UnaryOp::PopulationCount,
                            UnaryOp::Clz,
                        ],
                        _ => &[UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Not, UnaryOp::Sign],
                    };
                    (b.unary(ops[pick(ops.len())], x), dx)
                }
                1 => {
                    let ops: &[BinaryOp] = match dx {
                        // No `mul`: products can overflow, and WGSL leaves
                        // results on infinities and NaN indeterminate.
                        DType::F32 | DType::BF16 | DType::F16 if gpu_exact => {
                            &[BinaryOp::Add, BinaryOp::Sub, BinaryOp::Max, BinaryOp::Min]
                        }
                        DType::F32 | DType::BF16 | DType::F16 => &[
                            BinaryOp::Add,
                            BinaryOp::Sub,
                            BinaryOp::Mul,
                            BinaryOp::Div,
                            BinaryOp::Max,
                            BinaryOp::Min,
                            BinaryOp::Rem,
                            BinaryOp::Pow,
                        ],
                        DType::Bool => &[BinaryOp::And, BinaryOp::Or, BinaryOp::Xor],
                        _ => &[
                            BinaryOp::Add,
                            BinaryOp::Sub,
                            BinaryOp::Mul,
                            BinaryOp::Div,
                            BinaryOp::Rem,
                            BinaryOp::Max,
                            BinaryOp::Min,
                            BinaryOp::And,
                            BinaryOp::Xor,
                            BinaryOp::Shl,
                            BinaryOp::ShrArith,
                            BinaryOp::ShrLogical,
                        ],
                    };
                    (b.binary(ops[pick(ops.len())], x, y), dx)
                }
                2 if float_family && dx.is_fp8() => (b.cast(x, DType::BF16), DType::BF16),
                2 if float_family => (b.unary(UnaryOp::Floor, x), dx),
                2 => (b.compare(CmpOp::ALL[pick(6)], x, y), DType::Bool),
                3 => {
                    let to = dtypes[pick(dtypes.len())];
                    (b.cast(x, to), to)
                }
                4 => {
                    let bools: Vec<Value> = pool
                        .iter()
                        .filter(|(_, d)| *d == DType::Bool)
                        .map(|p| p.0)
                        .collect();
                    match bools.first() {
                        Some(&cond) => (b.select(cond, x, y), dx),
                        None if float_family && dx.is_fp8() => (b.cast(x, DType::F32), DType::F32),
                        None if float_family => (b.unary(UnaryOp::Abs, x), dx),
                        None => (b.compare(CmpOp::Lt, x, y), DType::Bool),
                    }
                }
                _ => {
                    let lit = match dx {
                        DType::F32 => b.f32([0.5f32, -2.0, 3.25, 1e-3][pick(4)]),
                        DType::I32 => b.i32([1, -3, 7, i32::MIN][pick(4)]),
                        DType::U32 => b.u32([1, 3, 0xffff_ffff, 31][pick(4)]),
                        DType::Bool => b.bool(pick(2) == 0),
                        // Narrow floats: the f32 literal rounded to the dtype.
                        d if d.is_float() => {
                            let v = [0.5f32, -2.0, 3.25, 1e-3][pick(4)];
                            let bits = pallas_exec::eval::narrow::to_bits(
                                d,
                                &pallas_exec::eval::Data::F32(vec![v]),
                            )[0];
                            b.constant(Scalar::from_bits(d, bits))
                        }
                        d => b.constant(Scalar::from_bits(d, [1, 0xfd, 7, 0x80][pick(4)])),
                    };
                    (
                        b.binary(
                            if dx == DType::Bool {
                                BinaryOp::Xor
                            } else {
                                BinaryOp::Add
                            },
                            x,
                            lit,
                        ),
                        dx,
                    )
                }
            };
            pool.push(v);
        }
        for (i, &d) in out_types.iter().enumerate() {
            let (v, dv) = pool[pool.len() - 1 - pick(pool.len().min(3))];
            let v = if dv == d { v } else { b.cast(v, d) };
            b.store_all(r[nin + i], v);
        }
    });
    let n: usize = shape.iter().product();
    let args = in_types
        .iter()
        .map(|&d| {
            let bits: Vec<u32> = (0..n)
                .map(|_| match (d, g.below(8)) {
                    (DType::F32, 0) if gpu_exact => {
                        [-0.0f32, 0.0, 1e-3, -7.5][g.below(4)].to_bits()
                    }
                    (DType::F32, 0) => [f32::NAN, f32::INFINITY, -0.0, 1e30][g.below(4)].to_bits(),
                    (DType::F32, _) => ((g.next() % 2000) as f32 / 100.0 - 10.0).to_bits(),
                    // Narrow floats: the same values, rounded to the dtype.
                    (d, k) if d.is_float() && !d.is_fp8() => {
                        let v = if k == 0 && gpu_exact {
                            [-0.0f32, 0.0, 1e-3, -7.5][g.below(4)]
                        } else if k == 0 {
                            [f32::NAN, f32::INFINITY, -0.0, 1e30][g.below(4)]
                        } else {
                            (g.next() % 2000) as f32 / 100.0 - 10.0
                        };
                        pallas_exec::eval::narrow::to_bits(
                            d,
                            &pallas_exec::eval::Data::F32(vec![v]),
                        )[0]
                    }
                    (_, 0) => [0, 1, 31, 32, 0x8000_0000, 0xffff_ffff][g.below(6)],
                    _ => g.next(),
                })
                .collect();
            HostArray::from_bits(d, &shape, bits).expect("shape")
        })
        .collect();
    (k.finish(), args)
}

fn same_bits(a: &HostArray, b: &HostArray) -> bool {
    let (x, y) = (a.to_bits(), b.to_bits());
    a.dtype() == b.dtype()
        && a.shape() == b.shape()
        && x.iter().zip(&y).all(|(p, q)| {
            let nan = |w: u32| {
                Scalar::from_bits(a.dtype(), w)
                    .as_f32()
                    .is_some_and(f32::is_nan)
            };
            p == q || (nan(*p) && nan(*q))
        })
}

/// Like [`same_bits`], for a GPU: an f32 the CPU backends keep as a
/// subnormal may come back flushed to zero (of either sign).
fn same_bits_gpu(a: &HostArray, b: &HostArray) -> bool {
    let d = a.dtype();
    if !d.is_float() {
        return same_bits(a, b);
    }
    // Floats of any width, by value: an f32 subnormal (a bf16 one too)
    // may come back flushed to zero.
    let value = |w: u32| Scalar::from_bits(d, w).as_f32().unwrap_or(0.0);
    let tiny = |w: u32| value(w).abs() < f32::MIN_POSITIVE;
    let (x, y) = (a.to_bits(), b.to_bits());
    d == b.dtype()
        && a.shape() == b.shape()
        && x.iter().zip(&y).all(|(&p, &q)| {
            p == q || (value(p).is_nan() && value(q).is_nan()) || (tiny(p) && tiny(q))
        })
}

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cases() -> u32 {
    env_u32("PALLAS_DIFF_CASES", 200)
}

/// The proptest configuration: a case count and the fixed seed.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(
            std::env::var("PALLAS_DIFF_SEED")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0x5eed_0001),
        ),
        ..ProptestConfig::default()
    }
}

/// Whether the wgpu runs happen: an adapter, or `CI=true` (then a missing
/// one fails).
fn have_gpu() -> bool {
    static HAVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAVE.get_or_init(|| match pallas_wgpu::Gpu::shared() {
        Ok(_) => true,
        Err(e) => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but no wgpu adapter: {e}"
            );
            eprintln!("skipping the wgpu differential runs: {e}");
            false
        }
    })
}

/// The one process-wide wgpu backend (its compile cache is per backend).
fn wgpu_backend() -> &'static pallas_wgpu::Wgpu {
    static W: std::sync::OnceLock<pallas_wgpu::Wgpu> = std::sync::OnceLock::new();
    W.get_or_init(pallas_wgpu::Wgpu::default)
}

proptest! {
    #![proptest_config(config(cases()))]

    #[test]
    fn sim_and_cpu_agree_on_random_elementwise_kernels(data in prop::collection::vec(any::<u32>(), 8..64)) {
        let (kernel, args) = gen_case(data);
        let vk = validate(&kernel).map_err(|e| TestCaseError::fail(format!("generator made an invalid kernel: {e}\n{}", pallas_ir::text::print(&kernel))))?;
        // Zero-filled fresh memory so that both backends start outputs alike.
        let sim = Simulator::new(SimConfig::default().uninitialized_memory(UninitializedMemory::Zero));
        let a = run(&sim, &vk, &args).map_err(|e| TestCaseError::fail(format!("sim: {e}")))?;
        let b = run(&Cpu::default(), &vk, &args).map_err(|e| TestCaseError::fail(format!("cpu: {e}\n{}", pallas_ir::text::print(&kernel))))?;
        for (i, (x, y)) in a.outputs.iter().zip(&b.outputs).enumerate() {
            prop_assert!(same_bits(x, y), "output {} differs\nkernel:\n{}\nsim: {:?}\ncpu: {:?}", i, pallas_ir::text::print(&kernel), x, y);
        }
    }
}

#[test]
fn a_zero_array_is_unequal_to_a_one_array() {
    // The comparison itself can fail.
    let z = HostArray::F32(ArrayD::zeros(IxDyn(&[3])));
    let o = HostArray::F32(ArrayD::from_elem(IxDyn(&[3]), 1.0));
    assert!(!same_bits(&z, &o));
    assert!(same_bits(&z, &z));
}

/// Deterministic generator input for the coverage tests.
fn seed_data(seed: u32, step: u32) -> Vec<u32> {
    (0..32)
        .map(|i| {
            seed.wrapping_mul(2654435761)
                .wrapping_add(i * step)
                .rotate_left(i)
        })
        .collect()
}

#[test]
fn the_generator_makes_varied_kernels() {
    let mut ops = std::collections::BTreeSet::new();
    let mut dtypes = std::collections::BTreeSet::new();
    let mut partial = 0;
    for seed in 0..300u32 {
        let (k, _) = gen_case(seed_data(seed, 97));
        validate(&k).unwrap();
        dtypes.extend(k.params.iter().filter_map(|p| p.dtype()));
        for (_, inst) in k.insts.iter() {
            ops.insert(inst.op.name());
        }
        let p = &k.params[0];
        if p.shape
            .iter()
            .zip(p.block_full_shape())
            .any(|(n, b)| n % b != 0)
        {
            partial += 1;
        }
    }
    for want in [
        "cast", "select", "cmp_lt", "add", "shl", "log1p", "floor", "not",
    ] {
        assert!(ops.contains(want), "never made `{want}`: {ops:?}");
    }
    assert!(partial > 50, "partial edge blocks in {partial} of 300");
    // Every dtype reaches the sim-versus-cpu comparison.
    assert_eq!(dtypes.len(), DType::ALL.len(), "dtypes made: {dtypes:?}");
    // And the GPU comparison.
    let mut gpu_dtypes = std::collections::BTreeSet::new();
    for seed in 0..300u32 {
        let (k, _) = gen_elementwise(seed_data(seed, 97), true);
        validate(&k).unwrap();
        gpu_dtypes.extend(k.params.iter().filter_map(|p| p.dtype()));
    }
    assert_eq!(
        gpu_dtypes.len(),
        DType::ALL.len(),
        "GPU dtypes made: {gpu_dtypes:?}"
    );
}

/// A random row-wise kernel over f32 `[R, C]` in blocks of whole rows:
/// reductions along rows, broadcasts back, a whole `[C]` input broadcast
/// to every row, prefix sums, elementwise ops.
fn gen_rows(data: Vec<u32>) -> (pallas_ir::Kernel, Vec<HostArray>) {
    gen_rows_for(data, false)
}

/// Row-wise kernels; `gpu` leaves out `sqrt` and `rsqrt`, whose
/// negative and zero arguments give NaN and infinities, on which WGSL
/// leaves results indeterminate.
fn gen_rows_for(data: Vec<u32>, gpu: bool) -> (pallas_ir::Kernel, Vec<HostArray>) {
    let mut g = Gen { data, pos: 0 };
    let (rows, cols) = (1 + g.below(40), 1 + g.below(33));
    let br = 1 + g.below(rows);
    let choices: Vec<u32> = (0..48).map(|_| g.next()).collect();
    let mut k = KernelBuilder::new("rows");
    k.grid(&[(rows.div_ceil(br), DimSemantics::Parallel)]);
    let spec = || Spec::block([br, cols], |b, a: &[Value]| vec![a[0], b.i32(0)]);
    k.input("x", DType::F32, &[rows, cols], spec());
    k.input("w", DType::F32, &[cols], Spec::whole());
    k.output("o", DType::F32, &[rows, cols], spec());
    k.body(|b, r| {
        let mut c = choices.iter().copied();
        let mut pick = |n: usize| c.next().unwrap_or(0) as usize % n.max(1);
        let x = b.load_all(r[0]);
        let w = b.load_all(r[1]);
        let wb = b.broadcast_in_dim(w, &[br, cols], &[1]);
        let mut pool = vec![x, wb];
        for _ in 0..(2 + pick(6)) {
            let a = pool[pick(pool.len())];
            let v = match pick(5) {
                0 => {
                    let op = [
                        pallas_ir::ReduceOp::Sum,
                        pallas_ir::ReduceOp::Max,
                        pallas_ir::ReduceOp::Min,
                    ][pick(3)];
                    let red = b.reduce(op, a, &[1]);
                    b.broadcast_in_dim(red, &[br, cols], &[0])
                }
                1 => b.cumsum(a, 1),
                2 => {
                    let o = pool[pick(pool.len())];
                    b.binary(
                        [BinaryOp::Add, BinaryOp::Mul, BinaryOp::Sub, BinaryOp::Max][pick(4)],
                        a,
                        o,
                    )
                }
                3 if gpu => b.unary([UnaryOp::Erf, UnaryOp::Abs][pick(2)], a),
                3 => b.unary(
                    [UnaryOp::Sqrt, UnaryOp::Erf, UnaryOp::Abs, UnaryOp::Rsqrt][pick(4)],
                    a,
                ),
                _ => b.mul(a, 0.5f32),
            };
            pool.push(v);
        }
        let last = *pool.last().expect("non-empty");
        b.store_all(r[2], last);
    });
    let mk = |g: &mut Gen, shape: &[usize]| {
        let n: usize = shape.iter().product();
        let bits = (0..n)
            .map(|_| ((g.next() % 2000) as f32 / 1000.0 - 1.0).to_bits())
            .collect();
        HostArray::from_bits(DType::F32, shape, bits).expect("shape")
    };
    let args = vec![mk(&mut g, &[rows, cols]), mk(&mut g, &[cols])];
    (k.finish(), args)
}

proptest! {
    #![proptest_config(config(cases()))]

    #[test]
    fn sim_and_cpu_agree_on_random_row_wise_kernels(data in prop::collection::vec(any::<u32>(), 8..64)) {
        let (kernel, args) = gen_rows(data);
        let vk = validate(&kernel).map_err(|e| TestCaseError::fail(format!("generator made an invalid kernel: {e}\n{}", pallas_ir::text::print(&kernel))))?;
        let sim = Simulator::new(SimConfig::default().uninitialized_memory(UninitializedMemory::Zero));
        let a = run(&sim, &vk, &args).map_err(|e| TestCaseError::fail(format!("sim: {e}")))?;
        let b = run(&Cpu::default(), &vk, &args).map_err(|e| TestCaseError::fail(format!("cpu: {e}\n{}", pallas_ir::text::print(&kernel))))?;
        prop_assert!(same_bits(&a.outputs[0], &b.outputs[0]), "differs\nkernel:\n{}\nsim: {:?}\ncpu: {:?}", pallas_ir::text::print(&kernel), a.outputs[0], b.outputs[0]);
    }
}

proptest! {
    #![proptest_config(config(env_u32("PALLAS_DIFF_GPU_CASES", 40)))]

    #[test]
    fn wgpu_agrees_on_random_elementwise_kernels(data in prop::collection::vec(any::<u32>(), 8..64)) {
        if !have_gpu() {
            return Ok(());
        }
        let (kernel, args) = gen_elementwise(data, true);
        let vk = validate(&kernel).map_err(|e| TestCaseError::fail(format!("generator made an invalid kernel: {e}")))?;
        let sim = Simulator::new(SimConfig::default().uninitialized_memory(UninitializedMemory::Zero));
        let a = run(&sim, &vk, &args).map_err(|e| TestCaseError::fail(format!("sim: {e}")))?;
        let g = run(wgpu_backend(), &vk, &args).map_err(|e| TestCaseError::fail(format!("wgpu: {e}\n{}", pallas_ir::text::print(&kernel))))?;
        prop_assert_eq!(g.report.get("dispatches"), 1);
        for (i, (x, y)) in a.outputs.iter().zip(&g.outputs).enumerate() {
            let same = if x.dtype() == DType::F32 {
                compare_outputs(std::slice::from_ref(y), std::slice::from_ref(x), GPU_F32_TOLERANCE).is_ok()
            } else {
                same_bits_gpu(x, y)
            };
            prop_assert!(same, "output {} differs\nkernel:\n{}\nsim: {:?}\nwgpu: {:?}", i, pallas_ir::text::print(&kernel), x, y);
        }
    }

    #[test]
    fn wgpu_agrees_on_random_row_wise_kernels(data in prop::collection::vec(any::<u32>(), 8..64)) {
        if !have_gpu() {
            return Ok(());
        }
        let (kernel, args) = gen_rows_for(data, true);
        let vk = validate(&kernel).map_err(|e| TestCaseError::fail(format!("generator made an invalid kernel: {e}")))?;
        let sim = Simulator::new(SimConfig::default().uninitialized_memory(UninitializedMemory::Zero));
        let a = run(&sim, &vk, &args).map_err(|e| TestCaseError::fail(format!("sim: {e}")))?;
        let g = run(wgpu_backend(), &vk, &args).map_err(|e| TestCaseError::fail(format!("wgpu: {e}\n{}", pallas_ir::text::print(&kernel))))?;
        if let Err(e) = compare_outputs(&g.outputs, &a.outputs, ROWS_TOLERANCE) {
            return Err(TestCaseError::fail(format!("{e}\nkernel:\n{}", pallas_ir::text::print(&kernel))));
        }
    }

    #[test]
    fn three_backends_agree_on_random_block_kernels(data in prop::collection::vec(any::<u32>(), 8..64)) {
        let (kernel, args) = gen_blocks(data);
        let vk = validate(&kernel).map_err(|e| TestCaseError::fail(format!("generator made an invalid kernel: {e}\n{}", pallas_ir::text::print(&kernel))))?;
        let sim = Simulator::new(SimConfig::default().uninitialized_memory(UninitializedMemory::Zero));
        let a = run(&sim, &vk, &args).map_err(|e| TestCaseError::fail(format!("sim: {e}\n{}", pallas_ir::text::print(&kernel))))?;
        let mut others = vec![("cpu", run(&Cpu::default(), &vk, &args))];
        if have_gpu() {
            others.push(("wgpu", run(wgpu_backend(), &vk, &args)));
        }
        for (name, r) in others {
            let l = r.map_err(|e| TestCaseError::fail(format!("{name}: {e}\n{}", pallas_ir::text::print(&kernel))))?;
            if let Err(e) = compare_outputs(&l.outputs, &a.outputs, BLOCKS_TOLERANCE) {
                return Err(TestCaseError::fail(format!("{name} vs sim: {e}\nkernel:\n{}", pallas_ir::text::print(&kernel))));
            }
        }
    }
}

/// f32 elementwise chains on wgpu: additions of values below 1e4 in
/// another order (reassociated) differ by a few ulp of the largest term.
const GPU_F32_TOLERANCE: Tolerance = Tolerance {
    abs: 1e-4,
    rel: 1e-5,
};

/// Row-wise kernels on wgpu: `sqrt`, `rsqrt` and `erf` are within a few
/// ulp there, and a later subtraction can make that relative error larger.
const ROWS_TOLERANCE: Tolerance = Tolerance {
    abs: 1e-4,
    rel: 1e-4,
};

/// Block kernels: `dot` sums in a different order on each backend (the
/// fast mode through matrixmultiply); inputs are in [-1, 1) and
/// contractions at most 32 long.
const BLOCKS_TOLERANCE: Tolerance = Tolerance {
    abs: 1e-5,
    rel: 1e-5,
};

/// A random block kernel: a tiled `x @ y` over a grid `(rows, K)` with K
/// `arbitrary`, accumulated in a VMEM scratch that is zeroed on the first
/// K step (`when`) and written out on the last; `x` rows come through a
/// scalar-prefetch permutation of the row blocks (or straight, when the
/// last row block is partial), optionally through a masked load that keeps
/// the first columns of each block; the product goes through a `for` loop
/// that adds it to itself a random number of times, and optionally an
/// elementwise step and a transpose round trip.
fn gen_blocks(data: Vec<u32>) -> (pallas_ir::Kernel, Vec<HostArray>) {
    use pallas_ir::builder::{full, ref_at};
    let _ = (full, ref_at);
    let mut g = Gen { data, pos: 0 };
    let bm = 1 + g.below(8);
    let nbm = 1 + g.below(4);
    let partial = g.below(3) == 0 && bm > 1 && nbm > 1;
    let m = bm * nbm - if partial { 1 + g.below(bm - 1) } else { 0 };
    let bk = 1 + g.below(8);
    let nk = 1 + g.below(4);
    let kd = bk * nk;
    let n = 1 + g.below(12);
    let masked = g.below(2) == 0;
    let keep = 1 + g.below(bk);
    let reps = g.below(4) as i32;
    let step = g.below(3);
    let shift = g.below(nbm);
    let mut k = KernelBuilder::new("blocks");
    k.grid(&[(nbm, DimSemantics::Parallel), (nk, DimSemantics::Arbitrary)]);
    k.prefetch("perm", DType::I32, &[nbm]);
    let permuted = !partial;
    k.input(
        "x",
        DType::F32,
        &[m, kd],
        Spec::block([bm, bk], move |b, a: &[Value]| {
            let row = if permuted {
                b.load(a[2], &[pallas_ir::builder::at(a[0])])
            } else {
                a[0]
            };
            vec![row, a[1]]
        }),
    );
    k.input(
        "y",
        DType::F32,
        &[kd, n],
        Spec::block([bk, n], |b, a: &[Value]| vec![a[1], b.i32(0)]),
    );
    k.output(
        "o",
        DType::F32,
        &[m, n],
        Spec::block([bm, n], |b, a: &[Value]| vec![a[0], b.i32(0)]),
    );
    k.scratch("acc", DType::F32, &[bm, n], pallas_ir::MemorySpace::Vmem);
    k.body(|b, r| {
        let (x, y, o, acc) = (r[1], r[2], r[3], r[4]);
        let kk = b.program_id(1);
        let first = b.compare(CmpOp::Eq, kk, 0i32);
        b.when(first, |b| b.store_all(acc, 0.0f32));
        let xb = if masked {
            let cols = b.iota(DType::I32, &[bm, bk], 1);
            let mask = b.compare(CmpOp::Lt, cols, keep as i32);
            let zero = b.f32(0.0);
            let idx = [pallas_ir::Indexer::Full, pallas_ir::Indexer::Full];
            b.load_masked(x, &idx, Some(mask), Some(zero))
        } else {
            b.load_all(x)
        };
        let xb = match step {
            0 => b.mul(xb, 0.5f32),
            1 => {
                let t = b.transpose(xb, &[1, 0]);
                b.transpose(t, &[1, 0])
            }
            _ => b.unary(UnaryOp::Abs, xb),
        };
        let yb = b.load_all(y);
        let d = b.dot(xb, yb);
        let total = b.for_loop(0i32, reps, 1, &[d], |b, _, c| vec![b.add(c[0], d)]);
        let a = b.load_all(acc);
        let s = b.add(a, total[0]);
        b.store_all(acc, s);
        let last = b.compare(CmpOp::Eq, kk, nk as i32 - 1);
        b.when(last, |b| {
            let v = b.load_all(acc);
            b.store_all(o, v);
        });
    });
    let mk = |g: &mut Gen, shape: &[usize]| {
        let n: usize = shape.iter().product();
        let bits = (0..n)
            .map(|_| ((g.next() % 2000) as f32 / 1000.0 - 1.0).to_bits())
            .collect();
        HostArray::from_bits(DType::F32, shape, bits).expect("shape")
    };
    let perm: Vec<u32> = (0..nbm).map(|i| ((i + shift) % nbm) as u32).collect();
    let args = vec![
        HostArray::from_bits(DType::I32, &[nbm], perm).expect("shape"),
        mk(&mut g, &[m, kd]),
        mk(&mut g, &[kd, n]),
    ];
    (k.finish(), args)
}

#[test]
fn the_block_generator_covers_its_features() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..200u32 {
        let (k, _) = gen_blocks(seed_data(seed, 131));
        validate(&k).unwrap();
        for (_, inst) in k.insts.iter() {
            seen.insert(inst.op.name());
            if let pallas_ir::Op::Load { mask: Some(_), .. } = inst.op {
                seen.insert("masked load".into());
            }
        }
    }
    for want in [
        "dot",
        "for",
        "if",
        "masked load",
        "transpose",
        "load",
        "program_id",
        "iota",
    ] {
        assert!(seen.contains(want), "never made `{want}`: {seen:?}");
    }
}
