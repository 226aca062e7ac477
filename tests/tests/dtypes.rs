//! Low-precision dtypes (issue 15) on the simulator and the fast mode:
//! corpus kernels in bf16, int8 and fp8 against independent references
//! (plain loops in f64, rounded once), the two backends bit for bit, and
//! the conversions and refusals a kernel author meets.

use half::bf16;
use ndarray::{ArrayD, IxDyn};
use pallas_corpus as corpus;
use pallas_exec::{Executor, HostArray};
use pallas_ir::{validate, DType};

fn backends() -> Vec<Box<dyn Executor>> {
    vec![
        Box::new(pallas_sim::Simulator::default()),
        Box::new(pallas_cpu::Cpu::default()),
    ]
}

/// Deterministic values in [-1, 1) (a multiplicative hash).
fn unit(i: usize, seed: u32) -> f64 {
    let h = (i as u32)
        .wrapping_mul(2654435761)
        .wrapping_add(seed.wrapping_mul(40503));
    (h >> 8) as f64 / (1u32 << 23) as f64 - 1.0
}

fn run(exec: &dyn Executor, k: &pallas_ir::Kernel, args: &[HostArray]) -> Vec<HostArray> {
    let vk = validate(k).unwrap_or_else(|e| panic!("{}: {e}", k.name));
    pallas_exec::run(exec, &vk, args)
        .unwrap_or_else(|e| panic!("{} on {}: {e}", k.name, exec.name()))
        .outputs
}

/// The simulator and the fast mode agree bit for bit, and the GPU (where
/// an adapter opens; with `CI=true` one must) within one unit in the last
/// place of the dtype on floats and exactly on integers; returns the
/// simulator's output.
fn same_on_every_backend(k: &pallas_ir::Kernel, args: &[HostArray]) -> HostArray {
    agree(k, args, true)
}

/// [`same_on_every_backend`] for kernels with transcendental functions,
/// which the fast mode computes with its own vectorized `exp` (a few f32
/// ulp from the simulator's libm): the fast mode within one ulp of the
/// dtype too.
fn close_on_every_backend(k: &pallas_ir::Kernel, args: &[HostArray]) -> HostArray {
    agree(k, args, false)
}

fn agree(k: &pallas_ir::Kernel, args: &[HostArray], cpu_exact: bool) -> HostArray {
    let outs: Vec<Vec<HostArray>> = backends().iter().map(|e| run(&**e, k, args)).collect();
    for o in outs.iter().skip(1) {
        assert_eq!(o[0].dtype(), outs[0][0].dtype());
        if cpu_exact {
            let (a, b) = (o[0].to_bits(), outs[0][0].to_bits());
            let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
            assert_eq!(
                differ, 0,
                "{}: the fast mode differs from the simulator",
                k.name
            );
        } else {
            within_one_ulp(&o[0], &outs[0][0], &format!("{} on the fast mode", k.name));
        }
    }
    let sim = outs.into_iter().next().unwrap().remove(0);
    if have_gpu() {
        let gpu = run(&pallas_wgpu::Wgpu::default(), k, args).remove(0);
        within_one_ulp(&gpu, &sim, &format!("{} on the GPU", k.name));
    }
    sim
}

/// Whether the GPU runs happen: an adapter, or `CI=true` (then a missing
/// one fails).
fn have_gpu() -> bool {
    match pallas_wgpu::Gpu::shared() {
        Ok(_) => true,
        Err(e) => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but no wgpu adapter: {e}"
            );
            false
        }
    }
}

/// `got` equals `want` on integers and bools, and on floats differs by at
/// most one step of the dtype's own bit pattern (NaN matching NaN).
fn within_one_ulp(got: &HostArray, want: &HostArray, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}");
    let d = want.dtype();
    for (i, (&g, &w)) in got.to_bits().iter().zip(&want.to_bits()).enumerate() {
        if !d.is_float() {
            assert_eq!(g, w, "{what}: element {i}");
            continue;
        }
        let (gv, wv) = (
            pallas_ir::Scalar::from_bits(d, g).as_f32().unwrap(),
            pallas_ir::Scalar::from_bits(d, w).as_f32().unwrap(),
        );
        if wv.is_nan() || gv.is_nan() {
            assert!(
                wv.is_nan() && gv.is_nan(),
                "{what}: element {i}: {gv} vs {wv}"
            );
            continue;
        }
        // Sign-magnitude bits to a line where neighbours differ by one.
        let top = 1u64 << (d.bits() - 1);
        let line = |b: u32| {
            let b = b as u64;
            if b & top != 0 {
                top - (b & (top - 1))
            } else {
                top + b
            }
        };
        assert!(
            line(g).abs_diff(line(w)) <= 1,
            "{what}: element {i} is {gv}, the simulator's {wv}"
        );
    }
}

#[test]
fn bf16_matmul_accumulates_in_f32_and_rounds_once_to_bf16() {
    let (m, n, kd) = (32, 48, 64);
    let x: Vec<bf16> = (0..m * kd).map(|i| bf16::from_f64(unit(i, 1))).collect();
    let y: Vec<bf16> = (0..kd * n).map(|i| bf16::from_f64(unit(i, 2))).collect();
    let args = [
        HostArray::BF16(ArrayD::from_shape_vec(IxDyn(&[m, kd]), x.clone()).unwrap()),
        HostArray::BF16(ArrayD::from_shape_vec(IxDyn(&[kd, n]), y.clone()).unwrap()),
    ];
    let k = corpus::matmul_lowp(m, n, kd, [16, 16, 32], DType::BF16, DType::F32, DType::BF16);
    let HostArray::BF16(o) = same_on_every_backend(&k, &args) else {
        panic!("a bf16 output")
    };
    // Reference: the exact sum in f64, rounded once to bf16. The kernel's
    // f32 sums differ from it by at most k * 2^-24 * sum|x*y| before the
    // final rounding, so the result is within one bf16 ulp of it plus that.
    let o = o.as_slice().unwrap();
    for i in 0..m {
        for j in 0..n {
            let (mut s, mut abs) = (0.0f64, 0.0f64);
            for p in 0..kd {
                let t = x[i * kd + p].to_f64() * y[p * n + j].to_f64();
                s += t;
                abs += t.abs();
            }
            let want = bf16::from_f64(s).to_f64();
            let got = o[i * n + j].to_f64();
            let ulp = (want.abs().max(1e-30)).log2().floor().exp2() * 2f64.powi(-7);
            let tol = ulp + kd as f64 * 2f64.powi(-24) * abs;
            assert!(
                (got - want).abs() <= tol,
                "o[{i}, {j}] = {got}, reference {want} (tolerance {tol})"
            );
        }
    }
}

#[test]
fn int8_matmul_into_i32_is_exact() {
    let (m, n, kd) = (16, 32, 64);
    let x: Vec<i8> = (0..m * kd).map(|i| (unit(i, 3) * 128.0) as i8).collect();
    let y: Vec<i8> = (0..kd * n).map(|i| (unit(i, 4) * 128.0) as i8).collect();
    let args = [
        HostArray::I8(ArrayD::from_shape_vec(IxDyn(&[m, kd]), x.clone()).unwrap()),
        HostArray::I8(ArrayD::from_shape_vec(IxDyn(&[kd, n]), y.clone()).unwrap()),
    ];
    let k = corpus::matmul_lowp(m, n, kd, [8, 16, 16], DType::I8, DType::I32, DType::I32);
    let HostArray::I32(o) = same_on_every_backend(&k, &args) else {
        panic!("an i32 output")
    };
    let o = o.as_slice().unwrap();
    for i in 0..m {
        for j in 0..n {
            let want: i64 = (0..kd)
                .map(|p| x[i * kd + p] as i64 * y[p * n + j] as i64)
                .sum();
            assert_eq!(o[i * n + j] as i64, want, "o[{i}, {j}]");
        }
    }
}

#[test]
fn int8_matmul_at_the_extremes_is_exact_past_two_to_the_24() {
    // -128 * -128 summed 2048 times is 2^25: past what one f32 sum holds
    // exactly, so the fast mode's chunked sgemm must split K. The +127
    // columns make every partial sum odd-sized and mixed in sign.
    let (m, n, kd) = (8, 8, 2048);
    let x: Vec<i8> = (0..m * kd)
        .map(|i| if i % 13 == 3 { 127 } else { -128 })
        .collect();
    let y: Vec<i8> = (0..kd * n)
        .map(|i| if i % 11 == 1 { 127 } else { -128 })
        .collect();
    let args = [
        HostArray::I8(ArrayD::from_shape_vec(IxDyn(&[m, kd]), x.clone()).unwrap()),
        HostArray::I8(ArrayD::from_shape_vec(IxDyn(&[kd, n]), y.clone()).unwrap()),
    ];
    let k = corpus::matmul_lowp(m, n, kd, [8, 8, kd], DType::I8, DType::I32, DType::I32);
    let HostArray::I32(o) = same_on_every_backend(&k, &args) else {
        panic!("an i32 output")
    };
    for i in 0..m {
        for j in 0..n {
            let want: i64 = (0..kd)
                .map(|p| x[i * kd + p] as i64 * y[p * n + j] as i64)
                .sum();
            assert!(want.abs() > 1 << 24, "the case must pass 2^24");
            assert_eq!(o[[i, j]] as i64, want, "o[{i}, {j}]");
        }
    }
}

#[test]
fn uint8_matmul_zero_extends_and_wraps_to_u8_without_a_preferred_dtype() {
    let (m, n, kd) = (8, 8, 16);
    let x: Vec<u8> = (0..m * kd)
        .map(|i| (unit(i, 5).abs() * 255.0) as u8)
        .collect();
    let y: Vec<u8> = (0..kd * n)
        .map(|i| (unit(i, 6).abs() * 255.0) as u8)
        .collect();
    let args = [
        HostArray::U8(ArrayD::from_shape_vec(IxDyn(&[m, kd]), x.clone()).unwrap()),
        HostArray::U8(ArrayD::from_shape_vec(IxDyn(&[kd, n]), y.clone()).unwrap()),
    ];
    // Accumulated in u8 itself (the scratch is u8): every step wraps.
    let k = corpus::matmul_lowp(m, n, kd, [8, 8, 8], DType::U8, DType::U8, DType::U8);
    let HostArray::U8(o) = same_on_every_backend(&k, &args) else {
        panic!("a u8 output")
    };
    for i in 0..m {
        for j in 0..n {
            let want: u64 = (0..kd)
                .map(|p| x[i * kd + p] as u64 * y[p * n + j] as u64)
                .sum();
            assert_eq!(o[[i, j]], (want % 256) as u8, "o[{i}, {j}]");
        }
    }
}

#[test]
fn int8_dequantization_into_bf16_is_exact() {
    let (rows, cols, scale) = (16, 64, 0.0390625f32);
    let q: Vec<i8> = (0..rows * cols)
        .map(|i| (unit(i, 7) * 128.0) as i8)
        .collect();
    let args = [HostArray::I8(
        ArrayD::from_shape_vec(IxDyn(&[rows, cols]), q.clone()).unwrap(),
    )];
    let k = corpus::dequant_i8(rows, cols, 8, scale);
    let HostArray::BF16(o) = same_on_every_backend(&k, &args) else {
        panic!("a bf16 output")
    };
    for (i, (&qv, ov)) in q.iter().zip(o.iter()).enumerate() {
        // An 8-bit integer times a bf16 needs at most 16 bits: the f64
        // product is exact, and rounding it once is the reference.
        let want = bf16::from_f64(qv as f64 * bf16::from_f32(scale).to_f64());
        assert_eq!(ov.to_bits(), want.to_bits(), "element {i}: {qv} * {scale}");
    }
}

/// Every finite f8e4m3fn value, by its bits, decoded from the format's
/// definition (sign, 4 exponent bits of bias 7, 3 mantissa bits; S.1111.111
/// is NaN; exponent 0 is subnormal).
fn e4m3fn_values() -> Vec<(u8, f64)> {
    (0u8..=255)
        .filter(|b| b & 0x7f != 0x7f)
        .map(|b| {
            let sign = if b & 0x80 != 0 { -1.0 } else { 1.0 };
            let (e, m) = (((b >> 3) & 0xf) as i32, (b & 7) as f64);
            let mag = if e == 0 {
                m / 8.0 * 2f64.powi(-6)
            } else {
                (1.0 + m / 8.0) * 2f64.powi(e - 7)
            };
            (b, sign * mag)
        })
        .collect()
}

#[test]
fn fp8_e4m3fn_cast_store_rounds_to_nearest_even_and_overflows_to_nan() {
    let specials = [
        0.0f32,
        -0.0,
        1.0,
        -1.5,
        0.3,
        17.0,
        448.0,
        460.0,
        470.0,
        -1e9,
        1e-9,
        0.001953125,
        0.0009765625,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    let mut xs: Vec<f32> = specials.to_vec();
    xs.extend((0..240).map(|i| (unit(i, 9) * 500.0) as f32));
    let n = xs.len();
    let args = [HostArray::F32(
        ArrayD::from_shape_vec(IxDyn(&[n]), xs.clone()).unwrap(),
    )];
    let k = corpus::cast_store(n, 16, DType::F32, DType::F8E4M3FN);
    let out = same_on_every_backend(&k, &args);
    assert_eq!(out.dtype(), DType::F8E4M3FN);
    let bits = out.to_bits();
    let table = e4m3fn_values();
    for (i, (&x, &b)) in xs.iter().zip(&bits).enumerate() {
        let is_nan = b & 0x7f == 0x7f;
        // Past 464 (halfway from 448 to the next power step) is NaN, as
        // XLA converts; so are NaN and the infinities.
        if x.is_nan() || x.abs() > 464.0 {
            assert!(is_nan, "element {i}: {x} gives bits {b:#04x}, not NaN");
            continue;
        }
        // The nearest value, ties to the even mantissa; zero keeps its sign.
        let xv = x as f64;
        let best = table
            .iter()
            .filter(|(tb, v)| *v != 0.0 || (tb & 0x80 != 0) == x.is_sign_negative())
            .min_by(|a, c| {
                let (da, dc) = ((a.1 - xv).abs(), (c.1 - xv).abs());
                da.partial_cmp(&dc).unwrap().then((a.0 & 1).cmp(&(c.0 & 1)))
            })
            .unwrap();
        assert_eq!(
            b as u8, best.0,
            "element {i}: {x} gives {b:#04x}, nearest is {:#04x} ({})",
            best.0, best.1
        );
    }
    // Back to f32: exact, NaN stays NaN.
    let back = corpus::cast_store(n, 16, DType::F8E4M3FN, DType::F32);
    let HostArray::F32(f) = same_on_every_backend(&back, &[out]) else {
        panic!("an f32 output")
    };
    for (&b, &v) in bits.iter().zip(f.iter()) {
        match table.iter().find(|(tb, _)| *tb as u32 == b) {
            Some(&(_, want)) => assert_eq!(v as f64, want),
            None => assert!(v.is_nan()),
        }
    }
}

#[test]
fn float_to_narrow_integer_casts_saturate_and_nan_is_zero() {
    let xs = [
        300.0f32,
        -300.0,
        f32::NAN,
        1e10,
        -1.7,
        2.5,
        127.9,
        -128.9,
        f32::INFINITY,
    ];
    let n = xs.len();
    let args = [HostArray::F32(
        ArrayD::from_shape_vec(IxDyn(&[n]), xs.to_vec()).unwrap(),
    )];
    let expect = |d: DType, x: f32| -> i64 {
        let (lo, hi) = match d {
            DType::I8 => (-128.0, 127.0),
            DType::U8 => (0.0, 255.0),
            DType::I16 => (-32768.0, 32767.0),
            _ => (0.0, 65535.0),
        };
        if x.is_nan() {
            0
        } else {
            (x as f64).trunc().clamp(lo, hi) as i64
        }
    };
    for d in [DType::I8, DType::U8, DType::I16, DType::U16] {
        let out = same_on_every_backend(&corpus::cast_store(n, n, DType::F32, d), &args);
        for (i, &x) in xs.iter().enumerate() {
            let got = out.get_flat(i).unwrap().as_i64().unwrap();
            assert_eq!(got, expect(d, x), "f32 {x} to {d}");
        }
    }
    // Integer to narrower integer wraps.
    let ints = [300i32, -300, 127, 128, -129, 65536 + 7];
    let args = [HostArray::I32(
        ArrayD::from_shape_vec(IxDyn(&[6]), ints.to_vec()).unwrap(),
    )];
    let out = same_on_every_backend(&corpus::cast_store(6, 6, DType::I32, DType::I8), &args);
    let want: Vec<i64> = ints
        .iter()
        .map(|&v| (v as u32 & 0xff) as u8 as i8 as i64)
        .collect();
    let got: Vec<i64> = (0..6)
        .map(|i| out.get_flat(i).unwrap().as_i64().unwrap())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn bf16_and_f16_keep_nan_and_infinities_through_casts() {
    let xs = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.0,
        1e-40,
        3.0e38,
        65520.0,
    ];
    let n = xs.len();
    let args = [HostArray::F32(
        ArrayD::from_shape_vec(IxDyn(&[n]), xs.to_vec()).unwrap(),
    )];
    for d in [DType::BF16, DType::F16] {
        let out = same_on_every_backend(&corpus::cast_store(n, n, DType::F32, d), &args);
        let back = same_on_every_backend(&corpus::cast_store(n, n, d, DType::F32), &[out]);
        let HostArray::F32(b) = back else { panic!() };
        for (i, &x) in xs.iter().enumerate() {
            let want = match d {
                DType::BF16 => bf16::from_f32(x).to_f32(),
                _ => half::f16::from_f32(x).to_f32(),
            };
            assert_eq!(b[i].to_bits(), want.to_bits(), "{x} through {d}");
        }
    }
}

#[test]
fn fp8_arithmetic_is_refused_and_bf16_literals_and_dot_into_parse() {
    let text = |d: &str, op: &str| {
        format!(
            "kernel k grid(parallel 1) {{\n\
             in x: {d}[4] vmem block[4] map(%0) {{\n yield %0\n }}\n\
             out o: {d}[4] vmem block[4] map(%1) {{\n yield %1\n }}\n\
             body(%2, %3) {{\n %4 = load %2[:]\n {op}\n store %3[:], %5\n }}\n}}\n"
        )
    };
    let e = pallas_ir::text::parse_and_validate(&text("f8e4m3fn", "%5 = add %4, %4"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("f8e4m3fn and f8e5m2 are storage only"), "{e}");
    // A bf16 literal rounds to nearest even; the kernel runs.
    let vk = pallas_ir::text::parse_and_validate(&text(
        "bf16",
        "%6 = const 1.00390625:bf16\n %5 = mul %4, %6",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let x = HostArray::BF16(ArrayD::from_elem(IxDyn(&[4]), bf16::from_f32(3.0)));
    let o = pallas_exec::run(&pallas_sim::Simulator::default(), &vk, &[x]).unwrap();
    assert_eq!(o.outputs[0].get_flat(0).unwrap().as_f32(), Some(3.0));
    // Out of range for the dtype.
    let e = pallas_ir::text::parse_and_validate(&text(
        "f16",
        "%6 = const 70000.0:f16\n %5 = mul %4, %6",
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("an f16 literal (out of its range)"), "{e}");
}

#[test]
fn bf16_and_fp8_npy_files_round_trip_as_numpy_saves_them() {
    let dir = std::env::temp_dir().join(format!("pallas-dtypes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = HostArray::from_bits(
        DType::BF16,
        &[2, 3],
        vec![0x3f80, 0xc000, 0x7fc0, 0, 0x8000, 1],
    )
    .unwrap();
    let p = dir.join("a.npy");
    a.write_npy(&p).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    assert!(String::from_utf8_lossy(&bytes[..64]).contains("'descr': '<V2'"));
    assert_eq!(
        HostArray::read_npy_as(&p, DType::BF16).unwrap().to_bits(),
        a.to_bits()
    );
    // Opaque 2-byte values are bf16 only where the kernel says so.
    let e = HostArray::read_npy_as(&p, DType::F32)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("it holds 2-byte opaque values") && e.contains("the kernel declares f32"),
        "{e}"
    );
    let e = HostArray::read_npy(&p).unwrap_err().to_string();
    assert!(e.contains("2-byte opaque values"), "{e}");
    // f16, int8 and fp8 likewise.
    for (d, bits) in [
        (DType::F16, vec![0x3c00u32, 0xfc00, 0x7e00]),
        (DType::I8, vec![0x80, 0x7f, 0xff]),
        (DType::U16, vec![0xffff, 0, 12345]),
        (DType::F8E4M3FN, vec![0x7f, 0x38, 0x80]),
        (DType::F8E5M2, vec![0x7c, 0x3c, 0xfe]),
    ] {
        let a = HostArray::from_bits(d, &[3], bits).unwrap();
        let p = dir.join(format!("{d}.npy"));
        a.write_npy(&p).unwrap();
        assert_eq!(
            HostArray::read_npy_as(&p, d).unwrap().to_bits(),
            a.to_bits(),
            "{d}"
        );
    }
    // A bf16 parameter given an f32 file.
    let f = dir.join("f.npy");
    HostArray::zeros(DType::F32, &[3]).write_npy(&f).unwrap();
    let e = HostArray::read_npy_as(&f, DType::BF16)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("it holds float32 (`<f4`), and the kernel declares bf16"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_tpu_lint_knows_each_widths_native_tile() {
    use pallas_exec::options::{Options, Target};
    let sim = pallas_sim::Simulator::new(Options::default().target(Target::Tpu));
    // (8, 128) blocks of bf16: 16-bit elements tile as (16, 128).
    let k = validate(&corpus::matmul_lowp(
        32,
        128,
        128,
        [8, 128, 128],
        DType::BF16,
        DType::F32,
        DType::BF16,
    ))
    .unwrap();
    let e = sim
        .compile(&k)
        .err()
        .expect("a TPU-target fault")
        .to_string();
    assert!(
        e.contains("`x`: block dimension 0 is 8, which is neither a multiple of 16 nor the array's 32 (16-bit blocks tile as (16, 128))"),
        "{e}"
    );
    // (32, 128) blocks of int8 pass.
    let k = validate(&corpus::matmul_lowp(
        64,
        128,
        128,
        [32, 128, 128],
        DType::I8,
        DType::I32,
        DType::I32,
    ))
    .unwrap();
    assert!(sim.compile(&k).is_ok());
}

#[test]
fn bf16_flash_attention_keeps_f32_statistics() {
    let (n, d) = (64, 32);
    let mk = |seed| -> Vec<bf16> { (0..n * d).map(|i| bf16::from_f64(unit(i, seed))).collect() };
    let (q, k, v) = (mk(11), mk(12), mk(13));
    let arr =
        |x: &Vec<bf16>| HostArray::BF16(ArrayD::from_shape_vec(IxDyn(&[n, d]), x.clone()).unwrap());
    let kernel = corpus::flash_attention_bf16(n, n, d, 16, 16);
    let HostArray::BF16(o) = close_on_every_backend(&kernel, &[arr(&q), arr(&k), arr(&v)]) else {
        panic!("a bf16 output")
    };
    // Reference: softmax(q k^T / sqrt(d)) v in f64 over the bf16 inputs.
    // The kernel rounds the probabilities to bf16 before `p @ v` (2^-8
    // relative each, so at most 2^-8 of max|v| on a row's weighted sum)
    // and the output once (2^-8 of itself): within 2^-7 of max|v| plus
    // 2^-8 relative.
    let f = |x: &Vec<bf16>, i: usize, j: usize| x[i * d + j].to_f64();
    let vmax = v.iter().map(|x| x.to_f64().abs()).fold(0.0, f64::max);
    for i in 0..n {
        let s: Vec<f64> = (0..n)
            .map(|j| (0..d).map(|c| f(&q, i, c) * f(&k, j, c)).sum::<f64>() / (d as f64).sqrt())
            .collect();
        let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
        let total: f64 = e.iter().sum();
        for c in 0..d {
            let want = (0..n).map(|j| e[j] * f(&v, j, c)).sum::<f64>() / total;
            let got = o[[i, c]].to_f64();
            let tol = 2f64.powi(-7) * vmax + 2f64.powi(-8) * want.abs();
            assert!(
                (got - want).abs() <= tol,
                "o[{i}, {c}] = {got}, reference {want}"
            );
        }
    }
}

#[test]
fn f16_softmax_is_computed_in_f32_and_rounded_once() {
    let (rows, cols) = (32, 128);
    let x: Vec<half::f16> = (0..rows * cols)
        .map(|i| half::f16::from_f64(unit(i, 21) * 6.0))
        .collect();
    let arg = HostArray::F16(ArrayD::from_shape_vec(IxDyn(&[rows, cols]), x.clone()).unwrap());
    let HostArray::F16(o) = close_on_every_backend(&corpus::softmax_f16(rows, cols, 8), &[arg])
    else {
        panic!("an f16 output")
    };
    // Reference: the softmax in f64, rounded once to f16; the kernel's f32
    // arithmetic is off by a few f32 ulp, so its f16 is the reference's or
    // a neighbour (2^-10 relative).
    for r in 0..rows {
        let row: Vec<f64> = (0..cols).map(|c| x[r * cols + c].to_f64()).collect();
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
        let total: f64 = e.iter().sum();
        for c in 0..cols {
            let want = half::f16::from_f64(e[c] / total).to_f64();
            let got = o[[r, c]].to_f64();
            assert!(
                (got - want).abs() <= 2f64.powi(-10) * want.abs() + 1e-7,
                "o[{r}, {c}] = {got}, reference {want}"
            );
        }
    }
}

/// Special values of a dtype, as its literals.
fn specials(d: DType) -> Vec<pallas_ir::Scalar> {
    use pallas_ir::Scalar as S;
    if d == DType::Bool {
        return vec![S::Bool(false), S::Bool(true)];
    }
    if d.is_int() {
        let (lo, hi): (i64, i64) = if d.is_signed_int() {
            (-(1i64 << (d.bits() - 1)), (1i64 << (d.bits() - 1)) - 1)
        } else {
            (0, (1i64 << d.bits()) - 1)
        };
        return [lo, hi, 0, 1, hi / 2 + 1]
            .into_iter()
            .map(|v| S::from_bits(d, v as u32))
            .collect();
    }
    // NaN, infinities (or the largest finite values), zeros, and a few
    // ordinary values, each rounded into the dtype.
    let f = |v: f32| {
        let bits = pallas_exec::eval::narrow::to_bits(d, &pallas_exec::eval::Data::F32(vec![v]))[0];
        S::from_bits(d, bits)
    };
    [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        1.5,
        -2.5,
        300.0,
        1e-3,
    ]
    .into_iter()
    .map(f)
    .collect()
}

#[test]
fn every_conversion_keeps_nan_and_infinities_as_xla_does() {
    for from in DType::ALL {
        let vals = specials(from);
        let n = vals.len();
        let arg =
            HostArray::from_bits(from, &[n], vals.iter().map(|s| s.to_bits()).collect()).unwrap();
        for to in DType::ALL {
            let out = same_on_every_backend(
                &corpus::cast_store(n, n, from, to),
                std::slice::from_ref(&arg),
            );
            for (i, v) in vals.iter().enumerate() {
                let got = out.get_flat(i).unwrap();
                let what = format!("{v} to {to}");
                match (v.as_f32(), got.as_f32(), got.as_i64()) {
                    // NaN: NaN in every float, 0 in every integer, true.
                    (Some(x), Some(g), _) if x.is_nan() => assert!(g.is_nan(), "{what}: {got}"),
                    (Some(x), None, Some(g)) if x.is_nan() => {
                        assert_eq!(g, (to == DType::Bool) as i64, "{what}")
                    }
                    // Infinities: saturate in integers; stay in floats that
                    // have them; NaN in f8e4m3fn, which has none.
                    (Some(x), None, Some(g)) if x.is_infinite() && to != DType::Bool => {
                        let limit = specials(to)[if x > 0.0 { 1 } else { 0 }].as_i64().unwrap();
                        assert_eq!(g, limit, "{what}")
                    }
                    (Some(x), Some(g), _) if x.is_infinite() => {
                        if to == DType::F8E4M3FN {
                            assert!(g.is_nan(), "{what}: {got}")
                        } else {
                            assert_eq!(g, x, "{what}")
                        }
                    }
                    // Exact values stay exact where the target holds them.
                    (Some(x), Some(g), _) if x == 1.5 || x == -2.5 || x == 0.0 => {
                        assert_eq!(g, x, "{what}")
                    }
                    _ => {}
                }
            }
        }
    }
}
