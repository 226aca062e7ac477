//! Parse, validate and run on the simulator with small inputs: never a
//! panic, a stack overflow or an unbounded allocation (a memory limit of
//! 16 MiB and a loop budget keep every run small); faults are errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pallas_exec::run;
use pallas_exec::HostArray;
use pallas_ir::{DType, ParamKind};
use pallas_sim::{SimConfig, Simulator};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(vk) = pallas_ir::text::parse_and_validate(src) else {
        return;
    };
    let k = vk.kernel();
    // Keep a run small: few grid points, small arrays.
    if k.num_grid_points().is_none_or(|n| n > 4096) {
        return;
    }
    let mut args = Vec::new();
    for p in &k.params {
        if !matches!(p.kind, ParamKind::ScalarPrefetch | ParamKind::Input) {
            continue;
        }
        let n = p.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if n.is_none_or(|n| n > 1 << 16) {
            return;
        }
        let d = p.dtype().unwrap_or(DType::I32);
        let n = n.unwrap_or(0);
        let bits = (0..n as u32).map(|i| match d {
            DType::F32 => (i as f32 * 0.25 - 3.0).to_bits(),
            DType::Bool => i & 1,
            _ => i % 5,
        });
        match HostArray::from_bits(d, &p.shape, bits.collect()) {
            Ok(a) => args.push(a),
            Err(_) => return,
        }
    }
    let sim = Simulator::new(
        SimConfig::default()
            .memory_limit_bytes(16 << 20)
            .max_loop_iterations(100_000)
            .debug_print(false),
    );
    let _ = run(&sim, &vk, &args);
});
