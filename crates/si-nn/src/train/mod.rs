//! Training: hyper-parameters, optimiser, the run's state, checkpoints, observers and hooks, the loop.
//!
//! Imports go one way: `state` (what a run has learned) ← `checkpoint` (its files) ← `observe` (what a run
//! reports to) ← `trainer` (the loop); `validation` is an observer that scores held-out points.

pub mod checkpoint;
mod config;
mod observe;
mod optim;
mod state;
mod trainer;
mod validation;

pub use checkpoint::{load_model, LossRow};
pub use config::{LrSchedule, TrainConfig, TrainParams};
pub use observe::{Checkpoints, CsvLog, Progress, TrainEvent, TrainHook, TrainObserver};
pub use optim::{clip_grad_norm, ema_update, Adam};
pub use state::TrainState;
pub use trainer::Trainer;
pub use validation::{LogDensity, ValidationNll};
