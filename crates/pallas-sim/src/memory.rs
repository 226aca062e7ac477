//! Memory buffers, ref regions (indexers resolved to offsets) and the
//! block copies between HBM and VMEM.

use pallas_exec::eval::shape::{next_index, next_index_offset};
use pallas_exec::eval::{narrow, Data};
use pallas_exec::options::{UninitializedMemory, POISON};
use pallas_ir::DType;

/// One memory buffer: an HBM array, a VMEM block or scratch, an SMEM ref.
#[derive(Clone, Debug)]
pub struct Buffer {
    /// Elements, row-major.
    pub data: Data,
    /// The shape the kernel sees.
    pub shape: Vec<usize>,
    /// The name errors use.
    pub name: String,
    /// Which elements were written, when uninitialized reads are reported.
    pub init: Option<Vec<bool>>,
}

impl Buffer {
    /// The first element of a region (where `mask` is on) nobody wrote,
    /// as a flat offset in the buffer.
    pub fn first_uninit(&self, r: &Region, mask: Option<&[bool]>) -> Option<usize> {
        let init = self.init.as_ref()?;
        let mut k = 0;
        let mut hit = None;
        r.runs(&self.shape, |o, n| {
            for (j, &written) in init[o..o + n].iter().enumerate() {
                let on = mask.is_none_or(|m| m[if m.len() == 1 { 0 } else { k }]);
                if hit.is_none() && on && !written {
                    hit = Some(o + j);
                }
                k += 1;
            }
        });
        hit
    }

    /// Marks a region (where `mask` is on) as written.
    pub fn mark_init(&mut self, r: &Region, mask: Option<&[bool]>) {
        let shape = self.shape.clone();
        let Some(init) = self.init.as_mut() else {
            return;
        };
        let mut k = 0;
        r.runs(&shape, |o, n| {
            for v in &mut init[o..o + n] {
                if mask.is_none_or(|m| m[if m.len() == 1 { 0 } else { k }]) {
                    *v = true;
                }
                k += 1;
            }
        });
    }

    /// The written-flags of a region, row-major (`None` when not tracked).
    pub fn init_of(&self, r: &Region) -> Option<Vec<bool>> {
        let init = self.init.as_ref()?;
        let mut out = Vec::with_capacity(r.len());
        r.runs(&self.shape, |o, n| out.extend_from_slice(&init[o..o + n]));
        Some(out)
    }

    /// Sets the written-flags of a region from `bits` (row-major).
    pub fn set_init(&mut self, r: &Region, bits: &[bool]) {
        let shape = self.shape.clone();
        let Some(init) = self.init.as_mut() else {
            return;
        };
        let mut k = 0;
        r.runs(&shape, |o, n| {
            init[o..o + n].copy_from_slice(&bits[k..k + n]);
            k += n;
        });
    }
}

/// Fresh (uninitialized) storage of a dtype.
pub fn uninit(dtype: DType, n: usize, mode: UninitializedMemory) -> Data {
    use pallas_exec::big_vec::filled;
    let zero = mode == UninitializedMemory::Zero;
    // The poison of a narrow integer is its low bits: a value it holds.
    let (pi, pu) = (
        narrow::wrap_i32(dtype, POISON as i32),
        narrow::wrap_u32(dtype, POISON),
    );
    match dtype.wide() {
        DType::F32 => Data::F32(filled(n, if zero { 0.0 } else { f32::NAN })),
        DType::I32 => Data::I32(filled(n, if zero { 0 } else { pi })),
        DType::U32 => Data::U32(filled(n, if zero { 0 } else { pu })),
        _ => Data::Bool(filled(n, false)),
    }
}

/// Refills storage of a dtype (held wide) with that dtype's
/// uninitialized pattern, as [`uninit`] makes it.
pub fn refill_uninit(d: &mut Data, dtype: DType, mode: UninitializedMemory) {
    let zero = mode == UninitializedMemory::Zero;
    match d {
        Data::F32(v) => v.fill(if zero { 0.0 } else { f32::NAN }),
        Data::I32(v) => v.fill(if zero {
            0
        } else {
            narrow::wrap_i32(dtype, POISON as i32)
        }),
        Data::U32(v) => v.fill(if zero {
            0
        } else {
            narrow::wrap_u32(dtype, POISON)
        }),
        Data::Bool(v) => v.fill(false),
    }
}

/// Refills storage with the uninitialized pattern.
pub fn reset_uninit(d: &mut Data, mode: UninitializedMemory) {
    let zero = mode == UninitializedMemory::Zero;
    match d {
        Data::F32(v) => v.fill(if zero { 0.0 } else { f32::NAN }),
        Data::I32(v) => v.fill(if zero { 0 } else { POISON as i32 }),
        Data::U32(v) => v.fill(if zero { 0 } else { POISON }),
        Data::Bool(v) => v.fill(false),
    }
}

/// One dimension of a resolved region: first element, count, stride, and
/// whether the dimension stays in the result (indexed dims drop out).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DimRange {
    /// First element.
    pub start: usize,
    /// Number of elements.
    pub size: usize,
    /// Distance between elements.
    pub stride: usize,
    /// Whether the dim is part of the result's shape.
    pub keep: bool,
}

/// Most dimensions a region keeps without allocating.
const INLINE_DIMS: usize = 6;

/// A region's dimension ranges: up to six inline (every
/// access of the interpreter resolves one, so it must not allocate), more
/// on the heap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dims {
    /// Few dimensions, inline.
    Inline([DimRange; INLINE_DIMS], usize),
    /// Many dimensions.
    Heap(Vec<DimRange>),
}

impl Dims {
    /// No dimensions yet.
    pub fn new() -> Dims {
        Dims::Inline([DimRange::default(); INLINE_DIMS], 0)
    }

    /// Appends a dimension.
    pub fn push(&mut self, d: DimRange) {
        match self {
            Dims::Inline(a, n) if *n < INLINE_DIMS => {
                a[*n] = d;
                *n += 1;
            }
            Dims::Inline(a, n) => {
                let mut v = a[..*n].to_vec();
                v.push(d);
                *self = Dims::Heap(v);
            }
            Dims::Heap(v) => v.push(d),
        }
    }
}

impl Default for Dims {
    fn default() -> Self {
        Dims::new()
    }
}

impl std::ops::Deref for Dims {
    type Target = [DimRange];
    fn deref(&self) -> &[DimRange] {
        match self {
            Dims::Inline(a, n) => &a[..*n],
            Dims::Heap(v) => v,
        }
    }
}

impl FromIterator<DimRange> for Dims {
    fn from_iter<I: IntoIterator<Item = DimRange>>(iter: I) -> Dims {
        let mut d = Dims::new();
        for r in iter {
            d.push(r);
        }
        d
    }
}

/// A resolved region of a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// One range per buffer dimension.
    pub dims: Dims,
}

impl Region {
    /// The whole buffer.
    pub fn whole(shape: &[usize]) -> Region {
        Region {
            dims: shape
                .iter()
                .map(|&n| DimRange {
                    start: 0,
                    size: n,
                    stride: 1,
                    keep: true,
                })
                .collect(),
        }
    }

    /// The shape of the values read from or written to the region.
    pub fn shape(&self) -> Vec<usize> {
        let mut out = Vec::new();
        self.shape_into(&mut out);
        out
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.dims.iter().map(|d| d.size).product()
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it covers all of a buffer of `shape`.
    pub fn is_whole(&self, shape: &[usize]) -> bool {
        self.dims
            .iter()
            .zip(shape)
            .all(|(d, &n)| d.start == 0 && d.size == n && (d.stride == 1 || n <= 1))
    }

    /// The dense rectangle at `origin` of `extent`, every dimension kept.
    pub fn dense(origin: &[usize], extent: &[usize]) -> Region {
        Region {
            dims: origin
                .iter()
                .zip(extent)
                .map(|(&start, &size)| DimRange {
                    start,
                    size,
                    stride: 1,
                    keep: true,
                })
                .collect(),
        }
    }

    /// Calls `f(buffer_offset, run_length)` for each contiguous run of the
    /// region in a buffer of `shape`, in row-major order of the region
    /// (no allocation up to 8 dimensions).
    pub fn runs(&self, shape: &[usize], mut f: impl FnMut(usize, usize)) {
        if self.is_empty() {
            return;
        }
        let nd = self.dims.len();
        if nd == 0 {
            f(0, 1);
            return;
        }
        let (mut st_inline, mut idx_inline) = ([0usize; 8], [0usize; 8]);
        let (mut st_heap, mut idx_heap) = (Vec::new(), Vec::new());
        let (st, idx): (&mut [usize], &mut [usize]) = if nd <= 8 {
            (&mut st_inline[..nd], &mut idx_inline[..nd])
        } else {
            st_heap.resize(nd, 0);
            idx_heap.resize(nd, 0);
            (&mut st_heap, &mut idx_heap)
        };
        let mut acc = 1;
        for d in (0..nd).rev() {
            st[d] = acc;
            acc *= shape[d];
        }
        let last = self.dims[nd - 1];
        let (outer, run) = if last.stride == 1 {
            (nd - 1, last.size)
        } else {
            (nd, 1)
        };
        loop {
            let mut off = 0;
            for d in 0..outer {
                let r = self.dims[d];
                off += (r.start + idx[d] * r.stride) * st[d];
            }
            if outer < nd {
                off += last.start;
            }
            f(off, run);
            let mut d = outer;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < self.dims[d].size {
                    break;
                }
                idx[d] = 0;
            }
        }
    }

    /// The shape of the values read from or written to the region, into
    /// `out` (no allocation when it has the room).
    pub fn shape_into(&self, out: &mut Vec<usize>) {
        out.clear();
        out.extend(self.dims.iter().filter(|d| d.keep).map(|d| d.size));
    }

    /// Every element's buffer offset, in row-major order of the region.
    pub fn offsets(&self, shape: &[usize]) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.len());
        self.runs(shape, |o, n| out.extend(o..o + n));
        out
    }
}

/// Calls `f(buffer_offset, run_length)` for each contiguous run of the
/// dense rectangle at `origin` of `extent` in a buffer of `shape`, in
/// row-major order; trailing dimensions the rectangle spans whole merge
/// into one run (a block window: no region is built).
pub fn rect_runs(
    origin: &[usize],
    extent: &[usize],
    shape: &[usize],
    mut f: impl FnMut(usize, usize),
) {
    let nd = extent.len();
    if nd > 8 {
        return Region::dense(origin, extent).runs(shape, f);
    }
    if extent.contains(&0) {
        return;
    }
    if nd == 0 {
        return f(0, 1);
    }
    // The run: the last dimension, and the ones before it while every
    // dimension after them is spanned whole.
    let (mut inner, mut run) = (nd - 1, extent[nd - 1]);
    while inner > 0 && extent[inner] == shape[inner] {
        inner -= 1;
        run *= extent[inner];
    }
    let (mut base, mut st) = (0, 1);
    let mut strides = [0usize; 8];
    for d in (0..nd).rev() {
        base += origin[d] * st;
        strides[d] = st;
        st *= shape[d];
    }
    // The dimensions before the run, walked like an odometer.
    let mut idx = [0usize; 8];
    let mut off = base;
    loop {
        f(off, run);
        if !next_index_offset(&mut idx[..inner], extent, &strides, &mut off) {
            return;
        }
    }
}

/// Reads a region into a new flat buffer.
pub fn read_region(buf: &Buffer, r: &Region) -> Data {
    if r.is_whole(&buf.shape) {
        return buf.data.clone();
    }
    let mut out = buf.data.empty_like(r.len());
    r.runs(&buf.shape, |o, n| {
        if n == 1 {
            out.push_from(&buf.data, o);
        } else {
            out.extend_range(&buf.data, o, n);
        }
    });
    out
}

/// Calls `f(src_offset, dst_offset, n)` for each stretch where region `sr`
/// of a `src_shape` buffer and region `dr` of a `dst_shape` buffer (of
/// equal lengths) are both contiguous, pairing their elements in
/// row-major order of the regions: a copy between them is one
/// `memcpy` per stretch.
pub fn run_pairs(
    sr: &Region,
    src_shape: &[usize],
    dr: &Region,
    dst_shape: &[usize],
    mut f: impl FnMut(usize, usize, usize),
) {
    let mut dst_runs = Vec::new();
    dr.runs(dst_shape, |o, n| match dst_runs.last_mut() {
        Some((p, m)) if *p + *m == o => *m += n,
        _ => dst_runs.push((o, n)),
    });
    let mut next = dst_runs.into_iter();
    let mut cur = next.next();
    sr.runs(src_shape, |mut so, mut n| {
        while n > 0 {
            let Some((d, m)) = cur.as_mut() else {
                return;
            };
            let k = n.min(*m);
            f(so, *d, k);
            (so, n, *d, *m) = (so + k, n - k, *d + k, *m - k);
            if *m == 0 {
                cur = next.next();
            }
        }
    });
}

/// Copies region `sr` of `src` into region `dr` of `dst` (equal lengths,
/// same dtype), written-flags included when both keep them: no
/// intermediate buffer.
pub fn copy_region(src: &Buffer, sr: &Region, dst: &mut Buffer, dr: &Region) {
    let Buffer {
        data, shape, init, ..
    } = dst;
    run_pairs(sr, &src.shape, dr, shape, |s, d, n| {
        data.copy_range(d, &src.data, s, n);
        if let (Some(to), Some(from)) = (init.as_mut(), src.init.as_ref()) {
            to[d..d + n].copy_from_slice(&from[s..s + n]);
        }
    });
}

/// [`copy_region`] within one buffer: through a copy of the source when
/// the regions may overlap.
pub fn copy_region_within(buf: &mut Buffer, sr: &Region, dr: &Region) {
    let data = read_region(buf, sr);
    let init = buf.init_of(sr);
    write_region(buf, dr, &data);
    if let Some(bits) = init {
        buf.set_init(dr, &bits);
    }
}

/// Writes `src` (row-major over the region, or a single element
/// broadcast) into a region.
pub fn write_region(buf: &mut Buffer, r: &Region, src: &Data) {
    let Buffer { data, shape, .. } = buf;
    let bcast = src.len() == 1 && r.len() != 1;
    if !bcast && r.is_whole(shape) {
        data.copy_range(0, src, 0, src.len());
        return;
    }
    let mut k = 0;
    r.runs(shape, |o, n| {
        if bcast {
            for i in o..o + n {
                data.set_from(i, src, 0);
            }
        } else {
            data.copy_range(o, src, k, n);
            k += n;
        }
    });
}

/// Copies the rectangle `[origin, origin + extent)` of `src` (shape
/// `src_shape`) to the rectangle at `dst_origin` of `dst`, one contiguous
/// row at a time, without allocating for ranks up to 8.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn copy_rect(
    src: &Data,
    src_shape: &[usize],
    src_origin: &[usize],
    dst: &mut Data,
    dst_shape: &[usize],
    dst_origin: &[usize],
    extent: &[usize],
) {
    rect_pairs(
        src_shape,
        src_origin,
        dst_shape,
        dst_origin,
        extent,
        |d, s, n| dst.copy_range(d, src, s, n),
    );
}

/// [`copy_rect`] for slices of one element type (written-flags).
#[allow(clippy::too_many_arguments)]
pub fn copy_rect_slice<T: Copy>(
    src: &[T],
    src_shape: &[usize],
    src_origin: &[usize],
    dst: &mut [T],
    dst_shape: &[usize],
    dst_origin: &[usize],
    extent: &[usize],
) {
    rect_pairs(
        src_shape,
        src_origin,
        dst_shape,
        dst_origin,
        extent,
        |d, s, n| dst[d..d + n].copy_from_slice(&src[s..s + n]),
    );
}

/// Calls `f(dst_offset, src_offset, run_length)` for each row of a
/// rectangle of `extent` at `src_origin` of a `src_shape` buffer and at
/// `dst_origin` of a `dst_shape` one. One contiguous run (every dimension
/// but the last of extent 1: row blocks, one-element blocks) is one call
/// without a loop over rows.
#[inline(always)]
fn rect_pairs(
    src_shape: &[usize],
    src_origin: &[usize],
    dst_shape: &[usize],
    dst_origin: &[usize],
    extent: &[usize],
    mut f: impl FnMut(usize, usize, usize),
) {
    let nd = extent.len();
    if nd > 0 && extent[nd - 1] > 0 && extent[..nd - 1].iter().all(|&e| e == 1) {
        let (mut so, mut dof, mut sa, mut da) = (0, 0, 1, 1);
        for d in (0..nd).rev() {
            so += src_origin[d] * sa;
            dof += dst_origin[d] * da;
            sa *= src_shape[d];
            da *= dst_shape[d];
        }
        return f(dof, so, extent[nd - 1]);
    }
    if extent.contains(&0) {
        return;
    }
    if nd == 0 {
        return f(0, 0, 1);
    }
    if nd > 8 {
        let s = Region::dense(src_origin, extent).offsets(src_shape);
        let d = Region::dense(dst_origin, extent).offsets(dst_shape);
        for (a, b) in d.into_iter().zip(s) {
            f(a, b, 1);
        }
        return;
    }
    let mut ss = [0usize; 8];
    let mut ds = [0usize; 8];
    let (mut a, mut b) = (1, 1);
    for d in (0..nd).rev() {
        ss[d] = a;
        ds[d] = b;
        a *= src_shape[d];
        b *= dst_shape[d];
    }
    let run = extent[nd - 1];
    let mut idx = [0usize; 8];
    loop {
        let (mut so, mut dof) = (0, 0);
        for d in 0..nd {
            so += (src_origin[d] + idx[d]) * ss[d];
            dof += (dst_origin[d] + idx[d]) * ds[d];
        }
        f(dof, so, run);
        if !next_index(&mut idx[..nd - 1], extent) {
            return;
        }
    }
}

/// Sets every element of `buf` outside `logical` (its padding: the buffer
/// has the padded shape) to `poison`'s one value, and marks it unwritten.
pub fn poison_padding(buf: &mut Buffer, logical: &[usize], poison: &Data) {
    fn walk(buf: &mut Buffer, logical: &[usize], poison: &Data, d: usize, base: usize) {
        let (extent, rank) = (buf.shape[d], buf.shape.len());
        let inner: usize = buf.shape[d + 1..].iter().product();
        for c in 0..extent {
            let off = base + c * inner;
            if c >= logical[d] {
                // A whole slab of padding.
                for e in off..off + inner {
                    buf.data.set_from(e, poison, 0);
                }
                if let Some(init) = buf.init.as_mut() {
                    init[off..off + inner].fill(false);
                }
            } else if d + 1 < rank {
                walk(buf, logical, poison, d + 1, off);
            }
        }
    }
    if !buf.shape.is_empty() {
        walk(buf, logical, poison, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element of a dense rectangle, by its flat offset, in order.
    fn elements(origin: &[usize], extent: &[usize], shape: &[usize]) -> Vec<usize> {
        let mut out = Vec::new();
        let n: usize = extent.iter().product();
        for e in 0..n {
            let (mut rem, mut flat, mut stride) = (e, 0, 1);
            let mut coords = vec![0; extent.len()];
            for d in (0..extent.len()).rev() {
                coords[d] = origin[d] + rem % extent[d];
                rem /= extent[d];
            }
            for d in (0..extent.len()).rev() {
                flat += coords[d] * stride;
                stride *= shape[d];
            }
            out.push(flat);
        }
        out
    }

    #[test]
    fn rect_runs_cover_the_rectangle_in_order_with_merged_rows() {
        type Case<'a> = (&'a [usize], &'a [usize], &'a [usize], usize);
        let cases: &[Case] = &[
            // (origin, extent, shape, runs expected)
            (&[3, 5], &[1, 1], &[16, 64], 1),
            (&[0, 8], &[4, 8], &[16, 64], 4),
            (&[4, 0], &[4, 64], &[16, 64], 1),
            (&[1, 0, 0], &[2, 3, 5], &[4, 3, 5], 1),
            (&[1, 1, 0], &[2, 2, 5], &[4, 3, 5], 2),
            (&[0, 0], &[0, 4], &[2, 4], 0),
            (&[], &[], &[], 1),
        ];
        for &(origin, extent, shape, want_runs) in cases {
            let mut got = Vec::new();
            let mut runs = 0;
            rect_runs(origin, extent, shape, |o, n| {
                runs += 1;
                got.extend(o..o + n);
            });
            let want = if extent.is_empty() {
                vec![0]
            } else {
                elements(origin, extent, shape)
            };
            assert_eq!(got, want, "{origin:?} {extent:?} in {shape:?}");
            assert_eq!(runs, want_runs, "{origin:?} {extent:?} in {shape:?}");
        }
    }

    #[test]
    fn copy_rect_slice_moves_a_rectangle_between_shapes() {
        let src: Vec<u32> = (0..6 * 5).collect();
        let mut dst = vec![0u32; 3 * 4];
        copy_rect_slice(&src, &[6, 5], &[2, 1], &mut dst, &[3, 4], &[1, 0], &[2, 3]);
        assert_eq!(dst, [0, 0, 0, 0, 11, 12, 13, 0, 16, 17, 18, 0]);
    }
}
