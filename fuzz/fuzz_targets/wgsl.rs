//! Any valid kernel through the WGSL generator: never a panic, and every
//! module it emits passes naga's validation (a module naga rejects is a
//! generator bug). Needs no GPU.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pallas_wgpu::{generate, validate_wgsl, Limits};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(vk) = pallas_ir::text::parse_and_validate(src) else {
        return;
    };
    // Keep generation small: shaders unroll constant loops and write
    // one line per operation.
    if vk.kernel().insts.len() > 400 {
        return;
    }
    for limits in [
        Limits::default(),
        Limits {
            workgroup_storage_bytes: 0,
            ..Limits::default()
        },
    ] {
        if let Ok(shader) = generate(&vk, &limits) {
            if let Err(e) = validate_wgsl(&shader.source) {
                panic!("naga rejects the generated module:\n{e}\n{}", shader.source);
            }
        }
    }
});
