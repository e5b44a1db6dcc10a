//! The paper's route to the Schrödinger bridge, optimising over the interpolant (arXiv 2303.08797, §3.4;
//! docs/math.md §9, route (b)), solved exactly for Gaussian ends with independent coordinates.
//!
//! For an interpolant x_t with velocity b = E[ẋ_t | x_t] and score s = ∇ log ρ_t, the max–min problem
//!
//! ```text
//! min over I   max over (b̂, ŝ)   ∫₀¹ E[ 2 b̂·ẋ_t − |b̂|² − ε² (|ŝ|² + 2 ŝ·z/γ) ] dt
//! ```
//!
//! has the inner maximum ∫₀¹ E[|b|² + ε² |s|²] dt (each bracket is the dual of a regression), and the
//! outer minimum over every path of densities from ρ0 to ρ1 is the Schrödinger bridge for the reference
//! √(2ε) W (Chen, Georgiou & Pavon 2016: the bridge minimises ∫ E[|v|² + ε² |∇ log ρ|²] over (ρ_t, v)
//! with ∂ρ + ∇·(ρ v) = 0; the forward drift v + ε∇ log ρ then gives the bridge's SDE). With σ the
//! reference's noise per unit time, ε = σ²/2.
//!
//! Here the ends are N(m0_k, v0_k) and N(m1_k, v1_k) independent over coordinates k, x0 and x1 are
//! independent, and the interpolant ranges over si-core's [`PolySchedule`] family. Every member has
//! Gaussian marginals N(μ_k, V_k), μ = α m0 + β m1, V = α² v0 + β² v1 + γ², with b = μ̇ + (V̇/2V)(x − μ)
//! and s = −(x − μ)/V per coordinate, so the inner maximum is in closed form,
//!
//! ```text
//! A(I) = Σ_k ∫₀¹ [ μ̇_k² + V̇_k²/(4 V_k) + ε²/V_k ] dt,
//! ```
//!
//! and the outer minimum is a smooth problem in the few coefficients (BFGS below). The SDE
//! dX = (b + εs) dt + √(2ε) dW of the optimum couples X0 and X1 with the cross-covariance
//! Cov(X0, X1)_k = √(v0 v1) exp(−ε ∫₀¹ dt/V_k) (the drift is affine with slope (V̇/2 − ε)/V), which
//! [`implied_cross_covariance`] returns for any member: the number to hold against the closed form of
//! [`crate::GaussianBridge`].

use nalgebra::{DMatrix, DVector};
use si_core::PolySchedule;

use crate::bridge::GaussianBridge;
use crate::error::{AnalyticError, Result};

/// Gaussian ends with independent coordinates: N(m0_k, v0_k) at t = 0 and N(m1_k, v1_k) at t = 1.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagonalEnds {
    m0: Vec<f64>,
    v0: Vec<f64>,
    m1: Vec<f64>,
    v1: Vec<f64>,
}

impl DiagonalEnds {
    /// Ends with means `m0`, `m1` and variances `v0`, `v1` (equal lengths ≥ 1, finite, variances > 0).
    pub fn new(m0: Vec<f64>, v0: Vec<f64>, m1: Vec<f64>, v1: Vec<f64>) -> Result<Self> {
        let d = m0.len();
        if d == 0 || v0.len() != d || m1.len() != d || v1.len() != d {
            return Err(AnalyticError::DimensionMismatch(format!(
                "ends of lengths {}, {}, {}, {}",
                m0.len(),
                v0.len(),
                m1.len(),
                v1.len()
            )));
        }
        if m0
            .iter()
            .chain(&v0)
            .chain(&m1)
            .chain(&v1)
            .any(|v| !v.is_finite())
        {
            return Err(AnalyticError::NonFinite("an end's mean or variance"));
        }
        if v0.iter().chain(&v1).any(|&v| v <= 0.0) {
            return Err(AnalyticError::NotPositiveDefinite {
                what: "an end's variance".into(),
            });
        }
        Ok(Self { m0, v0, m1, v1 })
    }

    /// The ends of `bridge`, whose covariances must be diagonal.
    pub fn of_bridge(bridge: &GaussianBridge) -> Result<Self> {
        let diag = |m: &DMatrix<f64>| -> Result<Vec<f64>> {
            let off = m
                .iter()
                .enumerate()
                .any(|(i, v)| i % m.nrows() != i / m.nrows() && *v != 0.0);
            if off {
                return Err(AnalyticError::NotDiagonal {
                    what: "a bridge end's covariance (the exact route over the schedule family)"
                        .into(),
                });
            }
            Ok(m.diagonal().iter().copied().collect())
        };
        let to = |v: &DVector<f64>| v.iter().copied().collect::<Vec<_>>();
        Self::new(
            to(bridge.start().0),
            diag(bridge.start().1)?,
            to(bridge.end().0),
            diag(bridge.end().1)?,
        )
    }

    fn len(&self) -> usize {
        self.m0.len()
    }
}

/// Composite Simpson's rule on [0, 1] with `n` (even) intervals.
fn simpson(n: usize, f: impl Fn(f64) -> f64) -> f64 {
    let h = 1.0 / n as f64;
    let mut s = f(0.0) + f(1.0);
    for i in 1..n {
        s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// Intervals of the quadrature in t (the integrands are smooth on [0, 1]; Simpson's error is far below
/// the optimiser's tolerance).
const QUADRATURE: usize = 2000;

fn check_eps(eps: f64) -> Result<()> {
    if eps.is_finite() && eps >= 0.0 {
        Ok(())
    } else {
        Err(AnalyticError::NonFinite("ε (must be finite and ≥ 0)"))
    }
}

/// The inner maximum of the max–min problem, A(I) = Σ_k ∫₀¹ [μ̇_k² + V̇_k²/(4V_k) + ε²/V_k] dt: the
/// kinetic energy of the interpolant's velocity plus ε² times its Fisher information, integrated in time.
pub fn action(schedule: &PolySchedule, ends: &DiagonalEnds, eps: f64) -> Result<f64> {
    check_eps(eps)?;
    let a = simpson(QUADRATURE, |t| {
        let v = schedule.values(t);
        (0..ends.len())
            .map(|k| {
                let dmu = v.dalpha * ends.m0[k] + v.dbeta * ends.m1[k];
                let var = v.alpha * v.alpha * ends.v0[k] + v.beta * v.beta * ends.v1[k] + v.gamma2;
                let dvar = 2.0 * v.alpha * v.dalpha * ends.v0[k]
                    + 2.0 * v.beta * v.dbeta * ends.v1[k]
                    + v.dgamma2;
                dmu * dmu + dvar * dvar / (4.0 * var) + eps * eps / var
            })
            .sum::<f64>()
    });
    if a.is_finite() {
        Ok(a)
    } else {
        Err(AnalyticError::NonFinite("the action"))
    }
}

/// The marginal variances V_k(t) = α² v0_k + β² v1_k + γ² of the member `schedule`.
pub fn marginal_variance(schedule: &PolySchedule, ends: &DiagonalEnds, t: f64) -> Vec<f64> {
    let v = schedule.values(t);
    (0..ends.len())
        .map(|k| v.alpha * v.alpha * ends.v0[k] + v.beta * v.beta * ends.v1[k] + v.gamma2)
        .collect()
}

/// Cov(X0, X1)_k = √(v0_k v1_k) exp(−ε ∫₀¹ dt/V_k(t)) of the SDE dX = (b + εs) dt + √(2ε) dW that the
/// member `schedule` defines (its drift is affine per coordinate with slope (V̇/2 − ε)/V).
pub fn implied_cross_covariance(
    schedule: &PolySchedule,
    ends: &DiagonalEnds,
    eps: f64,
) -> Result<Vec<f64>> {
    check_eps(eps)?;
    Ok((0..ends.len())
        .map(|k| {
            let inv = simpson(QUADRATURE, |t| {
                1.0 / marginal_variance(schedule, ends, t)[k]
            });
            (ends.v0[k] * ends.v1[k]).sqrt() * (-eps * inv).exp()
        })
        .collect())
}

/// The optimum found by [`optimise`].
#[derive(Clone, Debug)]
pub struct Optimised {
    /// The member at the optimum.
    pub schedule: PolySchedule,
    /// Its action.
    pub action: f64,
    /// The action of the starting member.
    pub start_action: f64,
    /// BFGS iterations taken.
    pub iterations: usize,
    /// The gradient's largest entry at the end.
    pub gradient: f64,
}

/// The gradient of `f` by central differences with step 1e-6.
fn gradient(f: &impl Fn(&[f64]) -> Result<f64>, x: &[f64]) -> Result<DVector<f64>> {
    let h = 1e-6;
    let mut g = DVector::zeros(x.len());
    let mut y = x.to_vec();
    for i in 0..x.len() {
        y[i] = x[i] + h;
        let p = f(&y)?;
        y[i] = x[i] - h;
        let m = f(&y)?;
        y[i] = x[i];
        g[i] = (p - m) / (2.0 * h);
    }
    Ok(g)
}

/// Minimises the action over the family's coefficients from `start` (BFGS with an Armijo backtracking
/// line search and central-difference gradients; the problem is smooth and has a handful of variables, so
/// a hand-written quasi-Newton loop is all it needs). Stops when the gradient's largest entry is below
/// `tol` (finite, > 0), after `max_iter` iterations, or when no step along the search direction lowers the
/// action any more (the action's rounding is reached); [`Optimised::gradient`] says how far it got.
pub fn optimise(
    start: &PolySchedule,
    ends: &DiagonalEnds,
    eps: f64,
    tol: f64,
    max_iter: usize,
) -> Result<Optimised> {
    check_eps(eps)?;
    if !(tol.is_finite() && tol > 0.0) {
        return Err(AnalyticError::InvalidSetting {
            name: "tol",
            value: tol,
            reason: "the gradient tolerance must be finite and > 0",
        });
    }
    let f = |x: &[f64]| -> Result<f64> {
        let s = start.with_flat(x)?;
        action(&s, ends, eps)
    };
    let mut x = DVector::from_vec(start.flat());
    let n = x.len();
    let start_action = f(x.as_slice())?;
    let mut fx = start_action;
    let mut g = gradient(&f, x.as_slice())?;
    let mut h = DMatrix::<f64>::identity(n, n);
    let mut iterations = 0;
    while iterations < max_iter && g.amax() > tol {
        iterations += 1;
        let mut p = -(&h * &g);
        if p.dot(&g) >= 0.0 {
            // not a descent direction: restart from steepest descent
            h = DMatrix::identity(n, n);
            p = -g.clone();
        }
        let mut step = 1.0;
        let slope = p.dot(&g);
        let (x_new, f_new) = loop {
            let y = &x + &p * step;
            // a step that leaves the family's domain (an overflowing exponential) is just too long
            match f(y.as_slice()) {
                Ok(fy) if fy <= fx + 1e-4 * step * slope => break (y, fy),
                _ => {}
            }
            step *= 0.5;
            if step < 1e-14 {
                break (x.clone(), fx);
            }
        };
        if step < 1e-14 {
            break;
        }
        let g_new = gradient(&f, x_new.as_slice())?;
        let s = &x_new - &x;
        let yv = &g_new - &g;
        let sy = s.dot(&yv);
        if sy > 1e-300 {
            let rho = 1.0 / sy;
            let i = DMatrix::<f64>::identity(n, n);
            let a = &i - &s * yv.transpose() * rho;
            let b = &i - &yv * s.transpose() * rho;
            h = a * h * b + &s * s.transpose() * rho;
        }
        x = x_new;
        fx = f_new;
        g = g_new;
    }
    Ok(Optimised {
        schedule: start.with_flat(x.as_slice())?,
        action: fx,
        start_action,
        iterations,
        gradient: g.amax(),
    })
}
