//! Multi-device kernels: collectives over a ring of `n` devices on a mesh
//! axis `x`, in the shape of Pallas' distributed TPU kernels (remote DMAs
//! with send and receive semaphores, the barrier semaphore, signals to a
//! neighbour). Every parameter is one device's shard; `f32` throughout.

use pallas_ir::builder::{at, ds, full, ref_at, KernelBuilder, RegionBuilder, Spec};
use pallas_ir::DType::F32;
use pallas_ir::{Kernel, MemorySpace, SemaphoreKind, Value};

/// This device's index on the ring and its neighbours: `(me, left, right)`.
fn ring(b: &mut RegionBuilder, n: usize) -> (Value, Value, Value) {
    let n = n as i32;
    let me = b.axis_index(0);
    let r = b.add(me, 1);
    let right = b.rem(r, n);
    let l = b.add(me, n - 1);
    let left = b.rem(l, n);
    (me, left, right)
}

/// `(i + k) mod n` for `i > -n` and a small `k`, as `(i + k + n max(|k|, 1)) % n`.
fn ring_offset(b: &mut RegionBuilder, i: Value, k: i32, n: usize) -> Value {
    let shifted = b.add(i, k + n as i32 * k.abs().max(1));
    b.rem(shifted, n as i32)
}

/// Meets both neighbours at the barrier semaphore: each device signals
/// its left and right neighbour once and waits for two signals.
fn barrier(b: &mut RegionBuilder, left: Value, right: Value) {
    let bar = b.barrier_semaphore();
    b.semaphore_signal_device(ref_at(bar, &[]), 1, left);
    b.semaphore_signal_device(ref_at(bar, &[]), 1, right);
    b.semaphore_wait(ref_at(bar, &[]), 2);
}

fn one_sem(s: Value) -> pallas_ir::RefAt {
    ref_at(s, &[])
}

/// Right-permute: device `d` sends its shard `x` (HBM) to device
/// `(d + 1) mod n`'s output, so `o[d] = x[(d - 1) mod n]`.
pub fn right_permute(n: usize, rows: usize, cols: usize) -> Kernel {
    let mut k = KernelBuilder::new("right_permute");
    k.mesh(&[("x", n)]);
    k.input("x", F32, &[rows, cols], Spec::any());
    k.output("o", F32, &[rows, cols], Spec::any());
    k.semaphores("send", SemaphoreKind::Dma, &[]);
    k.semaphores("recv", SemaphoreKind::Dma, &[]);
    k.body(|b, r| {
        let (x, o, send, recv) = (r[0], r[1], r[2], r[3]);
        let (_, _, right) = ring(b, n);
        let all = |v| ref_at(v, &[full(), full()]);
        b.remote_dma_start(all(x), all(o), one_sem(send), one_sem(recv), right);
        b.dma_wait(all(x), one_sem(send));
        b.dma_wait(all(o), one_sem(recv));
    });
    k.finish()
}

/// Ring all-gather in HBM: `o[j] = x` of device `j` on every device. Each
/// device copies its shard into `o[me]`, meets its neighbours at the
/// barrier, then for `n - 1` steps forwards the slot it received last
/// (its own first) to its right neighbour.
pub fn ring_all_gather(n: usize, rows: usize, cols: usize) -> Kernel {
    let mut k = KernelBuilder::new("ring_all_gather");
    k.mesh(&[("x", n)]);
    k.input("x", F32, &[rows, cols], Spec::any());
    k.output("o", F32, &[n, rows, cols], Spec::any());
    k.semaphores("local", SemaphoreKind::Dma, &[]);
    k.semaphores("send", SemaphoreKind::Dma, &[]);
    k.semaphores("recv", SemaphoreKind::Dma, &[]);
    k.body(|b, r| {
        let (x, o, local, send, recv) = (r[0], r[1], r[2], r[3], r[4]);
        let (me, left, right) = ring(b, n);
        let slot = |s| ref_at(o, &[at(s), full(), full()]);
        let xa = ref_at(x, &[full(), full()]);
        b.dma_start(xa.clone(), slot(me), one_sem(local));
        b.dma_wait(slot(me), one_sem(local));
        barrier(b, left, right);
        forward_around(b, n, (me, right), slot, (one_sem(send), one_sem(recv)));
    });
    k.finish()
}

/// The all-gather steps: for `n - 1` steps, step `i` forwards slot
/// `(me - i) mod n` to the right neighbour's same slot and waits for slot
/// `(me - i - 1) mod n` from the left, on DMA semaphores `(send, recv)`.
fn forward_around(
    b: &mut RegionBuilder,
    n: usize,
    (me, right): (Value, Value),
    slot: impl Fn(Value) -> pallas_ir::RefAt,
    (send, recv): (pallas_ir::RefAt, pallas_ir::RefAt),
) {
    b.for_loop(0, n as i32 - 1, 1, &[], |b, i, _| {
        let back = b.sub(me, i);
        let s = ring_offset(b, back, 0, n);
        b.remote_dma_start(slot(s), slot(s), send.clone(), recv.clone(), right);
        b.dma_wait(slot(s), send.clone());
        let got = ring_offset(b, back, -1, n);
        b.dma_wait(slot(got), recv.clone());
        vec![]
    });
}

/// Ring reduce-scatter (f32 sum) in VMEM: `x` holds `n` chunks; device
/// `d`'s output is the sum over devices of chunk `d`. A partial sum
/// travels right around the ring, each device adding its own chunk; a
/// one-slot receive buffer is reused, so a receiver signals its left
/// neighbour's `ready` semaphore when the buffer is free again.
pub fn ring_reduce_scatter(n: usize, rows: usize, cols: usize) -> Kernel {
    let mut k = KernelBuilder::new("ring_reduce_scatter");
    k.mesh(&[("x", n)]);
    k.input("x", F32, &[n, rows, cols], Spec::whole());
    k.output("o", F32, &[rows, cols], Spec::whole());
    k.scratch("part", F32, &[rows, cols], MemorySpace::Vmem);
    k.scratch("buf", F32, &[rows, cols], MemorySpace::Vmem);
    k.semaphores("send", SemaphoreKind::Dma, &[]);
    k.semaphores("recv", SemaphoreKind::Dma, &[]);
    k.semaphores("ready", SemaphoreKind::Regular, &[]);
    k.body(|b, r| {
        let (x, o, part, buf, send, recv, ready) = (r[0], r[1], r[2], r[3], r[4], r[5], r[6]);
        let sems = (one_sem(send), one_sem(recv));
        reduce_scatter(b, n, x, part, buf, sems, ready, |b, _, v| {
            b.store(o, &[full(), full()], v);
        });
    });
    k.finish()
}

/// All-reduce (f32 sum) from the two halves above: a reduce-scatter leaves
/// chunk `me` of the sum in `o[me]` (VMEM), then an all-gather ring
/// forwards the chunks into the neighbours' `o` (remote copies into VMEM),
/// so every device ends with the whole sum: `o[j] = sum_d x_d[j]`.
pub fn all_reduce(n: usize, rows: usize, cols: usize) -> Kernel {
    let mut k = KernelBuilder::new("all_reduce");
    k.mesh(&[("x", n)]);
    k.input("x", F32, &[n, rows, cols], Spec::whole());
    k.output("o", F32, &[n, rows, cols], Spec::whole());
    k.scratch("part", F32, &[rows, cols], MemorySpace::Vmem);
    k.scratch("buf", F32, &[rows, cols], MemorySpace::Vmem);
    k.semaphores("send", SemaphoreKind::Dma, &[2]);
    k.semaphores("recv", SemaphoreKind::Dma, &[2]);
    k.semaphores("ready", SemaphoreKind::Regular, &[]);
    k.body(|b, r| {
        let (x, o, part, buf, send, recv, ready) = (r[0], r[1], r[2], r[3], r[4], r[5], r[6]);
        let sem = |s, i: i64| ref_at(s, &[at(i)]);
        // Phase 1 on semaphores [0].
        let sems = (sem(send, 0), sem(recv, 0));
        reduce_scatter(b, n, x, part, buf, sems, ready, |b, me, v| {
            b.store(o, &[at(me), full(), full()], v);
        });
        // Phase 2: all-gather of the chunks on semaphores [1].
        let (me, _, right) = ring(b, n);
        let slot = |s| ref_at(o, &[at(s), full(), full()]);
        forward_around(b, n, (me, right), slot, (sem(send, 1), sem(recv, 1)));
    });
    k.finish()
}

/// The reduce-scatter steps on DMA semaphores `(send, recv)`: a partial
/// sum travels right, each device adding its own chunk; `finish` stores
/// the finished sum of chunk `me`.
#[allow(clippy::too_many_arguments)]
fn reduce_scatter(
    b: &mut RegionBuilder,
    n: usize,
    x: Value,
    part: Value,
    buf: Value,
    (send, recv): (pallas_ir::RefAt, pallas_ir::RefAt),
    ready: Value,
    finish: impl FnOnce(&mut RegionBuilder, Value, Value),
) {
    let (me, left, right) = ring(b, n);
    let all = |v| ref_at(v, &[full(), full()]);
    let chunk = |b: &mut RegionBuilder, c: Value| b.load(x, &[at(c), full(), full()]);
    barrier(b, left, right);
    let first = ring_offset(b, me, -1, n);
    let x0 = chunk(b, first);
    b.store(part, &[full(), full()], x0);
    let steps = n as i32 - 1;
    let (s2, r2) = (send.clone(), recv.clone());
    b.for_loop(0, steps - 1, 1, &[], |b, s, _| {
        // Every step but the last: pass the partial on, add the own chunk
        // to the one received, free the buffer for the left neighbour.
        let later = b.gt(s, 0);
        b.when(later, |b| b.semaphore_wait(one_sem(ready), 1));
        b.remote_dma_start(all(part), all(buf), s2.clone(), r2.clone(), right);
        b.dma_wait(all(part), s2.clone());
        b.dma_wait(all(buf), r2.clone());
        let back = b.sub(me, s);
        let c = ring_offset(b, back, -2, n);
        let got = b.load_all(buf);
        b.semaphore_signal_device(one_sem(ready), 1, left);
        let mine = chunk(b, c);
        let sum = b.add(got, mine);
        b.store(part, &[full(), full()], sum);
        vec![]
    });
    // The last step: the sum of chunk `me` arrives.
    if steps > 1 {
        b.semaphore_wait(one_sem(ready), 1);
    }
    b.remote_dma_start(all(part), all(buf), send.clone(), recv.clone(), right);
    b.dma_wait(all(part), send);
    b.dma_wait(all(buf), recv);
    let got = b.load_all(buf);
    let mine = chunk(b, me);
    let sum = b.add(got, mine);
    finish(b, me, sum);
}

/// Bidirectional ring all-gather in VMEM (the shape of JAX's shipped
/// `all_gather`): each shard is split in two halves of `rows / 2`; the
/// first half travels left, the second right, each step sending one slot
/// both ways, so `n - 1` steps of half the data gather everything.
pub fn bidirectional_all_gather(n: usize, rows: usize, cols: usize) -> Kernel {
    assert!(rows % 2 == 0, "rows split in two halves");
    let half = rows / 2;
    let mut k = KernelBuilder::new("bidirectional_all_gather");
    k.mesh(&[("x", n)]);
    k.input("x", F32, &[rows, cols], Spec::whole());
    k.output("o", F32, &[n, rows, cols], Spec::whole());
    k.semaphores("send", SemaphoreKind::Dma, &[2]);
    k.semaphores("recv", SemaphoreKind::Dma, &[2]);
    k.body(|b, r| {
        let (x, o, send, recv) = (r[0], r[1], r[2], r[3]);
        let (me, left, right) = ring(b, n);
        let xs = b.load_all(x);
        b.store(o, &[at(me), full(), full()], xs);
        barrier(b, left, right);
        let sem = |s, i: i64| ref_at(s, &[at(i)]);
        let lo = |s| ref_at(o, &[at(s), ds(0, half), full()]);
        let hi = |s| ref_at(o, &[at(s), ds(half as i64, half), full()]);
        b.for_loop(0, n as i32 - 1, 1, &[], |b, i, _| {
            // Rightward: the high half of slot (me - i), received from the
            // left as slot (me - i - 1). Leftward: the low half of slot
            // (me + i), received from the right as slot (me + i + 1).
            let back = b.sub(me, i);
            let rs = ring_offset(b, back, 0, n);
            let fwd = b.add(me, i);
            let ls = ring_offset(b, fwd, 0, n);
            b.remote_dma_start(hi(rs), hi(rs), sem(send, 1), sem(recv, 1), right);
            b.remote_dma_start(lo(ls), lo(ls), sem(send, 0), sem(recv, 0), left);
            b.dma_wait(hi(rs), sem(send, 1));
            b.dma_wait(lo(ls), sem(send, 0));
            let from_left = ring_offset(b, back, -1, n);
            let from_right = ring_offset(b, fwd, 1, n);
            b.dma_wait(hi(from_left), sem(recv, 1));
            b.dma_wait(lo(from_right), sem(recv, 0));
            vec![]
        });
    });
    k.finish()
}

/// Every multi-device corpus kernel on `n` devices with shards of
/// `(rows, cols)` (`rows` even).
pub fn all(n: usize, rows: usize, cols: usize) -> Vec<crate::CorpusEntry> {
    let e = |name, kernel| crate::CorpusEntry { name, kernel };
    vec![
        e("right_permute", right_permute(n, rows, cols)),
        e("ring_all_gather", ring_all_gather(n, rows, cols)),
        e("ring_reduce_scatter", ring_reduce_scatter(n, rows, cols)),
        e("all_reduce", all_reduce(n, rows, cols)),
        e(
            "bidirectional_all_gather",
            bidirectional_all_gather(n, rows, cols),
        ),
    ]
}
