//! Property tests of the text format: generated kernels round trip through
//! print and parse; the parser and the validator never panic on any text.

use pallas_corpus as corpus;
use pallas_ir::builder::{KernelBuilder, RegionBuilder, Spec};
use pallas_ir::ops::{AtomicOp, BinaryOp, CmpOp, Indexer, Offset, Op, ReduceOp, RefAt, UnaryOp};
use pallas_ir::{
    text, validate, DType, DimSemantics, MemorySpace, RefType, Scalar, SemaphoreKind, Value,
};
use proptest::prelude::*;

/// Draws choices from a stream of numbers (cycling, so any stream works).
struct Gen {
    data: Vec<u32>,
    pos: usize,
}

impl Gen {
    fn next(&mut self) -> u32 {
        if self.data.is_empty() {
            return 0;
        }
        let v = self.data[self.pos % self.data.len()]
            .wrapping_add(self.pos as u32 / self.data.len() as u32);
        self.pos += 1;
        v
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.next() as usize % n
        }
    }
    fn flag(&mut self) -> bool {
        self.next() % 2 == 0
    }
    fn shape(&mut self) -> Vec<usize> {
        (0..self.below(4)).map(|_| 1 + self.below(16)).collect()
    }
    fn dtype(&mut self) -> DType {
        DType::ALL[self.below(DType::ALL.len())]
    }
    fn scalar(&mut self) -> Scalar {
        let bits = self.next();
        match self.below(8) {
            0 => Scalar::F32(f32::from_bits(bits)),
            1 => Scalar::F32(
                [
                    0.0,
                    -0.0,
                    1.5,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                    f32::NAN,
                    1e-40,
                ][self.below(7)],
            ),
            2 => Scalar::I32(bits as i32),
            3 => Scalar::I32(i32::MIN),
            4 => Scalar::U32(bits),
            5 => Scalar::Bool(bits % 2 == 0),
            // Every dtype, any bit pattern of its width (NaNs included).
            6 => Scalar::from_bits(self.dtype(), bits),
            _ => Scalar::F32((bits % 1000) as f32 / 7.0),
        }
    }
}

fn pick(g: &mut Gen, pool: &[Value]) -> Value {
    pool[g.below(pool.len())]
}

fn indexers(g: &mut Gen, pool: &[Value]) -> Vec<Indexer> {
    (0..g.below(4))
        .map(|_| {
            let off = if g.flag() {
                Offset::Static(g.below(20) as i64 - 2)
            } else {
                Offset::Dynamic(pick(g, pool))
            };
            match g.below(3) {
                0 => Indexer::Full,
                1 => Indexer::Index(off),
                _ => Indexer::Slice {
                    start: off,
                    size: g.below(9),
                    stride: 1 + g.below(3),
                },
            }
        })
        .collect()
}

fn ref_at(g: &mut Gen, pool: &[Value]) -> RefAt {
    RefAt {
        r: pick(g, pool),
        idx: indexers(g, pool),
    }
}

fn opt(g: &mut Gen, pool: &[Value]) -> Option<Value> {
    g.flag().then(|| pick(g, pool))
}

/// Appends random operations (valid or not: the round trip does not care).
fn ops(b: &mut RegionBuilder, g: &mut Gen, pool: &mut Vec<Value>, depth: usize) {
    let n = g.below(8);
    for _ in 0..n {
        let p = pool.clone();
        let new: Vec<Value> = match g.below(22) {
            0 => vec![b.constant(g.scalar())],
            1 => vec![b.full(g.scalar(), &g.shape())],
            2 => {
                let (d, s) = (g.dtype(), g.shape());
                let dim = g.below(3);
                vec![b.iota(d, &s, dim)]
            }
            3 => vec![b.program_id(g.below(3))],
            4 => vec![b.unary(UnaryOp::ALL[g.below(UnaryOp::ALL.len())], pick(g, &p))],
            5 => vec![b.binary(
                BinaryOp::ALL[g.below(BinaryOp::ALL.len())],
                pick(g, &p),
                pick(g, &p),
            )],
            6 => vec![b.compare(
                CmpOp::ALL[g.below(CmpOp::ALL.len())],
                pick(g, &p),
                pick(g, &p),
            )],
            7 => vec![b.select(pick(g, &p), pick(g, &p), pick(g, &p))],
            8 => {
                let d = g.dtype();
                vec![if g.flag() {
                    b.cast(pick(g, &p), d)
                } else {
                    b.bitcast(pick(g, &p), d)
                }]
            }
            9 => {
                let (x, s, d) = (pick(g, &p), g.shape(), g.shape());
                vec![match g.below(4) {
                    0 => b.broadcast_in_dim(x, &s, &d),
                    1 => b.reshape(x, &s),
                    2 => b.transpose(x, &d),
                    _ => b.slice(x, &s, &d),
                }]
            }
            10 => {
                let xs: Vec<Value> = (0..1 + g.below(3)).map(|_| pick(g, &p)).collect();
                vec![b.concatenate(&xs, g.below(3))]
            }
            11 => {
                let op = ReduceOp::ALL[g.below(ReduceOp::ALL.len())];
                let axes = g.shape();
                vec![b.reduce(op, pick(g, &p), &axes)]
            }
            12 => vec![match g.below(3) {
                0 => b.cumsum(pick(g, &p), g.below(3)),
                1 => {
                    let (x, y, t, u) = (pick(g, &p), pick(g, &p), g.flag(), g.flag());
                    b.dot_general(x, y, t, u)
                }
                _ => {
                    let (x, y, d) = (pick(g, &p), pick(g, &p), g.dtype());
                    b.dot_into(x, y, d)
                }
            }],
            13 => {
                let src = ref_at(g, &p);
                let (m, o) = (opt(g, &p), opt(g, &p));
                vec![
                    b.push(
                        Op::Load {
                            src,
                            mask: m,
                            other: o,
                        },
                        1,
                    )[0],
                ]
            }
            14 => {
                let dst = ref_at(g, &p);
                let (value, mask) = (pick(g, &p), opt(g, &p));
                match g.below(4) {
                    0 => b.push(Op::Store { dst, value, mask }, 0),
                    1 => b.push(Op::Swap { dst, value, mask }, 1),
                    2 => b.push(
                        Op::Atomic {
                            op: AtomicOp::ALL[g.below(7)],
                            dst,
                            value,
                            mask,
                        },
                        1,
                    ),
                    _ => b.push(
                        Op::AtomicCas {
                            dst,
                            expected: value,
                            new: pick(g, &p),
                        },
                        1,
                    ),
                }
            }
            15 if depth < 4 => {
                let inits: Vec<Value> = (0..g.below(3)).map(|_| pick(g, &p)).collect();
                let step = g.below(3) as i64;
                let (lo, hi) = (pick(g, &p), pick(g, &p));
                b.for_loop(lo, hi, step, &inits, |b, i, c| {
                    let mut inner = p.clone();
                    inner.push(i);
                    inner.extend_from_slice(c);
                    ops(b, g, &mut inner, depth + 1);
                    (0..c.len()).map(|_| pick(g, &inner)).collect()
                })
            }
            16 if depth < 4 => {
                let inits: Vec<Value> = (0..g.below(3)).map(|_| pick(g, &p)).collect();
                let gc = std::cell::RefCell::new(&mut *g);
                b.while_loop(
                    &inits,
                    |b, c| {
                        let g = &mut **gc.borrow_mut();
                        let mut inner = p.clone();
                        inner.extend_from_slice(c);
                        ops(b, g, &mut inner, depth + 1);
                        pick(g, &inner)
                    },
                    |b, c| {
                        let g = &mut **gc.borrow_mut();
                        let mut inner = p.clone();
                        inner.extend_from_slice(c);
                        ops(b, g, &mut inner, depth + 1);
                        (0..c.len()).map(|_| pick(g, &inner)).collect()
                    },
                )
            }
            17 if depth < 4 => {
                let nres = g.below(3);
                let gc = std::cell::RefCell::new(&mut *g);
                let branch = |b: &mut RegionBuilder| {
                    let g = &mut **gc.borrow_mut();
                    let mut inner = p.clone();
                    ops(b, g, &mut inner, depth + 1);
                    (0..nres).map(|_| pick(g, &inner)).collect()
                };
                let cond = pick(&mut gc.borrow_mut(), &p);
                b.if_else(cond, branch, branch)
            }
            18 if depth < 4 => {
                let scratch: Vec<RefType> = (0..g.below(3))
                    .map(|_| match g.below(3) {
                        0 => RefType::semaphores(SemaphoreKind::Dma, g.shape()),
                        1 => RefType::semaphores(SemaphoreKind::Regular, g.shape()),
                        _ => RefType::data(
                            g.dtype(),
                            g.shape(),
                            [MemorySpace::Vmem, MemorySpace::Smem, MemorySpace::Any][g.below(3)],
                        ),
                    })
                    .collect();
                b.run_scoped(&scratch, |b, refs| {
                    let mut inner = p.clone();
                    inner.extend_from_slice(refs);
                    ops(b, g, &mut inner, depth + 1);
                    (0..g.below(2)).map(|_| pick(g, &inner)).collect()
                })
            }
            19 => {
                let (src, dst, sem) = (ref_at(g, &p), ref_at(g, &p), ref_at(g, &p));
                if g.flag() {
                    b.dma_start(src, dst, sem)
                } else {
                    b.dma_wait(dst, sem)
                }
                vec![]
            }
            20 => {
                let sem = ref_at(g, &p);
                match g.below(3) {
                    0 => {
                        let (v, c) = (pick(g, &p), opt(g, &p));
                        b.semaphore_signal(sem, v, c);
                        vec![]
                    }
                    1 => {
                        b.semaphore_wait(sem, pick(g, &p));
                        vec![]
                    }
                    _ => vec![b.semaphore_read(sem)],
                }
            }
            _ => {
                let fmt = ["", "x={}", "\"quoted\" \\ {} {}", "tab\tnew\nline \u{1} é"][g.below(4)];
                let args: Vec<Value> = (0..g.below(3)).map(|_| pick(g, &p)).collect();
                b.debug_print(fmt, &args);
                vec![]
            }
        };
        pool.extend(new);
    }
}

fn gen_kernel(data: Vec<u32>) -> pallas_ir::Kernel {
    let mut g = Gen { data, pos: 0 };
    let mut k = KernelBuilder::new(["k", "seed", "_x1"][g.below(3)]);
    let grid: Vec<(usize, DimSemantics)> = (0..g.below(4))
        .map(|_| {
            (
                g.below(10),
                if g.flag() {
                    DimSemantics::Parallel
                } else {
                    DimSemantics::Arbitrary
                },
            )
        })
        .collect();
    k.grid(&grid);
    for i in 0..g.below(6) {
        let name = format!("p{i}");
        let (d, s) = (g.dtype(), g.shape());
        match g.below(6) {
            0 => {
                k.prefetch(&name, d, &s);
            }
            1 => {
                k.scratch(
                    &name,
                    d,
                    &s,
                    [MemorySpace::Vmem, MemorySpace::Smem][g.below(2)],
                );
            }
            2 => {
                k.semaphores(
                    &name,
                    [SemaphoreKind::Regular, SemaphoreKind::Dma][g.below(2)],
                    &s,
                );
            }
            kind => {
                let rank = s.len();
                let block: Vec<pallas_ir::BlockDim> = (0..rank)
                    .map(|_| {
                        if g.flag() {
                            pallas_ir::BlockDim::Squeezed
                        } else {
                            pallas_ir::BlockDim::Sized(1 + g.below(4))
                        }
                    })
                    .collect();
                let spec = match g.below(3) {
                    0 => Spec::any(),
                    1 => Spec::whole(),
                    _ => Spec::block(block, |b, args| {
                        let mut pool = args.to_vec();
                        if pool.is_empty() {
                            pool.push(b.i32(0));
                        }
                        ops(b, &mut g, &mut pool, 3);
                        (0..rank).map(|i| pool[i % pool.len()]).collect()
                    }),
                };
                if kind == 3 {
                    k.input(&name, d, &s, spec);
                } else {
                    k.output(&name, d, &s, spec);
                }
            }
        }
    }
    for _ in 0..g.below(2) {
        let (i, o) = (g.below(3), g.below(3));
        k.alias(i, o);
    }
    k.body(|b, refs| {
        let mut pool = refs.to_vec();
        pool.push(b.i32(1));
        ops(b, &mut g, &mut pool, 0);
    });
    k.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_kernels_round_trip(data in prop::collection::vec(any::<u32>(), 1..256)) {
        let k = gen_kernel(data);
        let printed = text::print(&k);
        let parsed = text::parse(&printed).map_err(|e| TestCaseError::fail(format!("{e}\n{printed}")))?;
        prop_assert_eq!(&parsed, &k, "{}", printed);
        prop_assert_eq!(text::print(&parsed), printed);
        // Validation gives the same verdict on both.
        prop_assert_eq!(validate(&parsed).is_ok(), validate(&k).is_ok());
    }

    #[test]
    fn parser_never_panics_on_random_text(s in "\\PC{0,400}") {
        if let Ok(k) = text::parse(&s) {
            let _ = validate(&k);
        }
    }

    #[test]
    fn parser_never_panics_on_mutated_kernels(
        which in 0usize..12,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, "[%\\[\\](){}:,=0-9a-z_ \n.-]{0,4}"), 1..6),
    ) {
        let all = corpus::all();
        let mut src: Vec<char> = text::print(&all[which % all.len()].kernel).chars().collect();
        for (at, kind, insert) in edits {
            let i = at.index(src.len() + 1);
            match kind {
                0 => { let end = (i + 3).min(src.len()); src.drain(i..end); }
                1 => { for (j, c) in insert.chars().enumerate() { src.insert(i + j, c); } }
                2 => { if i < src.len() { src[i] = insert.chars().next().unwrap_or('%'); } }
                _ => { src.truncate(i); }
            }
        }
        let s: String = src.into_iter().collect();
        if let Ok(k) = text::parse(&s) {
            let _ = validate(&k);
            // Whatever parses prints and parses back equal.
            let again = text::parse(&text::print(&k));
            prop_assert!(again.is_ok());
            prop_assert_eq!(again.unwrap(), k);
        }
    }
}

#[test]
fn deep_nesting_in_text_is_an_error_not_a_crash() {
    let mut s = String::from("kernel k grid() {\n  body() {\n    %t = const true\n");
    for _ in 0..10_000 {
        s.push_str("if %t then {\n");
    }
    let err = text::parse(&s).unwrap_err();
    assert!(err.expected.contains("nested regions"), "{err}");
}

#[test]
fn truncated_and_non_utf8_like_text_gives_errors() {
    let src = text::print(&corpus::all()[2].kernel);
    for cut in [0, 1, 10, src.len() / 2, src.len() - 2] {
        let e = text::parse(&src[..cut]).unwrap_err();
        assert!(e.loc.line >= 1);
    }
    let lossy = String::from_utf8_lossy(&[0x6b, 0xff, 0xfe, 0x00]).to_string();
    assert!(text::parse(&lossy).is_err());
}

#[test]
fn the_generator_makes_rich_kernels() {
    // Over many seeds, the generator reaches every kind of operation.
    let mut names = std::collections::BTreeSet::new();
    for seed in 0..300u32 {
        let data: Vec<u32> = (0..64)
            .map(|i| {
                seed.wrapping_mul(2654435761)
                    .wrapping_add(i * 40503)
                    .rotate_left(i % 31)
            })
            .collect();
        let k = gen_kernel(data);
        for (_, inst) in k.insts.iter() {
            names.insert(inst.op.name().split('_').next().unwrap_or("").to_string());
        }
    }
    for want in [
        "const",
        "for",
        "while",
        "if",
        "run",
        "dma",
        "semaphore",
        "debug",
        "load",
        "store",
        "atomic",
        "dot",
        "reduce",
    ] {
        assert!(
            names.contains(want),
            "generator never made `{want}`: {names:?}"
        );
    }
}
