//! Op fusion for the general module: which array values are computed
//! where they are used instead of being written to the workgroup's area.
//!
//! The general module runs every array operation as a loop over its
//! elements, a write to the area and a barrier. A value with one use, in
//! the same region, by an operation that reads each of its elements a
//! bounded number of times, can instead be an expression inlined into
//! that use: `acc + dot(x, y)` stored to `acc` becomes one loop instead
//! of four. Inlining moves the value's reads from its definition to its
//! use, so it is allowed only where nothing between them writes memory,
//! and never where the use stores to a ref the value reads at another
//! element.

use std::collections::HashSet;

use pallas_exec::analysis::Analysis;
use pallas_ir::{Inst, Kernel, Op, RefAt, Type, ValidatedKernel, Value};

/// Whether an operation's result can be an inlined expression (the
/// general module's `expr` computes it): an elementwise or indexing
/// operation, a constant array, or a load.
fn deferrable(op: &Op) -> bool {
    op.is_elementwise()
        || matches!(
            op,
            Op::Const(_)
                | Op::Full { .. }
                | Op::Iota { .. }
                | Op::BroadcastInDim { .. }
                | Op::Transpose { .. }
                | Op::Slice { .. }
                | Op::Load { .. }
        )
}

/// Whether an expression of the operation costs one read at most (it may
/// be inlined into a use that reads each element many times: the use
/// would read the materialized value as often).
fn single_read(op: &Op) -> bool {
    matches!(
        op,
        Op::Const(_) | Op::Full { .. } | Op::Iota { .. } | Op::Load { mask: None, .. }
    )
}

/// Whether an operation reads each element of its operands at most once
/// (or a bounded few times) per element it computes.
fn reads_once(op: &Op) -> bool {
    op.is_elementwise()
        || matches!(
            op,
            Op::Transpose { .. }
                | Op::Slice { .. }
                | Op::Reduce { .. }
                | Op::Cumsum { .. }
                | Op::Store { .. }
                | Op::Load { .. }
        )
}

/// Whether an operation reads each element of its operands many times.
fn reads_often(op: &Op) -> bool {
    matches!(
        op,
        Op::BroadcastInDim { .. } | Op::Dot { .. } | Op::Concatenate { .. }
    )
}

/// Whether an operation writes memory or runs regions (anything between
/// a deferred value and its use must not): an effect other than a load.
fn effectful(op: &Op) -> bool {
    op.has_effect() && !matches!(op, Op::Load { .. })
}

/// The instructions whose (single, array) result the general module
/// inlines into its one use.
pub fn deferred(vk: &ValidatedKernel) -> HashSet<Inst> {
    let k = vk.kernel();
    let facts = Analysis::new(k);
    let (uses, user, place) = (&facts.uses, &facts.last_user, &facts.place);
    let array =
        |v: Value| matches!(vk.value_type(v), Type::Value { shape, .. } if !shape.is_empty());
    let mut out = HashSet::new();
    for (i, data) in k.insts.iter() {
        let op = &data.op;
        let [v] = data.results[..] else { continue };
        if !deferrable(op) || !array(v) || uses[v.index()] != 1 {
            continue;
        }
        let Some(u) = user[v.index()] else { continue };
        let (Some((r, p)), Some((ru, q))) = (place[i.index()], place[u.index()]) else {
            continue;
        };
        let uop = &k.insts[u].op;
        let fits = reads_once(uop) || (reads_often(uop) && single_read(op));
        if r != ru || q <= p || !fits {
            continue;
        }
        let between = &k.regions[r].insts[p + 1..q];
        if between.iter().any(|&b| effectful(&k.insts[b].op)) {
            continue;
        }
        out.insert(i);
    }
    // A store must not read the ref it writes at another element: where
    // its value reads that ref, it must be through index-keeping steps
    // from a load of exactly the region it stores.
    for (_, data) in k.insts.iter() {
        if let Op::Store { dst, value, mask } = &data.op {
            for v in std::iter::once(*value).chain(*mask) {
                if !stores_safely(k, &out, v, dst) {
                    if let Some(d) = k.def_inst(v) {
                        out.remove(&d);
                    }
                }
            }
        }
    }
    // Long chains are cut (shader compilers limit how deep expressions
    // nest): a value whose expression would nest deeper is written out.
    // Instructions come in program order, operands before their uses.
    let mut depth = vec![0usize; k.insts.len()];
    for (i, data) in k.insts.iter() {
        if !out.contains(&i) {
            continue;
        }
        let below = data
            .op
            .operands()
            .into_iter()
            .filter_map(|x| k.def_inst(x))
            .filter(|d| out.contains(d))
            .map(|d| depth[d.index()])
            .max()
            .unwrap_or(0);
        if below + 1 > MAX_DEPTH {
            out.remove(&i);
        } else {
            depth[i.index()] = below + 1;
        }
    }
    out
}

/// The most deferred operations one inlined expression nests.
const MAX_DEPTH: usize = 16;

/// Whether the deferred expression of `v` reads `dst`'s ref only at the
/// element the store writes.
fn stores_safely(k: &Kernel, deferred: &HashSet<Inst>, v: Value, dst: &RefAt) -> bool {
    let Some(d) = k.def_inst(v).filter(|d| deferred.contains(d)) else {
        return true;
    };
    walk(k, deferred, d, dst, true)
}

/// Walks a deferred expression: `keeps` says whether every step from
/// here up to the store kept the element index.
fn walk(k: &Kernel, deferred: &HashSet<Inst>, i: Inst, dst: &RefAt, keeps: bool) -> bool {
    let op = &k.insts[i].op;
    if let Op::Load { src, .. } = op {
        if src.r == dst.r && !(keeps && src == dst) {
            return false;
        }
    }
    let keeps = keeps && op.is_elementwise();
    op.operands().into_iter().all(|x| match k.def_inst(x) {
        Some(d) if deferred.contains(&d) => walk(k, deferred, d, dst, keeps),
        _ => true,
    })
}
