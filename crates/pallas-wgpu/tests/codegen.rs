//! The generated WGSL of every corpus kernel, at its default size and the
//! WebGPU default limits: kept as snapshot files under `tests/snapshots/`
//! (run with `BLESS=1` to rewrite them), each parsed and validated by naga.
//! Needs no GPU.

use std::path::PathBuf;

use pallas_corpus as corpus;
use pallas_ir::validate;
use pallas_wgpu::{generate, validate_wgsl, Limits, Plan};

fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

#[test]
fn corpus_wgsl_matches_the_snapshots_and_validates() {
    let bless = std::env::var_os("BLESS").is_some();
    for e in corpus::all() {
        let vk = validate(&e.kernel).unwrap();
        let shader =
            generate(&vk, &Limits::default()).unwrap_or_else(|err| panic!("{}: {err:?}", e.name));
        if let Err(msg) = validate_wgsl(&shader.source) {
            panic!("{}: naga rejects the module:\n{msg}", e.name);
        }
        let path = snapshot_dir().join(format!("{}.wgsl", e.name));
        if bless {
            std::fs::write(&path, &shader.source).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("{}: {err} (run with BLESS=1)", path.display()));
        assert_eq!(
            on_disk,
            shader.source,
            "{} differs from the generated WGSL (run with BLESS=1 to update)",
            path.display()
        );
    }
}

#[test]
fn elementwise_kernels_are_coarsened_and_the_rest_are_general() {
    for e in corpus::all() {
        let vk = validate(&e.kernel).unwrap();
        let plan = generate(&vk, &Limits::default()).unwrap().plan;
        let want = match e.name {
            "seed" | "vector_add" => Plan::Elementwise,
            _ => Plan::General,
        };
        assert_eq!(plan, want, "{}", e.name);
    }
}

#[test]
fn the_dispatch_never_passes_the_workgroup_limit() {
    // 2,097,152 one-element blocks: the elementwise module strides.
    let [r, c] = corpus::SEED_SHAPE;
    let vk = validate(&corpus::seed(r, c, [1, 1])).unwrap();
    let s = generate(&vk, &Limits::default()).unwrap();
    assert!(s.workgroups <= 65_535 && s.workgroups > 0);
    assert_eq!(s.grid_points, 2_097_152);
    // A general kernel with more parallel points than one dispatch
    // dimension holds: workgroups stride over the points.
    let vk = validate(&corpus::vector_add(200_000, 1)).unwrap();
    let small = Limits {
        max_workgroups: 1000,
        ..Limits::default()
    };
    let s = generate(&vk, &small).unwrap();
    assert!(s.workgroups <= 1000);
}

#[test]
fn big_values_move_to_a_global_area() {
    let vk = validate(&corpus::matmul(256, 256, 256, 128, 128, 64)).unwrap();
    let s = generate(&vk, &Limits::default()).unwrap();
    assert!(s.area_words > 0, "matmul's blocks do not fit 16 KiB");
    assert!(s.source.contains("var<storage, read_write> la"));
    let vk = validate(&corpus::vector_add(1000, 128)).unwrap();
    let s = generate(&vk, &Limits::default()).unwrap();
    assert_eq!(s.area_words, 0);
}

#[test]
fn cross_core_signals_and_prints_are_unsupported() {
    let src = "kernel k grid(parallel 2) {\n  out o: f32[2] vmem block[1] map(%i) {\n    yield %i\n  }\n  scratch s: sem[1]\n  body(%o, %s) {\n    %one = const 1:i32\n    semaphore_signal %s[0], %one core %one\n  }\n}";
    let vk = pallas_ir::text::parse_and_validate(src).unwrap();
    match generate(&vk, &Limits::default()) {
        Err(pallas_wgpu::wgsl::GenError::Unsupported(what)) => {
            assert!(what.contains("semaphore_signal"), "{what}");
            assert!(what.contains("another core"), "{what}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    let src = "kernel k grid() {\n  out o: f32[2] vmem\n  body(%o) {\n    %one = const 1:i32\n    debug_print \"x {}\", %one\n  }\n}";
    let vk = pallas_ir::text::parse_and_validate(src).unwrap();
    assert!(matches!(
        generate(&vk, &Limits::default()),
        Err(pallas_wgpu::wgsl::GenError::Unsupported(_))
    ));
}

#[test]
fn zero_size_shapes_generate_valid_modules() {
    // Every shape op over arrays with a zero dimension: nothing to do, and
    // no constant division by zero for naga to reject.
    let src = "kernel z grid() {\n  in x: f32[4, 0] vmem\n  in y: f32[0, 3] vmem\n  out o: f32[4, 3] vmem\n  out c: f32[4, 0] vmem\n  out t: f32[0, 4] vmem\n  body(%x, %y, %o, %c, %t) {\n    %a = load %x[:, :]\n    %b = load %y[:, :]\n    %d = dot %a, %b\n    store %o[:, :], %d\n    %s = cumsum %a axis 1\n    store %c[:, :], %s\n    %tr = transpose %a perm [1, 0]\n    store %t[:, :], %tr\n  }\n}";
    let vk = pallas_ir::text::parse_and_validate(src).unwrap();
    let s = generate(&vk, &Limits::default()).unwrap();
    validate_wgsl(&s.source).unwrap_or_else(|e| panic!("{e}\n{}", s.source));
}

/// Found by the `wgsl` fuzz target: a grid of 53,333,333,333 points
/// became a `u32` literal naga rejects. Counts past 32-bit indices are a
/// `Limit` error naming what is too large.
#[test]
fn counts_past_32_bit_indices_are_limit_errors() {
    let grid = r#"
kernel huge_grid grid(parallel 53333333333) {
  in x: f32[4] vmem block[4] map(%0) {
    yield %0
  }
  out o: f32[4] vmem block[4] map(%1) {
    yield %1
  }
  body(%2, %3) {
    %4 = load %2[:]
    store %3[:], %4
  }
}
"#;
    let scratch = r#"
kernel huge_scratch grid(parallel 1) {
  in x: f32[4] vmem block[4] map(%0) {
    yield %0
  }
  out o: f32[4] vmem block[4] map(%1) {
    yield %1
  }
  scratch s: f32[65536, 65536] vmem
  body(%2, %3, %4) {
    %5 = load %2[:]
    store %3[:], %5
  }
}
"#;
    let value = r#"
kernel huge_value grid(parallel 1) {
  in x: f32[4] vmem block[4] map(%0) {
    yield %0
  }
  out o: f32[4] vmem block[4] map(%1) {
    yield %1
  }
  body(%2, %3) {
    %4 = full 0.0:f32 [65536, 65536]
    %5 = load %2[:]
    store %3[:], %5
  }
}
"#;
    for (text, what) in [
        (grid, "the grid"),
        (scratch, "parameter `s`"),
        (value, "value %4"),
    ] {
        let vk = pallas_ir::text::parse_and_validate(text).unwrap();
        match generate(&vk, &Limits::default()) {
            Err(pallas_wgpu::wgsl::GenError::Limit(m)) => {
                assert!(m.contains(what) && m.contains("32-bit"), "{m}")
            }
            other => panic!("expected a limit error, got {other:?}"),
        }
    }
}

/// Every unary and binary op, on every dtype it is defined for, in both
/// the elementwise and the general module: naga accepts the helpers.
#[test]
fn every_elementwise_op_generates_a_valid_module() {
    use pallas_ir::{BinaryOp, DType, UnaryOp};
    let mut lines = Vec::new();
    let mut n = 0;
    for d in [DType::F32, DType::I32, DType::U32, DType::Bool] {
        for u in UnaryOp::ALL {
            let ok = match u {
                UnaryOp::Not => d.is_int() || d == DType::Bool,
                _ if u.int_only() => d.is_int(),
                _ if u.float_only() => d.is_float(),
                _ => d.is_numeric(),
            };
            if ok {
                lines.push(format!("    %u{n} = {} %v_{d}", u.name()));
                lines.push(format!("    store %o_{d}[:], %u{n}"));
                n += 1;
            }
        }
        for b in BinaryOp::ALL {
            let ok = if b.is_arithmetic() {
                d.is_numeric()
            } else if b.is_bitwise() {
                d.is_int() || d == DType::Bool
            } else if b.is_shift() {
                d.is_int()
            } else {
                d.is_float()
            };
            if ok {
                lines.push(format!("    %b{n} = {} %v_{d}, %v_{d}", b.name()));
                lines.push(format!("    store %o_{d}[:], %b{n}"));
                n += 1;
            }
        }
    }
    let dts = ["f32", "i32", "u32", "bool"];
    for grid in ["grid(parallel 2)", "grid(arbitrary 2)"] {
        let mut src = format!("kernel ops {grid} {{\n");
        for d in dts {
            src += &format!(
                "  in x_{d}: {d}[64] vmem block[32] map(%m_{d}) {{\n    yield %m_{d}\n  }}\n"
            );
        }
        for d in dts {
            src += &format!(
                "  out o_{d}: {d}[64] vmem block[32] map(%n_{d}) {{\n    yield %n_{d}\n  }}\n"
            );
        }
        let args: Vec<String> = dts
            .iter()
            .map(|d| format!("%x_{d}"))
            .chain(dts.iter().map(|d| format!("%o_{d}")))
            .collect();
        src += &format!("  body({}) {{\n", args.join(", "));
        for d in dts {
            src += &format!("    %v_{d} = load %x_{d}[:]\n");
        }
        src += &lines.join("\n");
        src += "\n  }\n}\n";
        let vk = pallas_ir::text::parse_and_validate(&src).unwrap_or_else(|e| panic!("{e}\n{src}"));
        let s = generate(&vk, &Limits::default()).unwrap();
        validate_wgsl(&s.source).unwrap_or_else(|e| panic!("{e}\n{}", s.source));
    }
}
