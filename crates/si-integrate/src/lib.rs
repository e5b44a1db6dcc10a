//! # si-integrate
//!
//! Integrators for the generative dynamics of stochastic interpolants (arXiv 2303.08797, §2.3): the
//! probability-flow ODE Ẋ = b and the forward/backward SDEs dX = (b ± ε s) dt + √(2ε) dW. Steppers do one
//! step ([`Euler`], [`Heun`], [`EulerMaruyama`]); [`DormandPrince`] adapts its steps to a tolerance; [`integrate`] drives them over a [`TimeGrid`] and reports
//! to [`Observer`]s; a [`Scheme`] names any of them (`heun`, `euler-maruyama:eps=0.5`,
//! `dormand-prince:rtol=1e-6,atol=1e-6`, …: [`SCHEME_NAMES`]); [`ode_log_likelihood`] integrates the divergence backward and
//! [`sde_log_likelihood`] estimates log ρ1 path by path along the backward SDE. Works on any
//! [`si_core::Batch`], so a learned field on a GPU keeps its state there.
#![warn(missing_docs)]

mod adaptive;
mod diffusion;
mod driver;
mod error;
mod grid;
mod likelihood;
mod observers;
mod scheme;
mod sde_likelihood;
mod stepper;

pub use adaptive::{AdaptiveConfig, DormandPrince, SolveStats};
pub use diffusion::Diffusion;
pub use driver::{integrate, Observer};
pub use error::{IntegrateError, Result};
pub use grid::TimeGrid;
pub use likelihood::ode_log_likelihood;
pub use observers::{Progress, Straightness, Trajectory};
pub use scheme::{Scheme, SCHEME_NAMES};
pub use sde_likelihood::{sde_log_likelihood, SdeLogLikelihood};
pub use stepper::{Euler, EulerMaruyama, Heun, Stepper, StochasticHeun};
