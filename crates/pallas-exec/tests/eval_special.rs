//! The special functions of the reference semantics (`pallas_exec::eval`)
//! that the backends share: `erf_inv` against `erf` (an independent f64
//! series), and its edge values.

use pallas_exec::eval::{erf, erf_inv};

#[test]
fn erf_inv_inverts_erf() {
    // erf(erf_inv(y)) == y to within the f32 rounding of x, scaled by
    // erf's slope (at most 2/sqrt(pi)), over (-0.99, 0.99).
    for i in -990..=990 {
        let y = i as f32 / 1000.0;
        let x = erf_inv(y);
        let back = erf(x) as f64;
        let tol = 4.0 * f32::EPSILON as f64 * (x.abs() as f64).max(1e-3);
        assert!(
            (back - y as f64).abs() <= tol.max(1e-7),
            "y {y}: erf_inv {x}, erf of it {back}"
        );
        assert_eq!(erf_inv(-y), -x, "odd at {y}");
    }
}

#[test]
fn erf_inv_edges() {
    assert_eq!(erf_inv(0.0), 0.0);
    assert_eq!(erf_inv(1.0), f32::INFINITY);
    assert_eq!(erf_inv(-1.0), f32::NEG_INFINITY);
    assert!(erf_inv(1.5).is_nan());
    assert!(erf_inv(f32::NAN).is_nan());
    // The tail: monotone up to the last f32 below 1.
    let mut y = 0.99f32;
    let mut last = erf_inv(y);
    while y < 1.0 {
        y = f32::from_bits(y.to_bits() + 997).min(f32::from_bits(1.0f32.to_bits() - 1));
        let x = erf_inv(y);
        assert!(x >= last && x.is_finite(), "{y}: {x} after {last}");
        last = x;
        if y == f32::from_bits(1.0f32.to_bits() - 1) {
            break;
        }
    }
}
