//! `.npy` reading and writing: round trips and clear errors for bad files.

use std::path::Path;

use si_core::{Batch, Points};
use si_data::npy::{parse_points, to_bytes, NpyDtype};
use si_data::DataError;

fn header(descr: &str, shape: &str) -> Vec<u8> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let total = 10 + h.len() + 1;
    h.push_str(&" ".repeat((64 - total % 64) % 64));
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out
}

fn reason(r: Result<Points, DataError>) -> String {
    match r {
        Err(DataError::BadData { reason, .. }) => reason,
        other => panic!("expected BadData, got {other:?}"),
    }
}

#[test]
fn round_trips_f32_and_f64() {
    let p = Points::from_row_major(3, 2, &[1.0, -2.0, 0.5, 3.25, -0.125, 7.0]).unwrap();
    for dt in [NpyDtype::F32, NpyDtype::F64] {
        let q = parse_points(Path::new("x.npy"), &to_bytes(&p, dt)).unwrap();
        assert_eq!((q.len(), q.dim()), (3, 2));
        assert_eq!(q.to_row_major(), p.to_row_major());
    }
}

#[test]
fn reads_what_numpy_writes() {
    // np.save of np.array([[1, 2], [3, 4]], dtype='<f8') (version 1.0 header, 128 bytes).
    let mut b = header("<f8", "(2, 2)");
    for v in [1.0f64, 2.0, 3.0, 4.0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    let p = parse_points(Path::new("a.npy"), &b).unwrap();
    assert_eq!(p.point(1).as_slice(), &[3.0, 4.0]);
}

#[test]
fn rejects_bad_files_with_clear_errors() {
    let path = Path::new("bad.npy");
    let mut ints = header("<i4", "(2, 1)");
    ints.extend_from_slice(&[0u8; 8]);
    assert!(reason(parse_points(path, &ints)).contains("float32"));

    let mut cube = header("<f4", "(1, 1, 1)");
    cube.extend_from_slice(&[0u8; 4]);
    assert!(reason(parse_points(path, &cube)).contains("2-D"));

    let mut nan = header("<f4", "(2, 1)");
    nan.extend_from_slice(&1.0f32.to_le_bytes());
    nan.extend_from_slice(&f32::NAN.to_le_bytes());
    assert!(reason(parse_points(path, &nan)).contains("non-finite value NaN at row 1"));

    let mut short = header("<f8", "(3, 2)");
    short.extend_from_slice(&[0u8; 16]);
    assert!(reason(parse_points(path, &short)).contains("data bytes"));

    assert!(reason(parse_points(path, b"hello world, not numpy")).contains("magic"));

    let fortran = {
        let mut h = header("<f4", "(1, 1)");
        let at = h.windows(5).position(|w| w == b"False").unwrap();
        h[at..at + 5].copy_from_slice(b"True ");
        h.extend_from_slice(&[0u8; 4]);
        h
    };
    assert!(reason(parse_points(path, &fortran)).contains("Fortran"));
}

proptest::proptest! {
    #[test]
    fn any_finite_array_round_trips(n in 1usize..20, d in 1usize..5, seed in 0u64..1000) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let v: Vec<f64> = (0..n * d).map(|_| rng.random_range(-1e6..1e6)).collect();
        let p = Points::from_row_major(n, d, &v).unwrap();
        let q = parse_points(Path::new("p.npy"), &to_bytes(&p, NpyDtype::F64)).unwrap();
        proptest::prop_assert_eq!(q.to_row_major(), v.clone());
        let r = parse_points(Path::new("p.npy"), &to_bytes(&p, NpyDtype::F32)).unwrap();
        for (a, b) in r.to_row_major().iter().zip(&v) {
            proptest::prop_assert_eq!(*a, *b as f32 as f64);
        }
    }
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn images_are_read_channel_major_from_three_and_four_dimensional_arrays() {
    use si_data::npy::{parse_images, ImageShape};
    // (N, H, W) = (2, 2, 3): image k holds 10k + 3i + j at row i, column j
    let v: Vec<f32> = (0..2)
        .flat_map(|k| (0..6).map(move |p| (10 * k + p) as f32))
        .collect();
    let mut b = header("<f4", "(2, 2, 3)");
    b.extend(f32_bytes(&v));
    let (p, shape) = parse_images(Path::new("x.npy"), &b).unwrap();
    let one = ImageShape {
        channels: 1,
        height: 2,
        width: 3,
    };
    assert_eq!(shape, one);
    assert_eq!((p.len(), p.dim()), (2, 6));
    assert_eq!(p.matrix()[(4, 1)], 14.0); // image 1, row 1, column 1: 10 + 3 + 1
                                          // (N, C, H, W) = (1, 2, 2, 2): channel c, row i, column j at 4c + 2i + j
    let mut b = header("<f4", "(1, 2, 2, 2)");
    b.extend(f32_bytes(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]));
    let (p, shape) = parse_images(Path::new("x.npy"), &b).unwrap();
    assert_eq!(
        shape,
        ImageShape {
            channels: 2,
            height: 2,
            width: 2
        }
    );
    assert_eq!(shape.dim(), 8);
    assert_eq!(shape.to_string(), "2x2x2");
    assert_eq!(p.matrix()[(6, 0)], 6.0); // channel 1, row 1, column 0
                                         // other ranks are errors naming the expected shapes; points files refuse images the same way
    for shape in ["(2, 6)", "(1, 1, 2, 2, 3)"] {
        let mut b = header("<f4", shape);
        b.extend(f32_bytes(&v));
        let e = parse_images(Path::new("x.npy"), &b).unwrap_err();
        assert!(e.to_string().contains("(N, H, W) or (N, C, H, W)"), "{e}");
    }
    let mut b = header("<f4", "(2, 2, 3)");
    b.extend(f32_bytes(&v));
    let r = reason(parse_points(Path::new("x.npy"), &b));
    assert!(
        r.contains("expected a 2-D array") && r.contains("images"),
        "{r}"
    );
}

#[test]
fn images_round_trip_with_their_shape_and_a_wrong_dimension_is_refused() {
    use si_data::npy::{read_images, write_images, ImageShape};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img.npy");
    let shape = ImageShape {
        channels: 3,
        height: 2,
        width: 4,
    };
    let values: Vec<f64> = (0..48).map(|k| k as f64 * 0.25 - 3.0).collect();
    let p = Points::from_row_major(2, 24, &values).unwrap();
    for dt in [NpyDtype::F32, NpyDtype::F64] {
        write_images(&path, &p, shape, dt).unwrap();
        let (q, s) = read_images(&path).unwrap();
        assert_eq!(s, shape);
        assert_eq!(q.to_row_major(), p.to_row_major());
    }
    let wrong = ImageShape {
        channels: 1,
        height: 2,
        width: 4,
    };
    let e = write_images(&path, &p, wrong, NpyDtype::F32).unwrap_err();
    assert!(e.to_string().contains("1x2x4"), "{e}");
}
