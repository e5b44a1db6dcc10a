//! No panic from a public function on any input: bad input is a typed error.
//!
//! Regression tests for the panics that were found, then property tests (fuzzing) of the `.npy` reader on
//! arbitrary bytes, structured near-valid headers and mutated valid files, and of the labelled data set.
//!
//! The default run is fast (a few thousand cases per property). For a long run set `PROPTEST_CASES`, e.g.
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test -p si-pusht -p si-data --test no_panic
//! ```
//!
//! (not `--release`: the test profile is optimised but keeps overflow checks, which turn a silent wrap into
//! a panic the fuzzer reports).

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, CoreError, PairSource, Points};
use si_data::npy::{parse_points, to_bytes, NpyDtype};
use si_data::{one_hot, ArrayData, DataError};

/// `PROPTEST_CASES` if set, otherwise `default`. (proptest 1.12's `proptest!` also re-applies the variable
/// over any explicit config, `with_cases` included; this keeps the override with older versions too.)
fn cases(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const PATH: &str = "fuzz.npy";

/// A `.npy` file: magic, version, header length (as given, or the true one), header, data.
fn npy(version: u8, hlen: Option<u32>, header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    let n = hlen.unwrap_or(header.len() as u32);
    if version == 1 {
        out.extend_from_slice(&(n as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn header(descr: &str, fortran: &str, shape: &str) -> String {
    format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}\n")
}

/// `parse_points` never panics; an accepted file is a consistent N × d array that writes back the same.
fn check_parse(bytes: &[u8]) -> Result<Option<Points>, TestCaseError> {
    match parse_points(Path::new(PATH), bytes) {
        Ok(p) => {
            prop_assert!(!p.is_empty() && p.dim() > 0);
            prop_assert!(p.as_slice().iter().all(|v| v.is_finite()));
            let again = parse_points(Path::new(PATH), &to_bytes(&p, NpyDtype::F64)).unwrap();
            prop_assert_eq!(again.as_slice(), p.as_slice());
            Ok(Some(p))
        }
        Err(DataError::BadData { reason, .. }) => {
            prop_assert!(!reason.is_empty());
            Ok(None)
        }
        Err(e) => {
            prop_assert!(false, "unexpected error kind {e:?}");
            Ok(None)
        }
    }
}

// ---- regression tests: each input panicked before the fix ----

#[test]
fn overflowing_shape_is_a_typed_error() {
    // panicked at npy.rs `n * d * size` (multiply with overflow) before comparing with the data length
    for shape in [
        format!("({}, 3)", usize::MAX / 2),
        format!("({}, {})", usize::MAX, usize::MAX),
        format!("({}, 1)", usize::MAX / 4 + 1),
    ] {
        let b = npy(1, None, &header("<f8", "False", &shape), &[0; 24]);
        assert!(
            matches!(
                parse_points(Path::new(PATH), &b),
                Err(DataError::BadData { .. })
            ),
            "{shape}"
        );
    }
}

#[test]
fn lying_header_lengths_are_typed_errors() {
    for (version, hlen) in [(2, u32::MAX), (3, u32::MAX - 3), (1, 65_535), (2, 0)] {
        let b = npy(version, Some(hlen), "{}", b"");
        assert!(parse_points(Path::new(PATH), &b).is_err());
    }
    // truncated right after the version
    assert!(parse_points(Path::new(PATH), b"\x93NUMPY\x02\x00\x01").is_err());
    assert!(parse_points(Path::new(PATH), b"\x93NUMPY\x02\x00\x01\x00").is_err());
}

#[test]
fn huge_class_counts_are_typed_errors() {
    // panicked in nalgebra (`Points::zeros(n, usize::MAX)`: multiply with overflow) from `one_hot`
    assert!(matches!(
        one_hot(&[0, 1], usize::MAX),
        Err(CoreError::InvalidParameter { .. })
    ));
    assert!(one_hot(&[0], 0).is_err());
    // accepted by `with_labels`, then panicked (or aborted on allocation) in `draw_pairs`
    let p = Points::from_row_major(2, 1, &[0.0, 1.0]).unwrap();
    let d = ArrayData::new(p).unwrap();
    assert!(d.clone().with_labels(vec![0, 1], usize::MAX).is_err());
    assert!(d.clone().with_labels(vec![0, 1], 1 << 40).is_err());
    assert!(d.with_labels(vec![0, 1], ArrayData::MAX_CLASSES).is_ok());
}

#[test]
fn unaddressable_batches_are_typed_errors() {
    // `draw_pairs(n)` allocated n × d without a check (capacity overflow panic)
    let p = Points::from_row_major(2, 3, &[0.0; 6]).unwrap();
    let d = ArrayData::new(p).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for n in [usize::MAX, usize::MAX / 3, isize::MAX as usize / 8] {
        assert!(d.draw_pairs(n, &mut rng).is_err(), "{n}");
    }
    let p = Points::from_row_major(2, 0, &[]).unwrap();
    let d = ArrayData::new(p).unwrap();
    assert!(d.draw_pairs(usize::MAX, &mut rng).is_err());
}

// ---- property tests ----

fn dims() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        (1usize..6).prop_map(|v| v.to_string()),
        Just(usize::MAX.to_string()),
        Just((usize::MAX / 8 + 1).to_string()),
        Just((1usize << 61).to_string()),
        Just(u128::MAX.to_string()),
        Just("-1".to_string()),
        Just("2L".to_string()),
        Just("".to_string()),
        any::<usize>().prop_map(|v| v.to_string()),
    ]
}

fn shape() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(dims(), 0..4).prop_map(|d| format!("({})", d.join(", "))),
        prop::collection::vec(dims(), 1..3).prop_map(|d| format!("({},)", d.join(", "))),
        "[(), 0-9a-z]{0,12}",
    ]
}

fn descr() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<f8".to_string()),
        Just("<f4".to_string()),
        Just(">f8".to_string()),
        Just("<i8".to_string()),
        Just("|u1".to_string()),
        "[<>|=a-z0-9]{0,4}",
    ]
}

proptest! {
    #![proptest_config(cases(4096))]

    /// Arbitrary bytes.
    #[test]
    fn parse_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check_parse(&bytes)?;
    }

    /// Arbitrary bytes after the magic (so that the reader gets past it).
    #[test]
    fn parse_arbitrary_bytes_after_magic(version in any::<u8>(), rest in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut b = b"\x93NUMPY".to_vec();
        b.push(version);
        b.extend_from_slice(&rest);
        check_parse(&b)?;
    }

    /// Structured, near-valid files: random version, header length (true or lying), descr, fortran_order,
    /// shape (huge, negative, odd ranks, junk) and data length.
    #[test]
    fn parse_structured_headers(
        version in prop_oneof![Just(1u8), Just(2u8), Just(3u8), any::<u8>()],
        hlen in prop::option::weighted(0.2, prop_oneof![any::<u32>(), 0u32..200]),
        descr in descr(),
        fortran in prop_oneof![Just("False".to_string()), Just("True".to_string()), "[A-Za-z]{0,6}"],
        shape in shape(),
        drop_key in 0usize..8,
        data_len in prop_oneof![Just(None), (0usize..160).prop_map(Some)],
        fill in any::<u8>(),
    ) {
        let mut h = header(&descr, &fortran, &shape);
        match drop_key {
            0 => h = h.replace("'descr'", "'desc'"),
            1 => h = h.replace("'shape'", "'shap'"),
            2 => h = h.replace("'fortran_order'", "'fortran'"),
            3 => h = h.replace(", ", ","),
            _ => {}
        }
        // the data a valid file of this shape would have (when small), or a random length
        let dims: Vec<usize> = shape
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        let size = if descr == "<f4" { 4 } else { 8 };
        let exact = dims.iter().try_fold(size, |a: usize, &d| a.checked_mul(d)).filter(|&n| n <= 4096);
        let len = data_len.or(exact).unwrap_or(0);
        let data = vec![fill; len];
        let r = check_parse(&npy(version, hlen, &h, &data))?;
        if let Some(p) = r {
            prop_assert_eq!(dims.len(), 2);
            prop_assert_eq!((p.len(), p.dim()), (dims[0], dims[1]));
        }
    }

    /// Mutations of a valid file: bytes overwritten or flipped, inserted, removed, the file truncated.
    #[test]
    fn parse_mutated_files(
        n in 1usize..5,
        d in 1usize..4,
        f32s in any::<bool>(),
        seed in any::<u64>(),
        edits in prop::collection::vec((0u8..5, any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let p = Points::standard_normal(n, d, &mut rng);
        let mut b = to_bytes(&p, if f32s { NpyDtype::F32 } else { NpyDtype::F64 });
        let pristine = edits.is_empty();
        for (kind, at, byte) in edits {
            if b.is_empty() {
                break;
            }
            let i = at.index(b.len());
            match kind {
                0 => b[i] = byte,
                1 => b[i] ^= 1 << (byte % 8),
                2 => b.insert(i, byte),
                3 => { b.remove(i); }
                _ => b.truncate(i),
            }
        }
        let r = check_parse(&b)?;
        if pristine {
            prop_assert!(r.is_some());
        }
    }

    /// Labelled data sets with random labels and class counts: accepted exactly when valid, and an
    /// accepted one draws pairs with one-hot contexts.
    #[test]
    fn array_data_with_any_labels(
        n in 1usize..6,
        labels in prop::collection::vec(prop_oneof![0usize..8, Just(usize::MAX), any::<usize>()], 0..7),
        classes in prop_oneof![0usize..10, Just(usize::MAX), Just(ArrayData::MAX_CLASSES), Just(ArrayData::MAX_CLASSES + 1), any::<usize>()],
        batch in prop_oneof![0usize..5, Just(usize::MAX), any::<usize>()],
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let data = ArrayData::new(Points::standard_normal(n, 2, &mut rng)).unwrap();
        let valid = labels.len() == n
            && (1..=ArrayData::MAX_CLASSES).contains(&classes)
            && labels.iter().all(|&l| l < classes);
        let oh = one_hot(&labels, classes);
        prop_assert_eq!(oh.is_ok(), (1..=ArrayData::MAX_CLASSES).contains(&classes) && labels.iter().all(|&l| l < classes));
        match data.with_labels(labels, classes) {
            Ok(d) => {
                prop_assert!(valid);
                prop_assert_eq!(PairSource::context_dim(&d), classes);
                // only draw batches that fit in memory; the rest must be refused or are merely large
                if batch < 5 {
                    let pairs = d.draw_pairs(batch, &mut rng).unwrap();
                    let ctx = pairs.context.unwrap();
                    prop_assert_eq!((ctx.len(), ctx.dim()), (batch, classes));
                    prop_assert!(ctx.as_slice().iter().all(|&v| v == 0.0 || v == 1.0));
                } else if batch.checked_mul(classes.max(2)).and_then(|v| v.checked_mul(8)).is_none_or(|b| b > isize::MAX as usize) {
                    prop_assert!(d.draw_pairs(batch, &mut rng).is_err());
                }
            }
            Err(_) => prop_assert!(!valid),
        }
    }
}
