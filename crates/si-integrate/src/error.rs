//! Typed errors of `si-integrate`.

use si_core::CoreError;
use thiserror::Error;

/// Errors of the integrators.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum IntegrateError {
    /// The time grid is not valid (outside [0, 1], not monotone, no steps, NaN).
    #[error("invalid time grid: {0}")]
    InvalidGrid(String),
    /// ε(t) is negative or not finite.
    #[error("diffusion coefficient eps({t}) = {value} must be finite and >= 0")]
    InvalidDiffusion {
        /// Time.
        t: f64,
        /// ε(t).
        value: f64,
    },
    /// The likelihood needs a grid that runs from t = 1 to t = 0.
    #[error("the ODE likelihood integrates backward from t = 1 to t = 0; got {from} -> {to}")]
    LikelihoodGrid {
        /// Grid start.
        from: f64,
        /// Grid end.
        to: f64,
    },
    /// An observer asked to stop or failed.
    #[error("observer: {0}")]
    Observer(String),
    /// An error of a field or a batch.
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// Result alias for `si-integrate`.
pub type Result<T> = std::result::Result<T, IntegrateError>;
