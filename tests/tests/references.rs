//! The references themselves, checked on tiny inputs worked by hand, and
//! every case built at both sizes with a valid kernel and matching args.

use ndarray::{arr1, arr2, ArrayD};
use pallas_exec::check_args;
use pallas_tests::{case, case_names, reference as r, Size};

fn dyn2(a: ndarray::Array2<f32>) -> ArrayD<f32> {
    a.into_dyn()
}

#[test]
fn matmul_reference_by_hand() {
    let x = dyn2(arr2(&[[1.0, 2.0], [3.0, 4.0]]));
    let y = dyn2(arr2(&[[5.0, 6.0], [7.0, 8.0]]));
    assert_eq!(r::matmul(&x, &y), dyn2(arr2(&[[19.0, 22.0], [43.0, 50.0]])));
}

#[test]
fn softmax_reference_by_hand() {
    let x = dyn2(arr2(&[[0.0, (2.0f32).ln()]]));
    let o = r::softmax(&x);
    assert!((o[[0, 0]] - 1.0 / 3.0).abs() < 1e-7 && (o[[0, 1]] - 2.0 / 3.0).abs() < 1e-7);
}

#[test]
fn norms_reference_by_hand() {
    let x = dyn2(arr2(&[[1.0, 3.0]]));
    let ones = arr1(&[1.0f32, 1.0]).into_dyn();
    let zeros = arr1(&[0.0f32, 0.0]).into_dyn();
    // mean 2, variance 1: (-1, 1).
    let ln = r::layer_norm(&x, &ones, &zeros, 0.0);
    assert_eq!(ln, dyn2(arr2(&[[-1.0, 1.0]])));
    // mean square 5: (1, 3) / sqrt(5).
    let rms = r::rms_norm(&x, &ones, 0.0);
    let s = 5.0f32.sqrt();
    assert!((rms[[0, 0]] - 1.0 / s).abs() < 1e-6 && (rms[[0, 1]] - 3.0 / s).abs() < 1e-6);
}

#[test]
fn scans_and_sums_by_hand() {
    let x = dyn2(arr2(&[[1.0, 2.0, 3.0]]));
    assert_eq!(r::cumsum_rows(&x), dyn2(arr2(&[[1.0, 3.0, 6.0]])));
    let v = arr1(&[1.0f32, 2.0, 3.0, 4.0, 5.0]).into_dyn();
    assert_eq!(r::block_sum(&v, 2), arr1(&[3.0f32, 7.0, 5.0]).into_dyn());
    let h = r::histogram(&arr1(&[0, 2, 2, 1, 2]).into_dyn(), 4);
    assert_eq!(h, arr1(&[1, 1, 3, 0]).into_dyn());
}

#[test]
fn attention_with_equal_keys_averages_values() {
    let q = dyn2(arr2(&[[1.0, 0.0]]));
    let k = dyn2(arr2(&[[0.5, 0.5], [0.5, 0.5]]));
    let v = dyn2(arr2(&[[2.0, 0.0], [4.0, 2.0]]));
    assert_eq!(r::attention(&q, &k, &v), dyn2(arr2(&[[3.0, 1.0]])));
}

#[test]
fn gather_by_hand() {
    let t = dyn2(arr2(&[[1.0], [2.0], [3.0], [4.0]]));
    let idx = arr1(&[1, 0, 1]).into_dyn();
    assert_eq!(
        r::gather(&t, &idx, 2),
        dyn2(arr2(&[[3.0], [4.0], [1.0], [2.0], [3.0], [4.0]]))
    );
}

#[test]
fn every_case_builds_valid_kernels_with_matching_args() {
    for size in [Size::Small, Size::Full] {
        for name in case_names() {
            let c = case(name, size).expect("case");
            pallas_ir::validate(&c.kernel).unwrap_or_else(|e| panic!("{name}: {e}"));
            check_args(&c.kernel, &c.args).unwrap_or_else(|e| panic!("{name}: {e}"));
            let outs = c.kernel.params_of(pallas_ir::ParamKind::Output).count();
            assert_eq!(outs, c.expected.len(), "{name}");
        }
    }
}
