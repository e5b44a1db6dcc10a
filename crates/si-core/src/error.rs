//! Typed errors of `si-core`.

use thiserror::Error;

/// Every error that `si-core` (and the traits it defines) can report.
///
/// Library code never panics on user input: bad parameters, non-finite values and mismatched shapes
/// come back as one of these variants.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum CoreError {
    /// A time outside `[0, 1]` (or NaN) was passed.
    #[error("time t = {t} is outside [0, 1]")]
    TimeOutOfRange {
        /// The offending time.
        t: f64,
    },
    /// A hyper-parameter is not valid (negative γ scale, NaN, ...).
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// Name of the parameter.
        name: &'static str,
        /// The value that was given.
        value: f64,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// An interpolant violates one of its boundary conditions.
    #[error("boundary condition violated: {condition} (got {got}, expected {expected})")]
    BoundaryCondition {
        /// Which condition, e.g. `"alpha(0) = 1"`.
        condition: &'static str,
        /// The computed value.
        got: f64,
        /// The required value.
        expected: f64,
    },
    /// The noise scale γ(t) is negative or not finite.
    #[error("gamma({t}) = {value} must be finite and non-negative")]
    NegativeGamma {
        /// Time at which γ was evaluated.
        t: f64,
        /// The value of γ(t).
        value: f64,
    },
    /// Two batches (or a batch and a model) disagree in shape.
    #[error("shape mismatch: expected {expected}, got {got}")]
    ShapeMismatch {
        /// The expected shape, in words.
        expected: String,
        /// The shape received.
        got: String,
    },
    /// A value is NaN or infinite where a finite number is required.
    #[error("non-finite value in {what}")]
    NonFinite {
        /// What contained the non-finite value.
        what: &'static str,
    },
    /// The field does not provide the requested quantity (e.g. a velocity-only model asked for a score).
    #[error("this field does not provide {quantity}")]
    Unsupported {
        /// The quantity asked for.
        quantity: &'static str,
    },
    /// A regression target is not finite at the requested times (e.g. γ̇ of √(t(1−t)) at t = 0 or 1):
    /// sample t inside (0, 1).
    #[error("{what} is not finite at the requested times (a coefficient is singular there); sample t inside (0, 1)")]
    SingularTarget {
        /// Which target.
        what: &'static str,
    },
    /// A name (of an interpolant or a noise schedule, e.g. on a command line) that is not in the grammar.
    #[error("unknown {what} `{got}`; expected {expected}")]
    UnknownName {
        /// What was being named, e.g. `"interpolant"` or `"gamma"`.
        what: &'static str,
        /// The name that was given.
        got: String,
        /// The accepted names (see [`INTERPOLANT_NAMES`](crate::INTERPOLANT_NAMES) and
        /// [`GAMMA_NAMES`](crate::GAMMA_NAMES)).
        expected: &'static str,
    },
    /// An error from a backend (e.g. libtorch) reported through the core traits.
    #[error("backend error: {0}")]
    Backend(String),
    /// A schedule transfer was asked at a time that the source interpolant cannot reach: the target's log
    /// signal-to-noise ratio there is infinite or outside the source's range.
    #[error("schedule transfer at t = {t}: {reason}")]
    TransferRange {
        /// The requested time (of the target interpolant).
        t: f64,
        /// Why it cannot be mapped.
        reason: &'static str,
    },
    /// A statistic was asked of fewer values (or trials) than it needs.
    #[error("{what} needs at least {needed} values, got {got}")]
    TooFewValues {
        /// The statistic, e.g. `"a Wilson interval"`.
        what: &'static str,
        /// How many it needs.
        needed: usize,
        /// How many it got.
        got: usize,
    },
}

/// Result alias for `si-core`.
pub type Result<T> = std::result::Result<T, CoreError>;

/// Checks that `t` is a finite time in `[0, 1]`.
pub fn check_time(t: f64) -> Result<()> {
    if t.is_finite() && (0.0..=1.0).contains(&t) {
        Ok(())
    } else {
        Err(CoreError::TimeOutOfRange { t })
    }
}
