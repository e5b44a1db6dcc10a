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
    /// A setting of an adaptive solver is out of range.
    #[error("invalid solver settings: {0}")]
    InvalidSolver(String),
    /// The adaptive solver used up its attempted steps.
    #[error("the adaptive solver took {steps} steps and stopped at t = {t}; loosen the tolerances or raise max_steps")]
    TooManySteps {
        /// Attempted steps.
        steps: usize,
        /// Time reached.
        t: f64,
    },
    /// The adaptive solver's step became too small (or its error estimate not finite).
    #[error("the adaptive solver's step fell to {h} at t = {t} (the field is stiff, singular or not finite there)")]
    StepSizeUnderflow {
        /// Time reached.
        t: f64,
        /// Step size.
        h: f64,
    },
    /// A scheme name that is not in the grammar of [`SCHEME_NAMES`](crate::SCHEME_NAMES).
    #[error("unknown integration scheme `{got}`; expected {expected}")]
    UnknownScheme {
        /// The name that was given.
        got: String,
        /// The accepted names.
        expected: &'static str,
    },
    /// A setting of a scheme name that is unknown, repeated, missing its value or not a number.
    #[error("scheme `{scheme}`: setting `{setting}`: {reason}")]
    SchemeSetting {
        /// The whole name.
        scheme: String,
        /// The setting.
        setting: String,
        /// What is wrong with it.
        reason: &'static str,
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
