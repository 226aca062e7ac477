//! Differential testing: random valid elementwise kernels (random grids,
//! partial edge blocks, chains of elementwise ops over every dtype) run on
//! the simulator and the fast mode; the outputs must be identical bit for
//! bit (both take their value semantics from `pallas_ir::eval`, so any
//! difference is a bug in blocking, coarsening or memory handling).
//!
//! `sin`, `cos`, `exp`, `logistic`, `tanh` and `log` are left out of the
//! chains: the fast
//! mode's vectorized versions are within a few ulp, not bit-identical, and a
//! later `floor` or comparison could turn an ulp into any difference; they
//! are tested on their own in pallas-cpu.
//!
//! Case count: `PALLAS_DIFF_CASES` (default 200 in CI; run 10,000 locally).

use ndarray::{ArrayD, IxDyn};
use pallas_cpu::Cpu;
use pallas_ir::builder::{KernelBuilder, Spec};
use pallas_ir::exec::run;
use pallas_ir::{validate, BinaryOp, CmpOp, DType, DimSemantics, HostArray, UnaryOp, Value};
use pallas_sim::{SimConfig, Simulator, UninitializedMemory};
use proptest::prelude::*;

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
    let dtypes = [DType::F32, DType::I32, DType::U32, DType::Bool];
    let nin = 1 + g.below(3);
    let in_types: Vec<DType> = (0..nin).map(|_| dtypes[g.below(4)]).collect();
    let nout = 1 + g.below(2);
    let out_types: Vec<DType> = (0..nout).map(|_| dtypes[g.below(4)]).collect();
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
                0 => {
                    let ops: &[UnaryOp] = match dx {
                        DType::F32 => &[
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
                        _ => &[UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Not, UnaryOp::Sign],
                    };
                    (b.unary(ops[pick(ops.len())], x), dx)
                }
                1 => {
                    let ops: &[BinaryOp] = match dx {
                        DType::F32 => &[
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
                2 => (b.compare(CmpOp::ALL[pick(6)], x, y), DType::Bool),
                3 => {
                    let to = dtypes[pick(4)];
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
                        None => (b.compare(CmpOp::Lt, x, y), DType::Bool),
                    }
                }
                _ => {
                    let lit = match dx {
                        DType::F32 => b.f32([0.5f32, -2.0, 3.25, 1e-3][pick(4)]),
                        DType::I32 => b.i32([1, -3, 7, i32::MIN][pick(4)]),
                        DType::U32 => b.u32([1, 3, 0xffff_ffff, 31][pick(4)]),
                        _ => b.bool(pick(2) == 0),
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
                    (DType::F32, 0) => [f32::NAN, f32::INFINITY, -0.0, 1e30][g.below(4)].to_bits(),
                    (DType::F32, _) => ((g.next() % 2000) as f32 / 100.0 - 10.0).to_bits(),
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
            p == q
                || (a.dtype() == DType::F32
                    && f32::from_bits(*p).is_nan()
                    && f32::from_bits(*q).is_nan())
        })
}

fn cases() -> u32 {
    std::env::var("PALLAS_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

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

#[test]
fn the_generator_makes_varied_kernels() {
    let mut ops = std::collections::BTreeSet::new();
    let mut partial = 0;
    for seed in 0..300u32 {
        let data: Vec<u32> = (0..32)
            .map(|i| {
                seed.wrapping_mul(2654435761)
                    .wrapping_add(i * 97)
                    .rotate_left(i)
            })
            .collect();
        let (k, _) = gen_case(data);
        validate(&k).unwrap();
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
}

/// A random row-wise kernel over f32 `[R, C]` in blocks of whole rows:
/// reductions along rows, broadcasts back, a whole `[C]` input broadcast
/// to every row, prefix sums, elementwise ops.
fn gen_rows(data: Vec<u32>) -> (pallas_ir::Kernel, Vec<HostArray>) {
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
    #![proptest_config(ProptestConfig::with_cases(cases()))]

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
