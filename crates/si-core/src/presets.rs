//! The known generative models as one-sided interpolants x_t = α(t) x0 + β(t) x1, x0 ~ N(0, I)
//! (docs/math.md §8; the table "Connection to other generative models" of arXiv 2303.08797).
//!
//! Our time runs from the noise end (t = 0) to the data end (t = 1). Each preset maps its own time (EDM's
//! σ, Song's s ∈ [0, 1] with the data at s = 0, flow matching's t) onto ours; [`Preset::native_time`] gives
//! it back. Unlike the built-in one-sided families, several presets meet their ends only approximately,
//! exactly as the originals do: EDM and VE end at x1 + σ_min x0 and start from x1 + σ_max x0 (sampled as
//! N(0, σ_max² I)); VP starts from e^{−B(1)/2} x1 + √(1 − e^{−B(1)}) x0 (sampled as N(0, I)); flow matching
//! ends at x1 + σ_min x0. [`Interpolant::base_scale`](crate::Interpolant::base_scale) is α(0), the scale of
//! the Gaussian a sampler starts from.

use crate::error::{CoreError, Result};

/// A preset's α, α̇, β, β̇ and αα̇ at one time.
pub(crate) struct PresetCoefficients {
    pub alpha: f64,
    pub dalpha: f64,
    pub beta: f64,
    pub dbeta: f64,
    pub alpha_dalpha: f64,
}

/// The coefficients of a named generative model, as a one-sided interpolant (docs/math.md §8).
///
/// Build one with its checked constructor ([`Preset::edm`], [`Preset::ve`], [`Preset::vp`],
/// [`Preset::flow_matching`]) or by name through [`Interpolant`](crate::Interpolant)'s `FromStr`
/// (`edm`, `edm:sigma_max=80,rho=7`, `ve`, `vp:beta_min=0.1,beta_max=20`, `fm:sigma_min=0.001`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Preset {
    /// Karras et al. 2022 (EDM): x = x1 + σ x0 with σ on EDM's ρ-schedule,
    /// σ(t) = (σ_max^{1/ρ} + t (σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, so that a uniform grid in t is EDM's
    /// sampling grid (its eq. 5); α = σ(t), β = 1. Native time: σ.
    Edm {
        /// σ at the data end (EDM: 0.002; 0 allowed).
        sigma_min: f64,
        /// σ at the noise end (EDM: 80).
        sigma_max: f64,
        /// The exponent ρ of the schedule (EDM: 7).
        rho: f64,
    },
    /// Song et al. 2021, variance exploding: x = x1 + σ(s) x0, σ(s) = σ_min (σ_max/σ_min)^s, s = 1 − t;
    /// α = σ(1 − t), β = 1. Native time: s.
    Ve {
        /// σ at the data end (Song: 0.01), > 0.
        sigma_min: f64,
        /// σ at the noise end (Song: 50 for CIFAR-10).
        sigma_max: f64,
    },
    /// Song et al. 2021, variance preserving (DDPM's continuous limit): β(s) = β_min + s (β_max − β_min),
    /// B(s) = ∫₀ˢ β, m(s) = e^{−B(s)/2}, x = m(s) x1 + √(1 − m(s)²) x0, s = 1 − t. Native time: s.
    Vp {
        /// β at the data end (Song: 0.1), ≥ 0.
        beta_min: f64,
        /// β at the noise end (Song: 20).
        beta_max: f64,
    },
    /// Lipman et al. 2023, the conditional optimal-transport path: x = (1 − (1 − σ_min) t) x0 + t x1.
    /// σ_min = 0 is rectified flow's path. Native time: t.
    FlowMatching {
        /// The noise left at the data end, in [0, 1).
        sigma_min: f64,
    },
}

fn invalid(name: &'static str, value: f64, reason: &'static str) -> CoreError {
    CoreError::InvalidParameter {
        name,
        value,
        reason,
    }
}

impl Preset {
    /// EDM's defaults: σ_min = 0.002, σ_max = 80, ρ = 7.
    pub const EDM: Preset = Preset::Edm {
        sigma_min: 0.002,
        sigma_max: 80.0,
        rho: 7.0,
    };
    /// Song's VE defaults (CIFAR-10): σ_min = 0.01, σ_max = 50.
    pub const VE: Preset = Preset::Ve {
        sigma_min: 0.01,
        sigma_max: 50.0,
    };
    /// Song's VP defaults: β_min = 0.1, β_max = 20.
    pub const VP: Preset = Preset::Vp {
        beta_min: 0.1,
        beta_max: 20.0,
    };
    /// Flow matching with σ_min = 0.
    pub const FM: Preset = Preset::FlowMatching { sigma_min: 0.0 };

    /// The published defaults of this preset's family ([`Preset::EDM`], [`Preset::VE`], [`Preset::VP`] or
    /// [`Preset::FM`]), whatever its own parameters.
    pub fn defaults(&self) -> Preset {
        match self {
            Preset::Edm { .. } => Preset::EDM,
            Preset::Ve { .. } => Preset::VE,
            Preset::Vp { .. } => Preset::VP,
            Preset::FlowMatching { .. } => Preset::FM,
        }
    }

    /// EDM, checked: 0 ≤ σ_min < σ_max finite, ρ > 0 finite.
    pub fn edm(sigma_min: f64, sigma_max: f64, rho: f64) -> Result<Self> {
        Preset::Edm {
            sigma_min,
            sigma_max,
            rho,
        }
        .check()
    }

    /// VE, checked: 0 < σ_min < σ_max finite.
    pub fn ve(sigma_min: f64, sigma_max: f64) -> Result<Self> {
        Preset::Ve {
            sigma_min,
            sigma_max,
        }
        .check()
    }

    /// VP, checked: 0 ≤ β_min ≤ β_max finite, β_max > 0.
    pub fn vp(beta_min: f64, beta_max: f64) -> Result<Self> {
        Preset::Vp { beta_min, beta_max }.check()
    }

    /// Flow matching, checked: σ_min ∈ [0, 1).
    pub fn flow_matching(sigma_min: f64) -> Result<Self> {
        Preset::FlowMatching { sigma_min }.check()
    }

    /// Validates the parameters (the constructors and deserialisation call it).
    pub fn check(self) -> Result<Self> {
        let finite = |name, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(invalid(name, v, "must be finite"))
            }
        };
        match self {
            Preset::Edm {
                sigma_min,
                sigma_max,
                rho,
            } => {
                finite("sigma_min", sigma_min)?;
                finite("sigma_max", sigma_max)?;
                finite("rho", rho)?;
                if sigma_min < 0.0 {
                    return Err(invalid("sigma_min", sigma_min, "must be >= 0"));
                }
                if sigma_max <= sigma_min {
                    return Err(invalid("sigma_max", sigma_max, "must exceed sigma_min"));
                }
                if rho <= 0.0 {
                    return Err(invalid("rho", rho, "must be > 0"));
                }
            }
            Preset::Ve {
                sigma_min,
                sigma_max,
            } => {
                finite("sigma_min", sigma_min)?;
                finite("sigma_max", sigma_max)?;
                if sigma_min <= 0.0 {
                    return Err(invalid(
                        "sigma_min",
                        sigma_min,
                        "must be > 0 (the VE schedule is geometric)",
                    ));
                }
                if sigma_max <= sigma_min {
                    return Err(invalid("sigma_max", sigma_max, "must exceed sigma_min"));
                }
            }
            Preset::Vp { beta_min, beta_max } => {
                finite("beta_min", beta_min)?;
                finite("beta_max", beta_max)?;
                if beta_min < 0.0 {
                    return Err(invalid("beta_min", beta_min, "must be >= 0"));
                }
                if beta_max < beta_min || beta_max <= 0.0 {
                    return Err(invalid(
                        "beta_max",
                        beta_max,
                        "must be > 0 and at least beta_min",
                    ));
                }
            }
            Preset::FlowMatching { sigma_min } => {
                if !(sigma_min.is_finite() && (0.0..1.0).contains(&sigma_min)) {
                    return Err(invalid("sigma_min", sigma_min, "must lie in [0, 1)"));
                }
            }
        }
        Ok(self)
    }

    /// The preset's own time at our t: EDM's σ(t); Song's s = 1 − t for VE and VP; t for flow matching.
    pub fn native_time(&self, t: f64) -> f64 {
        match self {
            Preset::Edm { .. } => self.eval(t).alpha,
            Preset::Ve { .. } | Preset::Vp { .. } => 1.0 - t,
            Preset::FlowMatching { .. } => t,
        }
    }

    /// α, α̇, β, β̇, αα̇ at t (formulas on each variant; docs/math.md §8).
    pub(crate) fn eval(&self, t: f64) -> PresetCoefficients {
        match *self {
            Preset::Edm {
                sigma_min,
                sigma_max,
                rho,
            } => {
                // σ(t) = u(t)^ρ, u = σ_max^{1/ρ} + t (σ_min^{1/ρ} − σ_max^{1/ρ}); σ̇ = ρ u^{ρ−1} u̇
                let (a, b) = (sigma_max.powf(1.0 / rho), sigma_min.powf(1.0 / rho));
                let u = (a + t * (b - a)).max(0.0);
                let sigma = u.powf(rho);
                let dsigma = rho * u.powf(rho - 1.0) * (b - a);
                PresetCoefficients {
                    alpha: sigma,
                    dalpha: dsigma,
                    beta: 1.0,
                    dbeta: 0.0,
                    alpha_dalpha: sigma * dsigma,
                }
            }
            Preset::Ve {
                sigma_min,
                sigma_max,
            } => {
                // σ(s) = σ_min (σ_max/σ_min)^s, dσ/dt = −σ ln(σ_max/σ_min)
                let l = (sigma_max / sigma_min).ln();
                let sigma = sigma_min * (l * (1.0 - t)).exp();
                PresetCoefficients {
                    alpha: sigma,
                    dalpha: -sigma * l,
                    beta: 1.0,
                    dbeta: 0.0,
                    alpha_dalpha: -sigma * sigma * l,
                }
            }
            Preset::Vp { beta_min, beta_max } => {
                // s = 1 − t, B(s) = β_min s + ½ s² (β_max − β_min), m = e^{−B/2}, σ = √(1 − m²);
                // dm/ds = −½ β(s) m, σ dσ/ds = ½ β(s) m²; d/dt = −d/ds
                let s = 1.0 - t;
                let big_b = beta_min * s + 0.5 * s * s * (beta_max - beta_min);
                let bs = beta_min + s * (beta_max - beta_min);
                let m = (-0.5 * big_b).exp();
                let sigma = (-(-big_b).exp_m1()).max(0.0).sqrt();
                let alpha_dalpha = -0.5 * bs * m * m;
                let dalpha = if sigma > 0.0 {
                    alpha_dalpha / sigma
                } else {
                    f64::NEG_INFINITY
                };
                PresetCoefficients {
                    alpha: sigma,
                    dalpha,
                    beta: m,
                    dbeta: 0.5 * bs * m,
                    alpha_dalpha,
                }
            }
            Preset::FlowMatching { sigma_min } => {
                let alpha = 1.0 - (1.0 - sigma_min) * t;
                let dalpha = -(1.0 - sigma_min);
                PresetCoefficients {
                    alpha,
                    dalpha,
                    beta: t,
                    dbeta: 1.0,
                    alpha_dalpha: alpha * dalpha,
                }
            }
        }
    }

    /// A short caption, e.g. `EDM (sigma 0.002..80, rho 7)`.
    pub fn caption(&self) -> String {
        match self {
            Preset::Edm {
                sigma_min,
                sigma_max,
                rho,
            } => format!("EDM (sigma {sigma_min}..{sigma_max}, rho {rho})"),
            Preset::Ve {
                sigma_min,
                sigma_max,
            } => format!("VE (sigma {sigma_min}..{sigma_max})"),
            Preset::Vp { beta_min, beta_max } => format!("VP (beta {beta_min}..{beta_max})"),
            Preset::FlowMatching { sigma_min } => format!("flow matching (sigma_min {sigma_min})"),
        }
    }
}

/// Karras et al.'s noise levels (EDM eq. 5): σ_i = (σ_max^{1/ρ} + i/(n−1) (σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ
/// for i = 0..n−1, decreasing from σ_max to σ_min (n ≥ 2; EDM appends σ_n = 0).
///
/// ```
/// let s = si_core::karras_sigmas(18, 0.002, 80.0, 7.0).unwrap();
/// assert!((s[0] - 80.0).abs() < 1e-12 && (s[17] - 0.002).abs() < 1e-15);
/// assert!(s.windows(2).all(|w| w[1] < w[0]));
/// ```
pub fn karras_sigmas(n: usize, sigma_min: f64, sigma_max: f64, rho: f64) -> Result<Vec<f64>> {
    Preset::edm(sigma_min, sigma_max, rho)?;
    if n < 2 {
        return Err(CoreError::TooFewValues {
            what: "a Karras grid",
            needed: 2,
            got: n,
        });
    }
    let (a, b) = (sigma_max.powf(1.0 / rho), sigma_min.powf(1.0 / rho));
    Ok((0..n)
        .map(|i| {
            if i == 0 {
                sigma_max
            } else if i + 1 == n {
                sigma_min
            } else {
                (a + i as f64 / (n - 1) as f64 * (b - a)).powf(rho)
            }
        })
        .collect())
}
