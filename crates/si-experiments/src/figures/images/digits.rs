//! Figure 18 (docs/figures.md part G): a class-conditional U-Net on the 8×8 handwritten digits (si-data's
//! `digits`: scikit-learn's copy of UCI optdigits, split 1197 / 300 / 300), with the metrics of
//! docs/results.md ("Images"): bits per dimension of the test split through the ODE (exact divergence), the
//! Fréchet distance in the features of a classifier trained on the training split (with its floor, training
//! against test images, and a Gaussian fitted to the data as the trivial baseline), and the classifier's
//! accuracy on class-conditional samples, for the ODE and the SDE (several diffusion coefficients ε) at
//! several guidance weights; the weight (and ε) reported on the test split is the one with the smallest
//! distance to the validation split. While training, an observer scores the validation images in bits per
//! dimension (si-nn's `ValidationNll`).
//!
//! The model learns b and η of a one-sided interpolant x_t = α(t) z + β(t) x1 from N(0, I) to the
//! dequantised images y = 2 (k + u)/17 − 1, each draw a fresh u (si-nn's `DeviceData::with_dequantization`:
//! the draws happen on the model's device), with the one-hot class as context dropped 10 % of the time
//! (classifier-free guidance). The figure's interpolant is the linear one (α = 1 − t, β = t: flow
//! matching's path); the table of docs/results.md sets the variance-preserving one (α = cos(πt/2),
//! β = sin(πt/2)) beside it at equal field evaluations ([`interpolants`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use plotters::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Interpolant, Points, StandardNormal, TimeRange};
use si_data::digits::{self, CLASSES, LEVELS};
use si_integrate::{Diffusion, EulerMaruyama, Heun, TimeGrid};
use si_nn::sampling::{ode_log_likelihood_of, sample, standard_normal};
use si_nn::train::LogDensity;
use si_nn::{
    Classifier, ClassifierTraining, DeviceData, Divergence, FieldNet, Head, LearnedField,
    LrSchedule, ModelConfig, TensorBatch, TrainConfig, Trainer, ValidationNll,
};
use si_report::{plot_error, png, DrawError};

use crate::figures::{Entry, Sizes};

use crate::figures::DIGITS_ENV;

/// Sizes of the digits experiment.
#[derive(Clone, Debug)]
pub struct DigitsSizes {
    /// U-Net feature maps at the first level.
    pub base: usize,
    /// Residual blocks per level.
    pub blocks: usize,
    /// Training steps of the U-Net.
    pub steps: usize,
    /// Images per step (antithetic pairs: twice as many rows).
    pub batch: usize,
    /// Training steps of the classifier.
    pub classifier_steps: usize,
    /// Samples per class for the metrics.
    pub per_class: usize,
    /// Heun steps of the ODE sampler (two field evaluations each).
    pub ode_steps: usize,
    /// Euler–Maruyama steps of the SDE sampler (one evaluation each; b and η share it).
    pub sde_steps: usize,
    /// Scales ε₀ of the SDE sampler's diffusion ε(t) = ε₀ α(t)² ([`Sampler::Sde`]), each tried at every
    /// guidance weight (chosen on the validation images with the weight).
    pub eps: Vec<f64>,
    /// Guidance weights (w = 0: unconditional, 1: plain conditional).
    pub guidance: Vec<f64>,
    /// Test images scored by the ODE likelihood.
    pub nll_points: usize,
    /// Heun steps of the ODE likelihood.
    pub nll_steps: usize,
    /// Validation images the observer scores while training (ODE, Hutchinson's divergence with one probe,
    /// `nll_steps` Heun steps).
    pub observe_points: usize,
    /// Training steps between the observer's scores (and one at the end).
    pub observe_every: usize,
    /// Measure the model of the lowest validation score the observer recorded (the checkpoint chosen on
    /// validation images) instead of the last one. Off by default: docs/results.md's tables measured the
    /// last.
    pub best_checkpoint: bool,
}

impl DigitsSizes {
    /// Quick: a small U-Net briefly trained and few samples; full: the sizes of docs/results.md.
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                base: 16,
                blocks: 1,
                steps: 150,
                batch: 64,
                classifier_steps: 150,
                per_class: 6,
                ode_steps: 10,
                sde_steps: 20,
                eps: vec![0.5, 2.0],
                guidance: vec![1.0, 2.0],
                nll_points: 8,
                nll_steps: 4,
                observe_points: 8,
                observe_every: 75,
                best_checkpoint: false,
            }
        } else {
            Self {
                base: 32,
                blocks: 1,
                steps: 4000,
                batch: 128,
                classifier_steps: 2000,
                per_class: 100,
                ode_steps: 50,
                sde_steps: 100,
                eps: vec![0.25, 0.5, 1.0, 2.0],
                guidance: vec![1.0, 2.0, 4.0],
                nll_points: 300,
                nll_steps: 20,
                observe_points: 100,
                observe_every: 1000,
                best_checkpoint: false,
            }
        }
    }
}

/// The interpolants the digits table compares (the first is the figure's): (name, interpolant).
pub fn interpolants() -> [(&'static str, Interpolant); 2] {
    [
        ("linear", Interpolant::one_sided_linear()),
        ("vp", Interpolant::one_sided_vp()),
    ]
}

/// The three parts of the split: (counts 0–16 as points of dimension 64, labels).
pub struct DigitsData {
    /// Training images.
    pub train: (Points, Vec<usize>),
    /// Validation images (every choice).
    pub validation: (Points, Vec<usize>),
    /// Test images (reported).
    pub test: (Points, Vec<usize>),
}

/// The folder named by [`DIGITS_ENV`].
pub fn digits_dir() -> Result<PathBuf> {
    match std::env::var_os(DIGITS_ENV) {
        Some(d) => Ok(PathBuf::from(d)),
        None => bail!(
            "the digits figure needs the data set: run it through `cargo xtask reproduce-figures` (which fetches \
             it), or set {DIGITS_ENV} to the folder `cargo xtask digits` prints"
        ),
    }
}

/// Reads the split from `dir`.
pub fn load(dir: &Path) -> Result<DigitsData> {
    let part = |p: &str| {
        digits::read_part(dir, p).with_context(|| format!("reading the digits' {p} part"))
    };
    Ok(DigitsData {
        train: part("train")?,
        validation: part("validation")?,
        test: part("test")?,
    })
}

fn one_hot(labels: &[usize]) -> Result<Points> {
    Ok(si_data::one_hot(labels, CLASSES)?)
}

/// The classifier of the metrics, trained on the training split (a fresh dequantisation each batch).
pub fn train_classifier(data: &DigitsData, steps: usize, seed: u64) -> Result<Classifier> {
    let mut c = Classifier::new(1, 8, 8, CLASSES, tch::Device::Cpu, seed)?;
    let t = ClassifierTraining {
        steps,
        batch: 64,
        lr: 2e-3,
        seed: seed + 1,
    };
    c.fit(&data.train.0, &data.train.1, t, &mut |b, rng| {
        digits::dequantize(&b, LEVELS, rng)
    })?;
    Ok(c)
}

/// What the figure's U-Nets share: the image model of 8 × 8 digits (SiLU, `sizes`' base and blocks) with
/// `heads` and `context_dim`, trained by Adam 2e-3 cosine with EMA 0.999 on antithetic pairs.
pub(crate) fn unet_settings(
    sizes: &DigitsSizes,
    heads: Vec<Head>,
    context_dim: usize,
    seed: u64,
) -> (ModelConfig, TrainConfig) {
    let mut m = ModelConfig::image(1, 8, 8);
    m.heads = heads;
    m.context_dim = context_dim;
    if let Some(u) = m.unet.as_mut() {
        u.base = sizes.base;
        u.blocks = sizes.blocks;
    }
    let mut t = TrainConfig::new(sizes.steps);
    t.batch = sizes.batch;
    t.lr = 2e-3;
    t.schedule = LrSchedule::Cosine { min_lr: 2e-5 };
    t.ema_decay = Some(0.999);
    t.seed = seed;
    (m, t)
}

/// The base density N(0, I) of the 64 pixels.
fn base_log_density() -> LogDensity {
    Box::new(|p: &Points| StandardNormal { dim: 64 }.log_density(p))
}

/// A trained digits model: the run, and with [`DigitsSizes::best_checkpoint`] the sampling model at the
/// lowest validation score (and its step).
pub struct DigitsModel {
    /// The training run (its last model).
    pub trainer: Trainer,
    /// The model chosen on the validation curve, when asked for.
    pub best: Option<(usize, FieldNet)>,
}

impl DigitsModel {
    /// The model that is measured: the chosen one when there is one, else the run's last sampling model.
    pub fn net(&self) -> &FieldNet {
        self.best
            .as_ref()
            .map_or(self.trainer.sampling_net(), |(_, n)| n)
    }

    /// The training step of [`DigitsModel::net`].
    pub fn step(&self) -> usize {
        self.best
            .as_ref()
            .map_or(self.trainer.steps_done(), |(s, _)| *s)
    }
}

/// The conditional U-Net of the figure for `interpolant`, trained on the training split, and the
/// observer's curve: (steps done, bits per dimension of the first `sizes.observe_points` validation images,
/// one fixed dequantisation).
pub fn train_model(
    data: &DigitsData,
    sizes: &DigitsSizes,
    interpolant: &Interpolant,
    seed: u64,
) -> Result<(DigitsModel, Vec<(usize, f64)>)> {
    let (m, mut t) = unet_settings(sizes, vec![Head::B, Head::Eta], CLASSES, seed);
    t.context_dropout = 0.1;
    let n = sizes.observe_points.min(data.validation.0.len());
    let rows: Vec<usize> = (0..n).collect();
    let y = digits::dequantize(
        &data.validation.0.select(&rows)?,
        LEVELS,
        &mut ChaCha8Rng::seed_from_u64(78),
    );
    let mut observer = ValidationNll::new(
        y,
        interpolant.clone(),
        base_log_density(),
        sizes.observe_every,
        sizes.nll_steps,
    )
    .with_divergence(Divergence::Hutchinson {
        probes: 1,
        seed: seed + 1000,
    });
    if sizes.best_checkpoint {
        observer = observer.keeping_best();
    }
    let source = DeviceData::new(
        interpolant.clone(),
        &data.train.0,
        Some((&data.train.1, CLASSES)),
        TimeRange::new(1e-3)?,
        tch::Device::Cpu,
    )?
    .with_dequantization(LEVELS)?;
    let mut tr = Trainer::new(m.check()?, t.check()?, tch::Device::Cpu)?;
    tr.run(&source, &mut [&mut observer])?;
    let curve = observer
        .record()
        .iter()
        .map(|&(step, nll)| (step, digits::bits_per_dim(nll, 64, LEVELS)))
        .collect();
    let best = observer.into_best();
    Ok((DigitsModel { trainer: tr, best }, curve))
}

/// How samples are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampler {
    /// The probability-flow ODE by Heun.
    Ode,
    /// The SDE dX = (b + ε s) dt + √(2ε) dW by Euler–Maruyama, with ε(t) = ε₀ α(t)² (docs/math.md §10:
    /// the score term ε s = −ε₀ α η stays bounded and vanishes at the data, where a constant ε would
    /// overshoot the last step by (ε − h) η).
    Sde {
        /// The scale ε₀.
        eps: f64,
    },
}

/// The two families of [`Sampler`], each reported at its choice on validation images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// [`Sampler::Ode`].
    Ode,
    /// [`Sampler::Sde`], any ε.
    Sde,
}

impl Sampler {
    /// The family.
    pub fn family(self) -> Family {
        match self {
            Sampler::Ode => Family::Ode,
            Sampler::Sde { .. } => Family::Sde,
        }
    }
}

impl std::fmt::Display for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sampler::Ode => write!(f, "ODE"),
            Sampler::Sde { eps } => write!(f, "SDE eps(t) = {eps} alpha(t)^2"),
        }
    }
}

/// ε(t) = ε₀ α(t)² for `interpolant` ([`Sampler::Sde`]).
pub fn diffusion(interpolant: &Interpolant, eps0: f64) -> Diffusion {
    let i = interpolant.clone();
    Diffusion::function(format!("{eps0} alpha(t)^2"), move |t| {
        eps0 * i.schedule_unchecked(t).alpha.powi(2)
    })
}

/// `per_class` samples of every class (class-major), guided with weight `w`, clipped to [−1, 1].
pub fn class_samples(
    net: &FieldNet,
    interpolant: &Interpolant,
    sizes: &DigitsSizes,
    sampler: Sampler,
    w: f64,
    per_class: usize,
    seed: u64,
) -> Result<(Points, Vec<usize>)> {
    let labels: Vec<usize> = (0..CLASSES).flat_map(|c| vec![c; per_class]).collect();
    let ctx = TensorBatch::upload(&one_hot(&labels)?, tch::Kind::Float, net.device())?;
    let field = LearnedField::new(net, interpolant.clone()).with_context(ctx.0, w);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x0 = standard_normal(labels.len(), 64, net.device(), &mut rng)?;
    let x1 = match sampler {
        Sampler::Ode => sample(&field, &Heun, x0, sizes.ode_steps, &mut rng)?,
        Sampler::Sde { eps } => sample(
            &field,
            &EulerMaruyama::new(diffusion(interpolant, eps)),
            x0,
            sizes.sde_steps,
            &mut rng,
        )?,
    };
    let mut p = x1.to_points()?;
    for v in p.as_mut_slice() {
        *v = v.clamp(-1.0, 1.0);
    }
    Ok((p, labels))
}

/// The first `n` test images (at most all), dequantised once with a fixed seed: the images both likelihoods
/// score.
fn scored_test_images(data: &DigitsData, n: usize) -> Result<(Points, usize)> {
    let n = n.min(data.test.0.len());
    let rows: Vec<usize> = (0..n).collect();
    let y = digits::dequantize(
        &data.test.0.select(&rows)?,
        LEVELS,
        &mut ChaCha8Rng::seed_from_u64(77),
    );
    Ok((y, n))
}

/// Bits per dimension of the first `n` test images through the ODE of the unconditional field (context
/// dropped), exact divergence, one fixed dequantisation (seeded); the base is N(0, I).
pub fn bits_per_dim_ode(
    net: &FieldNet,
    interpolant: &Interpolant,
    data: &DigitsData,
    n: usize,
    steps: usize,
) -> Result<f64> {
    let (y, n) = scored_test_images(data, n)?;
    let field = LearnedField::new(net, interpolant.clone());
    let ll = ode_log_likelihood_of(&field, &y, steps, 64, &*base_log_density())?;
    let nll = -ll.iter().sum::<f64>() / n as f64;
    Ok(digits::bits_per_dim(nll, 64, LEVELS))
}

/// The trivial baseline: a Gaussian fitted to the dequantised training images. Returns (its samples,
/// the bits per dimension of the dequantised test images under it).
pub fn gaussian_baseline(data: &DigitsData, n: usize, seed: u64) -> Result<(Points, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let y = digits::dequantize(&data.train.0, LEVELS, &mut rng);
    let (mu, cov) = (y.mean(), y.covariance());
    let l = cov
        .clone()
        .cholesky()
        .ok_or_else(|| anyhow::anyhow!("the digits' covariance is not positive definite"))?;
    let z = Points::standard_normal(n, 64, &mut rng);
    let mut s = l.l() * z.matrix();
    for mut c in s.column_iter_mut() {
        c += &mu;
    }
    let mut samples = Points::from_matrix_unchecked(s);
    for v in samples.as_mut_slice() {
        *v = v.clamp(-1.0, 1.0);
    }
    let test = digits::dequantize(&data.test.0, LEVELS, &mut ChaCha8Rng::seed_from_u64(77));
    let logdet = 2.0 * l.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
    let mut nll = 0.0;
    for i in 0..test.len() {
        let r = test.point(i) - &mu;
        let q = l.solve(&r).dot(&r);
        nll += 0.5 * (q + logdet + 64.0 * (2.0 * std::f64::consts::PI).ln());
    }
    Ok((
        samples,
        digits::bits_per_dim(nll / test.len() as f64, 64, LEVELS),
    ))
}

/// What the samples are measured against: the classifier's accuracy on real images, the Fréchet floor
/// (training against test images) and a Gaussian fitted to the data.
#[derive(Clone, Copy, Debug)]
pub struct Baselines {
    /// Accuracy on the validation images.
    pub acc_val: f64,
    /// Accuracy on the test images.
    pub acc_test: f64,
    /// Fréchet distance between the training and the test images' features.
    pub floor: f64,
    /// Fréchet distance of the Gaussian's samples to the test images.
    pub gauss_fd: f64,
    /// Bits per dimension of the test images under the Gaussian.
    pub gauss_bpd: f64,
}

/// The [`Baselines`] for `classifier`, with `n` samples of the Gaussian.
pub fn baselines(data: &DigitsData, classifier: &Classifier, n: usize) -> Result<Baselines> {
    let real = |p: &Points| digits::centred(p, LEVELS);
    let ft = classifier.features(&real(&data.test.0))?;
    let (gauss, gauss_bpd) = gaussian_baseline(data, n, 5)?;
    Ok(Baselines {
        acc_val: classifier.accuracy(&real(&data.validation.0), &data.validation.1)?,
        acc_test: classifier.accuracy(&real(&data.test.0), &data.test.1)?,
        floor: si_core::metrics::frechet_distance(
            &classifier.features(&real(&data.train.0))?,
            &ft,
        )?,
        gauss_fd: si_core::metrics::frechet_distance(&classifier.features(&gauss)?, &ft)?,
        gauss_bpd,
    })
}

/// One row of the metrics: a sampler at a guidance weight.
#[derive(Clone, Debug)]
pub struct SampleRow {
    /// The sampler.
    pub sampler: Sampler,
    /// The guidance weight.
    pub w: f64,
    /// Fréchet distance of the samples to the validation images (classifier features).
    pub fd_validation: f64,
    /// Fréchet distance of the samples to the test images.
    pub fd_test: f64,
    /// Fraction of samples the classifier puts in their asked class.
    pub accuracy: f64,
}

/// The metrics of one trained model.
#[derive(Clone, Debug)]
pub struct DigitsMetrics {
    /// The training step of the model measured (the last, or the one chosen on the validation curve).
    pub checkpoint_step: usize,
    /// Per sampler and weight.
    pub rows: Vec<SampleRow>,
    /// Bits per dimension of the test images (ODE, exact divergence).
    pub bpd_ode: f64,
    /// The SDE estimate's bits per dimension of the same images at the chosen SDE's ε₀ (docs/math.md §10
    /// for its bias), when an SDE sampler was measured.
    pub bpd_sde: Option<f64>,
    /// The observer's curve while training: (steps done, bits per dimension of validation images).
    pub validation_bpd: Vec<(usize, f64)>,
    /// Seconds of U-Net training (the observer's scoring included).
    pub train_seconds: f64,
}

/// The samplers `sizes` asks for: the ODE, then the SDE at each ε.
pub fn samplers(sizes: &DigitsSizes) -> Vec<Sampler> {
    std::iter::once(Sampler::Ode)
        .chain(sizes.eps.iter().map(|&eps| Sampler::Sde { eps }))
        .collect()
}

/// Trains the model of `interpolant` and `seed` and measures it against the classifier's features.
pub fn measure(
    data: &DigitsData,
    classifier: &Classifier,
    sizes: &DigitsSizes,
    interpolant: &Interpolant,
    seed: u64,
) -> Result<(DigitsModel, DigitsMetrics)> {
    let t0 = Instant::now();
    let (model, validation_bpd) = train_model(data, sizes, interpolant, seed)?;
    let train_seconds = t0.elapsed().as_secs_f64();
    let fv = classifier.features(&digits::centred(&data.validation.0, LEVELS))?;
    let ft = classifier.features(&digits::centred(&data.test.0, LEVELS))?;
    let mut rows = Vec::new();
    for sampler in samplers(sizes) {
        for &w in &sizes.guidance {
            let (x, labels) = class_samples(
                model.net(),
                interpolant,
                sizes,
                sampler,
                w,
                sizes.per_class,
                100 + seed,
            )?;
            let f = classifier.features(&x)?;
            rows.push(SampleRow {
                sampler,
                w,
                fd_validation: si_core::metrics::frechet_distance(&f, &fv)?,
                fd_test: si_core::metrics::frechet_distance(&f, &ft)?,
                accuracy: classifier.accuracy(&x, &labels)?,
            });
        }
    }
    let bpd_ode = bits_per_dim_ode(
        model.net(),
        interpolant,
        data,
        sizes.nll_points,
        sizes.nll_steps,
    )?;
    let checkpoint_step = model.step();
    let mut m = DigitsMetrics {
        checkpoint_step,
        rows,
        bpd_ode,
        bpd_sde: None,
        validation_bpd,
        train_seconds,
    };
    // the SDE bound at the ε₀ the SDE family chose on validation images
    if let Some(&SampleRow {
        sampler: Sampler::Sde { eps },
        ..
    }) = chosen(&m, Family::Sde)
    {
        m.bpd_sde = Some(bits_per_dim_sde(
            model.net(),
            interpolant,
            data,
            sizes.nll_points,
            sizes.sde_steps,
            eps,
        )?);
    }
    Ok((model, m))
}

/// Bits per dimension of the first `n` test images by the SDE estimate (si-integrate
/// `sde_log_likelihood`, docs/math.md §3.1): one backward path per image of dY = (b − εs) dt + √(2ε) dW̄
/// from t = 1 with ε(t) = ε₀ α(t)² (the samplers' diffusion; it vanishes at the data end, where the score
/// −η/α is not defined and is not used), `steps` Euler–Maruyama steps, exact divergence, the same
/// dequantisation as [`bits_per_dim_ode`], the unconditional model. In continuous time the path average
/// bounds the model's log-likelihood from below in expectation (bits per dimension from above), but
/// Euler–Maruyama's first-order error is of the other sign (docs/math.md §10: about −0.045 bits per
/// dimension at 100 steps on an exact Gaussian field): an estimate, not a bound, at these steps.
pub fn bits_per_dim_sde(
    net: &FieldNet,
    interpolant: &Interpolant,
    data: &DigitsData,
    n: usize,
    steps: usize,
    eps0: f64,
) -> Result<f64> {
    let (y, n) = scored_test_images(data, n)?;
    let field = LearnedField::new(net, interpolant.clone());
    let yb = TensorBatch::upload(&y, tch::Kind::Float, net.device())?;
    let base = base_log_density();
    let est = si_integrate::sde_log_likelihood(
        &field,
        &yb,
        &TimeGrid::uniform(1.0, 0.0, steps)?,
        &diffusion(interpolant, eps0),
        1,
        &mut ChaCha8Rng::seed_from_u64(79),
        |p: &Points| base(p),
    )?;
    let nll = -est.mean().iter().sum::<f64>() / n as f64;
    Ok(digits::bits_per_dim(nll, 64, LEVELS))
}

/// The row of `family` with the smallest distance to the validation images (the weight, and for the SDE
/// ε, chosen there).
pub fn chosen(m: &DigitsMetrics, family: Family) -> Option<&SampleRow> {
    m.rows
        .iter()
        .filter(|r| r.sampler.family() == family)
        .min_by(|a, b| a.fd_validation.total_cmp(&b.fd_validation))
}

/// Draws `images` (points of dimension 64 in [−1, 1], row-major 8 × 8) as a `rows × cols` grid in `area`.
fn draw_grid(
    area: &si_report::Area<'_>,
    title: &str,
    images: &Points,
    cols: usize,
) -> Result<(), DrawError> {
    let area = area.titled(title, ("sans-serif", 18)).map_err(plot_error)?;
    let (w, h) = area.dim_in_pixel();
    let rows = images.len().div_ceil(cols);
    let cell = ((w as usize / cols).min(h as usize / rows.max(1)) / 9).max(1) as i32;
    for i in 0..images.len() {
        let (r, c) = ((i / cols) as i32, (i % cols) as i32);
        let p = images.point(i);
        for y in 0..8i32 {
            for x in 0..8i32 {
                let v = p[(y * 8 + x) as usize];
                let g = (255.0 * (1.0 - (v + 1.0) / 2.0)).round().clamp(0.0, 255.0) as u8;
                let x0 = c * 9 * cell + x * cell;
                let y0 = r * 9 * cell + y * cell;
                area.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell, y0 + cell)],
                    RGBColor(g, g, g).filled(),
                ))
                .map_err(plot_error)?;
            }
        }
    }
    Ok(())
}

/// Figure 18.
pub fn figure18(out: &Path, s: &Sizes) -> Result<Entry> {
    let sizes = DigitsSizes::new(s.quick);
    let t0 = Instant::now();
    let data = load(&digits_dir()?)?;
    let classifier = train_classifier(&data, sizes.classifier_steps, 0)?;
    let Baselines {
        acc_val,
        acc_test,
        floor,
        gauss_fd,
        gauss_bpd,
    } = baselines(&data, &classifier, CLASSES * sizes.per_class)?;
    let [(_, interpolant), _] = interpolants();
    let (model, m) = measure(&data, &classifier, &sizes, &interpolant, 0)?;
    let show = 8;
    let mut panels = Vec::new();
    for family in [Family::Ode, Family::Sde] {
        let Some(row) = chosen(&m, family) else {
            bail!("no {family:?} sampler was measured");
        };
        let (x, _) = class_samples(
            model.net(),
            &interpolant,
            &sizes,
            row.sampler,
            row.w,
            show,
            900,
        )?;
        panels.push((
            format!(
                "{}, guidance w = {} (chosen on validation)",
                row.sampler, row.w
            ),
            x,
        ));
    }
    let real: Vec<usize> = (0..CLASSES)
        .flat_map(|c| {
            data.test
                .1
                .iter()
                .enumerate()
                .filter(move |(_, l)| **l == c)
                .map(|(i, _)| i)
                .take(show)
        })
        .collect();
    panels.insert(
        0,
        (
            "test images".to_string(),
            digits::centred(&data.test.0.select(&real)?, LEVELS),
        ),
    );
    let inpainter = super::inpainting::train_inpainter(&data, &sizes, 1)?;
    let inpainted =
        super::inpainting::measure_inpainting(&inpainter, &data, &classifier, sizes.ode_steps)?;
    let mut shown = Vec::new();
    for kind in [0, 3] {
        let [masked, done, truth] =
            super::inpainting::examples(&inpainter, &data, kind, show, sizes.ode_steps)?;
        let rows: Vec<f64> = [masked, done, truth]
            .iter()
            .flat_map(|p| p.to_row_major())
            .collect();
        shown.push((
            format!(
                "inpainting, {} half hidden: masked / completed / truth",
                super::inpainting::HALVES[kind]
            ),
            Points::from_row_major(3 * show.min(data.test.0.len()), 64, &rows)?,
        ));
    }
    let file = png(out, "fig18_digits.png", (1350, 820), |root| {
        let (top, bottom) = root.split_vertically(520);
        let p = top.split_evenly((1, 3));
        for (k, (title, x)) in panels.iter().enumerate() {
            draw_grid(&p[k], title, x, show)?;
        }
        let q = bottom.split_evenly((1, 2));
        for (k, (title, x)) in shown.iter().enumerate() {
            draw_grid(&q[k], title, x, show)?;
        }
        Ok(())
    })?;
    let mut numbers = vec![
        (
            "classifier accuracy, validation / test".to_string(),
            format!("{acc_val:.3} / {acc_test:.3}"),
        ),
        (
            "Frechet distance floor (training against test images)".to_string(),
            format!("{floor:.2}"),
        ),
        (
            "Gaussian fitted to the data: Frechet distance / bits per dim".to_string(),
            format!("{gauss_fd:.2} / {gauss_bpd:.3}"),
        ),
        (
            format!(
                "bits per dim of {} test images (ODE, exact divergence, {} Heun steps)",
                sizes.nll_points.min(data.test.0.len()),
                sizes.nll_steps
            ),
            format!("{:.3}", m.bpd_ode),
        ),
        (
            format!(
                "bits per dim of {} validation images while training (ODE, Hutchinson), by steps done",
                sizes.observe_points.min(data.validation.0.len())
            ),
            m.validation_bpd
                .iter()
                .map(|(k, b)| format!("{k}: {b:.3}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    for r in &inpainted {
        numbers.push((
            format!(
                "inpainting, {} half hidden: RMSE of the hidden pixels (mean fill), accuracy on completions (mean fill)",
                r.half
            ),
            format!(
                "{:.3} ({:.3}), {:.3} ({:.3})",
                r.rmse, r.rmse_mean, r.accuracy, r.accuracy_mean
            ),
        ));
    }
    for r in &m.rows {
        numbers.push((
            format!(
                "{}, w = {}: Frechet distance validation / test, conditional accuracy",
                r.sampler, r.w
            ),
            format!(
                "{:.2} / {:.2}, {:.3}",
                r.fd_validation, r.fd_test, r.accuracy
            ),
        ));
    }
    Ok(Entry {
        number: 18,
        title: "8x8 handwritten digits: a class-conditional U-Net".into(),
        files: vec![file],
        caption: "Rows: classes 0-9. (a) Test images; (b) samples of the class-conditional U-Net by the probability-flow \
                  ODE (Heun) and (c) by the SDE (Euler-Maruyama), each at the guidance weight (and the SDE at the \
                  diffusion coefficient) with the smallest Frechet distance to the validation images; (d, e) inpainting with a data-dependent coupling (the \
                  corrupted image as the base point, a U-Net conditioned on the mask): test images with the left or \
                  bottom half hidden, the ODE's completion and the truth. The numbers: the classifier that defines the feature \
                  space, the distance's floor (training against test images) and a Gaussian baseline, bits per \
                  dimension of dequantised test images (uniform dequantisation of the 17 levels into [-1, 1]), and \
                  for every sampler and weight the distance to validation and test images and the fraction of \
                  samples classified as the class asked; for inpainting, the error on the hidden pixels and the \
                  classifier's accuracy on the completions beside filling them with the training mean."
            .into(),
        settings: format!(
            "U-Net base {}, levels (1, 2), {} block(s) per level, attention at level 1, heads b and eta, one-sided linear \
             interpolant, {} steps of {} antithetic pairs (Adam 2e-3 cosine, EMA 0.999, class dropped 10 %), {:.0} s of \
             training; classifier {} steps; {} samples per class; ODE {} Heun steps, SDE {} Euler-Maruyama steps with \
             eps(t) = eps0 alpha(t)^2, eps0 in {:?}; {:.0} s in all{}",
            sizes.base,
            sizes.blocks,
            sizes.steps,
            sizes.batch,
            m.train_seconds,
            sizes.classifier_steps,
            sizes.per_class,
            sizes.ode_steps,
            sizes.sde_steps,
            sizes.eps,
            t0.elapsed().as_secs_f64(),
            if s.quick { " (quick mode)" } else { "" }
        ),
        numbers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ε(t) = ε₀ α(t)²: ε₀ at the noise end, 0 at the data end, and in between α of each path by hand
    /// (linear: α(1/2) = 1/2; variance-preserving: α(1/2) = cos(π/4), α² = 1/2).
    #[test]
    fn the_sde_diffusion_vanishes_at_the_data_end() {
        let [(_, linear), (_, vp)] = interpolants();
        for (i, mid) in [(linear, 0.25), (vp, 0.5)] {
            let e = diffusion(&i, 2.0);
            assert!((e.at(0.0).unwrap() - 2.0).abs() < 1e-12);
            assert!(e.at(1.0).unwrap().abs() < 1e-12);
            assert!((e.at(0.5).unwrap() - 2.0 * mid).abs() < 1e-12, "{i:?}");
        }
    }
}
