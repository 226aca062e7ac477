//! The optional hardware-constraint check (`Target::Tpu`): code that passes
//! interpret mode but that the real compiler would reject.

use pallas_ir::{MemorySpace, ParamKind, RefElem, ValidatedKernel};

use pallas_exec::options::Options as SimConfig;

/// Every violation, as messages naming the ref.
pub fn check(vk: &ValidatedKernel, cfg: &SimConfig) -> Vec<String> {
    let k = vk.kernel();
    let mut errors = Vec::new();
    let mut vmem = 0usize;
    for p in &k.params {
        let RefElem::Data(d) = p.elem else { continue };
        let bytes = d.size_bytes();
        let block = p.block_full_shape();
        let n = block.len();
        let blocked = matches!(p.kind, ParamKind::Input | ParamKind::Output);
        // The native tile: (8, 128) for 32-bit elements, (16, 128) for
        // 16-bit, (32, 128) for 8-bit (sublanes pack narrower elements).
        let sublanes = match bytes {
            4 => Some(8),
            2 => Some(16),
            1 if d != pallas_ir::DType::Bool => Some(32),
            _ => None,
        };
        if let (Some(sub), true) = (sublanes, p.space == MemorySpace::Vmem && blocked && n >= 1) {
            let rules: Vec<(usize, usize)> = if n >= 2 {
                vec![(n - 2, sub), (n - 1, 128)]
            } else {
                vec![(0, 128)]
            };
            for (dim, unit) in rules {
                if block[dim] % unit != 0 && block[dim] != p.shape[dim] {
                    errors.push(format!(
                        "`{}`: block dimension {dim} is {}, which is neither a multiple of {unit} nor the array's {} ({}-bit blocks tile as ({sub}, 128))",
                        p.name, block[dim], p.shape[dim], bytes * 8
                    ));
                }
            }
        }
        if p.space == MemorySpace::Vmem {
            let elems: usize = block.iter().product();
            // Blocked inputs and outputs are double-buffered by the pipeline.
            let copies = if blocked { 2 } else { 1 };
            vmem = vmem.saturating_add(elems.saturating_mul(bytes).saturating_mul(copies));
        }
    }
    if vmem > cfg.vmem_capacity_bytes {
        errors.push(format!(
            "VMEM use per core is {vmem} bytes (blocks double-buffered, plus scratch), over the capacity of {} bytes",
            cfg.vmem_capacity_bytes
        ));
    }
    errors
}
