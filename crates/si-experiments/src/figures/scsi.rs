//! Figure 13: variance reduction with self-consistent interpolants (docs/figures.md D.13, docs/math.md §6).
//!
//! The toy of the SCSI paper's experiments: y ~ ½N((−2,0), 0.5 I) + ½N((2,0), [[0.6,0.2],[0.2,0.5]]), known
//! only through samples; F(x) = x + σz for several σ. SCSI learns the transport Φ; its samples Φ(y) are
//! compared with the exact reduced mixture (si-analytic's `VarianceReduction`), with the classical
//! deconvolution (an EM fit of y minus σ² I), and a linear forward model that deconvolution cannot undo
//! (a blur of a vector in d = 4 plus noise) against its exact Gaussian answer.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use nalgebra::{dvector, DMatrix, DVector};
use plotters::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{fit_em, reference, EmConfig, GaussianMixture, VarianceReduction};
use si_core::metrics::{energy_distance, energy_distance_unbiased};
use si_core::{AdditiveGaussian, Batch, ForwardModel, LinearGaussian, Points};
use si_nn::scsi::{run, scsi_interpolant, transport, MonitorRow, ScsiConfig, ScsiParams};
use si_nn::{Activation, Head, LrSchedule, ModelConfig, TrainConfig, Trainer};
use si_report::{color, plot_error, png, DrawError};

use super::{Entry, Sizes};

/// The observations' law of the toy.
pub fn toy() -> Result<GaussianMixture> {
    Ok(reference::scsi_toy()?)
}

/// The SCSI settings of this figure (and of `si reduce-variance`'s defaults where they agree).
struct ScsiSizes {
    n: usize,
    steps: usize,
    refresh: usize,
    batch: usize,
    width: usize,
    lr: f64,
    transport_steps: usize,
    monitor_every: usize,
    eval: usize,
}

impl ScsiSizes {
    fn new(sizes: &Sizes) -> Self {
        if sizes.quick {
            Self {
                n: 4000,
                steps: 300,
                refresh: 5,
                batch: 256,
                width: 32,
                lr: 3e-3,
                transport_steps: 8,
                monitor_every: 50,
                eval: 2000,
            }
        } else {
            Self {
                n: 20_000,
                steps: 4000,
                refresh: 20,
                batch: 1000,
                width: 128,
                lr: 3e-3,
                transport_steps: 20,
                monitor_every: 100,
                eval: 20_000,
            }
        }
    }

    fn trainer(&self, d: usize, steps: usize, seed: u64) -> Result<Trainer> {
        let mut m = ModelConfig::new(d);
        m.width = self.width;
        m.depth = 3;
        m.activation = Activation::Silu;
        m.heads = vec![Head::B];
        let mut t = TrainConfig::new(steps);
        t.batch = self.batch;
        t.lr = self.lr;
        t.schedule = LrSchedule::Cosine {
            min_lr: self.lr * 0.01,
        };
        t.ema_decay = None;
        t.antithetic = false;
        t.seed = seed;
        Ok(Trainer::new(
            m.check()?,
            t.check()?,
            tch::Device::cuda_if_available(),
        )?)
    }

    fn scsi(&self) -> Result<ScsiParams> {
        Ok(ScsiConfig {
            transport_steps: self.transport_steps,
            refresh_every: self.refresh,
            pool: self.batch * self.refresh,
            monitor_every: self.monitor_every,
            // half are transported (1000 points, compared with 1000 exact ones), half are the reference
            monitor_points: 2000,
            ..ScsiConfig::default()
        }
        .check()?)
    }
}

/// Covariance of the points of class `j` (class 1: x ≥ 0, the nearer mean; class 0 otherwise). A transport
/// need not map components onto components, so samples are compared class by class under one rule.
fn class_cov(p: &Points, j: usize) -> Result<DMatrix<f64>> {
    let v: Vec<f64> = (0..p.len())
        .filter(|&i| (p.point(i)[0] >= 0.0) == (j == 1))
        .flat_map(|i| p.point(i).iter().copied().collect::<Vec<_>>())
        .collect();
    Ok(Points::from_row_major(v.len() / p.dim(), p.dim(), &v)?.covariance())
}

/// Worst entry error of the class covariances of `x` against those of `exact`.
fn class_error(x: &Points, exact: &Points) -> Result<f64> {
    let mut worst = 0.0f64;
    for j in 0..2 {
        worst = worst.max((class_cov(x, j)? - class_cov(exact, j)?).abs().max());
    }
    Ok(worst)
}

fn first(p: &Points, n: usize) -> Result<Points> {
    let n = n.min(p.len());
    Ok(Points::from_row_major(
        n,
        p.dim(),
        &p.as_slice()[..n * p.dim()],
    )?)
}

/// One σ of the toy.
struct Case {
    sigma: f64,
    y: Points,
    x: Points,
    exact: VarianceReduction,
    curve: Vec<(f64, f64, f64)>,
    /// The root mean square of the curve's statistic between two exact samples of its size (its noise).
    curve_floor: f64,
    numbers: Vec<(String, String)>,
}

fn case(sigma: f64, plan: &ScsiSizes, steps: usize, seed: u64) -> Result<Case> {
    let law = toy()?;
    let exact = VarianceReduction::new(&law, sigma)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let y = law.sample(plan.n, &mut rng);
    let mut truth_rng = ChaCha8Rng::seed_from_u64(seed + 1000);
    let big = exact.fixed_point().sample(200_000, &mut truth_rng);
    let truth = exact.fixed_point().sample(1000, &mut truth_rng);
    // the spread of the statistic between two exact samples of 1000: 20 repeats
    let nulls: Vec<f64> = (0..20)
        .map(|_| {
            energy_distance_unbiased(&exact.fixed_point().sample(1000, &mut truth_rng), &truth)
        })
        .collect::<si_core::Result<_>>()?;
    let curve_floor = (nulls.iter().map(|v| v * v).sum::<f64>() / nulls.len() as f64).sqrt();
    let mut trainer = plan.trainer(2, steps, seed)?;
    let cfg = plan.scsi()?;
    let f = AdditiveGaussian::new(2, sigma)?;
    let mut curve = Vec::new();
    let mut obs = |row: &MonitorRow, x: &Points| -> si_nn::Result<()> {
        let ed = energy_distance_unbiased(x, &truth)?;
        curve.push((row.step as f64, row.energy, ed));
        Ok(())
    };
    let t0 = Instant::now();
    run(&mut trainer, &cfg, &y, &f, &mut rng, &mut [&mut obs], false)?;
    let train_s = t0.elapsed().as_secs_f64();
    let fresh = law.sample(20_000, &mut rng);
    let x = transport(trainer.net(), &scsi_interpolant(&cfg.gamma)?, &fresh, 40)?;
    let err = class_error(&x, &big)?;
    let n_ed = plan.eval;
    let ed = energy_distance_unbiased(&first(&x, n_ed)?, &first(&big, n_ed)?)?;
    let floor = energy_distance_unbiased(
        &first(&big, n_ed)?,
        &exact.fixed_point().sample(n_ed, &mut truth_rng),
    )?;
    // classical deconvolution at the same n: EM fit of y, covariances minus σ² I
    let t1 = Instant::now();
    let (fit, _) = fit_em(&y, EmConfig::default(), &mut rng)?;
    let em_s = t1.elapsed().as_secs_f64();
    let classical = match VarianceReduction::new(&fit, sigma) {
        Ok(r) => format!(
            "{:.4} ({em_s:.2} s)",
            class_error(&r.fixed_point().sample(200_000, &mut rng), &big)?
        ),
        Err(e) => format!("no fixed point for the fitted mixture: {e}"),
    };
    let cov_x = x.covariance();
    let want = y.covariance() - DMatrix::identity(2, 2) * (sigma * sigma);
    let s = |m: &DMatrix<f64>| format!("[{:.3} {:.3}; {:.3}]", m[(0, 0)], m[(0, 1)], m[(1, 1)]);
    let numbers = vec![
        (
            format!("sigma = {sigma}: worst class-covariance error, SCSI / classical deconvolution (EM at the same n)"),
            format!("{err:.4} / {classical}"),
        ),
        (
            format!(
                "sigma = {sigma}: unbiased energy distance to one exact reference sample ({n_ed} points each): \
                 SCSI / a second exact sample / SCSI's excess"
            ),
            format!("{ed:.2e} / {floor:.2e} / {:.2e}", ed - floor),
        ),
        (
            format!("sigma = {sigma}: Cov(SCSI samples) against Cov(y) - sigma^2 I"),
            format!("{} against {}", s(&cov_x), s(&want)),
        ),
        (
            format!("sigma = {sigma}: SCSI training time"),
            format!("{train_s:.1} s ({steps} steps)"),
        ),
    ];
    Ok(Case {
        sigma,
        y,
        x,
        exact,
        curve,
        curve_floor,
        numbers,
    })
}

/// The blur case: x ~ N(0, P) in d = 4, y = M x + σz with M the circular blur [0.2, 0.6, 0.2]; SCSI on
/// samples of y against the exact answer P (M is invertible, so P is the unique Gaussian fixed point).
fn blur_case(plan: &ScsiSizes) -> Result<Vec<(String, String)>> {
    let d = 4;
    let p = DMatrix::from_fn(d, d, |i, j| {
        0.6f64.powi((i as i32 - j as i32).abs()) * if i == j { 1.0 } else { 0.8 }
    });
    let sigma = 0.3;
    let f = LinearGaussian::blur(d, &[0.2, 0.6, 0.2], sigma)?;
    let m = f.matrix().clone();
    let s_y = &m * &p * m.transpose() + DMatrix::identity(d, d) * sigma * sigma;
    let law = GaussianMixture::new(vec![1.0], vec![DVector::zeros(d)], vec![s_y.clone()])?;
    let mut rng = ChaCha8Rng::seed_from_u64(1313);
    let y = law.sample(plan.n, &mut rng);
    let steps = plan.steps / 2;
    let mut trainer = plan.trainer(d, steps, 13)?;
    let t0 = Instant::now();
    run(
        &mut trainer,
        &plan.scsi()?,
        &y,
        &f,
        &mut rng,
        &mut [],
        false,
    )?;
    let secs = t0.elapsed().as_secs_f64();
    let x = transport(
        trainer.net(),
        &scsi_interpolant(&si_core::Gamma::Zero)?,
        &law.sample(20_000, &mut rng),
        40,
    )?;
    let err = (x.covariance() - &p).abs().max();
    let naive = (s_y - DMatrix::identity(d, d) * sigma * sigma - &p)
        .abs()
        .max();
    // the image of the samples must look like y again
    let fx = f.apply(&first(&x, 3000)?, &mut rng)?;
    let ed = energy_distance(&fx, &first(&law.sample(3000, &mut rng), 3000)?)?;
    Ok(vec![
        (
            "blur [0.2, 0.6, 0.2] + 0.3 z in d = 4: worst covariance error of SCSI against the exact P".into(),
            format!("{err:.4} ({secs:.1} s, {steps} steps); Cov(y) - sigma^2 I (what deconvolution of noise alone gives) is off by {naive:.3}"),
        ),
        (
            "blur: energy distance between F(SCSI samples) and fresh y (3000 points each)".into(),
            format!("{ed:.2e}"),
        ),
    ])
}

/// Figure 13.
pub fn figure13(out: &Path, sizes: &Sizes) -> Result<Entry> {
    let plan = ScsiSizes::new(sizes);
    let sigmas: &[f64] = if sizes.quick { &[0.5] } else { &[0.3, 0.5] };
    let mut cases = Vec::new();
    // σ = 0.3 converges faster (r = σ²/λ is smaller): half the steps
    for (k, &s) in sigmas.iter().enumerate() {
        let steps = if s < 0.4 { plan.steps / 2 } else { plan.steps };
        cases.push(case(s, &plan, steps, 130 + k as u64)?);
    }
    let mut numbers: Vec<(String, String)> = cases.iter().flat_map(|c| c.numbers.clone()).collect();
    numbers.extend(blur_case(&plan)?);
    let rows = cases.len() as u32;
    let file = png(
        out,
        "fig13_variance_reduction.png",
        (1500, 480 * rows),
        |root| {
            let areas = root.split_evenly((cases.len(), 3));
            for (c, row) in cases.iter().zip(areas.chunks(3)) {
                scatter(
                    &row[0],
                    &format!("data y (sigma = {})", c.sigma),
                    &c.y,
                    &c.exact,
                    false,
                )?;
                scatter(
                    &row[1],
                    "SCSI samples Phi(y); exact reduced components (2 sd)",
                    &c.x,
                    &c.exact,
                    true,
                )?;
                curves(&row[2], c)?;
            }
            Ok(())
        },
    )?;
    Ok(Entry {
        number: 13,
        title: "Variance reduction: clean samples from corrupted ones (self-consistent interpolants)".into(),
        files: vec![file],
        caption: "Each row one sigma. Left: the observations y (the mixture is known only through them), with the \
                  2-sd ellipses of the observed components (dashed) and of the exact reduced mixture \
                  sum_j w_j N(mu_j, S_j - sigma^2 I) (solid). Middle: SCSI samples Phi(y) of fresh observations. \
                  Right: through training, the label-free monitor (energy distance between F(Phi(y'_A)) and y'_B, \
                  two halves of held-out observations) and the energy distance of Phi(y') to exact samples (unbiased statistics of 1000 points each; the \
                  dashed lines are +- the root mean square of the statistic between two exact samples). Numbers: class covariances (class = side of x = 0, the same rule for \
                  SCSI and exact samples) against the classical deconvolution, and a blur that deconvolution \
                  cannot undo, against its exact answer."
            .into(),
        settings: format!(
            "{} observations; model 3x{} SiLU (b head); {} steps (half for sigma = 0.3 and the blur) of batch {}, Adam {} cosine to 1%, no EMA; \
             alpha = 0.9, gamma = 0, transport {} Heun steps; a pool of {} batches transported every {} steps (40 Heun \
             steps for the final samples)",
            plan.n, plan.width, plan.steps, plan.batch, plan.lr, plan.transport_steps, plan.refresh, plan.refresh
        ),
        numbers,
    })
}

fn ellipse(mu: &DVector<f64>, c: &DMatrix<f64>) -> Vec<(f64, f64)> {
    let l = c
        .clone()
        .cholesky()
        .map(|c| c.l())
        .unwrap_or_else(|| DMatrix::zeros(2, 2));
    (0..=60)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / 60.0;
            let p = mu + &l * dvector![a.cos(), a.sin()] * 2.0;
            (p[0], p[1])
        })
        .collect()
}

fn scatter(
    area: &si_report::Area<'_>,
    title: &str,
    p: &Points,
    exact: &VarianceReduction,
    only_exact: bool,
) -> Result<(), DrawError> {
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(32)
        .build_cartesian_2d(-4.5..4.5f64, -3.0..3.0f64)
        .map_err(plot_error)?;
    c.configure_mesh().draw().map_err(plot_error)?;
    c.draw_series((0..p.len().min(4000)).map(|i| {
        Circle::new(
            (p.point(i)[0], p.point(i)[1]),
            1,
            color(0).mix(0.35).filled(),
        )
    }))
    .map_err(plot_error)?;
    for (mu, a) in exact
        .fixed_point()
        .means()
        .iter()
        .zip(exact.fixed_point().covariances())
    {
        c.draw_series(LineSeries::new(ellipse(mu, a), BLACK.stroke_width(2)))
            .map_err(plot_error)?;
    }
    if !only_exact {
        for (mu, s) in exact.data().means().iter().zip(exact.data().covariances()) {
            c.draw_series(DashedLineSeries::new(
                ellipse(mu, s),
                5,
                4,
                color(3).stroke_width(2),
            ))
            .map_err(plot_error)?;
        }
    }
    Ok(())
}

fn curves(area: &si_report::Area<'_>, c: &Case) -> Result<(), DrawError> {
    let vals = c.curve.iter().flat_map(|r| [r.1, r.2]);
    let (lo, hi) = vals.fold((-c.curve_floor, c.curve_floor), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let pad = 0.1 * (hi - lo).max(1e-6);
    let last = c.curve.last().map_or(1.0, |r| r.0);
    let mut ch = ChartBuilder::on(area)
        .caption("monitor and exact error over training", ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..last, (lo - pad)..(hi + pad))
        .map_err(plot_error)?;
    ch.configure_mesh()
        .x_desc("step")
        .y_desc("unbiased energy distance")
        .y_label_formatter(&|v| format!("{v:.1e}"))
        .draw()
        .map_err(plot_error)?;
    for (k, (label, pick)) in [
        ("monitor: F(Phi(y'_A)) vs y'_B", 1usize),
        ("Phi(y') vs exact samples", 2usize),
    ]
    .into_iter()
    .enumerate()
    {
        let col = color(k);
        ch.draw_series(LineSeries::new(
            c.curve
                .iter()
                .map(|r| (r.0, if pick == 1 { r.1 } else { r.2 })),
            col.stroke_width(2),
        ))
        .map_err(plot_error)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], col.stroke_width(2)));
    }
    for sign in [1.0, -1.0] {
        let f = sign * c.curve_floor;
        let s = ch
            .draw_series(DashedLineSeries::new(
                [(0.0, f), (last, f)],
                3,
                5,
                BLACK.stroke_width(1),
            ))
            .map_err(plot_error)?;
        if sign > 0.0 {
            s.label("+- spread between exact samples").legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(1))
            });
        }
    }
    ch.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    Ok(())
}
