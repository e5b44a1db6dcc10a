//! Training: hyper-parameters, optimiser, checkpoints, the loop.

pub mod checkpoint;
mod config;
mod observe;
mod optim;
mod trainer;

pub use checkpoint::LossRow;
pub use config::{LrSchedule, TrainConfig, TrainParams};
pub use observe::{Checkpoints, CsvLog, Progress, TrainEvent, TrainObserver};
pub use optim::{clip_grad_norm, ema_update, Adam};
pub use trainer::{load_model, Trainer};
