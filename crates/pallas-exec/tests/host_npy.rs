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
