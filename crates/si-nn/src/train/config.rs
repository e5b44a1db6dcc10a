//! Training hyper-parameters ([`TrainConfig`]) and their checked form ([`TrainParams`]).

use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};

/// The learning rate against the step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LrSchedule {
    /// lr constant.
    Constant,
    /// lr·γ^⌊step/every⌋ (PyTorch's StepLR).
    Step {
        /// Steps between decays.
        every: usize,
        /// Decay factor.
        gamma: f64,
    },
    /// Cosine annealing from lr to `min_lr` over the run: lr_min + ½(lr − lr_min)(1 + cos(π step/steps)).
    Cosine {
        /// Final learning rate.
        min_lr: f64,
    },
}

/// Everything the trainer needs besides the model and the interpolant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Total number of optimisation steps.
    pub steps: usize,
    /// Pairs (x0, x1) per step; the forward pass sees twice as many rows when antithetic.
    pub batch: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Adam's β1, β2.
    pub betas: (f64, f64),
    /// Adam's ε.
    pub adam_eps: f64,
    /// Learning-rate schedule.
    pub schedule: LrSchedule,
    /// Clip the global gradient norm to this value.
    pub clip_grad_norm: Option<f64>,
    /// Decay of the exponential moving average of the weights.
    pub ema_decay: Option<f64>,
    /// Antithetic pairs x_t^± (variance control near t = 0, 1).
    pub antithetic: bool,
    /// Times are drawn from U[t_min, 1 − t_min].
    pub t_min: f64,
    /// Probability of dropping the context (classifier-free guidance).
    pub context_dropout: f64,
    /// Seed of everything random in the run (initial weights, batches).
    pub seed: u64,
    /// Steps between loss-log rows.
    pub log_every: usize,
}

impl TrainConfig {
    /// The reference's settings: Adam 2e-3, StepLR(1500, 0.4), batch 2000 (here 1000 antithetic pairs,
    /// 2000 rows), no clipping, no EMA.
    pub fn new(steps: usize) -> Self {
        Self {
            steps,
            batch: 1000,
            lr: 2e-3,
            betas: (0.9, 0.999),
            adam_eps: 1e-8,
            schedule: LrSchedule::Step {
                every: 1500,
                gamma: 0.4,
            },
            clip_grad_norm: None,
            ema_decay: None,
            antithetic: true,
            t_min: 1e-4,
            context_dropout: 0.0,
            seed: 0,
            log_every: 10,
        }
    }

    /// Validates once.
    pub fn check(self) -> Result<TrainParams> {
        let pos = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(NnError::hyper(name, format!("{v} must be finite and > 0")))
            }
        };
        if self.steps == 0 {
            return Err(NnError::hyper("steps", "must be at least 1"));
        }
        if self.batch == 0 {
            return Err(NnError::hyper("batch", "must be at least 1"));
        }
        pos("lr", self.lr)?;
        pos("adam_eps", self.adam_eps)?;
        for (name, b) in [("beta1", self.betas.0), ("beta2", self.betas.1)] {
            if !(0.0..1.0).contains(&b) {
                return Err(NnError::hyper(name, format!("{b} is not in [0, 1)")));
            }
        }
        match self.schedule {
            LrSchedule::Constant => {}
            LrSchedule::Step { every, gamma } => {
                if every == 0 {
                    return Err(NnError::hyper("schedule", "step schedule needs every >= 1"));
                }
                pos("schedule gamma", gamma)?;
            }
            LrSchedule::Cosine { min_lr } => {
                if !(min_lr.is_finite() && min_lr >= 0.0 && min_lr <= self.lr) {
                    return Err(NnError::hyper(
                        "min_lr",
                        format!("{min_lr} is not in [0, lr]"),
                    ));
                }
            }
        }
        if let Some(c) = self.clip_grad_norm {
            pos("clip_grad_norm", c)?;
        }
        if let Some(e) = self.ema_decay {
            if !(0.0..1.0).contains(&e) {
                return Err(NnError::hyper("ema_decay", format!("{e} is not in [0, 1)")));
            }
        }
        if !(self.t_min.is_finite() && self.t_min > 0.0 && self.t_min < 0.5) {
            return Err(NnError::hyper(
                "t_min",
                format!("{} is not in (0, 0.5)", self.t_min),
            ));
        }
        if !(0.0..1.0).contains(&self.context_dropout) {
            return Err(NnError::hyper(
                "context_dropout",
                format!("{} is not in [0, 1)", self.context_dropout),
            ));
        }
        if self.log_every == 0 {
            return Err(NnError::hyper("log_every", "must be at least 1"));
        }
        Ok(TrainParams(self))
    }
}

/// A checked [`TrainConfig`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainParams(TrainConfig);

impl TrainParams {
    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.0
    }

    /// The learning rate at `step` (0-based).
    pub fn lr_at(&self, step: usize) -> f64 {
        let c = &self.0;
        match c.schedule {
            LrSchedule::Constant => c.lr,
            LrSchedule::Step { every, gamma } => c.lr * gamma.powi((step / every) as i32),
            LrSchedule::Cosine { min_lr } => {
                let f = step as f64 / c.steps as f64;
                min_lr + 0.5 * (c.lr - min_lr) * (1.0 + (std::f64::consts::PI * f).cos())
            }
        }
    }
}

impl std::ops::Deref for TrainParams {
    type Target = TrainConfig;
    fn deref(&self) -> &TrainConfig {
        &self.0
    }
}
