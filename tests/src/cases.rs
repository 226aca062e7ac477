//! The corpus as test cases: kernel, inputs, reference outputs, tolerance.

use crate::compare::Tolerance;
use crate::data::{ints_below, uniform_f32, Rng};
use crate::reference as r;
use pallas_corpus as corpus;
use pallas_exec::HostArray;
use pallas_ir::Kernel;

/// Which size of a case to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Small shapes: quick on every backend, in debug builds too.
    Small,
    /// The full sizes (the seed's (16, 131072) and its three grids).
    Full,
}

/// One kernel with inputs, expected outputs and the tolerance they are
/// compared with.
pub struct Case {
    /// The kernel.
    pub kernel: Kernel,
    /// Scalar-prefetch and input arrays, in parameter order.
    pub args: Vec<HostArray>,
    /// Reference outputs.
    pub expected: Vec<HostArray>,
    /// Tolerance for float outputs (integers are exact).
    pub tolerance: Tolerance,
}

/// Names of every case, as `conformance_suite!` lists them.
pub fn case_names() -> &'static [&'static str] {
    &[
        "seed_grid_512",
        "seed_grid_16384",
        "seed_grid_2097152",
        "vector_add",
        "matmul",
        "softmax",
        "layer_norm",
        "rms_norm",
        "cumsum_rows",
        "block_sum",
        "flash_attention",
        "gather",
        "double_buffered_copy",
        "histogram",
    ]
}

fn f32s(h: &HostArray) -> &ndarray::ArrayD<f32> {
    h.as_f32().expect("f32 input")
}

/// Builds a case by name at a size; `None` for an unknown name.
pub fn case(name: &str, size: Size) -> Option<Case> {
    let small = size == Size::Small;
    let mut rng = Rng::new(0x5eed ^ name.len() as u64);
    let pick = |s: usize, f: usize| if small { s } else { f };
    let c = match name {
        "seed_grid_512" | "seed_grid_16384" | "seed_grid_2097152" => {
            let (rows, cols) = if small { (4, 1024) } else { (16, 131072) };
            let block = match name {
                "seed_grid_512" => {
                    if small {
                        [4, 256]
                    } else {
                        corpus::SEED_BLOCKS[0]
                    }
                }
                "seed_grid_16384" => corpus::SEED_BLOCKS[1],
                _ => corpus::SEED_BLOCKS[2],
            };
            let (x, y) = (
                uniform_f32(&mut rng, &[rows, cols]),
                uniform_f32(&mut rng, &[rows, cols]),
            );
            let o = r::seed(f32s(&x), f32s(&y));
            // f32 sin of arguments in (-4, 4): a few ulp.
            mk(
                corpus::seed(rows, cols, block),
                vec![x, y],
                vec![o.into()],
                Tolerance::abs(2e-6),
            )
        }
        "vector_add" => {
            let (n, b) = (pick(1000, 1_000_003), pick(128, 4096));
            let (x, y) = (uniform_f32(&mut rng, &[n]), uniform_f32(&mut rng, &[n]));
            let o = r::vector_add(f32s(&x), f32s(&y));
            mk(
                corpus::vector_add(n, b),
                vec![x, y],
                vec![o.into()],
                Tolerance::EXACT,
            )
        }
        "matmul" => {
            let (m, n, k) = (pick(64, 512), pick(96, 512), pick(128, 512));
            let (bm, bn, bk) = (pick(32, 128), pick(32, 128), pick(32, 128));
            let (x, y) = (
                uniform_f32(&mut rng, &[m, k]),
                uniform_f32(&mut rng, &[k, n]),
            );
            let o = r::matmul(f32s(&x), f32s(&y));
            // f32 accumulation of k products of magnitude < 1.
            let tol = Tolerance::abs(4e-7 * k as f64);
            mk(
                corpus::matmul(m, n, k, bm, bn, bk),
                vec![x, y],
                vec![o.into()],
                tol,
            )
        }
        "softmax" => {
            let (rows, cols, br) = (pick(16, 1024), pick(128, 1024), pick(8, 16));
            let x = uniform_f32(&mut rng, &[rows, cols]);
            let o = r::softmax(f32s(&x));
            mk(
                corpus::softmax(rows, cols, br),
                vec![x],
                vec![o.into()],
                Tolerance {
                    abs: 1e-8,
                    rel: 1e-5,
                },
            )
        }
        "layer_norm" | "rms_norm" => {
            let (rows, cols, br) = (pick(16, 1024), pick(128, 1024), pick(8, 16));
            let x = uniform_f32(&mut rng, &[rows, cols]);
            let g = uniform_f32(&mut rng, &[cols]);
            let tol = Tolerance {
                abs: 2e-6,
                rel: 1e-5,
            };
            if name == "layer_norm" {
                let b = uniform_f32(&mut rng, &[cols]);
                let o = r::layer_norm(f32s(&x), f32s(&g), f32s(&b), 1e-5);
                mk(
                    corpus::layer_norm(rows, cols, br, 1e-5),
                    vec![x, g, b],
                    vec![o.into()],
                    tol,
                )
            } else {
                let o = r::rms_norm(f32s(&x), f32s(&g), 1e-6);
                mk(
                    corpus::rms_norm(rows, cols, br, 1e-6),
                    vec![x, g],
                    vec![o.into()],
                    tol,
                )
            }
        }
        "cumsum_rows" => {
            let (rows, cols, br) = (pick(16, 512), pick(128, 2048), pick(8, 16));
            let x = uniform_f32(&mut rng, &[rows, cols]);
            let o = r::cumsum_rows(f32s(&x));
            // Sequential f32 prefix sums: error grows with the row length.
            mk(
                corpus::cumsum_rows(rows, cols, br),
                vec![x],
                vec![o.into()],
                Tolerance::abs(1e-7 * cols as f64),
            )
        }
        "block_sum" => {
            let (n, b) = (pick(1024, 1 << 20), pick(128, 1024));
            let x = uniform_f32(&mut rng, &[n]);
            let o = r::block_sum(f32s(&x), b);
            mk(
                corpus::block_sum(n, b),
                vec![x],
                vec![o.into()],
                Tolerance::abs(1e-7 * b as f64),
            )
        }
        "flash_attention" => {
            let (sq, sk, d, bq, bk) = if small {
                (64, 128, 32, 16, 32)
            } else {
                (1024, 1024, 64, 128, 128)
            };
            let q = uniform_f32(&mut rng, &[sq, d]);
            let k = uniform_f32(&mut rng, &[sk, d]);
            let v = uniform_f32(&mut rng, &[sk, d]);
            let o = r::attention(f32s(&q), f32s(&k), f32s(&v));
            mk(
                corpus::flash_attention(sq, sk, d, bq, bk),
                vec![q, k, v],
                vec![o.into()],
                Tolerance {
                    abs: 2e-6,
                    rel: 1e-5,
                },
            )
        }
        "gather" => {
            let (tb, ob, br, cols) = if small {
                (8, 6, 8, 128)
            } else {
                (256, 512, 8, 512)
            };
            let idx = ints_below(&mut rng, &[ob], tb as u32);
            let table = uniform_f32(&mut rng, &[tb * br, cols]);
            let o = r::gather(f32s(&table), idx.as_i32().expect("i32"), br);
            mk(
                corpus::gather(tb, ob, br, cols),
                vec![idx, table],
                vec![o.into()],
                Tolerance::EXACT,
            )
        }
        "double_buffered_copy" => {
            let (chunks, chunk, cols) = if small { (4, 16, 128) } else { (64, 64, 512) };
            let x = uniform_f32(&mut rng, &[chunks * chunk, cols]);
            let o = r::doubled(f32s(&x));
            mk(
                corpus::double_buffered_copy(chunks, chunk, cols),
                vec![x],
                vec![o.into()],
                Tolerance::EXACT,
            )
        }
        "histogram" => {
            let (n, b, bins) = if small {
                (1000, 128, 16)
            } else {
                (100_003, 1024, 64)
            };
            let x = ints_below(&mut rng, &[n], bins as u32);
            let o = r::histogram(x.as_i32().expect("i32"), bins);
            mk(
                corpus::histogram(n, b, bins),
                vec![x],
                vec![o.into()],
                Tolerance::EXACT,
            )
        }
        _ => return None,
    };
    Some(c)
}

fn mk(
    kernel: Kernel,
    args: Vec<HostArray>,
    expected: Vec<HostArray>,
    tolerance: Tolerance,
) -> Case {
    Case {
        kernel,
        args,
        expected,
        tolerance,
    }
}
