//! # si-analytic
//!
//! Exact Gaussian-mixture fields: ρ(t, x), log ρ, b, s, η, v and ∇·b in closed form for any spatially
//! linear interpolant (docs/math.md §4), and exact samples of ρ(t). This is the oracle every learned field and
//! integrator in the workspace is tested against. Log-domain weights and Cholesky factors throughout.
#![warn(missing_docs)]

mod bridge;
mod components;
mod conditional;
mod em;
mod error;
mod fields;
pub mod interpolant_opt;
mod linalg;
mod mixture;
pub mod reference;
mod scsi;
mod small;

pub use bridge::GaussianBridge;
pub use conditional::{ConditionalMixtureFields, ConditionedMixtureFields};
pub use em::{fit_em, EmConfig};
pub use error::{AnalyticError, Result};
pub use fields::{FieldValues, MixtureFields};
pub use linalg::log_sum_exp;
pub use mixture::GaussianMixture;
pub use scsi::{FixedPointField, VarianceReduction};
