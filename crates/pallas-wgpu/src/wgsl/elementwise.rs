//! The coarsened elementwise module: when every parameter is a VMEM input
//! or output cut into the same blocks of the same array shape by identity
//! index maps, the grid visits each block once, and the body only loads
//! whole blocks, computes elementwise and stores whole blocks, the grid is
//! dropped: one invocation per array element (grid-strided), every value in
//! a register, loads and stores straight from and to the global arrays.

use std::collections::HashMap;
use std::fmt::Write;

use pallas_ir::{Indexer, MemorySpace, Op, ParamKind, Type, ValidatedKernel, Value};

use pallas_ir::validate::RefOrigin;

use super::scalar::{self, Helpers};
use super::{buffer_decls, global_buffers, Limits, Plan, Shader};

/// Invocations per workgroup.
const WORKGROUP: u32 = 256;
/// Elements each invocation handles, at least (more when the dispatch is
/// capped).
const PER_INVOCATION: usize = 4;

/// Whether the kernel's blocking is elementwise: the array length.
fn flat_len(vk: &ValidatedKernel) -> Option<usize> {
    let k = vk.kernel();
    if !k.aliases.is_empty() || k.params.is_empty() {
        return None;
    }
    let first = &k.params[0];
    let (array, block) = (first.shape.clone(), first.block_full_shape());
    for p in &k.params {
        if !matches!(p.kind, ParamKind::Input | ParamKind::Output)
            || p.space != MemorySpace::Vmem
            || p.shape != array
            || p.block_full_shape() != block
        {
            return None;
        }
        let b = p.block.as_ref()?;
        let r = &k.regions[b.index_map];
        if !r.insts.is_empty() || r.yields != r.args || r.args.len() != array.len() {
            return None;
        }
    }
    let once = k.grid.len() == array.len()
        && k.grid
            .iter()
            .zip(array.iter().zip(&block))
            .all(|(g, (&n, &b))| g.size == n.div_ceil(b.max(1)));
    once.then(|| array.iter().product())
}

/// The module, or `None` when the kernel is not elementwise.
pub fn generate(vk: &ValidatedKernel, limits: &Limits) -> Option<Shader> {
    let n = flat_len(vk)?;
    let k = vk.kernel();
    let body = &k.regions[k.body];
    let (buffers, arg_buffers, out_buffers) = global_buffers(vk);
    let param_buf = |v: Value| -> Option<usize> {
        match vk.ref_origin(v)? {
            RefOrigin::Param(i) => super::buffer_of_param(k, i, &arg_buffers, &out_buffers),
            RefOrigin::Scoped | RefOrigin::Barrier => None,
        }
    };
    let mut h = Helpers::default();
    let mut code = String::new();
    let mut names: HashMap<Value, String> = HashMap::new();
    let mut stored = Vec::new();
    let dtype = |v: Value| match vk.value_type(v) {
        Type::Value { dtype, .. } => Some(*dtype),
        Type::Ref(r) => r.dtype(),
    };
    let whole = |idx: &[Indexer]| idx.iter().all(|i| *i == Indexer::Full);
    for &inst in &body.insts {
        let data = &k.insts[inst];
        let res = data.results.first().copied();
        let name = |v: &Value| names.get(v).cloned();
        let expr = match &data.op {
            Op::Const(s) | Op::Full { value: s, .. } => scalar::literal(*s),
            Op::Unary(op, x) => scalar::unary(&mut h, *op, dtype(*x)?, &name(x)?),
            Op::Binary(op, a, b) => scalar::binary(&mut h, *op, dtype(*a)?, &name(a)?, &name(b)?),
            Op::Compare(op, a, b) => scalar::compare(*op, dtype(*a)?, &name(a)?, &name(b)?),
            Op::Select {
                cond,
                on_true,
                on_false,
            } => format!(
                "select({}, {}, {})",
                name(on_false)?,
                name(on_true)?,
                name(cond)?
            ),
            Op::Cast { x, to } => scalar::cast(&mut h, dtype(*x)?, *to, &name(x)?),
            Op::Bitcast { x, to } => scalar::bitcast(&mut h, dtype(*x)?, *to, &name(x)?),
            Op::Load {
                src,
                mask: None,
                other: None,
            } if whole(&src.idx) => {
                let b = param_buf(src.r)?;
                scalar::from_bits(buffers[b].dtype, &format!("g{b}[e]"))
            }
            Op::Store {
                dst,
                value,
                mask: None,
            } if whole(&dst.idx) => {
                let b = param_buf(dst.r)?;
                stored.push(b);
                let v = scalar::to_bits(dtype(*value)?, &name(value)?);
                writeln!(code, "    g{b}[e] = {v};").ok()?;
                continue;
            }
            _ => return None,
        };
        let r = res?;
        writeln!(code, "    let x{} = {expr};", r.index()).ok()?;
        names.insert(r, format!("x{}", r.index()));
    }
    // Enough invocations for PER_INVOCATION elements each, capped by the
    // dispatch limit; the grid-stride loop covers the rest.
    let want = n.div_ceil(WORKGROUP as usize * PER_INVOCATION).max(1);
    let workgroups = want.min(limits.max_workgroups as usize) as u32;
    let stride = workgroups as usize * WORKGROUP as usize;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// kernel `{}`: elementwise, {n} elements, {} grid points coarsened\n",
        k.name,
        k.num_grid_points().unwrap_or(0)
    );
    s.push_str(&buffer_decls(&buffers));
    s.push('\n');
    s.push_str(&h.source());
    let _ = writeln!(
        s,
        "\n@compute @workgroup_size({WORKGROUP})\nfn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n  for (var e = gid.x; e < {n}u; e = e + {stride}u) {{"
    );
    s.push_str(&code);
    s.push_str("  }\n}\n");
    Some(Shader {
        source: s,
        plan: Plan::Elementwise,
        workgroup_size: WORKGROUP,
        workgroups,
        buffers,
        arg_buffers,
        out_buffers: out_buffers.clone(),
        area_words: 0,
        atomic_area_words: 0,
        area_vec4: false,
        faults: Vec::new(),
        has_error_word: false,
        grid_points: k.num_grid_points().unwrap_or(0) as u64,
        // Stores are unconditional: an output the body stores to is
        // written at every element.
        outputs_fully_written: out_buffers.iter().all(|b| stored.contains(b)),
    })
}
