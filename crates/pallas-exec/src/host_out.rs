//! A caller's output buffers: a launch writes its outputs into memory the
//! caller owns (XLA's result buffers, from the Python package's FFI
//! handler) instead of returning new arrays.

/// The element types of the narrow floats, for callers that build buffers.
pub use half::{bf16, f16};
pub use microfloat::{f8e4m3fn, f8e5m2};
use pallas_ir::DType;

use crate::host::{Element, HostArray};

/// One output's buffer, row-major, of the output's dtype. Booleans are
/// bytes (0 or 1 written), since the caller's memory may hold any byte
/// before the launch.
#[derive(Debug)]
pub enum HostOut<'a> {
    /// `f32` elements.
    F32(&'a mut [f32]),
    /// `i32` elements.
    I32(&'a mut [i32]),
    /// `u32` elements.
    U32(&'a mut [u32]),
    /// `bool` elements as bytes.
    Bool(&'a mut [u8]),
    /// `bf16` elements.
    BF16(&'a mut [bf16]),
    /// `f16` elements.
    F16(&'a mut [f16]),
    /// `i8` elements.
    I8(&'a mut [i8]),
    /// `u8` elements.
    U8(&'a mut [u8]),
    /// `i16` elements.
    I16(&'a mut [i16]),
    /// `u16` elements.
    U16(&'a mut [u16]),
    /// `f8e4m3fn` elements.
    F8E4M3FN(&'a mut [f8e4m3fn]),
    /// `f8e5m2` elements.
    F8E5M2(&'a mut [f8e5m2]),
}

impl HostOut<'_> {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            HostOut::F32(_) => DType::F32,
            HostOut::I32(_) => DType::I32,
            HostOut::U32(_) => DType::U32,
            HostOut::Bool(_) => DType::Bool,
            HostOut::BF16(_) => DType::BF16,
            HostOut::F16(_) => DType::F16,
            HostOut::I8(_) => DType::I8,
            HostOut::U8(_) => DType::U8,
            HostOut::I16(_) => DType::I16,
            HostOut::U16(_) => DType::U16,
            HostOut::F8E4M3FN(_) => DType::F8E4M3FN,
            HostOut::F8E5M2(_) => DType::F8E5M2,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            HostOut::F32(s) => s.len(),
            HostOut::I32(s) => s.len(),
            HostOut::U32(s) => s.len(),
            HostOut::Bool(s) => s.len(),
            HostOut::BF16(s) => s.len(),
            HostOut::F16(s) => s.len(),
            HostOut::I8(s) => s.len(),
            HostOut::U8(s) => s.len(),
            HostOut::I16(s) => s.len(),
            HostOut::U16(s) => s.len(),
            HostOut::F8E4M3FN(s) => s.len(),
            HostOut::F8E5M2(s) => s.len(),
        }
    }

    /// Whether the buffer holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies an array into the buffer (row-major); an array of another
    /// dtype or element count is an error naming both.
    pub fn copy_from(&mut self, a: &HostArray) -> Result<(), String> {
        if a.dtype() != self.dtype() || a.len() != self.len() {
            return Err(format!(
                "an output of {}{:?} for a buffer of {} {} elements",
                a.dtype(),
                a.shape(),
                self.len(),
                self.dtype()
            ));
        }
        fn put<T: Element>(dst: &mut [T], src: &ndarray::ArrayD<T>) {
            match src.as_slice() {
                Some(s) => dst.copy_from_slice(s),
                None => dst.iter_mut().zip(src.iter()).for_each(|(d, s)| *d = *s),
            }
        }
        match (self, a) {
            (HostOut::F32(d), HostArray::F32(s)) => put(d, s),
            (HostOut::I32(d), HostArray::I32(s)) => put(d, s),
            (HostOut::U32(d), HostArray::U32(s)) => put(d, s),
            (HostOut::Bool(d), HostArray::Bool(s)) => {
                d.iter_mut().zip(s.iter()).for_each(|(d, &s)| *d = s as u8)
            }
            (HostOut::BF16(d), HostArray::BF16(s)) => put(d, s),
            (HostOut::F16(d), HostArray::F16(s)) => put(d, s),
            (HostOut::I8(d), HostArray::I8(s)) => put(d, s),
            (HostOut::U8(d), HostArray::U8(s)) => put(d, s),
            (HostOut::I16(d), HostArray::I16(s)) => put(d, s),
            (HostOut::U16(d), HostArray::U16(s)) => put(d, s),
            (HostOut::F8E4M3FN(d), HostArray::F8E4M3FN(s)) => put(d, s),
            (HostOut::F8E5M2(d), HostArray::F8E5M2(s)) => put(d, s),
            _ => unreachable!("dtypes were compared above"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn copies_in_row_major_order_and_refuses_mismatches() {
        let a = HostArray::F32(
            ArrayD::from_shape_vec(IxDyn(&[2, 3]), (0..6).map(|i| i as f32).collect()).unwrap(),
        );
        let mut buf = [9.0f32; 6];
        HostOut::F32(&mut buf).copy_from(&a).unwrap();
        assert_eq!(buf, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        // A transposed (non-contiguous) array goes element by element.
        let t = match &a {
            HostArray::F32(x) => HostArray::F32(x.t().to_owned()),
            _ => unreachable!(),
        };
        let mut buf = [0.0f32; 6];
        HostOut::F32(&mut buf).copy_from(&t).unwrap();
        assert_eq!(buf, [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let mut short = [0.0f32; 5];
        assert!(HostOut::F32(&mut short).copy_from(&a).is_err());
        let mut ints = [0i32; 6];
        assert!(HostOut::I32(&mut ints).copy_from(&a).is_err());
        let b = HostArray::Bool(ArrayD::from_shape_vec(IxDyn(&[2]), vec![true, false]).unwrap());
        let mut bytes = [7u8; 2];
        HostOut::Bool(&mut bytes).copy_from(&b).unwrap();
        assert_eq!(bytes, [1, 0]);
    }
}
