//! # si-nn
//!
//! Learned stochastic-interpolant fields with libtorch (tch 0.24, PyTorch 2.11): an MLP field model with a
//! time embedding and heads for b, s, η and v ([`model`]), the quadratic losses of arXiv 2303.08797 §2.2
//! with antithetic pairs ([`loss`]), a seeded trainer with Adam, learning-rate schedules, clipping, EMA,
//! CSV loss logs and safetensors checkpoints that resume bit for bit ([`train`]), and [`LearnedField`],
//! which implements [`si_core::Field`] on the model's device so that si-integrate's ODE/SDE samplers and
//! likelihoods run on it unchanged. Conditioning on a context vector c with classifier-free guidance is
//! built in.
//!
//! Training takes any [`si_core::TargetSource`] on the model's device: [`Uploaded`] brings a host source
//! (si-core's `InterpolantSource` over a coupling or `si_data::ArrayData`) to the device, [`DeviceData`] keeps
//! a data set on the device and draws there. [`ConditionalNet`] is a conditional model as a
//! [`si_core::ConditionalField`]. Runs report to [`TrainObserver`]s (progress, CSV, checkpoints), which
//! read the run's [`TrainState`], and call [`TrainHook`]s before every step; reflow and SCSI ([`methods`])
//! are runs of the same trainer.
//!
//! Only this crate links libtorch. Its random numbers come from generators passed in by the caller: noise on
//! the device comes from the keyed generator of [`rng`], initial weights from a host generator seeded in
//! [`FieldNet::new`]; libtorch's process-wide generator is never used, so seeded runs can share a process.
#![warn(missing_docs)]
#![deny(clippy::float_cmp)]

pub mod batch;
pub mod classifier;
pub mod error;
pub mod field;
pub mod loss;
pub mod methods;
pub mod model;
pub mod rng;
pub mod sampling;
pub mod sinkhorn;
pub mod source;
pub mod train;

pub use batch::{TensorBatch, TensorRows};
pub use classifier::{Classifier, ClassifierTraining};
pub use error::{NnError, Result};
pub use field::{ConditionalNet, Divergence, LearnedField};
pub use methods::{reflow, scsi};
pub use model::{Activation, Context, FieldNet, Head, ModelConfig, ModelParams, UNetConfig};
pub use source::{DeviceData, Uploaded};
pub use train::{
    Checkpoints, CsvLog, LogDensity, LrSchedule, Progress, TrainConfig, TrainEvent, TrainHook,
    TrainObserver, TrainParams, TrainState, Trainer, ValidationNll,
};
