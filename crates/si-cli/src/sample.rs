//! `si sample`: samples of a trained checkpoint into a `.npy` file.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::Batch;
use si_data::npy::{write_images, write_points, NpyDtype};
use si_integrate::{Scheme, TimeGrid, SCHEME_NAMES};
use si_nn::sampling::{sample_on, standard_normal};
use si_nn::train::load_model;
use si_nn::{Head, LearnedField};

use crate::device;

/// Arguments of `sample`.
#[derive(Args, Debug)]
pub struct SampleArgs {
    /// Checkpoint written by `train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Number of samples.
    #[arg(long)]
    n: usize,
    /// Output .npy (N × d; (N, C, H, W) for a model of images).
    #[arg(long)]
    out: PathBuf,
    /// Integration steps.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// How to integrate, by name (si-integrate's grammar): the probability-flow ODE with `heun` (or
    /// `euler`, `dormand-prince:rtol=R,atol=A`, which lands on the --steps grid times), or the SDE by
    /// `euler-maruyama`, `noise-first` (each step's noise before its drift) or `stochastic-heun`, with
    /// diffusion --eps or `:eps=E`; see --help.
    #[arg(long, default_value = "heun", long_help = SCHEME_NAMES)]
    stepper: Scheme,
    /// Diffusion ε of the SDE steppers (>= 0; not used by the ODE); overrides an `eps=` in --stepper.
    #[arg(long)]
    eps: Option<f64>,
    /// Time grid: `uniform` (--steps equal steps from t = 0) or `karras` (EDM's ρ-spaced noise levels,
    /// σ from --sigma-max to --sigma-min, mapped to this interpolant's times; one-sided interpolants and
    /// presets only). Sampling starts from N(0, α(t₀)² I) at the grid's first time t₀.
    #[arg(long, default_value = "uniform")]
    grid: String,
    /// ρ of the Karras grid.
    #[arg(long, default_value_t = 7.0)]
    rho: f64,
    /// Smallest noise-to-signal ratio of the Karras grid (clipped to the interpolant's range).
    #[arg(long, default_value_t = 0.002)]
    sigma_min: f64,
    /// Largest noise-to-signal ratio of the Karras grid (clipped to the interpolant's range).
    #[arg(long, default_value_t = 80.0)]
    sigma_max: f64,
    /// Output dtype: f32 or f64.
    #[arg(long, default_value = "f32")]
    dtype: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// `si sample`.
pub fn run(a: &SampleArgs) -> Result<()> {
    let dtype = match a.dtype.as_str() {
        "f32" => NpyDtype::F32,
        "f64" => NpyDtype::F64,
        s => bail!("unknown dtype `{s}` (f32, f64)"),
    };
    if a.n == 0 {
        bail!("--n must be at least 1");
    }
    let (net, interpolant, _) =
        load_model(&a.checkpoint, device()).context("loading the checkpoint")?;
    let Some(interpolant) = interpolant else {
        bail!("the checkpoint stores no interpolant (trained on another source): cannot sample from N(0, I)");
    };
    let scheme = match a.eps {
        Some(eps) => a.stepper.with_eps(eps).check()?,
        None => a.stepper,
    };
    if matches!(scheme, Scheme::StochasticHeun { eps } if eps > 0.0)
        && net.head_index(Head::S).is_none()
        && interpolant.schedule(1.0)?.noise_scale == 0.0
    {
        bail!(
            "stochastic Heun evaluates the score at t = 1, where this model's score s = -eta/sigma is singular \
             (sigma(1) = 0 for {interpolant}); use --stepper euler-maruyama or noise-first, or a model with an s head"
        );
    }
    let field = LearnedField::new(&net, interpolant.clone());
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let d = net.params().dim;
    let grid = match a.grid.as_str() {
        "uniform" => TimeGrid::uniform(0.0, 1.0, a.steps)?,
        "karras" => TimeGrid::karras(&interpolant, a.steps, a.sigma_min, a.sigma_max, a.rho)?,
        g => bail!("unknown --grid `{g}` (uniform, karras)"),
    };
    // N(0, I) scaled to the interpolant's noise at the first time (α(t₀) one-sided, e.g. σ_max for EDM)
    let scale = match interpolant.sidedness() {
        si_core::Sidedness::OneSided => interpolant.schedule(grid.start())?.alpha,
        _ => 1.0,
    };
    let mut x0 = standard_normal(a.n, d, net.device(), &mut rng)?;
    x0.scale(scale)?;
    let x1 = sample_on(&field, &scheme, x0, &grid, &mut rng)?;
    let p = x1.to_points()?;
    match crate::images::model_image(net.params().config()) {
        Some(shape) => write_images(&a.out, &p, shape, dtype)?,
        None => write_points(&a.out, &p, dtype)?,
    }
    eprintln!(
        "wrote {} samples of dimension {d} to {}",
        p.len(),
        a.out.display()
    );
    Ok(())
}
