//! Stochastic interpolants x_t = α(t) x0 + β(t) x1 + γ(t) z (arXiv 2303.08797, eq. 2.1 and §3.2).

use crate::coefficients::{AlphaBeta, Coefficients};
use crate::error::{check_time, CoreError, Result};
use crate::gamma::Gamma;
use crate::presets::Preset;

/// Which endpoints the interpolant bridges.
///
/// With the `serde1` feature it serialises as `"TwoSided"`, `"OneSided"` or `"Mirror"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde1", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Sidedness {
    /// ρ0 and ρ1 arbitrary, x_t = α x0 + β x1 + γ z with γ(0) = γ(1) = 0.
    TwoSided,
    /// ρ0 = N(0, I): x_t = α(t) x0 + β(t) x1 with x0 ~ N(0, I) the only noise (γ ≡ 0).
    OneSided,
    /// ρ0 = ρ1: x_t = x1 + γ(t) z (arXiv 2303.08797, §3.4).
    Mirror,
}

/// Every coefficient of an interpolant at one time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    /// The time.
    pub t: f64,
    /// α(t).
    pub alpha: f64,
    /// α̇(t).
    pub dalpha: f64,
    /// α(t)α̇(t) (closed form).
    pub alpha_dalpha: f64,
    /// β(t).
    pub beta: f64,
    /// β̇(t).
    pub dbeta: f64,
    /// γ(t).
    pub gamma: f64,
    /// γ̇(t) (infinite at the ends for γ = √(a t(1−t))).
    pub dgamma: f64,
    /// γ(t)γ̇(t) (closed form, finite on [0, 1]).
    pub gamma_dgamma: f64,
    /// The scale σ of the latent noise that the denoiser η estimates: γ (two-sided, mirror) or α (one-sided),
    /// so that s = −η/σ.
    pub noise_scale: f64,
    /// The time derivative of `noise_scale`.
    pub dnoise_scale: f64,
}

/// A validated spatially linear stochastic interpolant.
///
/// ```
/// use si_core::{Gamma, Interpolant};
/// let it = Interpolant::linear(Gamma::brownian()).unwrap();
/// let s = it.schedule(0.25).unwrap();
/// assert!((s.alpha - 0.75).abs() < 1e-15);
/// assert!((s.gamma_dgamma - 0.25).abs() < 1e-15); // a(1 − 2t)/2
/// ```
///
/// Built-in interpolants have names `<family>[:<gamma>]` (grammar in [`INTERPOLANT_NAMES`](crate::INTERPOLANT_NAMES)):
/// [`FromStr`](std::str::FromStr) parses them and [`Display`](std::fmt::Display) writes the canonical one,
/// e.g. `linear`, `trigonometric:quadratic`, `mirror:sqrt=2`, `one-sided-vp`. [`Interpolant::name`] is the
/// longer caption. With the `serde1` feature an interpolant serialises as
/// `{"sidedness":"TwoSided","coefficients":"Linear","gamma":{"Sqrt":{"a":1.0}}}` and deserialises through
/// [`Interpolant::new`], so invalid combinations are rejected. Equality compares the three parts (custom
/// parts by identity).
#[derive(Clone, Debug, PartialEq)]
pub struct Interpolant {
    sidedness: Sidedness,
    coefficients: Coefficients,
    gamma: Gamma,
}

/// Tolerance of the boundary-condition checks.
const BC_TOL: f64 = 1e-9;
/// Points at which γ ≥ 0 and finiteness are checked.
const CHECK_POINTS: usize = 257;

fn expect(condition: &'static str, got: f64, expected: f64) -> Result<()> {
    if (got - expected).abs() <= BC_TOL {
        Ok(())
    } else {
        Err(CoreError::BoundaryCondition {
            condition,
            got,
            expected,
        })
    }
}

impl Interpolant {
    /// Builds and validates an interpolant: I(0) = x0, I(1) = x1, γ(0) = γ(1) = 0 (two-sided and mirror),
    /// γ ≥ 0 and finite on [0, 1], γ ≤ 1 for the trigonometric family, γ(½) = 1 for the encoder–decoder,
    /// γ ≡ 0 for one-sided interpolants.
    pub fn new(sidedness: Sidedness, coefficients: Coefficients, gamma: Gamma) -> Result<Self> {
        let it = Self {
            sidedness,
            coefficients,
            gamma,
        };
        it.validate()?;
        Ok(it)
    }

    fn validate(&self) -> Result<()> {
        if let Gamma::Sqrt { a } = self.gamma {
            if !(a.is_finite() && a > 0.0) {
                return Err(CoreError::InvalidParameter {
                    name: "a",
                    value: a,
                    reason: "the scale of sqrt(a t (1 - t)) must be finite and > 0",
                });
            }
        }
        if self.sidedness == Sidedness::Mirror && !matches!(self.coefficients, Coefficients::Mirror)
        {
            return Err(CoreError::InvalidParameter {
                name: "coefficients",
                value: f64::NAN,
                reason: "a mirror interpolant has alpha = 0 and beta = 1 (Coefficients::Mirror)",
            });
        }
        for k in 0..CHECK_POINTS {
            let t = k as f64 / (CHECK_POINTS - 1) as f64;
            let g = self.gamma.gamma(t);
            if !g.is_finite() || g < 0.0 {
                return Err(CoreError::NegativeGamma { t, value: g });
            }
            let ab = self.coefficients.eval(t, &self.gamma);
            if ![
                ab.alpha,
                ab.beta,
                ab.dbeta,
                ab.alpha_dalpha,
                self.gamma.gamma_dgamma(t),
            ]
            .iter()
            .all(|v| v.is_finite())
            {
                return Err(CoreError::NonFinite {
                    what: "interpolant coefficients",
                });
            }
            let interior = k > 0 && k + 1 < CHECK_POINTS;
            if interior {
                // γγ̇ given in closed form must agree with γ·γ̇ where both are finite
                let (gdg, dg) = (self.gamma.gamma_dgamma(t), self.gamma.dgamma(t));
                if dg.is_finite() && (gdg - g * dg).abs() > 1e-8 * (1.0 + gdg.abs()) {
                    return Err(CoreError::InvalidParameter {
                        name: "gamma_dgamma",
                        value: gdg,
                        reason: "gamma * dgamma given in closed form disagrees with gamma(t) * dgamma(t)",
                    });
                }
                if self.sidedness == Sidedness::Mirror && g <= 0.0 {
                    return Err(CoreError::NegativeGamma { t, value: g });
                }
            }
            // two-sided: α̇, β̇ must be finite on [0, 1] (one-sided α̇ may be singular at t = 1, where it
            // multiplies the zero mean of the N(0, I) base)
            if self.sidedness == Sidedness::TwoSided
                && !(ab.dalpha.is_finite() && ab.dbeta.is_finite())
            {
                return Err(CoreError::NonFinite {
                    what: "the time derivatives of alpha and beta",
                });
            }
            if matches!(self.coefficients, Coefficients::Trigonometric) && g > 1.0 + BC_TOL {
                return Err(CoreError::InvalidParameter {
                    name: "gamma",
                    value: g,
                    reason: "the trigonometric interpolant needs gamma(t) <= 1",
                });
            }
        }
        let (a0, a1) = (
            self.coefficients.eval(0.0, &self.gamma),
            self.coefficients.eval(1.0, &self.gamma),
        );
        if let Coefficients::Preset(p) = &self.coefficients {
            return self.validate_preset(*p, a0.alpha, a1.beta);
        }
        match self.sidedness {
            Sidedness::TwoSided | Sidedness::OneSided => {
                expect("alpha(0) = 1", a0.alpha, 1.0)?;
                expect("beta(0) = 0", a0.beta, 0.0)?;
                expect("alpha(1) = 0", a1.alpha, 0.0)?;
                expect("beta(1) = 1", a1.beta, 1.0)?;
            }
            Sidedness::Mirror => {
                expect("alpha(0) = 0 (mirror)", a0.alpha, 0.0)?;
                expect("beta(0) = 1 (mirror)", a0.beta, 1.0)?;
                expect("alpha(1) = 0 (mirror)", a1.alpha, 0.0)?;
                expect("beta(1) = 1 (mirror)", a1.beta, 1.0)?;
            }
        }
        match self.sidedness {
            Sidedness::OneSided => {
                if !self.gamma.is_zero() {
                    return Err(CoreError::InvalidParameter {
                        name: "gamma",
                        value: self.gamma.gamma(0.5),
                        reason: "a one-sided interpolant carries its noise in alpha(t) x0; gamma must be 0",
                    });
                }
            }
            Sidedness::TwoSided | Sidedness::Mirror => {
                expect("gamma(0) = 0", self.gamma.gamma(0.0), 0.0)?;
                expect("gamma(1) = 0", self.gamma.gamma(1.0), 0.0)?;
            }
        }
        if matches!(self.coefficients, Coefficients::EncoderDecoder) {
            expect(
                "gamma(1/2) = 1 (encoder-decoder)",
                self.gamma.gamma(0.5),
                1.0,
            )?;
        }
        Ok(())
    }

    /// A preset is one-sided with γ ≡ 0; its ends may hold only approximately (EDM and VE never reach
    /// pure noise, VP nearly does), but β(1) = 1, α ≥ 0, α(0) > 0 and the log signal-to-noise ratio
    /// ln(β/α) increases strictly in t.
    fn validate_preset(&self, p: Preset, alpha0: f64, beta1: f64) -> Result<()> {
        p.check()?;
        if self.sidedness != Sidedness::OneSided || !self.gamma.is_zero() {
            return Err(CoreError::InvalidParameter {
                name: "sidedness",
                value: f64::NAN,
                reason: "a preset is a one-sided interpolant with gamma = 0 (Interpolant::preset)",
            });
        }
        expect("beta(1) = 1 (preset)", beta1, 1.0)?;
        if alpha0.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(CoreError::BoundaryCondition {
                condition: "alpha(0) > 0 (preset)",
                got: alpha0,
                expected: 1.0,
            });
        }
        let mut last = f64::NEG_INFINITY;
        for k in 0..CHECK_POINTS {
            let t = k as f64 / (CHECK_POINTS - 1) as f64;
            let l = self.log_snr(t);
            if l.is_nan() || (k > 0 && l <= last) {
                return Err(CoreError::InvalidParameter {
                    name: "preset",
                    value: t,
                    reason:
                        "the log signal-to-noise ratio ln(beta/alpha) must increase strictly in t",
                });
            }
            last = l;
        }
        Ok(())
    }

    /// A named generative model as a one-sided interpolant (docs/math.md §8).
    ///
    /// ```
    /// use si_core::{Interpolant, Preset};
    /// let edm = Interpolant::preset(Preset::EDM).unwrap();
    /// assert_eq!(edm, "edm".parse().unwrap());
    /// assert!((edm.base_scale() - 80.0).abs() < 1e-12); // samplers start from N(0, 80² I)
    /// ```
    pub fn preset(p: Preset) -> Result<Self> {
        Self::new(Sidedness::OneSided, Coefficients::Preset(p), Gamma::Zero)
    }

    /// The preset, if this interpolant is one.
    pub fn as_preset(&self) -> Option<Preset> {
        match self.coefficients {
            Coefficients::Preset(p) => Some(p),
            _ => None,
        }
    }

    /// The scale of the Gaussian N(0, base_scale² I) a sampler starts from at t = 0 (and whose density a
    /// likelihood ends on): α(0) for one-sided interpolants (1 except for the EDM and VE presets, whose
    /// t = 0 marginal x1 + σ_max x0 is approximated by N(0, σ_max² I) as in the originals); 1 otherwise (ρ0
    /// itself, N(0, I) when the base is a standard normal).
    pub fn base_scale(&self) -> f64 {
        match self.sidedness {
            Sidedness::OneSided => self.coefficients.eval(0.0, &self.gamma).alpha,
            _ => 1.0,
        }
    }

    /// The log signal-to-noise ratio λ(t) = ln(β(t)/α(t)) of a one-sided interpolant (−∞ where β = 0,
    /// +∞ where α = 0). Two interpolants with the same λ at t and t′ have marginals that differ only by
    /// the scale β(t)/β′(t′) (docs/math.md §8.2). NaN for two-sided and mirror interpolants.
    pub fn log_snr(&self, t: f64) -> f64 {
        if self.sidedness != Sidedness::OneSided {
            return f64::NAN;
        }
        let c = self.coefficients.eval(t, &self.gamma);
        c.beta.ln() - c.alpha.ln()
    }

    /// The time t ∈ [0, 1] at which λ(t) = `lambda` (bisection to the last bit; λ increases strictly),
    /// or `None` when `lambda` lies outside [λ(0), λ(1)] or the interpolant is not one-sided.
    pub fn time_of_log_snr(&self, lambda: f64) -> Option<f64> {
        if self.sidedness != Sidedness::OneSided || lambda.is_nan() {
            return None;
        }
        let (l0, l1) = (self.log_snr(0.0), self.log_snr(1.0));
        if lambda < l0 || lambda > l1 {
            return None;
        }
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        loop {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if self.log_snr(mid) < lambda {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        // the closer end of the last bracket
        let (dl, dh) = (
            (self.log_snr(lo) - lambda).abs(),
            (self.log_snr(hi) - lambda).abs(),
        );
        Some(if dl <= dh { lo } else { hi })
    }

    /// Linear: α = 1 − t, β = t, with the given γ.
    pub fn linear(gamma: Gamma) -> Result<Self> {
        Self::new(Sidedness::TwoSided, Coefficients::Linear, gamma)
    }

    /// Trigonometric: α = √(1−γ²) cos(πt/2), β = √(1−γ²) sin(πt/2).
    pub fn trigonometric(gamma: Gamma) -> Result<Self> {
        Self::new(Sidedness::TwoSided, Coefficients::Trigonometric, gamma)
    }

    /// Encoder–decoder with γ = sin²(πt).
    pub fn encoder_decoder() -> Self {
        Self {
            sidedness: Sidedness::TwoSided,
            coefficients: Coefficients::EncoderDecoder,
            gamma: Gamma::SinSquared,
        }
    }

    /// Encoder–decoder with a custom γ (checked: γ(½) = 1).
    pub fn encoder_decoder_with(gamma: Gamma) -> Result<Self> {
        Self::new(Sidedness::TwoSided, Coefficients::EncoderDecoder, gamma)
    }

    /// One-sided linear (flow matching / rectified flow from noise): x_t = (1 − t) x0 + t x1, x0 ~ N(0, I).
    pub fn one_sided_linear() -> Self {
        Self {
            sidedness: Sidedness::OneSided,
            coefficients: Coefficients::Linear,
            gamma: Gamma::Zero,
        }
    }

    /// One-sided variance preserving: α = cos(πt/2), β = sin(πt/2).
    pub fn one_sided_vp() -> Self {
        Self {
            sidedness: Sidedness::OneSided,
            coefficients: Coefficients::VariancePreserving,
            gamma: Gamma::Zero,
        }
    }

    /// One-sided α = √(1−t²), β = t.
    pub fn one_sided_sqrt() -> Self {
        Self {
            sidedness: Sidedness::OneSided,
            coefficients: Coefficients::SqrtOneMinusTSquared,
            gamma: Gamma::Zero,
        }
    }

    /// Mirror: x_t = x1 + γ(t) z.
    pub fn mirror(gamma: Gamma) -> Result<Self> {
        Self::new(Sidedness::Mirror, Coefficients::Mirror, gamma)
    }

    /// Which kind of interpolant this is.
    pub fn sidedness(&self) -> Sidedness {
        self.sidedness
    }

    /// The α, β pair.
    pub fn coefficients(&self) -> &Coefficients {
        &self.coefficients
    }

    /// The noise schedule.
    pub fn gamma_schedule(&self) -> &Gamma {
        &self.gamma
    }

    /// A short descriptive name, e.g. `linear, gamma = sqrt(t(1-t))`.
    pub fn name(&self) -> String {
        match self.sidedness {
            Sidedness::OneSided => format!("one-sided {}", self.coefficients.name()),
            Sidedness::Mirror => format!("mirror, gamma = {}", self.gamma.name()),
            Sidedness::TwoSided => format!(
                "{}, gamma = {}",
                self.coefficients.name(),
                self.gamma.name()
            ),
        }
    }

    /// All coefficients at `t` (checked: t ∈ [0, 1]).
    pub fn schedule(&self, t: f64) -> Result<Schedule> {
        check_time(t)?;
        Ok(self.schedule_unchecked(t))
    }

    /// All coefficients at `t` without the range check (for hot loops whose t is already validated).
    pub fn schedule_unchecked(&self, t: f64) -> Schedule {
        let (gamma, dgamma, gamma_dgamma) = self.gamma.all(t);
        let AlphaBeta {
            alpha,
            dalpha,
            beta,
            dbeta,
            alpha_dalpha,
        } = self.coefficients.eval_with(t, gamma, gamma_dgamma);
        let (noise_scale, dnoise_scale) = match self.sidedness {
            Sidedness::OneSided => (alpha, dalpha),
            _ => (gamma, dgamma),
        };
        Schedule {
            t,
            alpha,
            dalpha,
            alpha_dalpha,
            beta,
            dbeta,
            gamma,
            dgamma,
            gamma_dgamma,
            noise_scale,
            dnoise_scale,
        }
    }
}
