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
//!
//! The loop is the trainer's: [`Scsi`] holds the split observations, the transported pool and the generator
//! of pool draws and monitor noise; its [`PoolRefresh`] is a [`TrainHook`] that `Trainer::run_with` calls
//! before every step, its [`Scsi::source`] is what the steps draw from, and its [`Monitor`] is an ordinary
//! [`TrainObserver`], so a progress bar, [`crate::CsvLog`] and [`crate::Checkpoints`] run beside it.
//! [`run`] puts these together.
//!
//! Resuming: a checkpoint holds the trainer's state (model, Adam, step, loss log); the trainer's batches
//! are keyed by (seed, step). The SCSI side is the caller's: the observations, the forward model and the
//! generator. [`Scsi::new`] with the same observations and a generator seeded as before makes the same
//! split; set the generator to where it was at the checkpoint ([`Scsi::generator_position`],
//! [`Scsi::set_generator_position`]) and, if the checkpoint was written at a multiple of `refresh_every`,
//! the resumed run is bit-identical to the uninterrupted one (its first step refreshes the pool as the
//! uninterrupted run did). From any other step the first step of the resumed run transports a new pool
//! with the checkpoint's model: an SCSI run from there, not the same floats.

use std::cell::RefCell;
use std::time::Instant;

use rand::seq::index::sample as sample_indices;
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use si_core::metrics::energy_distance_unbiased;
use si_core::{
    Batch, CoreError, ForwardModel, Gamma, Interpolant, InterpolantSource, PairSource, Pairs,
    Points, TargetSource, TimeRange,
};
use si_integrate::TimeGrid;
use tch::Device;

use crate::sampling::{draw_rows, flow};
use crate::train::{Progress, TrainEvent, TrainHook, TrainObserver, TrainState};
use crate::{FieldNet, NnError, Result, TensorBatch, Trainer, Uploaded};

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
    /// Observations transported per refresh (at least the batch: checked by [`Scsi::new`], which knows the
    /// batch).
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
    flow(
        net,
        interpolant,
        y,
        &TimeGrid::uniform(1.0, 0.0, steps)?,
        &mut [],
    )
}

/// The transported pool: x̂ = Φ(y) and the observations y it was transported from.
type Pool = Option<(Points, Points)>;

/// The pairs of one gradient step: (x̂, F(x̂)) with probability `keep`, else (x̂, y), from the pool as the
/// last refresh left it.
struct StepPairs<'s> {
    pool: &'s RefCell<Pool>,
    dim: usize,
    forward: &'s dyn ForwardModel,
    keep: f64,
}

impl PairSource for StepPairs<'_> {
    fn dim(&self) -> usize {
        self.dim
    }
    /// `n` rows drawn from the pool (without replacement when the pool is large enough).
    fn draw_pairs(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Pairs> {
        let d = self.dim();
        let pool = self.pool.borrow();
        let (x_hat, y) = pool.as_ref().ok_or_else(|| CoreError::ShapeMismatch {
            expected: "a transported pool (the SCSI refresh hook runs before every step)".into(),
            got: "none".into(),
        })?;
        let idx = draw_rows(rng, x_hat.len(), n);
        let x0 = x_hat.select(&idx)?;
        let y = y.select(&idx)?;
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

/// An SCSI problem ready to train: the observations split into the training set and the monitor's two
/// held-out halves, the forward model, the transported pool and the generator of pool draws and monitor
/// noise (the caller's, shared by [`PoolRefresh`] and [`Monitor`] in the order the run calls them).
pub struct Scsi<'a> {
    scsi: ScsiParams,
    forward: &'a dyn ForwardModel,
    interpolant: Interpolant,
    train: Points,
    held_in: Points,
    held_ref: Points,
    dim: usize,
    device: Device,
    rng: RefCell<&'a mut ChaCha8Rng>,
    pool: RefCell<Pool>,
}

impl std::fmt::Debug for Scsi<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scsi")
            .field("scsi", &self.scsi)
            .field("train", &self.train.len())
            .field("held_out", &(self.held_in.len() + self.held_ref.len()))
            .finish()
    }
}

impl<'a> Scsi<'a> {
    /// Splits the observations `y` (n × d; `monitor_points` of them, drawn from `rng`, are held out for the
    /// monitor) for `trainer`'s model of dimension d and forward model `forward`; the pool must hold at
    /// least the trainer's batch. Every later draw of the run
    /// (pools, the monitor's noise of F) also comes from `rng`.
    pub fn new(
        trainer: &Trainer,
        scsi: &ScsiParams,
        y: &Points,
        forward: &'a dyn ForwardModel,
        rng: &'a mut ChaCha8Rng,
    ) -> Result<Self> {
        let net = trainer.net();
        let d = net.params().dim;
        if y.dim() != d || forward.dim() != d {
            return Err(NnError::Shape {
                expected: format!("observations and forward model of dimension {d}"),
                got: format!("observations {}, forward model {}", y.dim(), forward.dim()),
            });
        }
        let batch = trainer.train_params().batch;
        if scsi.pool < batch {
            return Err(bad(
                "pool",
                format!("{} must be at least the batch ({batch})", scsi.pool),
            ));
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
        Ok(Self {
            scsi: scsi.clone(),
            forward,
            interpolant,
            train,
            held_in,
            held_ref,
            dim: d,
            device: net.device(),
            rng: RefCell::new(rng),
            pool: RefCell::new(None),
        })
    }

    /// The interpolant of the regression ([`scsi_interpolant`]).
    pub fn interpolant(&self) -> &Interpolant {
        &self.interpolant
    }

    /// What every step draws from: pairs from the pool as the last refresh left it, uploaded to the model's
    /// device (an error before the first refresh).
    pub fn source(&self) -> Result<impl TargetSource<TensorBatch> + '_> {
        let pairs = StepPairs {
            pool: &self.pool,
            dim: self.dim,
            forward: self.forward,
            keep: self.scsi.keep,
        };
        Ok(Uploaded::new(
            InterpolantSource::new(self.interpolant.clone(), pairs, TimeRange::new(1e-3)?),
            self.device,
        ))
    }

    /// The hook that refreshes the pool before a step: when none has been made yet, and before every step
    /// whose index is a multiple of `refresh_every`.
    pub fn refresh(&self) -> PoolRefresh<'_, 'a> {
        PoolRefresh { scsi: self }
    }

    /// The label-free monitor, an observer of the run: every `monitor_every` steps (0: only at the end) and
    /// at the end, the energy distance of [`MonitorRow`], told to `observer` with the transported points.
    pub fn monitor<O: ScsiObserver>(&self, observer: O) -> Monitor<'_, 'a, O> {
        Monitor {
            scsi: self,
            observer,
            rows: Vec::new(),
            t0: Instant::now(),
        }
    }

    /// Trains `trainer` until its configured number of steps with the pool refreshed before every step and
    /// `observers` (put a [`Monitor`] among them to watch the run) told after every step.
    pub fn train(
        &self,
        trainer: &mut Trainer,
        observers: &mut [&mut dyn TrainObserver],
    ) -> Result<()> {
        let end = trainer.train_params().steps;
        let source = self.source()?;
        trainer.run_with(&source, end, &mut [&mut self.refresh()], observers)
    }

    /// Where the generator is (ChaCha's word position): saved beside a checkpoint, with
    /// [`Scsi::set_generator_position`] it lets a resumed run draw what the uninterrupted run drew.
    pub fn generator_position(&self) -> u128 {
        self.rng.borrow().get_word_pos()
    }

    /// Moves the generator to `position` (from [`Scsi::generator_position`]).
    pub fn set_generator_position(&self, position: u128) {
        self.rng.borrow_mut().set_word_pos(position);
    }

    /// Draws a new pool of observations and transports it with `net` (before the first gradient step the
    /// network is random: Φ = identity, x̂ = y).
    fn refresh_pool(&self, net: &FieldNet, step: usize) -> Result<()> {
        let pool_size = self.scsi.pool.min(self.train.len());
        let idx =
            sample_indices(&mut **self.rng.borrow_mut(), self.train.len(), pool_size).into_vec();
        let y_pool = self.train.select(&idx)?;
        let x_hat = if step == 0 {
            y_pool.clone()
        } else {
            transport(net, &self.interpolant, &y_pool, self.scsi.transport_steps)?
        };
        *self.pool.borrow_mut() = Some((x_hat, y_pool));
        Ok(())
    }
}

/// The pool refresh of an [`Scsi`] run, a [`TrainHook`] ([`Scsi::refresh`]).
#[derive(Debug)]
pub struct PoolRefresh<'s, 'a> {
    scsi: &'s Scsi<'a>,
}

impl TrainHook for PoolRefresh<'_, '_> {
    fn before_step(&mut self, state: &TrainState) -> Result<()> {
        let k = state.step();
        let empty = self.scsi.pool.borrow().is_none();
        if empty || k.is_multiple_of(self.scsi.scsi.refresh_every) {
            self.scsi.refresh_pool(state.net(), k)?;
        }
        Ok(())
    }
}

/// The label-free monitor of an [`Scsi`] run, a [`TrainObserver`] ([`Scsi::monitor`]).
pub struct Monitor<'s, 'a, O> {
    scsi: &'s Scsi<'a>,
    observer: O,
    rows: Vec<MonitorRow>,
    t0: Instant,
}

impl<O> std::fmt::Debug for Monitor<'_, '_, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").field("rows", &self.rows).finish()
    }
}

impl<O: ScsiObserver> Monitor<'_, '_, O> {
    /// The evaluations so far.
    pub fn rows(&self) -> &[MonitorRow] {
        &self.rows
    }
    /// The evaluations.
    pub fn into_rows(self) -> Vec<MonitorRow> {
        self.rows
    }

    fn evaluate(&mut self, state: &TrainState) -> Result<()> {
        let s = self.scsi;
        let x_hat = transport(
            state.net(),
            &s.interpolant,
            &s.held_in,
            s.scsi.transport_steps,
        )?;
        let fx = s.forward.apply(&x_hat, &mut **s.rng.borrow_mut())?;
        let row = MonitorRow {
            step: state.step(),
            energy: energy_distance_unbiased(&fx, &s.held_ref)?,
            seconds: self.t0.elapsed().as_secs_f64(),
        };
        self.observer.monitor(&row, &x_hat)?;
        tracing::debug!(step = row.step, energy = row.energy, "SCSI monitor");
        self.rows.push(row);
        Ok(())
    }
}

impl<O: ScsiObserver> TrainObserver for Monitor<'_, '_, O> {
    fn observe(&mut self, state: &TrainState, event: TrainEvent) -> Result<()> {
        let every = self.scsi.scsi.monitor_every;
        match event {
            TrainEvent::Step { step }
                if every > 0 && step.is_multiple_of(every) && step < state.train_params().steps =>
            {
                self.evaluate(state)?
            }
            TrainEvent::Finished { .. } => self.evaluate(state)?,
            _ => {}
        }
        Ok(())
    }
}

/// Runs SCSI: trains `trainer` (a model with a b head, dimension d) until its configured number of steps on
/// the observations `y` (n × d; `monitor_points` of them are held out for the monitor), with forward model
/// `forward`. All randomness comes from `rng`. Returns the monitor's rows. The pieces, for a run with other
/// observers (CSV log, checkpoints): [`Scsi`].
pub fn run(
    trainer: &mut Trainer,
    scsi: &ScsiParams,
    y: &Points,
    forward: &dyn ForwardModel,
    rng: &mut ChaCha8Rng,
    observers: &mut [&mut dyn ScsiObserver],
    progress: bool,
) -> Result<Vec<MonitorRow>> {
    let problem = Scsi::new(trainer, scsi, y, forward, rng)?;
    let fan = |row: &MonitorRow, x_hat: &Points| -> Result<()> {
        for o in observers.iter_mut() {
            o.monitor(row, x_hat)?;
        }
        Ok(())
    };
    let mut monitor = problem.monitor(fan);
    let mut bar = Progress::new().with_prefix("SCSI");
    let mut all: Vec<&mut dyn TrainObserver> = vec![&mut monitor];
    if progress {
        all.push(&mut bar);
    }
    problem.train(trainer, &mut all)?;
    Ok(monitor.into_rows())
}
