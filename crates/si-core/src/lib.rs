//! # si-core
//!
//! The concepts of stochastic interpolants (Albergo & Vanden-Eijnden 2022; Albergo, Boffi &
//! Vanden-Eijnden 2023): interpolants x_t = α(t) x0 + β(t) x1 + γ(t) z with their derivatives and γγ̇ in
//! closed form, regression targets, couplings, the [`Field`] trait shared by exact and learned fields,
//! the [`Batch`] state trait, and typed errors. No libtorch.
#![warn(missing_docs)]
#![deny(clippy::float_cmp)]

mod batch;
mod coefficients;
mod conditional;
mod coupling;
mod error;
mod field;
pub mod forward;
mod gamma;
mod interpolant;
pub mod metrics;
mod names;
pub mod ot;
mod poly_schedule;
mod presets;
#[cfg(feature = "serde1")]
mod serde_impl;
mod source;
mod targets;
mod transfer;

pub use batch::{scaled_norm, Batch, ErrorNorm, Points};
pub use coefficients::{AlphaBeta, Coefficients, CustomCoefficients};
pub use conditional::{
    check_context, Averaged, AveragedField, ConditionalField, ContextForm, Guided,
};
pub use coupling::{Coupling, FnSampler, Independent, Ring, Sampler, StandardNormal};
pub use error::{check_time, CoreError, Result};
pub use field::{DriftTerms, Field};
pub use forward::{AdditiveGaussian, AdditiveNoise, ForwardModel, LinearGaussian};
pub use gamma::{CustomGamma, Gamma};
pub use interpolant::{Interpolant, Schedule, Sidedness};
pub use names::{GAMMA_NAMES, INTERPOLANT_NAMES, PRESET_NAMES};
pub use poly_schedule::{PolySchedule, PolyValues};
pub use presets::{karras_sigmas, Preset};
pub use source::{
    CouplingPairs, Draw, InterpolantSource, PairSource, Pairs, TargetSource, TimeRange,
};
pub use targets::Targets;
pub use transfer::{ScheduleTransfer, TransferMap};
