//! `dot` of 8-bit integers into i32 with AVX2's `vpmaddwd`: operands
//! widened to i16 (every i8 and u8 value is one), B packed as pairs of rows
//! so that one instruction multiplies 16 pairs and adds each pair into an
//! i32 lane, accumulated with wrapping adds. Exact: a pair's sum is below
//! 2^17, and an i32 sum that wraps is the reference's wrapping sum (integer
//! addition in any order gives the same result modulo 2^32).

/// Rows of the output each micro-kernel step computes.
const MR: usize = 4;
/// Columns of the output each micro-kernel step computes (two AVX2
/// registers of 8 i32 lanes).
const NR: usize = 16;

/// An 8-bit integer value as its container holds it (`i8` in i32, `u8`
/// in u32).
pub trait Held: Copy {
    /// The value, which fits an i16.
    fn to_i16(self) -> i16;
}

impl Held for i32 {
    fn to_i16(self) -> i16 {
        self as i16
    }
}

impl Held for u32 {
    fn to_i16(self) -> i16 {
        self as i16
    }
}

/// `C = A . B` (`m x k` by `k x n`, entries i8 or u8 values; `ta`/`tb`:
/// the operand is stored transposed) into `out` (`m x n`, row major), or
/// `false` when this machine has no AVX2 (nothing written).
pub fn gemm<A: Held, B: Held>(
    a: &[A],
    b: &[B],
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    out: &mut Vec<i32>,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            SCRATCH.with(|cell| {
                let (ap, bp, c) = &mut *cell.borrow_mut();
                let (mp, np, kp) = (
                    m.next_multiple_of(MR),
                    n.next_multiple_of(NR),
                    k.div_ceil(2),
                );
                pack_a(a, (m, k), ta, (mp, kp), ap);
                pack_b(b, (k, n), tb, (kp, np), bp);
                // Straight into `out` when no padding is needed.
                let direct = mp == m && np == n;
                let dst = if direct { &mut *out } else { &mut *c };
                dst.clear();
                dst.resize(mp * np, 0);
                // SAFETY: AVX2 is present (checked above), and every
                // access stays inside the buffers sized here.
                unsafe { kernel_avx2(ap, bp, dst, (mp, kp, np)) };
                if !direct {
                    out.clear();
                    out.reserve(m * n);
                    for i in 0..m {
                        out.extend_from_slice(&c[i * np..i * np + n]);
                    }
                }
            });
            return true;
        }
    }
    let _ = (a, b, m, k, n, ta, tb, out);
    false
}

thread_local! {
    /// Packed operands and the padded product, kept per thread: allocated
    /// per call, blocks this size go to `mmap` and fault their pages in on
    /// every grid point.
    static SCRATCH: std::cell::RefCell<(Vec<i16>, Vec<i16>, Vec<i32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

/// A as i16, row major, `mp` rows of `2 kp` (zero padded).
fn pack_a<A: Held>(
    a: &[A],
    (m, k): (usize, usize),
    ta: bool,
    (mp, kp): (usize, usize),
    ap: &mut Vec<i16>,
) {
    ap.clear();
    ap.resize(mp * kp * 2, 0);
    for i in 0..m {
        let dst = &mut ap[i * kp * 2..i * kp * 2 + k];
        if ta {
            for (p, d) in dst.iter_mut().enumerate() {
                *d = a[p * m + i].to_i16();
            }
        } else {
            for (d, &x) in dst.iter_mut().zip(&a[i * k..(i + 1) * k]) {
                *d = x.to_i16();
            }
        }
    }
}

/// B as pairs of rows: `bp[q][j] = (B[2q][j], B[2q + 1][j])`, `kp` pairs
/// of `np` columns (zero padded).
fn pack_b<B: Held>(
    b: &[B],
    (k, n): (usize, usize),
    tb: bool,
    (kp, np): (usize, usize),
    bp: &mut Vec<i16>,
) {
    bp.clear();
    bp.resize(kp * np * 2, 0);
    let at = |p: usize, j: usize| if tb { b[j * k + p] } else { b[p * n + j] };
    for q in 0..kp {
        let row = &mut bp[q * np * 2..q * np * 2 + n * 2];
        let (p0, p1) = (2 * q, 2 * q + 1);
        if !tb && p1 < k {
            let (r0, r1) = (&b[p0 * n..p0 * n + n], &b[p1 * n..p1 * n + n]);
            for ((d, &x), &y) in row.chunks_exact_mut(2).zip(r0).zip(r1) {
                d[0] = x.to_i16();
                d[1] = y.to_i16();
            }
        } else {
            for (j, d) in row.chunks_exact_mut(2).enumerate() {
                d[0] = at(p0, j).to_i16();
                if p1 < k {
                    d[1] = at(p1, j).to_i16();
                }
            }
        }
    }
}

/// The padded product: `ap` is `mp x 2kp` i16, `bp` is `kp x np x 2`
/// i16 pairs, `c` is `mp x np` i32.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn kernel_avx2(ap: &[i16], bp: &[i16], c: &mut [i32], (mp, kp, np): (usize, usize, usize)) {
    use std::arch::x86_64::*;
    assert!(ap.len() >= mp * kp * 2 && bp.len() >= kp * np * 2 && c.len() >= mp * np);
    for i in (0..mp).step_by(MR) {
        for j in (0..np).step_by(NR) {
            let mut acc = [[_mm256_setzero_si256(); 2]; MR];
            for q in 0..kp {
                let row = bp.as_ptr().add(q * np * 2 + j * 2);
                let b0 = _mm256_loadu_si256(row as *const __m256i);
                let b1 = _mm256_loadu_si256(row.add(16) as *const __m256i);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let pair = ap.as_ptr().add((i + r) * kp * 2 + q * 2) as *const i32;
                    let a = _mm256_set1_epi32(pair.read_unaligned());
                    acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(a, b0));
                    acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(a, b1));
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                let dst = c.as_mut_ptr().add((i + r) * np + j);
                _mm256_storeu_si256(dst as *mut __m256i, acc[0]);
                _mm256_storeu_si256(dst.add(8) as *mut __m256i, acc[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(
        a: &[i32],
        b: &[i32],
        (m, k, n): (usize, usize, usize),
        (ta, tb): (bool, bool),
    ) -> Vec<i32> {
        let mut c = vec![0i32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0i32;
                for p in 0..k {
                    let x = if ta { a[p * m + i] } else { a[i * k + p] };
                    let y = if tb { b[j * k + p] } else { b[p * n + j] };
                    s = s.wrapping_add(x.wrapping_mul(y));
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    #[test]
    fn matches_the_plain_loop_on_odd_shapes_extremes_and_transposes() {
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        for &(m, k, n) in &[
            (1, 1, 1),
            (5, 3, 17),
            (8, 256, 16),
            (13, 2049, 33),
            (4, 7, 1),
        ] {
            for (lo, hi) in [(-128i32, 127i32), (0, 255)] {
                for t in [(false, false), (true, false), (false, true), (true, true)] {
                    let pick = |r: u32| {
                        // Extremes often, the rest uniform.
                        match r % 4 {
                            0 => lo,
                            1 => hi,
                            _ => lo + (r / 4) as i32 % (hi - lo + 1),
                        }
                    };
                    let a: Vec<i32> = (0..m * k).map(|_| pick(next())).collect();
                    let b: Vec<i32> = (0..k * n).map(|_| pick(next())).collect();
                    let mut out = Vec::new();
                    if !gemm(&a, &b, (m, k, n), t, &mut out) {
                        return; // no AVX2 here: the sgemm path is tested elsewhere
                    }
                    assert_eq!(
                        out,
                        naive(&a, &b, (m, k, n), t),
                        "{m}x{k}x{n} {t:?} [{lo}, {hi}]"
                    );
                }
            }
        }
    }
}
