//! Noise schedules γ(t) of the latent term γ(t) z (arXiv 2303.08797, §3, eq. 2.1 and table 1).

use std::f64::consts::PI;
use std::fmt;
use std::sync::Arc;

use crate::error::{CoreError, Result};

/// A user-defined γ with its derivative.
///
/// `gamma_dgamma` defaults to γ·γ̇ but can be given in closed form when γ̇ is singular at the ends.
#[derive(Clone)]
pub struct CustomGamma {
    name: String,
    gamma: Arc<dyn Fn(f64) -> f64 + Send + Sync>,
    dgamma: Arc<dyn Fn(f64) -> f64 + Send + Sync>,
    gamma_dgamma: Option<Arc<dyn Fn(f64) -> f64 + Send + Sync>>,
}

impl CustomGamma {
    /// A custom γ from closures for γ and γ̇.
    pub fn new(
        name: impl Into<String>,
        gamma: impl Fn(f64) -> f64 + Send + Sync + 'static,
        dgamma: impl Fn(f64) -> f64 + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            gamma: Arc::new(gamma),
            dgamma: Arc::new(dgamma),
            gamma_dgamma: None,
        }
    }

    /// Supplies γγ̇ in closed form (recommended when γ̇ is singular at t = 0 or 1).
    pub fn with_gamma_dgamma(mut self, f: impl Fn(f64) -> f64 + Send + Sync + 'static) -> Self {
        self.gamma_dgamma = Some(Arc::new(f));
        self
    }
}

/// Two custom schedules are equal when one is a clone of the other (same name, same closures): closures
/// are compared by identity, never by value, so equality never claims that two different functions agree.
impl PartialEq for CustomGamma {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && Arc::ptr_eq(&self.gamma, &other.gamma)
            && Arc::ptr_eq(&self.dgamma, &other.dgamma)
            && match (&self.gamma_dgamma, &other.gamma_dgamma) {
                (None, None) => true,
                (Some(f), Some(g)) => Arc::ptr_eq(f, g),
                _ => false,
            }
    }
}

impl fmt::Debug for CustomGamma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomGamma")
            .field("name", &self.name)
            .finish()
    }
}

/// The noise schedule γ(t) ≥ 0.
///
/// Built-in schedules have names (`zero`, `sqrt`, `sqrt=A`, `quadratic`, `sin-squared`; see
/// [`GAMMA_NAMES`](crate::GAMMA_NAMES)) that [`Display`](fmt::Display) writes and
/// [`FromStr`](std::str::FromStr) reads back. Equality is structural for built-in variants (exact
/// equality of `a`) and by identity for [`Gamma::Custom`] (see [`CustomGamma`]). With the `serde1`
/// feature, built-in variants serialise as `"Zero"`, `{"Sqrt":{"a":1.0}}`, `"Quadratic"`,
/// `"SinSquared"`; deserialisation checks a > 0 and serialising [`Gamma::Custom`] is an error (with
/// serde_json, enable its `float_roundtrip` feature for `a` to read back bit for bit).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Gamma {
    /// γ = 0: a deterministic interpolant.
    Zero,
    /// γ = √(a t(1−t)), a > 0 (a Brownian bridge for a = 1). γ̇ is singular at the ends; γγ̇ = a(1−2t)/2 is not.
    Sqrt {
        /// The scale a > 0.
        a: f64,
    },
    /// γ = t(1−t).
    Quadratic,
    /// γ = sin²(πt); γ(½) = 1, as the encoder–decoder interpolant needs.
    SinSquared,
    /// A user-defined schedule.
    Custom(CustomGamma),
}

impl Gamma {
    /// γ = √(a t(1−t)), checking a > 0.
    pub fn sqrt(a: f64) -> Result<Self> {
        if a.is_finite() && a > 0.0 {
            Ok(Gamma::Sqrt { a })
        } else {
            Err(CoreError::InvalidParameter {
                name: "a",
                value: a,
                reason: "the scale of sqrt(a t (1 - t)) must be finite and > 0",
            })
        }
    }

    /// The Brownian-bridge schedule γ = √(t(1−t)).
    pub fn brownian() -> Self {
        Gamma::Sqrt { a: 1.0 }
    }

    /// γ(t).
    pub fn gamma(&self, t: f64) -> f64 {
        match self {
            Gamma::Zero => 0.0,
            Gamma::Sqrt { a } => (a * t * (1.0 - t)).max(0.0).sqrt(),
            Gamma::Quadratic => t * (1.0 - t),
            Gamma::SinSquared => (PI * t).sin().powi(2),
            Gamma::Custom(c) => (c.gamma)(t),
        }
    }

    /// γ̇(t). Infinite at t ∈ {0, 1} for [`Gamma::Sqrt`]; prefer [`Gamma::gamma_dgamma`] there.
    pub fn dgamma(&self, t: f64) -> f64 {
        match self {
            Gamma::Zero => 0.0,
            Gamma::Sqrt { a } => {
                let g = self.gamma(t);
                if g == 0.0 {
                    if (1.0 - 2.0 * t) >= 0.0 {
                        f64::INFINITY
                    } else {
                        f64::NEG_INFINITY
                    }
                } else {
                    a * (1.0 - 2.0 * t) / (2.0 * g)
                }
            }
            Gamma::Quadratic => 1.0 - 2.0 * t,
            Gamma::SinSquared => PI * (2.0 * PI * t).sin(),
            Gamma::Custom(c) => (c.dgamma)(t),
        }
    }

    /// γ(t)γ̇(t) in closed form: smooth on [0, 1] even where γ̇ is not.
    ///
    /// √(a t(1−t)): a(1−2t)/2; t(1−t): t(1−t)(1−2t); sin²(πt): π sin²(πt) sin(2πt).
    pub fn gamma_dgamma(&self, t: f64) -> f64 {
        match self {
            Gamma::Zero => 0.0,
            Gamma::Sqrt { a } => a * (1.0 - 2.0 * t) / 2.0,
            Gamma::Quadratic => t * (1.0 - t) * (1.0 - 2.0 * t),
            Gamma::SinSquared => PI * (PI * t).sin().powi(2) * (2.0 * PI * t).sin(),
            Gamma::Custom(c) => match &c.gamma_dgamma {
                Some(f) => f(t),
                None => (c.gamma)(t) * (c.dgamma)(t),
            },
        }
    }

    /// (γ, γ̇, γγ̇) at t in one call (one square root for [`Gamma::Sqrt`]).
    #[inline]
    pub fn all(&self, t: f64) -> (f64, f64, f64) {
        match self {
            Gamma::Zero => (0.0, 0.0, 0.0),
            Gamma::Sqrt { a } => {
                let g = (a * t * (1.0 - t)).max(0.0).sqrt();
                let gdg = a * (1.0 - 2.0 * t) / 2.0;
                let dg = if g == 0.0 {
                    if gdg >= 0.0 {
                        f64::INFINITY
                    } else {
                        f64::NEG_INFINITY
                    }
                } else {
                    gdg / g
                };
                (g, dg, gdg)
            }
            _ => (self.gamma(t), self.dgamma(t), self.gamma_dgamma(t)),
        }
    }

    /// A short name for captions and logs.
    pub fn name(&self) -> String {
        match self {
            Gamma::Zero => "0".into(),
            Gamma::Sqrt { a } if (*a - 1.0).abs() < f64::EPSILON => "sqrt(t(1-t))".into(),
            Gamma::Sqrt { a } => format!("sqrt({a} t(1-t))"),
            Gamma::Quadratic => "t(1-t)".into(),
            Gamma::SinSquared => "sin^2(pi t)".into(),
            Gamma::Custom(c) => c.name.clone(),
        }
    }

    /// Whether γ ≡ 0.
    pub fn is_zero(&self) -> bool {
        matches!(self, Gamma::Zero)
    }
}
