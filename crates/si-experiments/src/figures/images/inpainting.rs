//! Inpainting with a data-dependent coupling (Albergo et al. 2023, arXiv 2310.03725; docs/math.md §10): the
//! base point is the corrupted image, x0 = m ⊙ x1 + (1 − m) ⊙ ζ with ζ ~ N(0, I) and m the mask of known
//! pixels, coupled to its clean x1; the deterministic linear interpolant x_t = (1 − t) x0 + t x1 carries it to
//! the clean image, and the velocity b(t, x | m) is conditioned on the mask (the context). Known pixels have
//! x0 = x1, so their velocity is zero: only the hidden ones move. The masks hide one half of the image (left,
//! right, top or bottom), drawn uniformly per image.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Gamma, Interpolant, PairSource, Pairs, Points};
use si_data::digits::{self, LEVELS};
use si_integrate::Heun;
use si_nn::sampling::sample;
use si_nn::{Classifier, Head, LearnedField, TensorBatch, Trainer};

use super::digits::{DigitsData, DigitsSizes};

/// The hidden halves, in the order of their index.
pub const HALVES: [&str; 4] = ["left", "right", "top", "bottom"];

/// The mask (1 = known, 0 = hidden) of an 8 × 8 image with half `kind` of [`HALVES`] hidden.
pub fn half_mask(kind: usize) -> Vec<f64> {
    (0..64)
        .map(|k| {
            let (row, col) = (k / 8, k % 8);
            let hidden = match kind % 4 {
                0 => col < 4,
                1 => col >= 4,
                2 => row < 4,
                _ => row >= 4,
            };
            f64::from(u8::from(!hidden))
        })
        .collect()
}

/// m ⊙ x1 + (1 − m) ⊙ ζ for each point of `x1` with its mask (columns of `masks`) and noise `zeta`.
pub fn corrupt(x1: &Points, masks: &Points, zeta: &Points) -> Points {
    let mut x0 = x1.clone();
    for i in 0..x1.len() {
        for k in 0..x1.dim() {
            let m = masks.matrix()[(k, i)];
            x0.matrix_mut()[(k, i)] = m * x1.matrix()[(k, i)] + (1.0 - m) * zeta.matrix()[(k, i)];
        }
    }
    x0
}

/// Training pairs of the inpainter: x1 a dequantised training image (fresh u each draw), a hidden half
/// drawn uniformly, x0 its corruption, the mask as the context.
pub struct InpaintingPairs {
    counts: Points,
}

impl InpaintingPairs {
    /// Pairs from the counts (0–16) of 8 × 8 images.
    pub fn new(counts: Points) -> Self {
        Self { counts }
    }
}

impl PairSource for InpaintingPairs {
    fn dim(&self) -> usize {
        64
    }
    fn context_dim(&self) -> usize {
        64
    }
    fn draw_pairs(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Pairs> {
        let idx: Vec<usize> = (0..n)
            .map(|_| rng.random_range(0..self.counts.len()))
            .collect();
        let x1 = digits::dequantize(&self.counts.select(&idx)?, LEVELS, rng);
        let kinds: Vec<usize> = (0..n).map(|_| rng.random_range(0..4)).collect();
        let masks: Vec<f64> = kinds.iter().flat_map(|&k| half_mask(k)).collect();
        let masks = Points::from_row_major(n, 64, &masks)?;
        let zeta = Points::standard_normal(n, 64, rng);
        Ok(Pairs {
            x0: corrupt(&x1, &masks, &zeta),
            x1,
            context: Some(masks),
        })
    }
}

fn interpolant() -> si_core::Result<Interpolant> {
    Interpolant::linear(Gamma::Zero)
}

/// The inpainter: a U-Net (head b) conditioned on the mask, trained on the training split.
pub fn train_inpainter(
    data: &DigitsData,
    sizes: &DigitsSizes,
    seed: u64,
) -> anyhow::Result<Trainer> {
    let (m, t) = super::digits::unet_settings(sizes, vec![Head::B], 64, seed);
    let source = crate::experiment::source(
        interpolant()?,
        InpaintingPairs::new(data.train.0.clone()),
        1e-3,
        tch::Device::Cpu,
    )?;
    let mut tr = Trainer::new(m.check()?, t.check()?, tch::Device::Cpu)?;
    tr.run(&source, &mut [])?;
    Ok(tr)
}

/// The completion of `corrupted` (with its `masks`, one column per image) by the ODE (Heun, `steps`),
/// clipped to [−1, 1]; known pixels are put back exactly.
pub fn inpaint(
    tr: &Trainer,
    corrupted: &Points,
    masks: &Points,
    steps: usize,
) -> anyhow::Result<Points> {
    let net = tr.sampling_net();
    let ctx = TensorBatch::upload(masks, tch::Kind::Float, net.device())?;
    let field = LearnedField::new(net, interpolant()?).with_context(ctx.0, 1.0);
    let x0 = TensorBatch::upload(corrupted, tch::Kind::Float, net.device())?;
    // Heun draws nothing
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut x1 = sample(&field, &Heun, x0, steps, &mut rng)?.to_points()?;
    for i in 0..x1.len() {
        for k in 0..64 {
            let m = masks.matrix()[(k, i)];
            let v = x1.matrix()[(k, i)].clamp(-1.0, 1.0);
            x1.matrix_mut()[(k, i)] = m * corrupted.matrix()[(k, i)] + (1.0 - m) * v;
        }
    }
    Ok(x1)
}

/// One hidden half over the test images: root-mean-square error on the hidden pixels against the
/// dequantised truth and the classifier's accuracy on the completions, for the inpainter and for the
/// baseline that fills the hidden pixels with the training images' mean.
#[derive(Clone, Debug)]
pub struct InpaintRow {
    /// The hidden half.
    pub half: &'static str,
    /// RMSE of the inpainter.
    pub rmse: f64,
    /// RMSE of the mean fill.
    pub rmse_mean: f64,
    /// Accuracy of the classifier on the inpainter's completions.
    pub accuracy: f64,
    /// Accuracy on the mean-filled images.
    pub accuracy_mean: f64,
}

/// The test images, each with every hidden half, completed by `tr`; one row per half.
pub fn measure_inpainting(
    tr: &Trainer,
    data: &DigitsData,
    classifier: &Classifier,
    steps: usize,
) -> anyhow::Result<Vec<InpaintRow>> {
    let (counts, labels) = &data.test;
    let n = counts.len();
    let truth = digits::dequantize(counts, LEVELS, &mut ChaCha8Rng::seed_from_u64(78));
    let mean = digits::centred(&data.train.0, LEVELS).mean();
    let mut rows = Vec::new();
    for (kind, half) in HALVES.iter().enumerate() {
        let m = half_mask(kind);
        let masks = Points::from_row_major(n, 64, &m.repeat(n))?;
        let zeta = Points::standard_normal(n, 64, &mut ChaCha8Rng::seed_from_u64(79 + kind as u64));
        let corrupted = corrupt(&truth, &masks, &zeta);
        let done = inpaint(tr, &corrupted, &masks, steps)?;
        let mut filled = truth.clone();
        let hidden: Vec<usize> = (0..64).filter(|&k| m[k] == 0.0).collect();
        for i in 0..n {
            for &k in &hidden {
                filled.matrix_mut()[(k, i)] = mean[k];
            }
        }
        let rmse = |x: &Points| {
            let mut s = 0.0;
            for i in 0..n {
                for &k in &hidden {
                    s += (x.matrix()[(k, i)] - truth.matrix()[(k, i)]).powi(2);
                }
            }
            (s / (hidden.len() * n) as f64).sqrt()
        };
        rows.push(InpaintRow {
            half,
            rmse: rmse(&done),
            rmse_mean: rmse(&filled),
            accuracy: classifier.accuracy(&done, labels)?,
            accuracy_mean: classifier.accuracy(&filled, labels)?,
        });
    }
    Ok(rows)
}

/// Examples for the figure: the first `k` test images with half `kind` hidden, as (corrupted with the hidden
/// pixels shown at 0, completed, truth).
pub fn examples(
    tr: &Trainer,
    data: &DigitsData,
    kind: usize,
    k: usize,
    steps: usize,
) -> anyhow::Result<[Points; 3]> {
    let rows: Vec<usize> = (0..k.min(data.test.0.len())).collect();
    let truth = digits::dequantize(
        &data.test.0.select(&rows)?,
        LEVELS,
        &mut ChaCha8Rng::seed_from_u64(80),
    );
    let m = half_mask(kind);
    let masks = Points::from_row_major(rows.len(), 64, &m.repeat(rows.len()))?;
    let zeta = Points::standard_normal(rows.len(), 64, &mut ChaCha8Rng::seed_from_u64(81));
    let corrupted = corrupt(&truth, &masks, &zeta);
    let done = inpaint(tr, &corrupted, &masks, steps)?;
    let shown = corrupt(&truth, &masks, &Points::zeros(rows.len(), 64));
    Ok([shown, done, truth])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_hide_one_half_and_pairs_agree_on_the_known_pixels() {
        for kind in 0..4 {
            let m = half_mask(kind);
            assert_eq!(m.iter().filter(|v| **v == 0.0).count(), 32);
        }
        assert_eq!(half_mask(0)[0], 0.0); // left hidden: column 0
        assert_eq!(half_mask(1)[0], 1.0);
        assert_eq!(half_mask(2)[7], 0.0); // top hidden: row 0
        assert_eq!(half_mask(3)[63], 0.0);
        let counts = Points::from_row_major(
            3,
            64,
            &(0..192)
                .map(|k| f64::from((k % 17) as u8))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let src = InpaintingPairs::new(counts);
        let p = src
            .draw_pairs(50, &mut ChaCha8Rng::seed_from_u64(2))
            .unwrap();
        let ctx = p.context.unwrap();
        for i in 0..50 {
            let mut hidden = 0;
            for k in 0..64 {
                let m = ctx.matrix()[(k, i)];
                if m == 1.0 {
                    assert_eq!(p.x0.matrix()[(k, i)], p.x1.matrix()[(k, i)]);
                } else {
                    hidden += 1;
                }
            }
            assert_eq!(hidden, 32);
        }
    }
}
