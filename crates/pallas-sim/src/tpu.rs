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
        if p.space == MemorySpace::Vmem && blocked && bytes == 4 && n >= 1 {
            let rules: &[(usize, usize)] = if n >= 2 {
                &[(n - 2, 8), (n - 1, 128)]
            } else {
                &[(0, 128)]
            };
            for &(dim, unit) in rules {
                if block[dim] % unit != 0 && block[dim] != p.shape[dim] {
                    errors.push(format!(
                        "`{}`: block dimension {dim} is {}, which is neither a multiple of {unit} nor the array's {} (32-bit blocks tile as (8, 128))",
                        p.name, block[dim], p.shape[dim]
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
