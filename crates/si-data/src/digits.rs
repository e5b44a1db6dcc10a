//! The 8×8 handwritten digits (UCI optdigits as scikit-learn bundles it: 1,797 images, values 0–16,
//! labels 0–9), split once into training, validation and test sets, and the dequantisation and
//! bits-per-dimension convention used for their likelihoods (docs/math.md §10).
//!
//! The file scikit-learn ships (`sklearn/datasets/data/digits.csv.gz`, gunzipped) has one image per line:
//! 64 pixel counts, row by row, then the label, comma-separated. [`parse_csv`] reads it; [`Split::new`]
//! draws the fixed split; [`write_split`] writes `{train,validation,test}.npy` as (N, 8, 8) arrays of the raw
//! counts and `{…}-labels.npy` as N × 1 arrays.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Points};

use crate::error::{DataError, Result};
use crate::npy::{read_images, read_points, write_images, write_points, ImageShape, NpyDtype};

/// Pixel levels: counts 0..=16.
pub const LEVELS: usize = 17;
/// Classes 0..=9.
pub const CLASSES: usize = 10;
/// The image shape, 1 × 8 × 8.
pub const SHAPE: ImageShape = ImageShape {
    channels: 1,
    height: 8,
    width: 8,
};
/// Images in the validation set and in the test set (the rest is the training set).
pub const HELD_OUT: usize = 300;
/// The seed of the one split every run uses.
pub const SPLIT_SEED: u64 = 20_231_797;

fn bad(reason: String) -> DataError {
    DataError::BadData {
        path: "digits.csv".into(),
        reason,
    }
}

/// Images (N points of dimension 64, raw counts 0–16) and their labels, from scikit-learn's CSV text.
pub fn parse_csv(text: &str) -> Result<(Points, Vec<usize>)> {
    let dim = SHAPE.dim();
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != dim + 1 {
            return Err(bad(format!(
                "line {}: {} fields, expected {} pixels and a label",
                i + 1,
                fields.len(),
                dim
            )));
        }
        let number = |f: &str, max: usize| -> Result<usize> {
            // the file writes integers, possibly as `3.0`
            let v: f64 = f
                .parse()
                .map_err(|_| bad(format!("line {}: `{f}` is not a number", i + 1)))?;
            if v.fract() != 0.0 || v < 0.0 || v > max as f64 {
                return Err(bad(format!(
                    "line {}: `{f}` is not an integer in 0..={max}",
                    i + 1
                )));
            }
            Ok(v as usize)
        };
        for f in &fields[..dim] {
            values.push(number(f, LEVELS - 1)? as f64);
        }
        labels.push(number(fields[dim], CLASSES - 1)?);
    }
    if labels.is_empty() {
        return Err(bad("no images".into()));
    }
    Ok((Points::from_row_major(labels.len(), dim, &values)?, labels))
}

/// Which rows of the data set are in each part: a permutation drawn from [`SPLIT_SEED`], the first
/// [`HELD_OUT`] rows validation, the next [`HELD_OUT`] test, the rest training (each part in file order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Validation rows (every choice is made on them).
    pub validation: Vec<usize>,
    /// Test rows (reported, never chosen on).
    pub test: Vec<usize>,
}

impl Split {
    /// The split of `n` rows (n > 2 · [`HELD_OUT`]).
    pub fn new(n: usize) -> Result<Self> {
        if n <= 2 * HELD_OUT {
            return Err(bad(format!(
                "{n} images; the split needs more than {}",
                2 * HELD_OUT
            )));
        }
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut ChaCha8Rng::seed_from_u64(SPLIT_SEED));
        let sorted = |s: &[usize]| {
            let mut v = s.to_vec();
            v.sort_unstable();
            v
        };
        Ok(Self {
            validation: sorted(&perm[..HELD_OUT]),
            test: sorted(&perm[HELD_OUT..2 * HELD_OUT]),
            train: sorted(&perm[2 * HELD_OUT..]),
        })
    }
}

/// The names of the parts, in the order [`write_split`] writes them.
pub const PARTS: [&str; 3] = ["train", "validation", "test"];

/// Writes the split of (images, labels) into `dir`: `{part}.npy`, (N, 8, 8) f32 raw counts, and
/// `{part}-labels.npy`, N × 1 f32 labels, for each part of [`PARTS`], each file atomically.
pub fn write_split(dir: &Path, images: &Points, labels: &[usize]) -> Result<()> {
    if images.dim() != SHAPE.dim() || images.len() != labels.len() {
        return Err(bad(format!(
            "{} images of dimension {} with {} labels",
            images.len(),
            images.dim(),
            labels.len()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| DataError::io(format!("creating {}", dir.display()), e))?;
    let split = Split::new(images.len())?;
    for (name, rows) in PARTS
        .iter()
        .zip([&split.train, &split.validation, &split.test])
    {
        let part = images.select(rows)?;
        let lab: Vec<f64> = rows.iter().map(|&r| labels[r] as f64).collect();
        write_images(
            &dir.join(format!("{name}.npy")),
            &part,
            SHAPE,
            NpyDtype::F32,
        )?;
        write_points(
            &dir.join(format!("{name}-labels.npy")),
            &Points::from_row_major(rows.len(), 1, &lab)?,
            NpyDtype::F32,
        )?;
    }
    Ok(())
}

/// Reads a part written by [`write_split`]: its images (raw counts) and labels.
pub fn read_part(dir: &Path, part: &str) -> Result<(Points, Vec<usize>)> {
    let path = dir.join(format!("{part}.npy"));
    let (images, shape) = read_images(&path)?;
    if shape != SHAPE {
        return Err(DataError::BadData {
            path,
            reason: format!("images of {shape}, expected {SHAPE}"),
        });
    }
    let lpath = dir.join(format!("{part}-labels.npy"));
    let l = read_points(&lpath)?;
    if l.dim() != 1 || l.len() != images.len() {
        return Err(DataError::BadData {
            path: lpath,
            reason: format!(
                "{} × {} labels for {} images, expected N × 1",
                l.len(),
                l.dim(),
                images.len()
            ),
        });
    }
    let labels = l.as_slice().iter().map(|v| *v as usize).collect();
    Ok((images, labels))
}

/// Uniform dequantisation of counts k ∈ {0, …, L − 1} into [−1, 1]: y = 2 (k + u)/L − 1 with u ~ U[0, 1)
/// drawn per value (L = `levels`).
pub fn dequantize<R: Rng + ?Sized>(counts: &Points, levels: usize, rng: &mut R) -> Points {
    let l = levels as f64;
    let mut out = counts.clone();
    for v in out.as_mut_slice() {
        let u: f64 = rng.random();
        *v = 2.0 * (*v + u) / l - 1.0;
    }
    out
}

/// The counts scaled to the centres of their dequantisation cells in [−1, 1]: 2 (k + ½)/L − 1.
pub fn centred(counts: &Points, levels: usize) -> Points {
    let l = levels as f64;
    let mut out = counts.clone();
    for v in out.as_mut_slice() {
        *v = 2.0 * (*v + 0.5) / l - 1.0;
    }
    out
}

/// Bits per dimension of the discrete data from the negative log-likelihood (nats) of its dequantised
/// version y = 2 (k + u)/L − 1 under a continuous model: the cell of k has width 2/L in y, so
/// −log₂ P(k) ≤ E_u[−log p(y)] − d log(2/L) (Jensen, as in Theis et al. 2016) and
/// bits/dim = (NLL/d + ln(L/2)) / ln 2.
pub fn bits_per_dim(nll_nats: f64, dim: usize, levels: usize) -> f64 {
    (nll_nats / dim as f64 + (levels as f64 / 2.0).ln()) / std::f64::consts::LN_2
}
