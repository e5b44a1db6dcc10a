//! `si reduce-variance`: clean samples from corrupted ones with self-consistent interpolants (si-nn's
//! [`scsi`](si_nn::scsi), docs/math.md §6). The observations y (rows of a .npy) are modelled as y = F(x);
//! the command learns the transport Φ with F#Φ#(law of y) = law of y and writes x̂ = Φ(y).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{AdditiveGaussian, AdditiveNoise, Batch, ForwardModel, LinearGaussian, Points};
use si_data::npy::{read_points, write_points, NpyDtype};
use si_nn::scsi::{run, scsi_interpolant, transport, MonitorRow, ScsiConfig};
use si_nn::{Activation, Head, LrSchedule, ModelConfig, TrainConfig, Trainer};

/// Arguments of `reduce-variance`.
#[derive(Args, Debug)]
pub struct ReduceArgs {
    /// Observations: an N × d .npy file (f32 or f64).
    #[arg(long)]
    pub data: PathBuf,
    /// σ of the forward model's noise.
    #[arg(long)]
    pub sigma: f64,
    /// Where x̂ = Φ(y) goes (.npy, f64, one row per observation).
    #[arg(long)]
    pub out: PathBuf,
    /// The forward model: `gaussian` (x + σz), `mask=1,0,1` (keep the coordinates marked 1, + σz),
    /// `blur=0.25,0.5,0.25` (circular convolution, + σz), `uniform` (x + U(−a, a), a = σ√3: variance σ²).
    #[arg(long, default_value = "gaussian")]
    pub forward: String,
    /// Gradient steps.
    #[arg(long, default_value_t = 4000)]
    pub steps: usize,
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    #[arg(long, default_value_t = 128)]
    pub width: usize,
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// Probability of pairing x̂ with F(x̂) rather than the observed y (the paper's α).
    #[arg(long, default_value_t = 0.9)]
    pub keep: f64,
    /// Heun steps of the transport Φ during training (the written samples use twice as many).
    #[arg(long, default_value_t = 20)]
    pub transport_steps: usize,
    /// Gradient steps between refreshes of the transported pool; the pool holds this many batches, so the
    /// transport costs the same per step whatever the choice (1: the published online scheme).
    #[arg(long, default_value_t = 20)]
    pub refresh_every: usize,
    /// Steps between evaluations of the monitor (energy distance between F(x̂) and held-out y).
    #[arg(long, default_value_t = 250)]
    pub monitor_every: usize,
    /// Held-out observations for the monitor.
    #[arg(long, default_value_t = 1000)]
    pub monitor_points: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write the trained model (si-nn checkpoint).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

fn floats(spec: &str, what: &str) -> Result<Vec<f64>> {
    spec.split(',')
        .map(|s| {
            s.trim()
                .parse::<f64>()
                .with_context(|| format!("{what}: `{s}` is not a number"))
        })
        .collect()
}

/// The forward model `spec` names, in dimension `d` with noise σ.
pub fn forward_model(spec: &str, d: usize, sigma: f64) -> Result<Box<dyn ForwardModel>> {
    let (name, arg) = spec.split_once('=').unwrap_or((spec, ""));
    Ok(match name {
        "gaussian" => Box::new(AdditiveGaussian::new(d, sigma)?),
        "uniform" => {
            let a = sigma * 3f64.sqrt();
            Box::new(AdditiveNoise::new(
                d,
                rand_distr::Uniform::new(-a, a).context("uniform noise")?,
                format!("U(-{a:.4}, {a:.4})"),
            )?)
        }
        "mask" => {
            let keep: Vec<bool> = floats(arg, "mask")?.iter().map(|&v| v != 0.0).collect();
            if keep.len() != d {
                bail!("mask has {} entries, the data has {d} columns", keep.len());
            }
            Box::new(LinearGaussian::mask(&keep, sigma)?)
        }
        "blur" => Box::new(LinearGaussian::blur(d, &floats(arg, "blur")?, sigma)?),
        other => {
            bail!("unknown forward model `{other}`; expected gaussian, uniform, mask=…, blur=…")
        }
    })
}

/// Checks the observations and σ before any training: enough rows (the monitor's and one training batch),
/// and for additive noise σ² below the smallest eigenvalue of Cov(y) (no law x can have x + σz as the data
/// otherwise).
pub fn check_input(y: &Points, a: &ReduceArgs) -> Result<()> {
    if !(a.sigma.is_finite() && a.sigma > 0.0) {
        bail!("--sigma must be finite and > 0 (got {})", a.sigma);
    }
    // the monitor's held-out rows, and at least one batch of training rows
    let need = a.monitor_points + a.batch.max(2);
    if y.len() < need {
        bail!(
            "{} has {} rows; at least {need} are needed ({} held out for the monitor, a batch of {} for training)",
            a.data.display(),
            y.len(),
            a.monitor_points,
            a.batch
        );
    }
    let additive = matches!(a.forward.as_str(), "gaussian" | "uniform");
    if additive {
        let cov: DMatrix<f64> = y.covariance();
        let lambda_min = cov.symmetric_eigen().eigenvalues.min();
        let s2 = a.sigma * a.sigma;
        if s2 >= lambda_min {
            bail!(
                "sigma^2 = {s2} is at least the smallest eigenvalue {lambda_min:.6} of the data's covariance: \
                 no law x has x + noise of that variance as its image (each component of a mixture needs \
                 sigma^2 below its own smallest eigenvalue, a stronger condition)"
            );
        }
    }
    Ok(())
}

/// `reduce-variance`.
pub fn reduce(a: &ReduceArgs) -> Result<()> {
    let y = read_points(&a.data).with_context(|| format!("reading {}", a.data.display()))?;
    check_input(&y, a)?;
    let d = y.dim();
    let forward = forward_model(&a.forward, d, a.sigma)?;
    let mut m = ModelConfig::new(d);
    m.width = a.width;
    m.depth = a.depth;
    m.activation = Activation::Silu;
    m.heads = vec![Head::B];
    let mut t = TrainConfig::new(a.steps);
    t.batch = a.batch;
    t.lr = a.lr;
    t.schedule = LrSchedule::Cosine {
        min_lr: a.lr * 1e-2,
    };
    t.ema_decay = None;
    t.antithetic = false;
    t.seed = a.seed;
    let cfg = ScsiConfig {
        keep: a.keep,
        transport_steps: a.transport_steps,
        refresh_every: a.refresh_every,
        pool: a.batch.saturating_mul(a.refresh_every),
        monitor_every: a.monitor_every,
        monitor_points: a.monitor_points,
        ..ScsiConfig::default()
    }
    .check()?;
    let mut trainer = Trainer::new(m.check()?, t.check()?, tch::Device::cuda_if_available())?;
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    eprintln!(
        "{} observations of dimension {d}; forward model {}; {} steps on {:?}",
        y.len(),
        forward.describe(),
        a.steps,
        trainer.net().device()
    );
    let mut print = |row: &MonitorRow, _: &Points| -> si_nn::Result<()> {
        if a.quiet {
            tracing::info!(step = row.step, energy = row.energy, "monitor");
        }
        Ok(())
    };
    let log = run(
        &mut trainer,
        &cfg,
        &y,
        forward.as_ref(),
        &mut rng,
        &mut [&mut print],
        !a.quiet,
    )?;
    let x = transport(
        trainer.net(),
        &scsi_interpolant(&cfg.gamma)?,
        &y,
        2 * a.transport_steps,
    )?;
    write_points(&a.out, &x, NpyDtype::F64)?;
    if let Some(c) = &a.checkpoint {
        trainer.save(c)?;
    }
    for r in &log {
        eprintln!(
            "step {:6}  {:7.1} s  monitor: unbiased energy distance F(x) vs held-out y {:.3e}",
            r.step, r.seconds, r.energy
        );
    }
    let show = |m: &DMatrix<f64>| {
        (0..d)
            .map(|i| {
                (0..d)
                    .map(|j| format!("{:8.4}", m[(i, j)]))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    println!("Cov(y)           [{}]", show(&y.covariance()));
    if matches!(a.forward.as_str(), "gaussian" | "uniform") {
        let target = y.covariance() - DMatrix::identity(d, d) * (a.sigma * a.sigma);
        println!("Cov(y) - s^2 I   [{}]", show(&target));
    }
    println!("Cov(x)           [{}]", show(&x.covariance()));
    println!("wrote {} ({} rows)", a.out.display(), x.len());
    Ok(())
}
