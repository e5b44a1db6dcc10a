//! A parametrised family of spatially linear interpolants, the search space of the paper's optimisation
//! over the interpolant (arXiv 2303.08797, §3.4; docs/math.md §9, route (b)).
//!
//! ```text
//! α(t) = 1 − t + t(1 − t) Σ_k a_k t^k,   β(t) = t + t(1 − t) Σ_k c_k t^k,
//! γ(t) = σ √(t(1 − t)) exp(Σ_k g_k t^k)
//! ```
//!
//! Every member meets the boundary conditions α(0) = β(1) = 1, α(1) = β(0) = 0, γ(0) = γ(1) = 0 whatever
//! its coefficients, so an optimiser can move them freely. All zero is the Brownian-bridge interpolant
//! (linear, γ = σ√(t(1 − t))). The coefficients enter α and β linearly and log γ linearly, so a learned
//! route evaluates the family on tensors from the basis values [`PolySchedule::basis`] alone.

use std::sync::Arc;

use crate::coefficients::{Coefficients, CustomCoefficients};
use crate::error::{CoreError, Result};
use crate::gamma::{CustomGamma, Gamma};
use crate::interpolant::{Interpolant, Sidedness};

/// One member of the family: σ and the coefficient vectors (a_k), (c_k), (g_k).
#[derive(Clone, Debug, PartialEq)]
pub struct PolySchedule {
    sigma: f64,
    a: Vec<f64>,
    c: Vec<f64>,
    g: Vec<f64>,
}

/// α, α̇, β, β̇, γ² and d(γ²)/dt of a [`PolySchedule`] at one time (γ² and its derivative are smooth on
/// [0, 1] where γ̇ is not).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PolyValues {
    /// α(t).
    pub alpha: f64,
    /// α̇(t).
    pub dalpha: f64,
    /// β(t).
    pub beta: f64,
    /// β̇(t).
    pub dbeta: f64,
    /// γ(t)².
    pub gamma2: f64,
    /// d(γ²)/dt = 2γγ̇.
    pub dgamma2: f64,
}

impl PolySchedule {
    /// The member with coefficients `a`, `c`, `g` (any lengths, zero-length allowed) and σ > 0, all
    /// finite.
    pub fn new(sigma: f64, a: Vec<f64>, c: Vec<f64>, g: Vec<f64>) -> Result<Self> {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(CoreError::InvalidParameter {
                name: "sigma",
                value: sigma,
                reason: "the noise scale must be finite and > 0",
            });
        }
        if a.iter().chain(&c).chain(&g).any(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite {
                what: "a schedule coefficient",
            });
        }
        Ok(Self { sigma, a, c, g })
    }

    /// The Brownian-bridge interpolant (all coefficients zero) with `k` coefficients per function.
    pub fn brownian(sigma: f64, k: usize) -> Result<Self> {
        Self::new(sigma, vec![0.0; k], vec![0.0; k], vec![0.0; k])
    }

    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// All coefficients in one vector, a then c then g (the optimiser's view).
    pub fn flat(&self) -> Vec<f64> {
        self.a
            .iter()
            .chain(&self.c)
            .chain(&self.g)
            .copied()
            .collect()
    }

    /// The member with the same σ and lengths and the coefficients `flat` (a then c then g).
    pub fn with_flat(&self, flat: &[f64]) -> Result<Self> {
        let (na, nc) = (self.a.len(), self.c.len());
        if flat.len() != na + nc + self.g.len() {
            return Err(CoreError::ShapeMismatch {
                expected: format!("{} coefficients", na + nc + self.g.len()),
                got: format!("{}", flat.len()),
            });
        }
        Self::new(
            self.sigma,
            flat[..na].to_vec(),
            flat[na..na + nc].to_vec(),
            flat[na + nc..].to_vec(),
        )
    }

    /// The basis t^k (k = 0..n) and its derivative k t^{k−1}.
    pub fn basis(t: f64, n: usize) -> (Vec<f64>, Vec<f64>) {
        let p: Vec<f64> = (0..n).map(|k| t.powi(k as i32)).collect();
        let dp = (0..n)
            .map(|k| {
                if k == 0 {
                    0.0
                } else {
                    k as f64 * t.powi(k as i32 - 1)
                }
            })
            .collect();
        (p, dp)
    }

    fn poly(coef: &[f64], t: f64) -> (f64, f64) {
        let (p, dp) = Self::basis(t, coef.len());
        (
            coef.iter().zip(&p).map(|(a, b)| a * b).sum(),
            coef.iter().zip(&dp).map(|(a, b)| a * b).sum(),
        )
    }

    /// The coefficients and their time derivatives at `t` ∈ [0, 1]:
    /// α̇ = −1 + (1 − 2t) A + t(1 − t) A′ (A = Σ a_k t^k), likewise β̇ = 1 + (1 − 2t) C + t(1 − t) C′, and
    /// γ² = σ² t(1 − t) e^{2G}, d(γ²)/dt = σ² e^{2G} ((1 − 2t) + 2 t(1 − t) G′).
    pub fn values(&self, t: f64) -> PolyValues {
        let (pa, dpa) = Self::poly(&self.a, t);
        let (pc, dpc) = Self::poly(&self.c, t);
        let (pg, dpg) = Self::poly(&self.g, t);
        let w = t * (1.0 - t);
        let e = (2.0 * pg).exp() * self.sigma * self.sigma;
        PolyValues {
            alpha: 1.0 - t + w * pa,
            dalpha: -1.0 + (1.0 - 2.0 * t) * pa + w * dpa,
            beta: t + w * pc,
            dbeta: 1.0 + (1.0 - 2.0 * t) * pc + w * dpc,
            gamma2: w * e,
            dgamma2: e * ((1.0 - 2.0 * t) + 2.0 * w * dpg),
        }
    }

    /// This member as an [`Interpolant`] (two-sided, custom coefficients and γ, γγ̇ = ½ d(γ²)/dt in
    /// closed form), for the exact fields and samplers that take any interpolant. It does not serialise.
    pub fn interpolant(&self) -> Result<Interpolant> {
        let me = Arc::new(self.clone());
        let (m1, m2, m3, m4) = (me.clone(), me.clone(), me.clone(), me);
        let coef = CustomCoefficients::new("optimised", move |t| {
            let v = m1.values(t);
            [v.alpha, v.dalpha, v.beta, v.dbeta]
        });
        let gamma = CustomGamma::new(
            "optimised",
            move |t| m2.values(t).gamma2.max(0.0).sqrt(),
            move |t| {
                let v = m3.values(t);
                v.dgamma2 / (2.0 * v.gamma2.max(0.0).sqrt())
            },
        )
        .with_gamma_dgamma(move |t| m4.values(t).dgamma2 / 2.0);
        Interpolant::new(
            Sidedness::TwoSided,
            Coefficients::Custom(coef),
            Gamma::Custom(gamma),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_conditions_hold_for_any_coefficients() {
        let s = PolySchedule::new(0.7, vec![0.3, -1.2], vec![2.0], vec![0.5, 0.1, -0.4]).unwrap();
        let (v0, v1) = (s.values(0.0), s.values(1.0));
        assert_eq!((v0.alpha, v0.beta, v0.gamma2), (1.0, 0.0, 0.0));
        assert_eq!((v1.alpha, v1.beta, v1.gamma2), (0.0, 1.0, 0.0));
    }

    #[test]
    fn derivatives_match_central_differences() {
        let s =
            PolySchedule::new(1.3, vec![0.3, -1.2], vec![2.0, 0.4], vec![0.5, 0.1, -0.4]).unwrap();
        let h = 1e-6;
        for &t in &[0.1, 0.37, 0.5, 0.81] {
            let (p, m, v) = (s.values(t + h), s.values(t - h), s.values(t));
            let fd = |a: f64, b: f64| (a - b) / (2.0 * h);
            assert!((fd(p.alpha, m.alpha) - v.dalpha).abs() < 1e-8);
            assert!((fd(p.beta, m.beta) - v.dbeta).abs() < 1e-8);
            assert!((fd(p.gamma2, m.gamma2) - v.dgamma2).abs() < 1e-8);
        }
    }

    #[test]
    fn zero_coefficients_are_the_brownian_bridge() {
        let s = PolySchedule::brownian(0.8, 3).unwrap();
        let it = s.interpolant().unwrap();
        let bb = Interpolant::linear(Gamma::sqrt(0.64).unwrap()).unwrap();
        for &t in &[0.05, 0.3, 0.5, 0.9] {
            let (a, b) = (it.schedule(t).unwrap(), bb.schedule(t).unwrap());
            assert!((a.alpha - b.alpha).abs() < 1e-14);
            assert!((a.beta - b.beta).abs() < 1e-14);
            assert!((a.gamma - b.gamma).abs() < 1e-14);
            assert!((a.dgamma - b.dgamma).abs() < 1e-12);
        }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(PolySchedule::new(0.0, vec![], vec![], vec![]).is_err());
        assert!(PolySchedule::new(1.0, vec![f64::NAN], vec![], vec![]).is_err());
        // lengths 1, 2, 3 (equal lengths would hide a slip between + and * in the split)
        let s = PolySchedule::new(0.7, vec![0.0], vec![0.0; 2], vec![0.0; 3]).unwrap();
        assert!(s.with_flat(&[0.0; 5]).is_err());
        assert!(s.with_flat(&[0.0; 7]).is_err());
        let m = s.with_flat(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_eq!(m.flat(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert!((m.sigma() - 0.7).abs() < 1e-15);
        // a then c then g: 1 moves α only, (2, 3) β only, (4, 5, 6) γ only
        let v = m.values(0.5);
        assert!((v.alpha - (0.5 + 0.25 * 1.0)).abs() < 1e-15);
        assert!((v.beta - (0.5 + 0.25 * (2.0 + 3.0 * 0.5))).abs() < 1e-15);
        let g = 4.0 + 5.0 * 0.5 + 6.0 * 0.25f64;
        let want = 0.49 * 0.25 * (2.0 * g).exp();
        assert!((v.gamma2 - want).abs() < 1e-12 * want);
    }
}
