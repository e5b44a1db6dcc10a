//! A held-out likelihood while training: [`ValidationNll`], an observer that every so many steps scores
//! held-out points by the negative log-likelihood of the run's sampling (EMA) model through the ODE
//! (arXiv 2303.08797, §2.3; docs/math.md §3):
//!
//! ```text
//! −log ρ̂1(x) = −log ρ0(X_0) + ∫₀¹ ∇·b(t, X_t) dt,   X run backward from X_1 = x by Heun,
//! ```
//!
//! averaged over the points, unconditional (no context). The divergence is exact or Hutchinson's (cheap,
//! unbiased: its noise averages out over the points). The curve it records is the validation loss of a
//! likelihood model, the quantity to choose a checkpoint on.

use si_core::{Batch, Interpolant, Points};

use crate::error::Result;
use crate::field::{Divergence, LearnedField};
use crate::model::FieldNet;
use crate::sampling::ode_log_likelihood_of;
use crate::train::observe::{TrainEvent, TrainObserver};
use crate::train::state::TrainState;

/// The base log-density log ρ0 of host points.
pub type LogDensity = Box<dyn Fn(&Points) -> si_core::Result<Vec<f64>>>;

/// Every `every` steps (0: only at the end) and at the end of a run, the mean −log ρ̂1 of `points` under
/// the sampling model; see the module's formula.
pub struct ValidationNll {
    points: Points,
    interpolant: Interpolant,
    log_rho0: LogDensity,
    every: usize,
    steps: usize,
    divergence: Divergence,
    chunk: usize,
    record: Vec<(usize, f64)>,
    /// With [`ValidationNll::keeping_best`]: a copy of the sampling model at the lowest score so far.
    best: Option<Best>,
}

/// The model kept at the lowest score.
struct Best {
    at: Option<(usize, f64)>,
    net: Option<FieldNet>,
}

impl std::fmt::Debug for ValidationNll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidationNll")
            .field("points", &self.points.len())
            .field("every", &self.every)
            .field("steps", &self.steps)
            .field("divergence", &self.divergence)
            .field("record", &self.record)
            .finish()
    }
}

impl ValidationNll {
    /// Scores `points` (the model's dimension) for the model of `interpolant` with base density
    /// `log_rho0`, every `every` steps, by `steps` Heun steps with the exact divergence, in chunks of 256.
    pub fn new(
        points: Points,
        interpolant: Interpolant,
        log_rho0: LogDensity,
        every: usize,
        steps: usize,
    ) -> Self {
        Self {
            points,
            interpolant,
            log_rho0,
            every,
            steps: steps.max(1),
            divergence: Divergence::Exact,
            chunk: 256,
            record: Vec::new(),
            best: None,
        }
    }

    /// Also keeps a copy of the sampling model whenever a score is the lowest so far: the checkpoint chosen
    /// on the held-out points ([`ValidationNll::best`], [`ValidationNll::best_net`]).
    pub fn keeping_best(mut self) -> Self {
        self.best = Some(Best {
            at: None,
            net: None,
        });
        self
    }

    /// The (step, score) of the kept model, when keeping and once a score was recorded.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best.as_ref().and_then(|b| b.at)
    }

    /// The sampling model as it was at [`ValidationNll::best`]'s step.
    pub fn best_net(&self) -> Option<&FieldNet> {
        self.best.as_ref().and_then(|b| b.net.as_ref())
    }

    /// The kept (step, model), moved out of the observer.
    pub fn into_best(self) -> Option<(usize, FieldNet)> {
        let b = self.best?;
        Some((b.at?.0, b.net?))
    }

    /// Chooses how ∇·b is computed (Hutchinson's estimator for a cheap curve).
    pub fn with_divergence(mut self, d: Divergence) -> Self {
        self.divergence = d;
        self
    }

    /// (steps done, mean −log ρ̂1 in nats) at every scoring, in order.
    pub fn record(&self) -> &[(usize, f64)] {
        &self.record
    }

    /// The mean −log ρ̂1 of the points under `state`'s sampling model now.
    pub fn score(&self, state: &TrainState) -> Result<f64> {
        self.score_net(state.sampling_net())
    }

    /// The mean −log ρ̂1 of the points under `net` (the same estimator, e.g. for [`ValidationNll::best_net`]).
    pub fn score_net(&self, net: &FieldNet) -> Result<f64> {
        let field =
            LearnedField::new(net, self.interpolant.clone()).with_divergence(self.divergence);
        let ll = ode_log_likelihood_of(
            &field,
            &self.points,
            self.steps,
            self.chunk,
            &*self.log_rho0,
        )?;
        Ok(-ll.iter().sum::<f64>() / ll.len().max(1) as f64)
    }
}

impl TrainObserver for ValidationNll {
    fn observe(&mut self, state: &TrainState, event: TrainEvent) -> Result<()> {
        let due = match event {
            TrainEvent::Step { step } => self.every > 0 && step.is_multiple_of(self.every),
            // the last step's score is taken once, even when it was also a multiple of `every`
            TrainEvent::Finished { step } => self.record.last().map(|r| r.0) != Some(step),
            TrainEvent::Started { .. } => false,
        };
        if due {
            let nll = self.score(state)?;
            tracing::info!(step = state.step(), nll, "validation −log-likelihood");
            self.record.push((state.step(), nll));
            if let Some(b) = self.best.as_mut() {
                if nll.is_finite() && b.at.is_none_or(|(_, s)| nll < s) {
                    b.at = Some((state.step(), nll));
                    b.net = Some(state.sampling_net().try_clone()?);
                }
            }
        }
        Ok(())
    }
}
