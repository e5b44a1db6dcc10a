//! The digits data set's parser, split, files, dequantisation and bits per dimension, on hand-made data.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Points};
use si_data::digits::{
    bits_per_dim, centred, dequantize, parse_csv, read_part, write_split, Split, HELD_OUT, LEVELS,
};

fn line(pixel: usize, label: usize) -> String {
    let mut f: Vec<String> = (0..64).map(|k| ((k + pixel) % 17).to_string()).collect();
    f.push(label.to_string());
    f.join(",")
}

#[test]
fn the_csv_is_read_row_by_row_and_bad_lines_are_typed_errors() {
    let text = format!("{}\n{}\n\n", line(0, 3), line(5, 9));
    let (x, labels) = parse_csv(&text).unwrap();
    assert_eq!((x.len(), x.dim()), (2, 64));
    assert_eq!(labels, vec![3, 9]);
    assert_eq!(x.matrix()[(0, 0)], 0.0);
    assert_eq!(x.matrix()[(16, 0)], 16.0);
    assert_eq!(x.matrix()[(0, 1)], 5.0);
    assert_eq!(x.matrix()[(63, 1)], ((63 + 5) % 17) as f64);
    // floats holding integers, as some exports write them
    let floats = line(1, 2).replace(',', ".0,") + ".0";
    assert_eq!(parse_csv(&floats).unwrap().1, vec![2]);
    for bad in [
        line(0, 10),                          // no class 10
        line(0, 3).replacen("0,", "17,", 1),  // no level 17
        line(0, 3).replacen("0,", "0.5,", 1), // not an integer
        line(0, 3).replacen("0,", "", 1),     // 64 fields
        line(0, 3).replacen("0,", "x,", 1),   // not a number
        String::new(),                        // no images
    ] {
        assert!(parse_csv(&bad).is_err(), "{bad}");
    }
}

#[test]
fn the_split_is_fixed_disjoint_and_complete() {
    let s = Split::new(1797).unwrap();
    assert_eq!(
        (s.train.len(), s.validation.len(), s.test.len()),
        (1797 - 2 * HELD_OUT, HELD_OUT, HELD_OUT)
    );
    let mut all: Vec<usize> = [&s.train[..], &s.validation[..], &s.test[..]].concat();
    all.sort_unstable();
    assert_eq!(all, (0..1797).collect::<Vec<_>>());
    assert_eq!(s, Split::new(1797).unwrap());
    assert!(s.train.windows(2).all(|w| w[0] < w[1]));
    assert!(Split::new(2 * HELD_OUT).is_err());
}

#[test]
fn the_parts_round_trip_through_their_files() {
    let n = 700;
    let text: String = (0..n).map(|i| line(i, i % 10) + "\n").collect();
    let (x, labels) = parse_csv(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), &x, &labels).unwrap();
    let split = Split::new(n).unwrap();
    for (part, rows) in ["train", "validation", "test"].into_iter().zip([
        &split.train,
        &split.validation,
        &split.test,
    ]) {
        let (images, lab) = read_part(dir.path(), part).unwrap();
        assert_eq!(images.len(), rows.len());
        for (k, &r) in rows.iter().enumerate() {
            assert_eq!(lab[k], labels[r]);
            assert_eq!(images.matrix().column(k), x.matrix().column(r));
        }
    }
    assert!(write_split(dir.path(), &x, &labels[1..]).is_err());
}

#[test]
fn dequantised_values_stay_in_their_cells_and_average_to_the_centres() {
    let counts =
        Points::from_row_major(1, 17, &(0..17).map(f64::from).collect::<Vec<_>>()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let l = LEVELS as f64;
    let draws = 4000;
    let mut sum = [0.0; 17];
    for _ in 0..draws {
        let y = dequantize(&counts, LEVELS, &mut rng);
        for (k, v) in y.as_slice().iter().enumerate() {
            let lo = 2.0 * k as f64 / l - 1.0;
            assert!(*v >= lo && *v < lo + 2.0 / l);
            sum[k] += v;
        }
    }
    // the mean of U[lo, lo + 2/L) over 4000 draws: standard error (2/L)/√(12 · 4000) ≈ 5.4e-4; 3e-3 is 5.5 s.e.
    let c = centred(&counts, LEVELS);
    for (s, c) in sum.iter().zip(c.as_slice()) {
        assert!((s / draws as f64 - c).abs() < 3e-3);
    }
    assert!((c.as_slice()[0] - (1.0 / l - 1.0)).abs() < 1e-15);
    assert!((c.as_slice()[16] - (1.0 - 1.0 / l)).abs() < 1e-15);
}

#[test]
fn bits_per_dim_of_the_uniform_model_is_log2_of_the_levels() {
    // the uniform density on [−1, 1]^d is 2^−d: NLL = d ln 2, and it gives every one of the L levels
    // probability 1/L per dimension: log₂ L bits
    for d in [1, 64] {
        let nll = d as f64 * std::f64::consts::LN_2;
        assert!((bits_per_dim(nll, d, LEVELS) - (LEVELS as f64).log2()).abs() < 1e-12);
    }
    // a density e^{−1} times as high everywhere costs 1/(d ln 2) bits per dimension more
    let d = 64;
    let base = bits_per_dim(d as f64 * std::f64::consts::LN_2, d, 256);
    assert!(
        (bits_per_dim(d as f64 * std::f64::consts::LN_2 + 1.0, d, 256)
            - base
            - 1.0 / (d as f64 * std::f64::consts::LN_2))
            .abs()
            < 1e-12
    );
    assert!((base - 8.0).abs() < 1e-12);
}
