//! Host arrays through `.npy` files: every dtype round trips; bad files
//! give errors that name the file.

use ndarray::{ArrayD, IxDyn};
use pallas_exec::{HostArray, HostError};
use pallas_ir::DType;

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pallas-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn every_dtype_round_trips() {
    let shape = [2usize, 3];
    let arrays = [
        HostArray::F32(
            ArrayD::from_shape_vec(
                IxDyn(&shape),
                vec![0.5, -1.0, f32::INFINITY, 3.25, -0.0, 1e-30],
            )
            .unwrap(),
        ),
        HostArray::I32(
            ArrayD::from_shape_vec(IxDyn(&shape), vec![i32::MIN, -1, 0, 1, 7, i32::MAX]).unwrap(),
        ),
        HostArray::U32(
            ArrayD::from_shape_vec(IxDyn(&shape), vec![0, 1, 2, 3, u32::MAX, 9]).unwrap(),
        ),
        HostArray::Bool(
            ArrayD::from_shape_vec(IxDyn(&shape), vec![true, false, true, true, false, false])
                .unwrap(),
        ),
    ];
    for a in arrays {
        let p = tmp(&format!("{}.npy", a.dtype()));
        a.write_npy(&p).unwrap();
        let b = HostArray::read_npy(&p).unwrap();
        assert_eq!(b.dtype(), a.dtype());
        assert_eq!(b, a);
    }
}

#[test]
fn bits_round_trip_for_every_dtype() {
    for d in DType::ALL {
        let z = HostArray::zeros(d, &[3]);
        let back = HostArray::from_bits(d, &[3], z.to_bits()).unwrap();
        assert_eq!(back, z);
    }
    assert!(matches!(
        HostArray::from_bits(DType::F32, &[4], vec![0; 3]),
        Err(HostError::Shape { len: 3, .. })
    ));
}

#[test]
fn missing_and_corrupt_files_are_errors() {
    let missing = HostArray::read_npy(tmp("nope.npy")).unwrap_err();
    assert!(matches!(missing, HostError::Io { .. }), "{missing}");
    let p = tmp("corrupt.npy");
    std::fs::write(&p, b"\x93NUMPY\x01\x00garbage").unwrap();
    let e = HostArray::read_npy(&p).unwrap_err();
    assert!(e.to_string().contains("corrupt.npy"), "{e}");
    // A valid file cut short.
    let q = tmp("short.npy");
    HostArray::zeros(DType::F32, &[100]).write_npy(&q).unwrap();
    let bytes = std::fs::read(&q).unwrap();
    std::fs::write(&q, &bytes[..bytes.len() - 10]).unwrap();
    assert!(HostArray::read_npy(&q).is_err());
}

/// A version 1.0 `.npy` file of `descr` and `shape` holding `data`, built
/// by hand as NumPy lays it out (header padded to 64 bytes with spaces).
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn a_file_of_another_dtype_is_named_in_the_error() {
    let readable = "arrays of f32, i32, u32, bool, float16, int8, uint8, int16, uint16, \
        and (for a parameter that declares bf16 or an fp8 type) 2- or 1-byte opaque values \
        are read";
    for (descr, data, said) in [
        ("<f8", vec![0u8; 24], "it holds float64 (`<f8`)"),
        (">f2", vec![0u8; 6], "it holds big-endian float16 (`>f2`)"),
        (
            "<V2",
            vec![0u8; 6],
            "it holds 2-byte opaque values (how NumPy saves ml_dtypes' bfloat16) (`<V2`)",
        ),
        (
            "|V1",
            vec![0u8; 3],
            "it holds 1-byte opaque values (how NumPy saves ml_dtypes' float8 types) (`|V1`)",
        ),
    ] {
        let e = HostArray::read_npy_bytes(&npy(descr, "(3,)", &data)).unwrap_err();
        assert_eq!(e, format!("{said}; {readable}"), "{descr}");
    }
}

#[test]
fn narrow_numpy_dtypes_are_read_as_numpy_lays_them_out() {
    // (descr, little-endian bytes of [1, -2 or 254, 3], dtype)
    for (descr, data, dtype, want) in [
        (
            "<f2",
            vec![0x00, 0x3c, 0x00, 0xc0, 0x00, 0x42],
            DType::F16,
            [1.0, -2.0, 3.0],
        ),
        ("|i1", vec![1, 0xfe, 3], DType::I8, [1.0, -2.0, 3.0]),
        ("|u1", vec![1, 0xfe, 3], DType::U8, [1.0, 254.0, 3.0]),
        (
            "<i2",
            vec![1, 0, 0xfe, 0xff, 3, 0],
            DType::I16,
            [1.0, -2.0, 3.0],
        ),
        (
            "<u2",
            vec![1, 0, 0xfe, 0xff, 3, 0],
            DType::U16,
            [1.0, 65534.0, 3.0],
        ),
    ] {
        let a = HostArray::read_npy_bytes(&npy(descr, "(3,)", &data)).unwrap();
        assert_eq!(a.dtype(), dtype, "{descr}");
        let got: Vec<f64> = (0..3).map(|i| a.get_flat(i).unwrap().as_f64()).collect();
        assert_eq!(got, want, "{descr}");
    }
    // Column-major files come back in row-major order.
    let mut f = npy("|i1", "(2, 3)", &[1, 4, 2, 5, 3, 6]);
    let at = f.windows(5).position(|w| w == b"False").unwrap();
    f[at..at + 5].copy_from_slice(b"True ");
    let a = HostArray::read_npy_bytes(&f).unwrap();
    let got: Vec<f64> = (0..6).map(|i| a.get_flat(i).unwrap().as_f64()).collect();
    assert_eq!(got, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // A file too short for its shape is an error, not a panic.
    let e = HostArray::read_npy_bytes(&npy("<i2", "(3,)", &[0, 0])).unwrap_err();
    assert!(
        e.contains("2 bytes of data where shape [3] of i16 needs 6"),
        "{e}"
    );
}

#[test]
fn the_hand_built_header_is_read() {
    // The hand-built layout is what the reader accepts for a dtype it
    // knows: the helper is right.
    let ok = HostArray::read_npy_bytes(&npy("<f4", "(2,)", &[0, 0, 128, 63, 0, 0, 0, 64])).unwrap();
    assert_eq!(ok.to_bits(), vec![1.0f32.to_bits(), 2.0f32.to_bits()]);
}
