//! Deterministic test data (splitmix64), so every run sees the same inputs.

use ndarray::{ArrayD, IxDyn};
use pallas_exec::HostArray;

/// A small deterministic generator.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    /// Uniform integer in `[0, n)`.
    pub fn below(&mut self, n: u32) -> u32 {
        (self.next_u64() % n.max(1) as u64) as u32
    }
}

/// An f32 array uniform in `[-1, 1)`.
pub fn uniform_f32(rng: &mut Rng, shape: &[usize]) -> HostArray {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    HostArray::F32(ArrayD::from_shape_vec(IxDyn(shape), v).expect("shape"))
}

/// An i32 array uniform in `[0, n)`.
pub fn ints_below(rng: &mut Rng, shape: &[usize], n: u32) -> HostArray {
    let len: usize = shape.iter().product();
    let v: Vec<i32> = (0..len).map(|_| rng.below(n) as i32).collect();
    HostArray::I32(ArrayD::from_shape_vec(IxDyn(shape), v).expect("shape"))
}
