//! `pallas check` and `pallas fmt`.

use std::path::Path;

use pallas_ir::text::{self, KernelTextError};
use pallas_ir::{ValidatedKernel, ValueData};

use super::{read_text, say, Failure};

/// Parses and validates a kernel file, with errors that name the file.
pub fn load(path: &Path) -> Result<ValidatedKernel, Failure> {
    let src = read_text(path)?;
    text::parse_and_validate(&src).map_err(|e| match e {
        KernelTextError::Parse(p) => Failure::Input(format!("{}:{p}", path.display())),
        KernelTextError::Invalid(v) => Failure::Input(format!("{}: {v}", path.display())),
    })
}

/// `pallas check`: validate and list every value's type.
pub fn check(path: &Path) -> Result<(), Failure> {
    let vk = load(path)?;
    let k = vk.kernel();
    say(&format!(
        "{}: kernel `{}` is valid: {} grid points, {} parameters, {} values",
        path.display(),
        k.name,
        k.num_grid_points().unwrap_or(0),
        k.params.len(),
        k.values.len()
    ));
    for (v, data) in k.values.iter() {
        let origin = match data {
            ValueData::Arg { index, .. } => format!("region argument {index}"),
            ValueData::Result { inst, .. } => {
                let at = k
                    .inst_loc(*inst)
                    .map(|l| format!(" at {l}"))
                    .unwrap_or_default();
                format!("{}{at}", k.insts[*inst].op.name())
            }
        };
        say(&format!(
            "  %{}: {}  ({origin})",
            v.index(),
            vk.value_type(v)
        ));
    }
    Ok(())
}

/// `pallas fmt`: print the canonical form.
pub fn fmt(path: &Path) -> Result<(), Failure> {
    let src = read_text(path)?;
    let k = text::parse(&src).map_err(|p| Failure::Input(format!("{}:{p}", path.display())))?;
    // Keep the leading comment lines, which describe the kernel.
    for line in src.lines().take_while(|l| l.starts_with('#')) {
        say(line);
    }
    say(text::print(&k).trim_end());
    Ok(())
}

/// `pallas wgsl`: the module the wgpu backend would run (for this
/// machine's adapter limits, or WebGPU's defaults without one).
pub fn wgsl(path: &Path) -> Result<(), Failure> {
    let vk = load(path)?;
    wgsl_of(&vk).map(|src| say(src.trim_end()))
}

#[cfg(feature = "wgpu")]
fn wgsl_of(vk: &ValidatedKernel) -> Result<String, Failure> {
    pallas::wgpu::Wgpu::wgsl(vk).map_err(|e| match e {
        pallas::ExecError::Unsupported { .. } => Failure::Input(e.to_string()),
        other => Failure::Kernel(other.to_string()),
    })
}

#[cfg(not(feature = "wgpu"))]
fn wgsl_of(_: &ValidatedKernel) -> Result<String, Failure> {
    Err(Failure::Input(format!(
        "`pallas wgsl` needs the wgpu backend, which this build does not have (it has: {})",
        pallas::backends().join(", ")
    )))
}
