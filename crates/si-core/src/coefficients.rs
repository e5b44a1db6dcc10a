//! The spatially linear interpolant I(t, x0, x1) = α(t) x0 + β(t) x1 (arXiv 2303.08797, §3.2, table 1).

use std::f64::consts::{FRAC_PI_2, PI};
use std::fmt;
use std::sync::Arc;

use crate::gamma::Gamma;
use crate::presets::Preset;

/// User-defined α, β with their derivatives.
#[derive(Clone)]
pub struct CustomCoefficients {
    name: String,
    #[allow(clippy::type_complexity)]
    f: Arc<dyn Fn(f64) -> [f64; 4] + Send + Sync>,
}

impl CustomCoefficients {
    /// `f(t)` returns `[α, α̇, β, β̇]`.
    pub fn new(
        name: impl Into<String>,
        f: impl Fn(f64) -> [f64; 4] + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            f: Arc::new(f),
        }
    }
}

/// Two custom coefficient pairs are equal when one is a clone of the other (same name, same closure):
/// the closure is compared by identity, never by value.
impl PartialEq for CustomCoefficients {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.f, &other.f)
    }
}

impl fmt::Debug for CustomCoefficients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomCoefficients")
            .field("name", &self.name)
            .finish()
    }
}

/// The coefficient pair (α, β) of a spatially linear interpolant.
///
/// Equality is structural for built-in variants and by identity for [`Coefficients::Custom`]. With the
/// `serde1` feature, built-in variants serialise as their variant name (`"Linear"`, `"Trigonometric"`,
/// ...); serialising [`Coefficients::Custom`] is an error.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Coefficients {
    /// α = 1 − t, β = t.
    Linear,
    /// α = √(1−γ²) cos(πt/2), β = √(1−γ²) sin(πt/2) (needs γ ≤ 1).
    Trigonometric,
    /// α = cos²(πt) on [0, ½), 0 after; β = 0 on [0, ½), cos²(πt) after. Passes through pure noise at ½.
    EncoderDecoder,
    /// α = cos(πt/2), β = sin(πt/2) (one-sided variance preserving).
    VariancePreserving,
    /// α = √(1−t²), β = t (one-sided).
    SqrtOneMinusTSquared,
    /// α = 0, β = 1: the mirror interpolant x_t = x1 + γ z.
    Mirror,
    /// A named generative model (EDM, VE, VP, flow matching) as a one-sided interpolant; its ends may hold
    /// only approximately (see [`Preset`]).
    Preset(Preset),
    /// User-defined.
    Custom(CustomCoefficients),
}

/// α, α̇, β, β̇ and the products αα̇, ββ̇ at one time (products in closed form where α̇ is singular).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlphaBeta {
    /// α(t).
    pub alpha: f64,
    /// α̇(t).
    pub dalpha: f64,
    /// β(t).
    pub beta: f64,
    /// β̇(t).
    pub dbeta: f64,
    /// α(t)α̇(t), finite on [0, 1].
    pub alpha_dalpha: f64,
}

impl Coefficients {
    /// Evaluates α, β and derivatives at `t`. `gamma` is needed by the trigonometric family only.
    pub fn eval(&self, t: f64, gamma: &Gamma) -> AlphaBeta {
        self.eval_with(t, gamma.gamma(t), gamma.gamma_dgamma(t))
    }

    /// As [`Coefficients::eval`], given γ(t) and γγ̇(t) already computed.
    #[inline]
    pub fn eval_with(&self, t: f64, g: f64, gamma_dgamma: f64) -> AlphaBeta {
        let (alpha, dalpha, beta, dbeta, alpha_dalpha) = match self {
            Coefficients::Linear => (1.0 - t, -1.0, t, 1.0, -(1.0 - t)),
            Coefficients::Trigonometric => {
                // d/dt √(1−γ²) = −γγ̇/√(1−γ²)
                let r = (1.0 - g * g).max(0.0).sqrt();
                let dr = if r > 0.0 { -gamma_dgamma / r } else { 0.0 };
                let (s, c) = (FRAC_PI_2 * t).sin_cos();
                let a = r * c;
                let da = dr * c - r * FRAC_PI_2 * s;
                (a, da, r * s, dr * s + r * FRAC_PI_2 * c, a * da)
            }
            Coefficients::EncoderDecoder => {
                let c2 = (PI * t).cos().powi(2);
                let d = -PI * (2.0 * PI * t).sin();
                if t < 0.5 {
                    (c2, d, 0.0, 0.0, c2 * d)
                } else {
                    (0.0, 0.0, c2, d, 0.0)
                }
            }
            Coefficients::VariancePreserving => {
                // exactly (1, 0) at t = 1, where cos(π/2) would give 6e-17 and a finite log-SNR
                let (s, c) = if t.to_bits() == 1.0f64.to_bits() {
                    (1.0, 0.0)
                } else {
                    (FRAC_PI_2 * t).sin_cos()
                };
                (c, -FRAC_PI_2 * s, s, FRAC_PI_2 * c, -FRAC_PI_2 * s * c)
            }
            Coefficients::SqrtOneMinusTSquared => {
                let a = (1.0 - t * t).max(0.0).sqrt();
                let da = if a > 0.0 { -t / a } else { f64::NEG_INFINITY };
                (a, da, t, 1.0, -t)
            }
            Coefficients::Mirror => (0.0, 0.0, 1.0, 0.0, 0.0),
            Coefficients::Preset(p) => {
                let c = p.eval(t);
                (c.alpha, c.dalpha, c.beta, c.dbeta, c.alpha_dalpha)
            }
            Coefficients::Custom(c) => {
                let [a, da, b, db] = (c.f)(t);
                (a, da, b, db, a * da)
            }
        };
        AlphaBeta {
            alpha,
            dalpha,
            beta,
            dbeta,
            alpha_dalpha,
        }
    }

    /// A short name for captions.
    pub fn name(&self) -> String {
        match self {
            Coefficients::Linear => "linear".into(),
            Coefficients::Trigonometric => "trigonometric".into(),
            Coefficients::EncoderDecoder => "encoder-decoder".into(),
            Coefficients::VariancePreserving => "vp".into(),
            Coefficients::SqrtOneMinusTSquared => "sqrt(1-t^2)".into(),
            Coefficients::Mirror => "mirror".into(),
            Coefficients::Preset(p) => p.caption(),
            Coefficients::Custom(c) => c.name.clone(),
        }
    }
}
