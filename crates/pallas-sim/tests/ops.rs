//! Operation semantics on the simulator, against values worked by hand.

use ndarray::{ArrayD, IxDyn};
use pallas_exec::Executor;
use pallas_exec::HostArray;
use pallas_ir::{text, validate};
use pallas_sim::Simulator;

/// Runs a kernel with one i32[8] output `o` (and no inputs) and returns it.
fn run_i32(body: &str) -> Vec<i32> {
    let src = format!("kernel k grid() {{\n  out o: i32[8] vmem\n  body(%o) {{\n{body}\n  }}\n}}");
    let k = validate(&text::parse(&src).unwrap_or_else(|e| panic!("{e}\n{src}")))
        .unwrap_or_else(|e| panic!("{e}\n{src}"));
    let out = Simulator::default()
        .compile(&k)
        .unwrap()
        .launch(&[])
        .unwrap();
    out.outputs[0].as_i32().unwrap().iter().copied().collect()
}

fn run_f32(body: &str, x: &[f32]) -> Vec<f32> {
    let src = format!("kernel k grid() {{\n  in x: f32[8] vmem\n  out o: f32[8] vmem\n  body(%x, %o) {{\n{body}\n  }}\n}}");
    let k = validate(&text::parse(&src).unwrap_or_else(|e| panic!("{e}\n{src}")))
        .unwrap_or_else(|e| panic!("{e}\n{src}"));
    let xa = HostArray::F32(ArrayD::from_shape_vec(IxDyn(&[8]), x.to_vec()).unwrap());
    let out = Simulator::default()
        .compile(&k)
        .unwrap()
        .launch(&[xa])
        .unwrap();
    out.outputs[0].as_f32().unwrap().iter().copied().collect()
}

#[test]
fn iota_select_and_integer_division_by_zero() {
    let o = run_i32(
        "    %i = iota i32[8] dim 0\n    %z = const 0:i32\n    %q = div %i, %z\n    %r = rem %i, %z\n    %two = const 2:i32\n    %even = cmp eq %r, %r\n    %m = rem %i, %two\n    %odd = cmp ne %m, %z\n    %s = select %odd, %q, %r\n    store %o[:], %s",
    );
    // x / 0 = -1, x % 0 = x (XLA): odd lanes take the quotient.
    assert_eq!(o, vec![0, -1, 2, -1, 4, -1, 6, -1]);
}

#[test]
fn atomics_return_old_values() {
    let o = run_i32(
        "    %five = const 5:i32\n    store %o[:], %five\n    %three = const 3:i32\n    %a = atomic max %o[0], %three\n    %b = atomic min %o[1], %three\n    %c = atomic xor %o[2], %three\n    %d = atomic xchg %o[3], %three\n    %e = atomic add %o[4], %three\n    %f = atomic_cas %o[5], %five, %three\n    %g = atomic_cas %o[6], %three, %three\n    %sum1 = add %a, %b\n    %sum2 = add %c, %d\n    %sum3 = add %e, %f\n    %t1 = add %sum1, %sum2\n    %t2 = add %sum3, %g\n    %t = add %t1, %t2\n    store %o[7], %t",
    );
    // max(5,3)=5, min=3, 5^3=6, xchg 3, 5+3=8, cas hit -> 3, cas miss -> 5;
    // every old value was 5: 7 * 5 = 35.
    assert_eq!(o, vec![5, 3, 6, 3, 8, 3, 5, 35]);
}

#[test]
fn swap_while_and_run_scoped() {
    let o = run_i32(
        "    %one = const 1:i32\n    store %o[:], %one\n    %z = const 0:i32\n    %n, %acc = while init(%z, %z) cond(%i, %a) {\n      %lim = const 5:i32\n      %c = cmp lt %i, %lim\n      yield %c\n    } do(%j, %b) {\n      %j1 = add %j, %one\n      %b1 = add %b, %j\n      yield %j1, %b1\n    }\n    %old = swap %o[ds(0, 1)], %acc\n    %r = run_scoped(%s: i32[2] smem) {\n      store %s[:], %n\n      %v = load %s[1]\n      yield %v\n    }\n    store %o[1], %r\n    %o0 = reshape %old to []\n    store %o[2], %o0",
    );
    // while: i = 0..5, acc = 0+1+2+3+4 = 10; swap returns the old 1.
    assert_eq!(o, vec![10, 5, 1, 1, 1, 1, 1, 1]);
}

#[test]
fn shape_ops_and_reductions() {
    let o = run_i32(
        "    %i = iota i32[2, 4] dim 1\n    %j = iota i32[2, 4] dim 0\n    %t = transpose %j perm [1, 0]\n    %tt = reshape %t to [2, 4]\n    %s = add %i, %tt\n    %c = cumsum %s axis 1\n    %r = reduce sum %c axes [0]\n    %am = reduce argmax %s axes [1]\n    %cat = concatenate %r, %r axis 0\n    %sl = slice %cat start [0] limit [8] strides [1]\n    store %o[:], %sl\n    %m = reshape %am to [2]\n    store %o[ds(6, 2)], %m",
    );
    // i = [[0,1,2,3],[0,1,2,3]]; transpose of j ([[0,0,0,0],[1,1,1,1]])
    // read back row-major as [[0,1,0,1],[0,1,0,1]]; s = [[0,2,2,4],[0,2,2,4]];
    // cumsum rows [0,2,4,8] twice; column sums [0,4,8,16]; argmax of each
    // row of s is 3.
    assert_eq!(o, vec![0, 4, 8, 16, 0, 4, 3, 3]);
}

#[test]
fn casts_bitcasts_and_broadcasts() {
    let o = run_f32(
        "    %v = load %x[:]\n    %i = cast %v to i32\n    %b = bitcast %i to f32\n    %back = bitcast %b to i32\n    %f = cast %back to f32\n    %s = reduce max %f axes [0]\n    %bc = broadcast_in_dim %s to [8] dims []\n    %e = erf %bc\n    %r = round %v\n    %sum = add %e, %r\n    store %o[:], %sum",
        &[-2.5, -1.5, 0.4, 0.5, 1.5, 2.5, 3.7, 7.9],
    );
    // cast truncates: max is 7; erf(7) = 1 in f32; round is half away from
    // zero.
    let rounded = [-3.0, -2.0, 0.0, 1.0, 2.0, 3.0, 4.0, 8.0];
    let want: Vec<f32> = rounded.iter().map(|r| 1.0 + r).collect();
    assert_eq!(o, want);
}

#[test]
fn dot_with_transposes() {
    let o = run_f32(
        "    %v = load %x[:]\n    %a = reshape %v to [2, 4]\n    %d = dot %a, %a transpose_rhs\n    %e = dot %a, %a transpose_lhs\n    %df = reshape %d to [4]\n    %es = reduce sum %e axes [0, 1]\n    %sl = slice %df start [0] limit [4] strides [1]\n    %z = full 0.0:f32 [4]\n    %eb = broadcast_in_dim %es to [4] dims []\n    %cat = concatenate %sl, %eb axis 0\n    store %o[:], %cat",
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
    );
    // a a^T = [[30, 70], [70, 174]]; a^T a sums to (sum of columns)^2
    // summed: (1+5)^2... = sum_ij (a_0i a_0j + a_1i a_1j) = 10^2 + 26^2 = 776.
    assert_eq!(o, vec![30.0, 70.0, 70.0, 174.0, 776.0, 776.0, 776.0, 776.0]);
}
