//! Typed errors of `si-analytic`.

use si_core::CoreError;
use thiserror::Error;

/// Errors building or evaluating exact Gaussian-mixture fields.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum AnalyticError {
    /// The mixture has no component.
    #[error("a Gaussian mixture needs at least one component")]
    Empty,
    /// A weight is negative or not finite.
    #[error("weight {index} = {value} must be finite and >= 0")]
    InvalidWeight {
        /// Component index.
        index: usize,
        /// The weight.
        value: f64,
    },
    /// The weights do not sum to 1 (within 1e-9).
    #[error("weights sum to {sum}, not 1 (tolerance 1e-9)")]
    WeightsNotNormalised {
        /// Their sum.
        sum: f64,
    },
    /// Means and covariances disagree in dimension (or count).
    #[error("dimension mismatch: {0}")]
    DimensionMismatch(String),
    /// A covariance is not symmetric.
    #[error("covariance {index} is not symmetric (max |C - C^T| = {asymmetry})")]
    NotSymmetric {
        /// Component index.
        index: usize,
        /// Largest asymmetry.
        asymmetry: f64,
    },
    /// A covariance (of a mixture, or of ρ(t) at some t) is not positive definite.
    #[error("covariance {what} is not positive definite")]
    NotPositiveDefinite {
        /// Which covariance.
        what: String,
    },
    /// A mean or covariance holds NaN or an infinity.
    #[error("non-finite value in {0}")]
    NonFinite(&'static str),
    /// A covariance has off-diagonal entries where only diagonal ones are supported (the exact route (b)
    /// over the scalar schedule family).
    #[error("{what} must be diagonal")]
    NotDiagonal {
        /// Which covariance.
        what: String,
    },
    /// An optimiser's setting is out of range.
    #[error("invalid optimiser setting `{name}` = {value}: {reason}")]
    InvalidSetting {
        /// Its name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// A one-sided interpolant was paired with a base other than N(0, I).
    #[error("a one-sided interpolant needs rho0 = N(0, I)")]
    NotStandardNormalBase,
    /// A conditional oracle was given no target mixture (no class).
    #[error("a conditional oracle needs at least one target mixture (class)")]
    NoClasses,
    /// Variance reduction by σ² beyond a component's smallest covariance eigenvalue: y = x + σz has no clean
    /// law x (σ² > λ_min), or only a degenerate one without a density (σ² = λ_min, within 1e-12 relative).
    #[error(
        "cannot remove sigma^2 = {sigma2} from component {component} (smallest covariance eigenvalue \
         {lambda_min}): {}",
        if *degenerate { "the reduced covariance is singular, a fixed point without a density" }
        else { "no law x with x + sigma z equal to the data exists" }
    )]
    NoFixedPoint {
        /// Component index.
        component: usize,
        /// Its smallest covariance eigenvalue.
        lambda_min: f64,
        /// σ².
        sigma2: f64,
        /// Whether σ² = λ_min (a degenerate fixed point) rather than σ² > λ_min (none).
        degenerate: bool,
    },
    /// An error from si-core (time out of range, shapes, ...).
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<AnalyticError> for CoreError {
    fn from(e: AnalyticError) -> Self {
        match e {
            AnalyticError::Core(c) => c,
            other => CoreError::Backend(other.to_string()),
        }
    }
}

/// Result alias for `si-analytic`.
pub type Result<T> = std::result::Result<T, AnalyticError>;
