//! The command line end to end: every example kernel on every compiled-in
//! backend, and bad input, each with its exit code and message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pallas(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pallas"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the pallas binary runs")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pallas-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("examples/kernels"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pk"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_runs_on_every_backend() {
    let files = examples();
    assert_eq!(files.len(), 13);
    for f in files {
        let (code, out, err) = text(&pallas(&[
            "run",
            f.to_str().unwrap(),
            "--random",
            "0",
            "--backend",
            "all",
        ]));
        assert_eq!(code, 0, "{}: {err}", f.display());
        assert!(out.contains("sim: "), "{out}");
        assert!(out.contains("cpu: "), "{out}");
        assert!(out.contains("output `"), "{out}");
    }
}

#[test]
fn every_example_checks_and_formats_to_itself() {
    for f in examples() {
        let p = f.to_str().unwrap();
        let (code, out, err) = text(&pallas(&["check", p]));
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("is valid"), "{out}");
        let (code, out, _) = text(&pallas(&["fmt", p]));
        assert_eq!(code, 0);
        assert_eq!(out, std::fs::read_to_string(&f).unwrap());
    }
}

#[test]
fn outputs_are_written_as_npy_and_read_back_as_inputs() {
    let dir = scratch("npy");
    let d = dir.to_str().unwrap();
    let (code, _, err) = text(&pallas(&[
        "run",
        "examples/kernels/vector_add.pk",
        "--random",
        "1",
        "--out",
        d,
    ]));
    assert_eq!(code, 0, "{err}");
    let o = dir.join("o.npy");
    let a = pallas_exec::HostArray::read_npy(&o).unwrap();
    assert_eq!(a.shape(), &[1000]);
    // Feed the output back as both inputs: 2 * o.
    let arg = format!("x={}", o.display());
    let arg2 = format!("y={}", o.display());
    let out2 = scratch("npy2");
    let (code, _, err) = text(&pallas(&[
        "run",
        "examples/kernels/vector_add.pk",
        "--input",
        &arg,
        "--input",
        &arg2,
        "--out",
        out2.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{err}");
    let b = pallas_exec::HostArray::read_npy(out2.join("o.npy")).unwrap();
    let (a, b) = (a.as_f32().unwrap(), b.as_f32().unwrap());
    assert!(a.iter().zip(b.iter()).all(|(x, y)| 2.0 * x == *y));
}

#[test]
fn trace_is_chrome_trace_json() {
    let dir = scratch("trace");
    let t = dir.join("fa.json");
    let (code, _, err) = text(&pallas(&[
        "run",
        "examples/kernels/flash_attention.pk",
        "--random",
        "0",
        "--cores",
        "2",
        "--trace",
        t.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&t).unwrap()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    // flash_attention.pk: grid (4, 4).
    assert_eq!(events.iter().filter(|e| e["cat"] == "grid").count(), 16);
}

#[test]
fn missing_file() {
    let (code, _, err) = text(&pallas(&["check", "no/such/kernel.pk"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("no/such/kernel.pk") && err.contains("No such file"),
        "{err}"
    );
}

#[test]
fn parse_error_names_line_and_column() {
    let dir = scratch("parse");
    let f = dir.join("bad.pk");
    std::fs::write(
        &f,
        "kernel k grid() {\n  in x: f32[4] vmem\n  body(%x) {\n    %a = frobnicate %x\n  }\n}\n",
    )
    .unwrap();
    let (code, _, err) = text(&pallas(&["run", f.to_str().unwrap(), "--random", "0"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.pk:4:10: expected an operation, found `frobnicate`"),
        "{err}"
    );
}

#[test]
fn validation_errors_are_bad_input() {
    let dir = scratch("invalid");
    let f = dir.join("invalid.pk");
    std::fs::write(
        &f,
        "kernel k grid() {\n  in x: f32[4] any\n  body(%x) {\n    %a = load %x[:]\n  }\n}\n",
    )
    .unwrap();
    let (code, _, err) = text(&pallas(&["check", f.to_str().unwrap()]));
    assert_eq!(code, 2);
    assert!(
        err.contains("op `load` at 4:5") && err.contains("memory space `any`"),
        "{err}"
    );
}

#[test]
fn npy_of_the_wrong_dtype() {
    let dir = scratch("dtype");
    let f = dir.join("x.npy");
    pallas_exec::HostArray::zeros(pallas_ir::DType::I32, &[1000])
        .write_npy(&f)
        .unwrap();
    let arg = format!("x={}", f.display());
    let (code, _, err) = text(&pallas(&[
        "run",
        "examples/kernels/vector_add.pk",
        "--input",
        &arg,
        "--random",
        "0",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("input `x` must be f32[1000], the file holds i32[1000]"),
        "{err}"
    );
}

#[test]
fn npy_of_the_wrong_shape() {
    let dir = scratch("shape");
    let f = dir.join("x.npy");
    pallas_exec::HostArray::zeros(pallas_ir::DType::F32, &[999])
        .write_npy(&f)
        .unwrap();
    let arg = format!("x={}", f.display());
    let (code, _, err) = text(&pallas(&[
        "run",
        "examples/kernels/vector_add.pk",
        "--input",
        &arg,
        "--random",
        "0",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("input `x` must be f32[1000], the file holds f32[999]"),
        "{err}"
    );
}

#[test]
fn corrupt_npy() {
    let dir = scratch("corrupt");
    let f = dir.join("x.npy");
    std::fs::write(&f, b"not an npy file").unwrap();
    let arg = format!("x={}", f.display());
    let (code, _, err) = text(&pallas(&[
        "run",
        "examples/kernels/vector_add.pk",
        "--input",
        &arg,
        "--random",
        "0",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("x.npy: not a readable .npy array"), "{err}");
}

#[test]
fn unknown_input_name() {
    let (code, _, err) = text(&pallas(&[
        "run",
        "examples/kernels/vector_add.pk",
        "--input",
        "z=z.npy",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("kernel `vector_add` has no input named `z` (its inputs: x, y)"),
        "{err}"
    );
}

#[test]
fn missing_input() {
    let (code, _, err) = text(&pallas(&["run", "examples/kernels/vector_add.pk"]));
    assert_eq!(code, 2);
    assert!(err.contains("input `x` was not given"), "{err}");
}

#[test]
fn unknown_backend() {
    let (code, _, err) = text(&pallas(&[
        "run",
        "examples/kernels/seed.pk",
        "--random",
        "0",
        "--backend",
        "tpu",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown backend `tpu`: this build has sim"),
        "{err}"
    );
}

#[test]
fn bad_usage() {
    let (code, _, err) = text(&pallas(&["run"]));
    assert_eq!(code, 2);
    assert!(err.contains("<KERNEL>"), "{err}");
}

#[test]
fn kernel_faults_exit_1() {
    let dir = scratch("fault");
    let f = dir.join("oob.pk");
    std::fs::write(
        &f,
        "kernel oob grid(parallel 2) {\n  out o: f32[16] vmem block[8] map(%i) {\n    %one = const 1:i32\n    %b = add %i, %one\n    yield %b\n  }\n  body(%o) {\n  }\n}\n",
    )
    .unwrap();
    let (code, _, err) = text(&pallas(&["run", f.to_str().unwrap()]));
    assert_eq!(code, 1);
    assert!(
        err.contains("kernel `oob`, core 0, grid point [1]") && err.contains("block index 2"),
        "{err}"
    );
}

#[test]
fn races_are_reported_with_the_switch() {
    let dir = scratch("race");
    let f = dir.join("race.pk");
    std::fs::write(
        &f,
        "kernel race grid(parallel 2) {\n  out o: f32[8] vmem block[8] map(%i) {\n    %z = const 0:i32\n    yield %z\n  }\n  body(%o) {\n    %f = const 1.0:f32\n    store %o[:], %f\n  }\n}\n",
    )
    .unwrap();
    let p = f.to_str().unwrap();
    assert_eq!(text(&pallas(&["run", p, "--cores", "2"])).0, 0);
    let (code, _, err) = text(&pallas(&["run", p, "--cores", "2", "--detect-races"]));
    assert_eq!(code, 1);
    assert!(err.contains("data race on `o` element 0"), "{err}");
}

#[test]
fn wgsl_prints_a_module_naga_accepts() {
    let (code, out, err) = text(&pallas(&["wgsl", "examples/kernels/matmul.pk"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("@compute @workgroup_size("), "{out}");
    assert!(out.contains("kernel `matmul`: general"), "{out}");
    pallas::wgpu::validate_wgsl(&out).unwrap_or_else(|e| panic!("{e}"));
    let (code, out, _) = text(&pallas(&["wgsl", "examples/kernels/seed.pk"]));
    assert_eq!(code, 0);
    assert!(out.contains("elementwise"), "{out}");
}

#[test]
fn wgsl_of_an_unsupported_kernel_says_what() {
    let dir = scratch("wgsl");
    let f = dir.join("print.pk");
    std::fs::write(
        &f,
        "kernel p grid() {\n  out o: f32[2] vmem\n  body(%o) {\n    %one = const 1:i32\n    debug_print \"x {}\", %one\n  }\n}\n",
    )
    .unwrap();
    let (code, _, err) = text(&pallas(&["wgsl", f.to_str().unwrap()]));
    assert_eq!(code, 2);
    assert!(err.contains("does not support `debug_print`"), "{err}");
}

#[test]
fn non_utf8_and_truncated_kernel_files() {
    let dir = scratch("bytes");
    let f = dir.join("binary.pk");
    std::fs::write(&f, [0x6b, 0x65, 0xff, 0xfe, 0x00]).unwrap();
    let (code, _, err) = text(&pallas(&["check", f.to_str().unwrap()]));
    assert_eq!(code, 2);
    assert!(
        err.contains("not UTF-8 text (invalid byte at offset 2)"),
        "{err}"
    );
    let src = std::fs::read_to_string(root().join("examples/kernels/matmul.pk")).unwrap();
    let t = dir.join("truncated.pk");
    std::fs::write(&t, &src[..src.len() / 2]).unwrap();
    let (code, _, err) = text(&pallas(&["check", t.to_str().unwrap()]));
    assert_eq!(code, 2);
    assert!(
        err.contains("truncated.pk:") && err.contains("expected"),
        "{err}"
    );
}

#[test]
fn all_compares_sim_and_cpu_and_skips_what_cpu_does_not_support() {
    for k in ["seed", "matmul", "histogram"] {
        let f = format!("examples/kernels/{k}.pk");
        let (code, out, err) = text(&pallas(&["run", &f, "--random", "0", "--backend", "all"]));
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("largest difference cpu vs sim: "), "{out}");
    }
    let dir = scratch("handshake");
    let f = dir.join("handshake.pk");
    std::fs::write(
        &f,
        "kernel hs grid(parallel 2) {\n  out o: f32[2] vmem block[1] map(%i) {\n    yield %i\n  }\n  scratch s: sem[1]\n  body(%o, %s) {\n    %c = program_id 0\n    %one = const 1:i32\n    %other = sub %one, %c\n    semaphore_signal %s[0], %one core %other\n    semaphore_wait %s[0], %one\n    %f = const 1.0:f32\n    store %o[:], %f\n  }\n}\n",
    )
    .unwrap();
    let p = f.to_str().unwrap();
    let (code, out, err) = text(&pallas(&["run", p, "--cores", "2", "--backend", "all"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cpu: skipped: kernel `hs`: backend `cpu` does not support a semaphore signal to another core"), "{out}");
    let (code, _, err) = text(&pallas(&["run", p, "--backend", "cpu"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("does not support a semaphore signal to another core"),
        "{err}"
    );
}

#[test]
fn all_reports_every_backend_that_fails() {
    // A dynamic slice past its block at grid point 3: every backend
    // reports it, and `all` says so for each rather than stopping at one.
    let dir = scratch("all_fail");
    let f = dir.join("oob.pk");
    std::fs::write(
        &f,
        "kernel oob grid(arbitrary 4) {\n  in x: f32[256] vmem block[256] map(%i) {\n    %z = const 0:i32\n    yield %z\n  }\n  out o: f32[128] vmem block[128] map(%j) {\n    %z2 = const 0:i32\n    yield %z2\n  }\n  body(%x, %o) {\n    %p = program_id 0\n    %k = const 64:i32\n    %s = mul %p, %k\n    %v = load %x[ds(%s, 128)]\n    store %o[:], %v\n  }\n}\n",
    )
    .unwrap();
    let p = f.to_str().unwrap();
    let (code, out, err) = text(&pallas(&["run", p, "--random", "0", "--backend", "all"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("sim: failed: "), "{out}");
    assert!(out.contains("cpu: failed: "), "{out}");
    assert!(err.contains("sim: ") && err.contains("cpu: "), "{err}");
    assert!(err.contains("out-of-bounds"), "{err}");
}

#[test]
fn every_simulator_option_is_a_flag() {
    // --target tpu: the softmax example's (8, 256) f32 blocks pass; a
    // kernel with (8, 50) blocks does not.
    let dir = scratch("sim_flags");
    let f = dir.join("narrow.pk");
    std::fs::write(
        &f,
        "kernel narrow grid(parallel 2) {\n  in x: f32[8, 100] vmem block[8, 50] map(%i) {\n    %z = const 0:i32\n    yield %z, %i\n  }\n  out o: f32[8, 100] vmem block[8, 50] map(%j) {\n    %z2 = const 0:i32\n    yield %z2, %j\n  }\n  body(%x, %o) {\n    %v = load %x[:, :]\n    store %o[:, :], %v\n  }\n}\n",
    )
    .unwrap();
    let p = f.to_str().unwrap();
    let (code, _, err) = text(&pallas(&["run", p, "--random", "0"]));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = text(&pallas(&["run", p, "--random", "0", "--target", "tpu"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("TPU constraint"), "{err}");
    // --out-of-bounds-reads uninitialized turns the out-of-bounds read of
    // the `all` test's kernel into NaNs past the edge.
    let f = dir.join("oob.pk");
    std::fs::write(
        &f,
        "kernel oob grid(arbitrary 4) {\n  in x: f32[256] vmem block[256] map(%i) {\n    %z = const 0:i32\n    yield %z\n  }\n  out o: f32[128] vmem block[128] map(%j) {\n    %z2 = const 0:i32\n    yield %z2\n  }\n  body(%x, %o) {\n    %p = program_id 0\n    %k = const 64:i32\n    %s = mul %p, %k\n    %v = load %x[ds(%s, 128)]\n    store %o[:], %v\n  }\n}\n",
    )
    .unwrap();
    let p = f.to_str().unwrap();
    let (code, _, _) = text(&pallas(&["run", p, "--random", "0"]));
    assert_eq!(code, 1);
    let out = dir.join("out");
    let (code, _, err) = text(&pallas(&[
        "run",
        p,
        "--random",
        "0",
        "--out-of-bounds-reads",
        "uninitialized",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{err}");
    let o = pallas::HostArray::read_npy(out.join("o.npy")).unwrap();
    let o = o.as_f32().unwrap();
    assert!(o.iter().take(64).all(|v| !v.is_nan()));
    assert!(o.iter().skip(64).all(|v| v.is_nan()));
    // --max-loop-iterations and --memory-limit.
    let (code, _, err) = text(&pallas(&[
        "run",
        "examples/kernels/histogram.pk",
        "--random",
        "0",
        "--max-loop-iterations",
        "10",
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("loop iterations"), "{err}");
    let (code, _, err) = text(&pallas(&[
        "run",
        "examples/kernels/matmul.pk",
        "--random",
        "0",
        "--memory-limit",
        "1000",
    ]));
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("over the limit"), "{err}");
    // --uninitialized-memory zero and --skip-floating-point-ops run.
    for flags in [
        &["--uninitialized-memory", "zero"][..],
        &["--skip-floating-point-ops"][..],
    ] {
        let mut a = vec!["run", "examples/kernels/softmax.pk", "--random", "0"];
        a.extend_from_slice(flags);
        let (code, _, err) = text(&pallas(&a));
        assert_eq!(code, 0, "{flags:?}: {err}");
    }
}

#[test]
fn no_gpu_adapter_is_a_usage_error_not_a_kernel_failure() {
    // WGPU_BACKEND names a backend this build lacks: no adapter.
    let out = Command::new(env!("CARGO_BIN_EXE_pallas"))
        .args([
            "run",
            "examples/kernels/seed.pk",
            "--random",
            "0",
            "--backend",
            "wgpu",
        ])
        .current_dir(root())
        .env("WGPU_BACKEND", "dx12")
        .output()
        .unwrap();
    let (code, _, err) = text(&out);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("wgpu: no device: "), "{err}");
    // Under `all` it is skipped with the reason and the others run.
    let out = Command::new(env!("CARGO_BIN_EXE_pallas"))
        .args([
            "run",
            "examples/kernels/seed.pk",
            "--random",
            "0",
            "--backend",
            "all",
        ])
        .current_dir(root())
        .env("WGPU_BACKEND", "dx12")
        .output()
        .unwrap();
    let (code, out, err) = text(&out);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wgpu: skipped: "), "{out}");
}

#[test]
fn one_options_value_for_every_backend_and_a_note_where_checks_do_not_apply() {
    // The simulator honours the checking options; the fast mode runs
    // without them and says which it leaves aside.
    let out = pallas(&[
        "run",
        "examples/kernels/seed.pk",
        "--random",
        "0",
        "--backend",
        "cpu",
        "--detect-races",
        "--cores",
        "2",
    ]);
    let (code, said, err) = text(&out);
    assert_eq!(code, 0, "{err}");
    assert!(
        said.contains(
            "cpu: runs without the simulator's checks; leaves aside --cores, --detect-races"
        ),
        "{said}"
    );
    let out = pallas(&[
        "run",
        "examples/kernels/seed.pk",
        "--random",
        "0",
        "--backend",
        "sim",
        "--detect-races",
        "--cores",
        "2",
    ]);
    let (code, said, err) = text(&out);
    assert_eq!(code, 0, "{err}");
    assert!(!said.contains("leaves aside"), "{said}");
}

#[test]
fn devices_checks_the_kernels_mesh_and_inputs_lead_with_the_device_axis() {
    let k = "examples/kernels/ring_all_gather.pk";
    let (code, out, err) = text(&pallas(&[
        "run",
        k,
        "--random",
        "0",
        "--devices",
        "4",
        "--detect-races",
    ]));
    assert_eq!(code, 0, "{err}");
    // Four devices, each gathering four (8, 128) shards.
    assert!(out.contains("output `o`: f32[4, 4, 8, 128]"), "{out}");
    let (code, _, err) = text(&pallas(&["run", k, "--random", "0", "--devices", "8"]));
    assert_ne!(code, 0);
    assert!(
        err.contains(
            "--devices 8: kernel `ring_all_gather` runs on 4 device(s): its mesh is (x 4)"
        ),
        "{err}"
    );
    let (code, _, err) = text(&pallas(&[
        "run",
        "examples/kernels/seed.pk",
        "--random",
        "0",
        "--devices",
        "2",
    ]));
    assert_ne!(code, 0);
    assert!(err.contains("it declares no mesh"), "{err}");
}
