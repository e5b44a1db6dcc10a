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
//! Only this crate links libtorch. Its random numbers come from generators seeded by the caller; libtorch's
//! own generator (initial weights, on-device noise) is process-global, so seeded libtorch work must not
//! run concurrently in one process.
#![warn(missing_docs)]
#![deny(clippy::float_cmp)]

pub mod batch;
pub mod data;
pub mod error;
pub mod field;
pub mod io;
pub mod loss;
pub mod model;
pub mod npy;
pub mod sampling;
pub mod spec;
pub mod train;

pub use batch::{TensorBatch, TensorRows};
pub use data::{ArrayData, CouplingData, Draw, TrainingData};
pub use error::{NnError, Result};
pub use field::{Divergence, LearnedField};
pub use model::{Activation, Context, FieldNet, Head, ModelConfig, ModelParams};
pub use spec::{GammaSpec, InterpolantSpec};
pub use train::{LrSchedule, RunOptions, TrainConfig, TrainParams, Trainer};
