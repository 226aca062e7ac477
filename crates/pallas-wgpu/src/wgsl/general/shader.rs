//! Assembles the general module: homes of the parameters, bindings, the
//! loops over grid points, block copies in and out, the loop-budget probe.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use pallas_exec::FaultKind;
use pallas_ir::validate::RefOrigin;
use pallas_ir::{DType, DimSemantics, MemorySpace, Op, ParamKind, RefElem, ValidatedKernel};

use super::super::{
    buffer_decls, buffer_of_param, global_buffers, GenError, GlobalBuffer, Limits, Plan, Shader,
};
use super::{coord, fuse, strides, Blocked, Gen, Helpers, Mem, RefLoc, Val, WORKGROUP};

/// Generates the general module: the memory area in workgroup memory
/// when it fits the adapter's limit, else in a global buffer.
pub fn generate(vk: &ValidatedKernel, limits: &Limits) -> Result<Shader, GenError> {
    match build(vk, limits, true)? {
        Some(s) => Ok(s),
        None => build(vk, limits, false)?.ok_or_else(|| {
            GenError::Limit(format!(
                "kernel `{}`: no placement of its memory fits",
                vk.kernel().name
            ))
        }),
    }
}

/// Generates with the area in workgroup memory (`in_workgroup`) or in a
/// global buffer; `None` when it does not fit workgroup memory.
fn build(
    vk: &ValidatedKernel,
    limits: &Limits,
    in_workgroup: bool,
) -> Result<Option<Shader>, GenError> {
    let k = vk.kernel();
    let (buffers, arg_buffers, out_buffers) = global_buffers(vk);
    let mut atomic_refs = HashSet::new();
    let mut atomic_params = HashSet::new();
    let mut written_refs = HashSet::new();
    for (_, inst) in k.insts.iter() {
        if let Op::Store { dst, .. }
        | Op::Swap { dst, .. }
        | Op::Atomic { dst, .. }
        | Op::AtomicCas { dst, .. }
        | Op::DmaStart { dst, .. } = &inst.op
        {
            written_refs.insert(dst.r);
        }
        if let Op::Atomic { dst, .. } | Op::AtomicCas { dst, .. } = &inst.op {
            atomic_refs.insert(dst.r);
            if let Some(RefOrigin::Param(i)) = vk.ref_origin(dst.r) {
                atomic_params.insert(i);
            }
        }
    }
    let mut g = Gen {
        vk,
        h: Helpers::default(),
        body: String::new(),
        decls: String::new(),
        indent: 1,
        vals: vec![None; k.values.len()],
        refs: vec![None; k.values.len()],
        area: 0,
        atomic_area: 0,
        sems: 0,
        tmp: 0,
        faults: Vec::new(),
        cur: None,
        dirty: false,
        area_in_workgroup: in_workgroup,
        storage_barrier: !in_workgroup,
        atomic_refs,
        written_refs,
        deferred: fuse::deferred(vk),
        spans: HashMap::new(),
        // Area, atomic area, error words and `la4` after the arrays.
        vec4_allowed: !in_workgroup && buffers.len() + 4 <= limits.max_storage_buffers as usize,
        vec4_used: false,
    };
    // Homes of the parameters.
    let body_args = k.regions[k.body].args.clone();
    let mut blocked = Vec::new();
    let mut prefetch = Vec::new();
    for (i, p) in k.params.iter().enumerate() {
        let dtype = p.dtype().unwrap_or(DType::I32);
        let loc = match (p.kind, p.elem) {
            (ParamKind::ScalarPrefetch, _) => {
                let b = buffer_of_param(k, i, &arg_buffers, &out_buffers).unwrap_or(0);
                let loc = RefLoc {
                    mem: Mem::Global(b, false),
                    off: 0,
                    shape: p.shape.clone(),
                    dtype,
                };
                prefetch.push(loc.clone());
                loc
            }
            (ParamKind::Input | ParamKind::Output, _) if p.space == MemorySpace::Any => {
                let b = buffer_of_param(k, i, &arg_buffers, &out_buffers).unwrap_or(0);
                g.storage_barrier = true;
                RefLoc {
                    mem: Mem::Global(b, buffers[b].atomic),
                    off: 0,
                    shape: p.shape.clone(),
                    dtype,
                }
            }
            (ParamKind::Input | ParamKind::Output, _) => {
                let n: usize = p.block_full_shape().iter().product();
                let (mem, off) = if atomic_params.contains(&i) {
                    let off = g.atomic_area;
                    g.atomic_area += n.max(1);
                    (Mem::Atomic, off)
                } else {
                    (Mem::Area, g.alloc(n))
                };
                let loc = RefLoc {
                    mem,
                    off,
                    shape: p.block_view_shape(),
                    dtype,
                };
                blocked.push(Blocked {
                    param: i,
                    input: p.kind == ParamKind::Input,
                    buf: buffer_of_param(k, i, &arg_buffers, &out_buffers).unwrap_or(0),
                    loc: loc.clone(),
                    block: p.block_full_shape(),
                    array: p.shape.clone(),
                    map: p.block.as_ref().map(|b| b.index_map),
                });
                loc
            }
            (ParamKind::Scratch, RefElem::Semaphore(_)) => {
                let n: usize = p.shape.iter().product();
                let off = g.sems;
                g.sems += n.max(1);
                RefLoc {
                    mem: Mem::Sem,
                    off,
                    shape: p.shape.clone(),
                    dtype: DType::I32,
                }
            }
            (ParamKind::Scratch, RefElem::Data(_)) => {
                let n: usize = p.shape.iter().product();
                let (mem, off) = if atomic_params.contains(&i) {
                    let off = g.atomic_area;
                    g.atomic_area += n.max(1);
                    (Mem::Atomic, off)
                } else {
                    (Mem::Area, g.alloc(n))
                };
                RefLoc {
                    mem,
                    off,
                    shape: p.shape.clone(),
                    dtype,
                }
            }
        };
        if let Some(&a) = body_args.get(i) {
            g.refs[a.index()] = Some(loc);
        }
    }
    let grid: Vec<usize> = k.grid.iter().map(|d| d.size).collect();
    let par = k
        .grid
        .iter()
        .take_while(|d| d.semantics == DimSemantics::Parallel)
        .count();
    let ppoints: usize = grid[..par].iter().product();
    let arb: usize = grid[par..].iter().product();
    let empty = grid.contains(&0);

    // The per-point program: block moves, then the body. Generated first
    // into `g.body` at depth 3 (inside the two grid loops).
    let blocks_code = |g: &mut Gen, first_indent: usize| -> Result<(), GenError> {
        g.indent = first_indent;
        for (bi, b) in blocked.iter().enumerate() {
            let nd = b.block.len();
            // The block index, from the index map (or 0s).
            let idx: Vec<String> = match b.map {
                Some(m) => {
                    let r = &k.regions[m];
                    let args = r.args.clone();
                    for (ai, &a) in args.iter().enumerate() {
                        if ai < grid.len() {
                            g.vals[a.index()] = Some(Val::Reg(format!("pt{ai}")));
                        } else if let Some(loc) = prefetch.get(ai - grid.len()) {
                            g.refs[a.index()] = Some(loc.clone());
                        }
                    }
                    g.region(m)?;
                    let ys = r.yields.clone();
                    let mut out = Vec::new();
                    for y in ys {
                        out.push(g.elem(y, "0u")?);
                    }
                    out
                }
                None => vec!["0i".to_string(); nd],
            };
            let name = k.params[b.param].name.clone();
            let nb: Vec<usize> = b
                .array
                .iter()
                .zip(&b.block)
                .map(|(&n, &s)| n.div_ceil(s.max(1)).max(1))
                .collect();
            let mut changed = vec![format!("!have{bi}")];
            g.cur = None;
            for (d, x) in idx.iter().enumerate() {
                g.line(format!("nb{bi}_{d} = {x};"));
                changed.push(format!("nb{bi}_{d} != bi{bi}_{d}"));
                let code = g.fault(FaultKind::BlockIndexOutOfRange {
                    name: name.clone(),
                    dim: d,
                    index: None,
                    blocks: nb[d],
                });
                g.line(format!(
                    "if (!(nb{bi}_{d} >= 0i && nb{bi}_{d} < {}i)) {{ fault({code}u); }}",
                    nb[d]
                ));
            }
            let u = g.uniform(DType::Bool, &changed.join(" || "));
            g.settle();
            g.open(format!("if ({u}) {{"));
            if !b.input {
                g.open(format!("if (have{bi}) {{"));
                copy_block(g, b, bi, "bi", true);
                g.close();
            }
            for d in 0..nd {
                g.line(format!("bi{bi}_{d} = nb{bi}_{d};"));
            }
            g.line(format!("have{bi} = true;"));
            if b.input {
                copy_block(g, b, bi, "bi", false);
            }
            g.barrier();
            g.close();
        }
        g.region(k.body)?;
        g.settle();
        Ok(())
    };
    blocks_code(&mut g, 3)?;
    let point_code = std::mem::take(&mut g.body);
    // Final write-back of the outputs.
    g.indent = 1;
    for (bi, b) in blocked.iter().enumerate() {
        if !b.input {
            g.open(format!("if (have{bi}) {{"));
            copy_block(&mut g, b, bi, "bi", true);
            g.close();
        }
    }
    let tail = std::mem::take(&mut g.body);

    // Memory placement.
    let area_bytes = (g.area + g.atomic_area + 1) * 4;
    if in_workgroup && area_bytes > limits.workgroup_storage_bytes as usize {
        return Ok(None);
    }
    let per_wg_bytes = (g.area.max(g.atomic_area).max(1) * 4) as u64;
    let by_memory = if in_workgroup {
        u64::MAX
    } else {
        limits.max_binding_bytes / per_wg_bytes
    };
    if by_memory == 0 {
        return Err(GenError::Limit(format!(
            "kernel `{}`: a workgroup needs {} bytes of block and value memory, more than the adapter's largest storage binding ({} bytes)",
            k.name, per_wg_bytes, limits.max_binding_bytes
        )));
    }
    let workgroups = (ppoints.max(1) as u64)
        .min(limits.max_workgroups as u64)
        .min(by_memory)
        .max(1) as u32;
    finish(
        vk,
        limits,
        g,
        &buffers,
        arg_buffers,
        out_buffers,
        &blocked,
        point_code,
        tail,
        workgroups,
        par,
        arb,
        empty,
    )
    .map(Some)
}

#[allow(clippy::too_many_arguments)]
fn finish(
    vk: &ValidatedKernel,
    limits: &Limits,
    g: Gen,
    buffers: &[GlobalBuffer],
    arg_buffers: Vec<usize>,
    out_buffers: Vec<usize>,
    blocked: &[Blocked],
    point_code: String,
    tail: String,
    workgroups: u32,
    par: usize,
    arb: usize,
    empty: bool,
) -> Result<Shader, GenError> {
    let k = vk.kernel();
    let grid: Vec<usize> = k.grid.iter().map(|d| d.size).collect();
    let ppoints: usize = grid[..par].iter().product();
    let nbuf = buffers.len();
    let mut g = g;
    let _ = limits;
    let loop_code = g.driver_fault(
        "the driver cut the shader's loops short (Mesa's lavapipe stops every loop once a shader has run 65,535 loop iterations in all; the results would be wrong): use smaller blocks or fewer arbitrary grid steps per parallel point, or a real GPU".to_string(),
    );
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// kernel `{}`: general, grid {grid:?} ({par} parallel dims over workgroups), {} area words{}\n",
        k.name,
        g.area + g.atomic_area,
        if g.area_in_workgroup { " in workgroup memory" } else { " per workgroup in a global buffer" }
    );
    s.push_str(&buffer_decls(buffers));
    let mut next = nbuf;
    let (mut area_words, mut atomic_words) = (0, 0);
    if g.area_in_workgroup {
        let _ = writeln!(s, "var<workgroup> wa: array<u32, {}>;", g.area.max(1));
        if g.atomic_area > 0 {
            let _ = writeln!(
                s,
                "var<workgroup> wat: array<atomic<u32>, {}>;",
                g.atomic_area
            );
        }
    } else {
        area_words = g.area.max(1).next_multiple_of(4);
        let _ = writeln!(
            s,
            "@group(0) @binding({next}) var<storage, read_write> la: array<u32>;"
        );
        next += 1;
        if g.atomic_area > 0 {
            atomic_words = g.atomic_area;
            let _ = writeln!(
                s,
                "@group(0) @binding({next}) var<storage, read_write> lat: array<atomic<u32>>;"
            );
            next += 1;
        }
    }
    let _ = writeln!(
        s,
        "@group(0) @binding({next}) var<storage, read_write> err: array<atomic<u32>>;"
    );
    if g.vec4_used {
        let _ = writeln!(
            s,
            "@group(0) @binding({}) var<storage, read_write> la4: array<vec4<u32>>;",
            next + 1
        );
    }
    s.push_str("var<workgroup> ub: u32;\n");
    let _ = writeln!(s, "var<private> sems: array<i32, {}>;", g.sems.max(1));
    s.push('\n');
    // The first fault is kept.
    // Fault `c` sets bit `c % 32` of word `1 + c / 32` (no loop: lavapipe
    // runs masked-off branches and would spend its loop budget); the
    // runtime reports the lowest code set, the first in program order.
    s.push_str("fn fault(c: u32) { atomicOr(&err[1u + c / 32u], 1u << (c % 32u)); }\n");
    s.push_str(&g.h.source());
    let _ = writeln!(
        s,
        "\n@compute @workgroup_size({WORKGROUP})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{\n  let w = wid.x;"
    );
    if !g.area_in_workgroup {
        let _ = writeln!(s, "  let ab = w * {area_words}u;");
        if atomic_words > 0 {
            let _ = writeln!(s, "  let aab = w * {atomic_words}u;");
        }
    }
    for d in 0..grid.len() {
        let _ = writeln!(s, "  var pt{d}: i32 = 0i;");
    }
    for (bi, b) in blocked.iter().enumerate() {
        let _ = writeln!(s, "  var have{bi}: bool = false;");
        for d in 0..b.block.len() {
            let _ = writeln!(
                s,
                "  var bi{bi}_{d}: i32 = 0i;\n  var nb{bi}_{d}: i32 = 0i;"
            );
        }
    }
    s.push_str(&g.decls);
    let pp = if empty { 0 } else { ppoints.max(1) };
    let ar = if empty { 0 } else { arb.max(1) };
    let _ = writeln!(
        s,
        "  for (var pp = w; pp < {pp}u; pp = pp + {workgroups}u) {{"
    );
    for d in (0..par).rev() {
        // (An empty grid runs no point; `max(1)` keeps the constants
        // divisible.)
        let inner: usize = grid[d + 1..par].iter().product::<usize>().max(1);
        let _ = writeln!(s, "    pt{d} = i32((pp / {inner}u) % {}u);", grid[d].max(1));
    }
    let _ = writeln!(s, "    for (var ai = 0u; ai < {ar}u; ai = ai + 1u) {{");
    for d in (par..grid.len()).rev() {
        let inner: usize = grid[d + 1..].iter().product::<usize>().max(1);
        let _ = writeln!(
            s,
            "      pt{d} = i32((ai / {inner}u) % {}u);",
            grid[d].max(1)
        );
    }
    s.push_str(&point_code);
    s.push_str("    }\n  }\n");
    s.push_str(&tail);
    // A loop the driver cut short leaves its loop budget spent: then this
    // probe (whose trip count the compiler cannot see) stops early too.
    let _ = writeln!(
        s,
        "  var probe = 0u;\n  let probe_trips = 2u + atomicLoad(&err[0]);\n  for (var i = 0u; i < probe_trips; i = i + 1u) {{ probe = probe + 1u; }}\n  if (probe != probe_trips) {{ fault({loop_code}u); }}"
    );
    s.push_str("}\n");
    let _ = vk;
    Ok(Shader {
        source: s,
        plan: Plan::General,
        workgroup_size: WORKGROUP,
        workgroups,
        buffers: buffers.to_vec(),
        arg_buffers,
        out_buffers,
        area_words,
        atomic_area_words: atomic_words,
        area_vec4: g.vec4_used,
        faults: g.faults,
        has_error_word: true,
        grid_points: k.num_grid_points().unwrap_or(0) as u64,
        outputs_fully_written: false,
    })
}

/// Copies block `bi` between its area buffer and its global array:
/// `to_global` for a write-back (the part inside the array), else a fill
/// (zeros past the array's edge). The block index is in `{idx}{bi}_{d}`.
fn copy_block(g: &mut Gen, b: &Blocked, bi: usize, idx: &str, to_global: bool) {
    let n: usize = b.block.iter().product();
    let ast = strides(&b.array);
    g.open_elems(n);
    let mut inb = Vec::new();
    let mut gidx = vec!["0u".to_string()];
    for (d, (&bs, &st)) in b.block.iter().zip(&ast).enumerate() {
        let c = coord("e", &b.block, d);
        let gd = format!("(u32({idx}{bi}_{d}) * {bs}u + {c})");
        inb.push(format!("{gd} < {}u", b.array[d]));
        gidx.push(format!("{gd} * {st}u"));
    }
    let lidx = format!("{}u + e", b.loc.off);
    let gi = gidx.join(" + ");
    let cond = if inb.is_empty() {
        "true".to_string()
    } else {
        inb.join(" && ")
    };
    g.open(format!("if ({cond}) {{"));
    let gm = Mem::Global(b.buf, false);
    if to_global {
        let w = g.read(b.loc.mem, &lidx);
        let st = g.write_stmt(gm, &gi, &w);
        g.line(st);
    } else {
        let w = g.read(gm, &gi);
        let st = g.write_stmt(b.loc.mem, &lidx, &w);
        g.line(st);
        if !inb.is_empty() {
            // Past the array's edge a partial block reads zeros.
            g.close();
            g.open("else {");
            let st = g.write_stmt(b.loc.mem, &lidx, "0u");
            g.line(st);
        }
    }
    g.close();
    g.close_elems();
    if to_global {
        g.barrier();
    }
}
