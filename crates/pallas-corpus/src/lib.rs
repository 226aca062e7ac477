//! The reference kernel corpus: the kernels every backend is checked on.
//!
//! Kept out of `pallas-ir` so the IR crate carries the IR only; the CLI
//! embeds the seed kernel from here, and the tests and benchmarks build
//! the rest.
//!
//! Each is a builder function; `examples/kernels/*.pk` holds each one
//! printed at its default size (and `ring_all_gather.pk`, a hand-written
//! 4-device collective for the command line; the collectives themselves
//! are in [`collectives`]), and the test crate holds an independent
//! plain-ndarray implementation of each.

pub mod collectives;

use pallas_ir::builder::{at, ds, full, ref_at, KernelBuilder, Spec, SQUEEZED};
use pallas_ir::DType;
use pallas_ir::DType::{F32, I32};
use pallas_ir::DimSemantics::{Arbitrary, Parallel};
use pallas_ir::Kernel;
use pallas_ir::{MemorySpace, SemaphoreKind, Value};

/// `o = sin((x + y) * 2)` over `(rows, cols)` in blocks of `block`.
/// Over (16, 131072): block (16, 256) gives grid 512, (1, 128) gives 16,384,
/// (1, 1) gives 2,097,152.
pub fn seed(rows: usize, cols: usize, block: [usize; 2]) -> Kernel {
    seed_in(rows, cols, block, F32)
}

/// The seed kernel in another float dtype: `o = sin((x + y) * 2)` with
/// every operation in `dt` (a narrow one rounds after each).
pub fn seed_in(rows: usize, cols: usize, block: [usize; 2], dt: DType) -> Kernel {
    let name = if dt == F32 {
        "seed".to_string()
    } else {
        format!("seed_{dt}")
    };
    let mut k = KernelBuilder::new(&name);
    k.grid(&[
        (rows.div_ceil(block[0]), Parallel),
        (cols.div_ceil(block[1]), Parallel),
    ]);
    let spec = || Spec::block(block, |_, g| vec![g[0], g[1]]);
    k.input("x", dt, &[rows, cols], spec());
    k.input("y", dt, &[rows, cols], spec());
    k.output("o", dt, &[rows, cols], spec());
    let two = pallas_ir::Scalar::from_bits(
        dt,
        match dt {
            DType::BF16 => 0x4000,
            DType::F16 => 0x4000,
            _ => 2.0f32.to_bits(),
        },
    );
    k.body(|b, r| {
        let (x, y) = (b.load_all(r[0]), b.load_all(r[1]));
        let s = b.add(x, y);
        let t = b.mul(s, two);
        let o = b.sin(t);
        b.store_all(r[2], o);
    });
    k.finish()
}

/// The seed's array shape, (16, 131072).
pub const SEED_SHAPE: [usize; 2] = [16, 131072];

/// The seed's three block shapes: grids 512, 16,384 and 2,097,152.
pub const SEED_BLOCKS: [[usize; 2]; 3] = [[16, 256], [1, 128], [1, 1]];

/// `o = x + y` over `n` elements in blocks of `block`; when `block` does
/// not divide `n`, the last block hangs over the edge.
pub fn vector_add(n: usize, block: usize) -> Kernel {
    let mut k = KernelBuilder::new("vector_add");
    k.grid(&[(n.div_ceil(block), Parallel)]);
    let spec = || Spec::block([block], |_, g| vec![g[0]]);
    k.input("x", F32, &[n], spec());
    k.input("y", F32, &[n], spec());
    k.output("o", F32, &[n], spec());
    k.body(|b, r| {
        let (x, y) = (b.load_all(r[0]), b.load_all(r[1]));
        let o = b.add(x, y);
        b.store_all(r[2], o);
    });
    k.finish()
}

/// Tiled `o = x @ y`, `(m, k) @ (k, n)`: grid `(m/bm, n/bn, k/bk)` with the
/// K axis `arbitrary`, accumulating in an f32 VMEM scratch, written out on
/// the last K step.
pub fn matmul(m: usize, n: usize, kd: usize, bm: usize, bn: usize, bk: usize) -> Kernel {
    matmul_in("matmul", m, n, kd, [bm, bn, bk], F32, None, F32)
}

/// Tiled `o = x @ y` in a low precision, as TPU kernels write it: `x` and
/// `y` of dtype `dt` (`bf16`, `f16`, `i8`, `u8`), each product step
/// `dot(.., preferred_element_type=acc)` into an `acc` scratch (`f32` or
/// `i32`), the sum cast to `out` on the last K step.
#[allow(clippy::too_many_arguments)]
pub fn matmul_lowp(
    m: usize,
    n: usize,
    kd: usize,
    [bm, bn, bk]: [usize; 3],
    dt: DType,
    acc: DType,
    out: DType,
) -> Kernel {
    let name = format!("matmul_{dt}_{acc}_{out}");
    matmul_in(&name, m, n, kd, [bm, bn, bk], dt, Some(acc), out)
}

/// The tiled matmul of [`matmul`] and [`matmul_lowp`]: operands of `dt`,
/// each step's `dot` into `preferred` (its operands' dtype when `None`)
/// added to a scratch of that dtype, cast to `out` on the last K step when
/// it differs.
#[allow(clippy::too_many_arguments)]
fn matmul_in(
    name: &str,
    m: usize,
    n: usize,
    kd: usize,
    [bm, bn, bk]: [usize; 3],
    dt: DType,
    preferred: Option<DType>,
    out: DType,
) -> Kernel {
    let acc = preferred.unwrap_or(dt);
    let nk = kd.div_ceil(bk) as i32;
    let mut k = KernelBuilder::new(name);
    k.grid(&[
        (m.div_ceil(bm), Parallel),
        (n.div_ceil(bn), Parallel),
        (nk as usize, Arbitrary),
    ]);
    k.input(
        "x",
        dt,
        &[m, kd],
        Spec::block([bm, bk], |_, g| vec![g[0], g[2]]),
    );
    k.input(
        "y",
        dt,
        &[kd, n],
        Spec::block([bk, bn], |_, g| vec![g[2], g[1]]),
    );
    k.output(
        "o",
        out,
        &[m, n],
        Spec::block([bm, bn], |_, g| vec![g[0], g[1]]),
    );
    k.scratch("acc", acc, &[bm, bn], MemorySpace::Vmem);
    k.body(|b, r| {
        let kk = b.program_id(2);
        let first = b.eq(kk, 0);
        b.when(first, |b| b.store_all(r[3], pallas_ir::Scalar::zero(acc)));
        let (x, y, a) = (b.load_all(r[0]), b.load_all(r[1]), b.load_all(r[3]));
        let p = match preferred {
            Some(d) => b.dot_into(x, y, d),
            None => b.dot(x, y),
        };
        let sum = b.add(a, p);
        b.store_all(r[3], sum);
        let last = b.eq(kk, nk - 1);
        b.when(last, |b| {
            let a = b.load_all(r[3]);
            let o = if out == acc { a } else { b.cast(a, out) };
            b.store_all(r[2], o);
        });
    });
    k.finish()
}

/// int8 dequantization: `o = bf16(q) * scale` over `(rows, cols)` in row
/// blocks of `br`, `scale` a `bf16` literal.
pub fn dequant_i8(rows: usize, cols: usize, br: usize, scale: f32) -> Kernel {
    let mut k = KernelBuilder::new("dequant_i8");
    k.grid(&[(rows.div_ceil(br), Parallel)]);
    let spec = || row_spec(br, cols);
    k.input("q", DType::I8, &[rows, cols], spec());
    k.output("o", DType::BF16, &[rows, cols], spec());
    let s = pallas_ir::Scalar::BF16(half::bf16::from_f32(scale));
    k.body(|b, r| {
        let q = b.load_all(r[0]);
        let qb = b.cast(q, DType::BF16);
        let o = b.mul(qb, s);
        b.store_all(r[1], o);
    });
    k.finish()
}

/// `o = cast(x, to)` elementwise over `n` elements in blocks of `block`:
/// a load, a conversion and a store (fp8 storage, every dtype pair).
pub fn cast_store(n: usize, block: usize, from: DType, to: DType) -> Kernel {
    let mut k = KernelBuilder::new(&format!("cast_{from}_{to}"));
    k.grid(&[(n.div_ceil(block), Parallel)]);
    let spec = || Spec::block([block], |_, g| vec![g[0]]);
    k.input("x", from, &[n], spec());
    k.output("o", to, &[n], spec());
    k.body(|b, r| {
        let x = b.load_all(r[0]);
        let o = b.cast(x, to);
        b.store_all(r[1], o);
    });
    k.finish()
}

fn rows_kernel(name: &str, rows: usize, cols: usize, br: usize) -> KernelBuilder {
    let mut k = KernelBuilder::new(name);
    k.grid(&[(rows.div_ceil(br), Parallel)]);
    k.input("x", F32, &[rows, cols], row_spec(br, cols));
    k
}

/// Row softmax of `(rows, cols)`, `br` rows per block.
pub fn softmax(rows: usize, cols: usize, br: usize) -> Kernel {
    let mut k = rows_kernel("softmax", rows, cols, br);
    k.output("o", F32, &[rows, cols], row_spec(br, cols));
    k.body(|b, r| {
        let x = b.load_all(r[0]);
        let m = b.reduce_max(x, &[1]);
        let mb = b.broadcast_in_dim(m, &[br, cols], &[0]);
        let xs = b.sub(x, mb);
        let e = b.exp(xs);
        let s = b.sum(e, &[1]);
        let sb = b.broadcast_in_dim(s, &[br, cols], &[0]);
        let o = b.div(e, sb);
        b.store_all(r[1], o);
    });
    k.finish()
}

fn row_spec<'f>(br: usize, cols: usize) -> Spec<'f> {
    Spec::block([br, cols], |b, g| vec![g[0], b.i32(0)])
}

/// Layer norm over rows: `(x - mean) / sqrt(var + eps) * gamma + beta`.
pub fn layer_norm(rows: usize, cols: usize, br: usize, eps: f32) -> Kernel {
    let mut k = rows_kernel("layer_norm", rows, cols, br);
    k.input("gamma", F32, &[cols], Spec::whole());
    k.input("beta", F32, &[cols], Spec::whole());
    k.output("o", F32, &[rows, cols], row_spec(br, cols));
    k.body(|b, r| {
        let x = b.load_all(r[0]);
        let s = b.sum(x, &[1]);
        let mean = b.div(s, cols as f32);
        let mb = b.broadcast_in_dim(mean, &[br, cols], &[0]);
        let xc = b.sub(x, mb);
        let sq = b.mul(xc, xc);
        let ss = b.sum(sq, &[1]);
        let var = b.div(ss, cols as f32);
        let ve = b.add(var, eps);
        let inv = b.rsqrt(ve);
        let ib = b.broadcast_in_dim(inv, &[br, cols], &[0]);
        let y = b.mul(xc, ib);
        let (g, be) = (b.load_all(r[1]), b.load_all(r[2]));
        let gb = b.broadcast_in_dim(g, &[br, cols], &[1]);
        let bb = b.broadcast_in_dim(be, &[br, cols], &[1]);
        let yg = b.mul(y, gb);
        let o = b.add(yg, bb);
        b.store_all(r[3], o);
    });
    k.finish()
}

/// RMS norm over rows: `x / sqrt(mean(x^2) + eps) * w`.
pub fn rms_norm(rows: usize, cols: usize, br: usize, eps: f32) -> Kernel {
    let mut k = rows_kernel("rms_norm", rows, cols, br);
    k.input("w", F32, &[cols], Spec::whole());
    k.output("o", F32, &[rows, cols], row_spec(br, cols));
    k.body(|b, r| {
        let x = b.load_all(r[0]);
        let sq = b.mul(x, x);
        let ss = b.sum(sq, &[1]);
        let ms = b.div(ss, cols as f32);
        let me = b.add(ms, eps);
        let inv = b.rsqrt(me);
        let ib = b.broadcast_in_dim(inv, &[br, cols], &[0]);
        let y = b.mul(x, ib);
        let w = b.load_all(r[1]);
        let wb = b.broadcast_in_dim(w, &[br, cols], &[1]);
        let o = b.mul(y, wb);
        b.store_all(r[2], o);
    });
    k.finish()
}

/// Inclusive cumulative sum along each row.
pub fn cumsum_rows(rows: usize, cols: usize, br: usize) -> Kernel {
    let mut k = rows_kernel("cumsum_rows", rows, cols, br);
    k.output("o", F32, &[rows, cols], row_spec(br, cols));
    k.body(|b, r| {
        let x = b.load_all(r[0]);
        let c = b.cumsum(x, 1);
        b.store_all(r[1], c);
    });
    k.finish()
}

/// The sum of each block of `block` elements, one scalar per block in SMEM
/// (a squeezed output block).
pub fn block_sum(n: usize, block: usize) -> Kernel {
    let nb = n.div_ceil(block);
    let mut k = KernelBuilder::new("block_sum");
    k.grid(&[(nb, Parallel)]);
    k.input("x", F32, &[n], Spec::block([block], |_, g| vec![g[0]]));
    k.output(
        "s",
        F32,
        &[nb],
        Spec::smem_block([SQUEEZED], |_, g| vec![g[0]]),
    );
    k.body(|b, r| {
        let x = b.load_all(r[0]);
        let s = b.sum(x, &[0]);
        b.store_all(r[1], s);
    });
    k.finish()
}

/// Flash-attention forward for one head: `softmax(q k^T / sqrt(d)) v` with
/// an online softmax over an `arbitrary` KV axis; scratch `m`, `l`, `acc`.
pub fn flash_attention(seq_q: usize, seq_k: usize, d: usize, bq: usize, bk: usize) -> Kernel {
    flash_attention_in(seq_q, seq_k, d, bq, bk, F32)
}

/// Flash attention as bf16 TPU kernels write it: `q`, `k`, `v` and `o` in
/// bf16, both products accumulated in f32 (`preferred_element_type`), the
/// running max, sum and output accumulator in f32 scratch, the
/// probabilities cast to bf16 for `p @ v`, the output cast once at the end.
pub fn flash_attention_bf16(seq_q: usize, seq_k: usize, d: usize, bq: usize, bk: usize) -> Kernel {
    flash_attention_in(seq_q, seq_k, d, bq, bk, DType::BF16)
}

/// [`flash_attention`] with `q`, `k`, `v` and `o` of dtype `dt`; the
/// statistics and the accumulator stay f32, and for a dtype other than
/// f32 the products name f32 as their result and the probabilities and the
/// output are cast (the f32 kernel has no casts).
fn flash_attention_in(
    seq_q: usize,
    seq_k: usize,
    d: usize,
    bq: usize,
    bk: usize,
    dt: DType,
) -> Kernel {
    let narrow = dt != F32;
    let nk = seq_k.div_ceil(bk) as i32;
    let name = if narrow {
        format!("flash_attention_{dt}")
    } else {
        "flash_attention".to_string()
    };
    let mut k = KernelBuilder::new(&name);
    k.grid(&[(seq_q.div_ceil(bq), Parallel), (nk as usize, Arbitrary)]);
    k.input(
        "q",
        dt,
        &[seq_q, d],
        Spec::block([bq, d], |b, g| vec![g[0], b.i32(0)]),
    );
    k.input(
        "k",
        dt,
        &[seq_k, d],
        Spec::block([bk, d], |b, g| vec![g[1], b.i32(0)]),
    );
    k.input(
        "v",
        dt,
        &[seq_k, d],
        Spec::block([bk, d], |b, g| vec![g[1], b.i32(0)]),
    );
    k.output(
        "o",
        dt,
        &[seq_q, d],
        Spec::block([bq, d], |b, g| vec![g[0], b.i32(0)]),
    );
    k.scratch("m", F32, &[bq], MemorySpace::Vmem);
    k.scratch("l", F32, &[bq], MemorySpace::Vmem);
    k.scratch("acc", F32, &[bq, d], MemorySpace::Vmem);
    let into = narrow.then_some(F32);
    k.body(|b, r| {
        let j = b.program_id(1);
        let first = b.eq(j, 0);
        b.when(first, |b| {
            b.store_all(r[4], f32::NEG_INFINITY);
            b.store_all(r[5], 0.0f32);
            b.store_all(r[6], 0.0f32);
        });
        let (q, kk, v) = (b.load_all(r[0]), b.load_all(r[1]), b.load_all(r[2]));
        let qk = b.dot_general_into(q, kk, false, true, into);
        let s = b.mul(qk, 1.0 / (d as f32).sqrt());
        let m_prev = b.load_all(r[4]);
        let m_cur = b.reduce_max(s, &[1]);
        let m_new = b.max(m_prev, m_cur);
        let mb = b.broadcast_in_dim(m_new, &[bq, bk], &[0]);
        let sm = b.sub(s, mb);
        let p = b.exp(sm);
        let dm = b.sub(m_prev, m_new);
        let alpha = b.exp(dm);
        let l = b.load_all(r[5]);
        let la = b.mul(alpha, l);
        let ps = b.sum(p, &[1]);
        let l_new = b.add(la, ps);
        let acc = b.load_all(r[6]);
        let ab = b.broadcast_in_dim(alpha, &[bq, d], &[0]);
        let scaled = b.mul(acc, ab);
        let pd = if narrow { b.cast(p, dt) } else { p };
        let pv = b.dot_general_into(pd, v, false, false, into);
        let acc_new = b.add(scaled, pv);
        b.store_all(r[4], m_new);
        b.store_all(r[5], l_new);
        b.store_all(r[6], acc_new);
        let last = b.eq(j, nk - 1);
        b.when(last, |b| {
            let lb = b.broadcast_in_dim(l_new, &[bq, d], &[0]);
            let o = b.div(acc_new, lb);
            let o = if narrow { b.cast(o, dt) } else { o };
            b.store_all(r[3], o);
        });
    });
    k.finish()
}

/// Row softmax of an f16 `(rows, cols)` computed in f32: the block cast
/// up, the softmax in f32, the result cast back to f16 once.
pub fn softmax_f16(rows: usize, cols: usize, br: usize) -> Kernel {
    let mut k = KernelBuilder::new("softmax_f16");
    k.grid(&[(rows.div_ceil(br), Parallel)]);
    k.input("x", DType::F16, &[rows, cols], row_spec(br, cols));
    k.output("o", DType::F16, &[rows, cols], row_spec(br, cols));
    k.body(|b, r| {
        let xh = b.load_all(r[0]);
        let x = b.cast(xh, F32);
        let m = b.reduce_max(x, &[1]);
        let mb = b.broadcast_in_dim(m, &[br, cols], &[0]);
        let xs = b.sub(x, mb);
        let e = b.exp(xs);
        let s = b.sum(e, &[1]);
        let sb = b.broadcast_in_dim(s, &[br, cols], &[0]);
        let o = b.div(e, sb);
        let oh = b.cast(o, DType::F16);
        b.store_all(r[1], oh);
    });
    k.finish()
}

/// Gathers blocks of `br` rows of a table by an index table in scalar
/// prefetch (the paged-attention pattern): output block `i` is table block
/// `idx[i]`.
pub fn gather(table_blocks: usize, out_blocks: usize, br: usize, cols: usize) -> Kernel {
    let mut k = KernelBuilder::new("gather");
    k.grid(&[(out_blocks, Parallel)]);
    k.prefetch("idx", I32, &[out_blocks]);
    k.input(
        "table",
        F32,
        &[table_blocks * br, cols],
        Spec::block([br, cols], |b, a| {
            let blk = b.load(a[1], &[at(a[0])]);
            vec![blk, b.i32(0)]
        }),
    );
    k.output("o", F32, &[out_blocks * br, cols], row_spec(br, cols));
    k.body(|b, r| {
        let t = b.load_all(r[1]);
        b.store_all(r[2], t);
    });
    k.finish()
}

/// Copies an HBM (`any`) input in `chunks` chunks of `chunk` rows with a
/// manual double buffer (`dma_start` / `dma_wait` on two DMA semaphores),
/// doubling each element: `o = 2 * x`.
pub fn double_buffered_copy(chunks: usize, chunk: usize, cols: usize) -> Kernel {
    let rows = chunks * chunk;
    let mut k = KernelBuilder::new("double_buffered_copy");
    k.input("x", F32, &[rows, cols], Spec::any());
    k.output("o", F32, &[rows, cols], Spec::whole());
    k.scratch("buf", F32, &[2, chunk, cols], MemorySpace::Vmem);
    k.semaphores("sem", SemaphoreKind::Dma, &[2]);
    k.body(|b, r| {
        let (x, o, buf, sem) = (r[0], r[1], r[2], r[3]);
        let src = |c| ref_at(x, &[ds(c, chunk), full()]);
        let slot_of = |s| ref_at(buf, &[at(s), full(), full()]);
        let zero = b.i32(0);
        b.dma_start(src(zero), slot_of(zero), ref_at(sem, &[at(0)]));
        b.for_loop(0, chunks as i32, 1, &[], |b, c, _| {
            let slot = b.rem(c, 2);
            let next = b.add(c, 1);
            let more = b.lt(next, chunks as i32);
            b.when(more, |b| {
                let other = b.sub(1, slot);
                let start = b.mul(next, chunk as i32);
                b.dma_start(src(start), slot_of(other), ref_at(sem, &[at(other)]));
            });
            b.dma_wait(slot_of(slot), ref_at(sem, &[at(slot)]));
            let data = b.load(buf, &[at(slot), full(), full()]);
            let doubled = b.mul(data, 2.0f32);
            let row = b.mul(c, chunk as i32);
            b.store(o, &[ds(row, chunk), full()], doubled);
            vec![]
        });
    });
    k.finish()
}

/// A plain copy `o = x` of `chunks * chunk` rows from HBM to HBM through
/// VMEM: a manual double buffer where each chunk comes in by one DMA and
/// goes out by another, the next chunk's DMA in flight while the current
/// one goes out (Pallas' `emit_pipeline` shape written by hand). Moves
/// every byte twice and computes nothing: the DMA path's speed.
pub fn dma_pipeline_copy(chunks: usize, chunk: usize, cols: usize) -> Kernel {
    let rows = chunks * chunk;
    let mut k = KernelBuilder::new("dma_pipeline_copy");
    k.input("x", F32, &[rows, cols], Spec::any());
    k.output("o", F32, &[rows, cols], Spec::any());
    k.scratch("buf", F32, &[2, chunk, cols], MemorySpace::Vmem);
    k.semaphores("sem_in", SemaphoreKind::Dma, &[2]);
    k.semaphores("sem_out", SemaphoreKind::Dma, &[2]);
    k.body(|b, r| {
        let (x, o, buf, sem_in, sem_out) = (r[0], r[1], r[2], r[3], r[4]);
        let rows_at = |m: Value, c| ref_at(m, &[ds(c, chunk), full()]);
        let slot_of = |s| ref_at(buf, &[at(s), full(), full()]);
        let zero = b.i32(0);
        b.dma_start(rows_at(x, zero), slot_of(zero), ref_at(sem_in, &[at(0)]));
        b.for_loop(0, chunks as i32, 1, &[], |b, c, _| {
            let slot = b.rem(c, 2);
            let other = b.sub(1, slot);
            let next = b.add(c, 1);
            let more = b.lt(next, chunks as i32);
            b.when(more, |b| {
                // The other slot is free once its chunk has gone out.
                let went_out = b.ge(c, 1);
                b.when(went_out, |b| {
                    let prev = b.sub(c, 1);
                    let row = b.mul(prev, chunk as i32);
                    b.dma_wait(rows_at(o, row), ref_at(sem_out, &[at(other)]));
                });
                let start = b.mul(next, chunk as i32);
                b.dma_start(
                    rows_at(x, start),
                    slot_of(other),
                    ref_at(sem_in, &[at(other)]),
                );
            });
            b.dma_wait(slot_of(slot), ref_at(sem_in, &[at(slot)]));
            let row = b.mul(c, chunk as i32);
            b.dma_start(slot_of(slot), rows_at(o, row), ref_at(sem_out, &[at(slot)]));
            vec![]
        });
        // The last two chunks' outgoing DMAs were never waited in the loop.
        for c in chunks.saturating_sub(2)..chunks {
            let row = b.i32((c * chunk) as i32);
            b.dma_wait(rows_at(o, row), ref_at(sem_out, &[at((c % 2) as i32)]));
        }
    });
    k.finish()
}

/// A histogram of `n` integers in `[0, bins)`: blocks of `block` elements
/// (the last one partial), a masked load per element and an atomic add
/// into the bin. The grid is `arbitrary`: every point adds into the one
/// output block.
pub fn histogram(n: usize, block: usize, bins: usize) -> Kernel {
    let mut k = KernelBuilder::new("histogram");
    k.grid(&[(n.div_ceil(block), Arbitrary)]);
    k.input("x", I32, &[n], Spec::block([block], |_, g| vec![g[0]]));
    k.output("h", I32, &[bins], Spec::whole());
    k.body(|b, r| {
        let i = b.program_id(0);
        let first = b.eq(i, 0);
        b.when(first, |b| b.store_all(r[1], 0i32));
        let base = b.mul(i, block as i32);
        let zero = b.i32(0);
        b.for_loop(0, block as i32, 1, &[], |b, e, _| {
            let g = b.add(base, e);
            let valid = b.lt(g, n as i32);
            let v1 = b.load_masked(r[0], &[ds(e, 1)], Some(valid), Some(zero));
            let v = b.reshape(v1, &[]);
            b.atomic(pallas_ir::AtomicOp::Add, r[1], &[at(v)], 1i32, Some(valid));
            vec![]
        });
    });
    k.finish()
}

/// One corpus kernel at its default (small) size, with the name of its
/// `.pk` file in `examples/kernels/`.
pub struct CorpusEntry {
    /// File stem of the `.pk` file.
    pub name: &'static str,
    /// The kernel.
    pub kernel: Kernel,
}

/// Every corpus kernel at the size its `.pk` file has.
pub fn all() -> Vec<CorpusEntry> {
    let e = |name, kernel| CorpusEntry { name, kernel };
    vec![
        e("seed", seed(SEED_SHAPE[0], SEED_SHAPE[1], SEED_BLOCKS[0])),
        e("vector_add", vector_add(1000, 128)),
        e("matmul", matmul(256, 256, 256, 128, 128, 64)),
        e("softmax", softmax(64, 256, 8)),
        e("layer_norm", layer_norm(64, 256, 8, 1e-5)),
        e("rms_norm", rms_norm(64, 256, 8, 1e-6)),
        e("cumsum_rows", cumsum_rows(32, 128, 8)),
        e("block_sum", block_sum(1024, 128)),
        e("flash_attention", flash_attention(128, 256, 64, 32, 64)),
        e("gather", gather(8, 6, 8, 128)),
        e("double_buffered_copy", double_buffered_copy(4, 16, 128)),
        e("histogram", histogram(1000, 128, 16)),
    ]
}
