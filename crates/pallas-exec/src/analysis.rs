//! Facts about a kernel that every backend wants, computed once per
//! compile: how often each value is used and by whom, where each
//! instruction sits, and which parameters the body writes (in the manner
//! of naga's `valid::analyzer`: one pass, read by later stages).

use pallas_ir::{Inst, Kernel, Op, Region, Value};

/// The name a fault gives a ref value: its parameter's, or `scoped
/// scratch` for a `run_scoped` buffer.
pub fn ref_name(k: &Kernel, r: Value) -> String {
    k.regions
        .get(k.body)
        .and_then(|b| b.args.iter().position(|&a| a == r))
        .map_or_else(|| "scoped scratch".into(), |p| k.params[p].name.clone())
}

/// Per-value and per-parameter facts of one kernel.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// Uses of each value (as an operand or a region's yield), by value
    /// index.
    pub uses: Vec<u32>,
    /// The last instruction that uses each value as an operand (`None`
    /// when none does, or when a yield is its last use).
    pub last_user: Vec<Option<Inst>>,
    /// Each instruction's region and position in it, by instruction index.
    pub place: Vec<Option<(Region, usize)>>,
    /// Whether the body writes each parameter's ref (a store, swap,
    /// atomic, compare-and-swap or DMA into it, nested regions included),
    /// by parameter position.
    pub writes_param: Vec<bool>,
    /// Whether the body updates each parameter's ref atomically.
    pub atomic_param: Vec<bool>,
}

impl Analysis {
    /// Analyses a kernel.
    pub fn new(k: &Kernel) -> Analysis {
        let n = k.values.len();
        let mut uses = vec![0u32; n];
        let mut last_user = vec![None; n];
        let mut place = vec![None; k.insts.len()];
        for (r, rd) in k.regions.iter() {
            for (pos, &i) in rd.insts.iter().enumerate() {
                place[i.index()] = Some((r, pos));
                for v in k.insts[i].op.operands() {
                    uses[v.index()] += 1;
                    last_user[v.index()] = Some(i);
                }
            }
            for &y in &rd.yields {
                uses[y.index()] += 1;
                last_user[y.index()] = None;
            }
        }
        let params = k.params.len();
        let mut writes_param = vec![false; params];
        let mut atomic_param = vec![false; params];
        let body_args: &[Value] = k.regions.get(k.body).map_or(&[], |r| &r.args);
        let mut stack = vec![k.body];
        while let Some(r) = stack.pop() {
            let Some(region) = k.regions.get(r) else {
                continue;
            };
            for &inst in &region.insts {
                let Some(data) = k.insts.get(inst) else {
                    continue;
                };
                if let Some(dst) = data.op.written_ref() {
                    if let Some(p) = body_args.iter().position(|&a| a == dst.r) {
                        writes_param[p] = true;
                        if matches!(data.op, Op::Atomic { .. } | Op::AtomicCas { .. }) {
                            atomic_param[p] = true;
                        }
                    }
                }
                stack.extend(data.op.regions());
            }
        }
        Analysis {
            uses,
            last_user,
            place,
            writes_param,
            atomic_param,
        }
    }
}
