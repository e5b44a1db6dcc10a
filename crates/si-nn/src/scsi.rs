//! Self-consistent stochastic interpolants (SCSI, arXiv 2512.10857; docs/math.md §6): learn the clean law
//! of x from observations y = F(x) of a black-box forward model F that can only be simulated.
//!
//! The transport Φ is the backward ODE of the current b from t = 1 to t = 0 (Heun, `transport_steps`
//! steps; before the first gradient step Φ is the identity, x̂ = y). Every `refresh_every` gradient steps a pool of observations y is transported, x̂ = Φ(y); each
//! gradient step then pairs x0 = x̂ with x1 = F(x̂) (fresh noise of F) with probability `keep` (the paper's
//! α) and with the observed y otherwise, and regresses b on x1 − x̂ + γ̇(t) z along
//! x_t = (1 − t) x̂ + t x1 + γ(t) z (the γ̇ z term is what keeps the fixed point where it belongs when γ ≠ 0).
//! A fixed point is a law π̂ with F#π̂ equal to the law of y. Without labels, progress is watched through the
//! unbiased energy distance between F(Φ(y')) and held-out observations y'.

use rand::seq::index::sample as sample_indices;
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use si_core::metrics::energy_distance_unbiased;
use si_core::{
    Batch, ForwardModel, Gamma, Interpolant, InterpolantSource, PairSource, Pairs, Points,
    TimeRange,
};
use si_integrate::TimeGrid;
use tch::Device;

use crate::{FieldNet, NnError, Result, Trainer, Uploaded};

/// Settings of the SCSI loop (validated into [`ScsiParams`] by [`ScsiConfig::check`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ScsiConfig {
    /// Probability that x1 = F(x̂) rather than the observed y (the paper's α).
    pub keep: f64,
    /// Latent noise γ(t) of the interpolant between x̂ and x1 (γ = 0 is the published method).
    pub gamma: Gamma,
    /// Heun steps of the transport Φ (each two network passes).
    pub transport_steps: usize,
    /// Gradient steps between refreshes of the transported pool (1: every step, as the published code).
    pub refresh_every: usize,
    /// Observations transported per refresh (at least the batch).
    pub pool: usize,
    /// Gradient steps between monitor evaluations (0: only at the end).
    pub monitor_every: usize,
    /// Held-out observations used by the monitor (half are transported, half are the reference).
    pub monitor_points: usize,
}

impl Default for ScsiConfig {
    /// α = 0.9, γ = 0, 20 Heun steps, a pool of 20,000 refreshed every 20 steps (20 batches of 1000: the
    /// same transport per step as refreshing one batch every step, and on the toy of docs/math.md §6 at least
    /// as accurate), monitor every 250 steps on 1000 points.
    fn default() -> Self {
        Self {
            keep: 0.9,
            gamma: Gamma::Zero,
            transport_steps: 20,
            refresh_every: 20,
            pool: 20_000,
            monitor_every: 250,
            monitor_points: 1000,
        }
    }
}

/// Checked [`ScsiConfig`].
#[derive(Clone, Debug, PartialEq)]
pub struct ScsiParams(ScsiConfig);

impl std::ops::Deref for ScsiParams {
    type Target = ScsiConfig;
    fn deref(&self) -> &ScsiConfig {
        &self.0
    }
}

fn bad(name: &'static str, reason: impl Into<String>) -> NnError {
    NnError::InvalidHyperParameter {
        name,
        reason: reason.into(),
    }
}

impl ScsiConfig {
    /// Checks every setting.
    pub fn check(self) -> Result<ScsiParams> {
        if !(self.keep.is_finite() && self.keep > 0.0 && self.keep <= 1.0) {
            return Err(bad("keep", format!("{} must be in (0, 1]", self.keep)));
        }
        if self.transport_steps == 0 {
            return Err(bad("transport_steps", "must be >= 1"));
        }
        if self.refresh_every == 0 {
            return Err(bad("refresh_every", "must be >= 1"));
        }
        if self.pool == 0 {
            return Err(bad("pool", "must be >= 1"));
        }
        if self.monitor_points < 4 {
            return Err(bad(
                "monitor_points",
                "must be >= 4 (two halves of at least two)",
            ));
        }
        Ok(ScsiParams(self))
    }
}

/// One evaluation of the label-free monitor.
#[derive(Clone, Debug)]
pub struct MonitorRow {
    /// Gradient steps done.
    pub step: usize,
    /// Unbiased energy distance between F(Φ(y'_A)) and y'_B, two disjoint halves of the held-out
    /// observations (0 in expectation when F#Φ#(law of y) is the law of y; its spread is O(1/n), and single
    /// values can be negative).
    pub energy: f64,
    /// Seconds since the start of the run.
    pub seconds: f64,
}

/// Told about every monitor evaluation, with the transported held-out points x̂ = Φ(y'_A) (half of the
/// held-out set).
pub trait ScsiObserver {
    /// Called after each monitor evaluation.
    fn monitor(&mut self, row: &MonitorRow, x_hat: &Points) -> Result<()>;
}

impl<F: FnMut(&MonitorRow, &Points) -> Result<()>> ScsiObserver for F {
    fn monitor(&mut self, row: &MonitorRow, x_hat: &Points) -> Result<()> {
        self(row, x_hat)
    }
}

/// x̂ = Φ(y): `net`'s b integrated backward from t = 1 to t = 0 with `steps` Heun steps, without gradients,
/// in chunks of 8192 points.
pub fn transport(
    net: &FieldNet,
    interpolant: &Interpolant,
    y: &Points,
    steps: usize,
) -> Result<Points> {
    crate::reflow::flow(
        net,
        interpolant,
        y,
        &TimeGrid::uniform(1.0, 0.0, steps)?,
        &mut [],
    )
}

/// The pairs of one gradient step: (x̂, F(x̂)) with probability `keep`, else (x̂, y).
struct StepPairs<'a> {
    x_hat: &'a Points,
    y: &'a Points,
    forward: &'a dyn ForwardModel,
    keep: f64,
}

impl PairSource for StepPairs<'_> {
    fn dim(&self) -> usize {
        self.x_hat.dim()
    }
    /// `n` rows drawn from the pool (without replacement when the pool is large enough).
    fn draw_pairs(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Pairs> {
        let d = self.dim();
        let idx = crate::reflow::draw_rows(rng, self.x_hat.len(), n);
        let x0 = self.x_hat.select(&idx)?;
        let y = self.y.select(&idx)?;
        let mut x1 = self.forward.apply(&x0, rng)?;
        for i in 0..n {
            if rng.random::<f64>() >= self.keep {
                x1.as_mut_slice()[i * d..(i + 1) * d]
                    .copy_from_slice(&y.as_slice()[i * d..(i + 1) * d]);
            }
        }
        Ok(Pairs {
            x0,
            x1,
            context: None,
        })
    }
}

/// The interpolant of the SCSI regression: linear between x̂ and x1 with latent noise γ.
pub fn scsi_interpolant(gamma: &Gamma) -> Result<Interpolant> {
    Ok(Interpolant::linear(gamma.clone())?)
}

/// Runs SCSI: trains `trainer` (a model with a b head, dimension d) until its configured number of steps on
/// the observations `y` (n × d; `monitor_points` of them are held out for the monitor), with forward model
/// `forward`. All randomness comes from `rng`. Returns the monitor's rows.
pub fn run(
    trainer: &mut Trainer,
    scsi: &ScsiParams,
    y: &Points,
    forward: &dyn ForwardModel,
    rng: &mut ChaCha8Rng,
    observers: &mut [&mut dyn ScsiObserver],
    progress: bool,
) -> Result<Vec<MonitorRow>> {
    let d = trainer.net().params().dim;
    if y.dim() != d || forward.dim() != d {
        return Err(NnError::Shape {
            expected: format!("observations and forward model of dimension {d}"),
            got: format!("observations {}, forward model {}", y.dim(), forward.dim()),
        });
    }
    if y.len() < scsi.monitor_points + 2 {
        return Err(NnError::Shape {
            expected: format!("more than {} observations", scsi.monitor_points + 1),
            got: format!("{}", y.len()),
        });
    }
    let interpolant = scsi_interpolant(&scsi.gamma)?;
    let order = sample_indices(rng, y.len(), y.len()).into_vec();
    let (held, train) = order.split_at(scsi.monitor_points);
    // the monitor transports one half of the held-out points and compares their image under F with the
    // other half: F(Φ(y'_i)) depends on y'_i, so comparing it with the same points would bias the distance
    let half = held.len() / 2;
    let (held_in, held_ref) = (y.select(&held[..half])?, y.select(&held[half..])?);
    let train = y.select(train)?;
    let end = trainer.train_params().steps;
    let device: Device = trainer.net().device();
    let bar = if progress {
        indicatif::ProgressBar::new(end.saturating_sub(trainer.steps_done()) as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("SCSI [{bar:30}] {pos}/{len} steps ({eta}) {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let t0 = std::time::Instant::now();
    let mut log = Vec::new();
    let monitor = |trainer: &Trainer,
                   rng: &mut ChaCha8Rng,
                   observers: &mut [&mut dyn ScsiObserver]|
     -> Result<MonitorRow> {
        let x_hat = transport(trainer.net(), &interpolant, &held_in, scsi.transport_steps)?;
        let fx = forward.apply(&x_hat, rng)?;
        let row = MonitorRow {
            step: trainer.steps_done(),
            energy: energy_distance_unbiased(&fx, &held_ref)?,
            seconds: t0.elapsed().as_secs_f64(),
        };
        for o in observers.iter_mut() {
            o.monitor(&row, &x_hat)?;
        }
        tracing::debug!(step = row.step, energy = row.energy, "SCSI monitor");
        Ok(row)
    };
    let pool_size = scsi.pool.min(train.len());
    let mut pool: Option<(Points, Points)> = None;
    while trainer.steps_done() < end {
        let k = trainer.steps_done();
        if pool.is_none() || k.is_multiple_of(scsi.refresh_every) {
            let idx = sample_indices(rng, train.len(), pool_size).into_vec();
            let y_pool = train.select(&idx)?;
            // before the first gradient step the network is random: start from Φ = identity (x̂ = y)
            let x_hat = if k == 0 {
                y_pool.clone()
            } else {
                transport(trainer.net(), &interpolant, &y_pool, scsi.transport_steps)?
            };
            pool = Some((x_hat, y_pool));
        }
        let (x_hat, y_pool) = pool.as_ref().expect("filled above");
        let pairs = StepPairs {
            x_hat,
            y: y_pool,
            forward,
            keep: scsi.keep,
        };
        let source = Uploaded::new(
            InterpolantSource::new(interpolant.clone(), pairs, TimeRange::new(1e-3)?),
            device,
        );
        trainer.step(&source)?;
        bar.inc(1);
        let step = trainer.steps_done();
        if scsi.monitor_every > 0 && step.is_multiple_of(scsi.monitor_every) && step < end {
            let row = monitor(trainer, rng, observers)?;
            bar.set_message(format!("monitor (energy distance) {:.2e}", row.energy));
            log.push(row);
        }
    }
    log.push(monitor(trainer, rng, observers)?);
    bar.finish_and_clear();
    Ok(log)
}
