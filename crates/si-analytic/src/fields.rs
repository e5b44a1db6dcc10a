//! Exact fields of the stochastic interpolant between two Gaussian mixtures (docs/math.md §4):
//!
//! ```text
//! ρ(t,x) = Σ_ij p_i q_j N(x; m_ij, C_ij),      w_ij(x) = p_i q_j N(x; m_ij, C_ij) / ρ(t,x)
//! b(t,x) = Σ_ij w_ij [ ṁ_ij + ½ Ċ_ij C_ij⁻¹ (x − m_ij) ]
//! s(t,x) = −Σ_ij w_ij C_ij⁻¹ (x − m_ij),   η = −γ s (−α s one-sided),   v = b + γγ̇ s
//! ∇·b    = Σ_ij w_ij [ ½ tr(Ċ_ij C_ij⁻¹) − u_ij·g_ij ] − s·b,   u_ij = C_ij⁻¹(x − m_ij), g_ij = ṁ_ij + ½ Ċ_ij u_ij
//! ```
//!
//! Weights are formed in the log domain (log-sum-exp) and every inverse is applied through a Cholesky
//! factor, so high dimensions (d = 400) stay finite.

// Index loops mirror the formulas (row r, column q) in these numerical kernels.
#![allow(clippy::needless_range_loop)]

use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::StandardNormal;
use si_core::{check_time, Batch, CoreError, Interpolant, Points, Sidedness};

use crate::components::{Components, Endpoint, Pair};
use crate::error::{AnalyticError, Result};
use crate::linalg::{backward_solve, forward_solve, log_sum_exp};
use crate::mixture::GaussianMixture;
use crate::small::SmallPairs;

/// Exact ρ(t), b, s, η, v and ∇·b for mixtures ρ0, ρ1 under a spatially linear interpolant.
///
/// ```
/// use si_analytic::{GaussianMixture, MixtureFields};
/// use si_core::{Field, Gamma, Interpolant, Points};
/// let rho0 = GaussianMixture::univariate(&[(0.5, -3.0, 0.25), (0.5, 3.0, 0.25)]).unwrap();
/// let rho1 = GaussianMixture::univariate(&[(1.0, 0.0, 1.0)]).unwrap();
/// let f = MixtureFields::new(rho0, rho1, Interpolant::linear(Gamma::brownian()).unwrap()).unwrap();
/// let x = Points::from_row_major(3, 1, &[-1.0, 0.0, 2.0]).unwrap();
/// let v = f.evaluate(0.3, &x, true).unwrap();
/// assert!(v.log_rho.iter().all(|l| l.is_finite()));
/// let b = f.velocity(0.3, &x).unwrap();
/// assert_eq!(b.to_row_major(), v.b.to_row_major());
/// ```
#[derive(Clone, Debug)]
pub struct MixtureFields {
    rho0: GaussianMixture,
    rho1: GaussianMixture,
    interpolant: Interpolant,
    pairs: Vec<Pair>,
    end0: Endpoint,
    end1: Endpoint,
    dense: bool,
}

/// Every exact quantity at a batch of points.
#[derive(Clone, Debug)]
pub struct FieldValues {
    /// log ρ(t, x) per point.
    pub log_rho: Vec<f64>,
    /// b(t, x).
    pub b: Points,
    /// s(t, x).
    pub s: Points,
    /// ∇·b(t, x) per point, when asked for.
    pub div: Option<Vec<f64>>,
    /// ∇·s(t, x) = Δ log ρ(t, x) per point, when the divergence is asked for.
    pub div_s: Option<Vec<f64>>,
}

fn flatten(g: &GaussianMixture, dense: bool) -> Endpoint {
    let d = g.dim();
    Endpoint {
        means: g.means().iter().map(|m| m.as_slice().to_vec()).collect(),
        covs: g
            .covariances()
            .iter()
            .map(|c| {
                if dense {
                    // row-major (symmetric, so the transpose is the same matrix)
                    c.transpose().as_slice().to_vec()
                } else {
                    (0..d).map(|r| c[(r, r)]).collect()
                }
            })
            .collect(),
        zero_mean: g
            .means()
            .iter()
            .map(|m| m.iter().all(|&v| v == 0.0))
            .collect(),
    }
}

/// Scratch buffers of the per-point kernel.
struct Scratch {
    logn: Vec<f64>,
    u: Vec<f64>,
    g: Vec<f64>,
}

impl MixtureFields {
    /// Exact fields for ρ0, ρ1 and the interpolant. One-sided interpolants need ρ0 = N(0, I); the mirror
    /// interpolant uses ρ1 only.
    pub fn new(
        rho0: GaussianMixture,
        rho1: GaussianMixture,
        interpolant: Interpolant,
    ) -> Result<Self> {
        if rho0.dim() != rho1.dim() {
            return Err(AnalyticError::DimensionMismatch(format!(
                "rho0 has dimension {}, rho1 {}",
                rho0.dim(),
                rho1.dim()
            )));
        }
        if interpolant.sidedness() == Sidedness::OneSided && !rho0.is_standard_normal() {
            return Err(AnalyticError::NotStandardNormalBase);
        }
        let mut pairs = Vec::new();
        for (i, &p) in rho0.weights().iter().enumerate() {
            for (j, &q) in rho1.weights().iter().enumerate() {
                let lw = if interpolant.sidedness() == Sidedness::Mirror {
                    if i > 0 {
                        continue;
                    }
                    q.ln()
                } else {
                    p.ln() + q.ln()
                };
                if lw > f64::NEG_INFINITY {
                    pairs.push(Pair {
                        i,
                        j,
                        log_weight: lw,
                        weight: lw.exp(),
                    });
                }
            }
        }
        let dense = !(rho0.is_diagonal() && rho1.is_diagonal());
        Ok(Self {
            end0: flatten(&rho0, dense),
            end1: flatten(&rho1, dense),
            rho0,
            rho1,
            interpolant,
            pairs,
            dense,
        })
    }

    /// Uses dense Cholesky algebra even when every covariance is diagonal (for cross-checks).
    pub fn with_dense_algebra(mut self) -> Self {
        self.dense = true;
        self.end0 = flatten(&self.rho0, true);
        self.end1 = flatten(&self.rho1, true);
        self
    }

    /// The base mixture ρ0.
    pub fn rho0(&self) -> &GaussianMixture {
        &self.rho0
    }
    /// The target mixture ρ1.
    pub fn rho1(&self) -> &GaussianMixture {
        &self.rho1
    }
    /// The interpolant.
    pub fn interpolant(&self) -> &Interpolant {
        &self.interpolant
    }
    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.rho0.dim()
    }
    /// Number of Gaussian components of ρ(t).
    pub fn n_components(&self) -> usize {
        self.pairs.len()
    }

    fn components(&self) -> Components {
        Components::new(self.pairs.len(), self.dim(), self.dense)
    }

    fn scratch(&self) -> Scratch {
        let (k, d) = (self.pairs.len(), self.dim());
        Scratch {
            logn: vec![0.0; k],
            u: vec![0.0; k * d],
            g: vec![0.0; k * d],
        }
    }

    fn check_points(&self, x: &Points) -> Result<()> {
        if x.dim() != self.dim() {
            return Err(AnalyticError::DimensionMismatch(format!(
                "points of dimension {}, fields of dimension {}",
                x.dim(),
                self.dim()
            )));
        }
        if x.as_slice().iter().any(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite { what: "points" }.into());
        }
        Ok(())
    }

    /// Every field at one time `t` for all points.
    pub fn evaluate(&self, t: f64, x: &Points, with_div: bool) -> Result<FieldValues> {
        check_time(t)?;
        self.check_points(x)?;
        let mut comps = self.components();
        let sched = self.interpolant.schedule_unchecked(t);
        comps.fill(&sched, &self.pairs, &self.end0, &self.end1, with_div)?;
        self.run(x, with_div, |_, c| Ok(c), comps)
    }

    /// Every field with one time per point (`ts[i]` for point i).
    pub fn evaluate_per_point(
        &self,
        ts: &[f64],
        x: &Points,
        with_div: bool,
    ) -> Result<FieldValues> {
        self.check_points(x)?;
        if ts.len() != x.len() {
            return Err(AnalyticError::DimensionMismatch(format!(
                "{} times for {} points",
                ts.len(),
                x.len()
            )));
        }
        for &t in ts {
            check_time(t)?;
        }
        if !with_div {
            match self.dim() {
                1 => return self.per_point_small::<1>(ts, x),
                2 => return self.per_point_small::<2>(ts, x),
                3 => return self.per_point_small::<3>(ts, x),
                _ => {}
            }
        }
        let comps = self.components();
        self.run(
            x,
            with_div,
            |i, c| {
                let sched = self.interpolant.schedule_unchecked(ts[i]);
                c.fill(&sched, &self.pairs, &self.end0, &self.end1, with_div)?;
                Ok(c)
            },
            comps,
        )
    }

    /// The fused fixed-dimension path (b, s, log ρ; no divergence), falling back per point to the
    /// general path where the fused kernel declines.
    fn per_point_small<const D: usize>(&self, ts: &[f64], x: &Points) -> Result<FieldValues> {
        let small = SmallPairs::<D>::new(&self.pairs, &self.end0, &self.end1, self.dense);
        let mut sc = small.scratch();
        let n = x.len();
        let mut b = DMatrix::zeros(D, n);
        let mut s = DMatrix::zeros(D, n);
        let mut log_rho = vec![0.0; n];
        let mut general: Option<(Components, Scratch)> = None;
        let xs = x.as_slice();
        let (bs, ss) = (b.as_mut_slice(), s.as_mut_slice());
        for i in 0..n {
            let sched = self.interpolant.schedule_unchecked(ts[i]);
            let r = i * D..(i + 1) * D;
            log_rho[i] = match small.eval(
                &sched,
                &xs[r.clone()],
                &mut sc,
                &mut bs[r.clone()],
                &mut ss[r.clone()],
            ) {
                Some(lr) => lr,
                None => {
                    let (comps, scratch) =
                        general.get_or_insert_with(|| (self.components(), self.scratch()));
                    comps.fill(&sched, &self.pairs, &self.end0, &self.end1, false)?;
                    kernel(
                        comps,
                        &xs[r.clone()],
                        false,
                        scratch,
                        &mut bs[r.clone()],
                        &mut ss[r],
                    )
                    .0
                }
            };
        }
        check_finite(&b, &s)?;
        Ok(FieldValues {
            log_rho,
            b: Points::from_matrix_unchecked(b),
            s: Points::from_matrix_unchecked(s),
            div: None,
            div_s: None,
        })
    }

    fn run(
        &self,
        x: &Points,
        with_div: bool,
        mut refill: impl FnMut(usize, &mut Components) -> Result<&mut Components>,
        mut comps: Components,
    ) -> Result<FieldValues> {
        let (n, d) = (x.len(), self.dim());
        let mut b = DMatrix::zeros(d, n);
        let mut s = DMatrix::zeros(d, n);
        let mut log_rho = vec![0.0; n];
        let mut div = if with_div { vec![0.0; n] } else { Vec::new() };
        let mut div_s = div.clone();
        let mut scratch = self.scratch();
        let xs = x.as_slice();
        let (bs, ss) = (b.as_mut_slice(), s.as_mut_slice());
        for i in 0..n {
            let c = refill(i, &mut comps)?;
            let (lr, dv, dsv) = kernel(
                c,
                &xs[i * d..(i + 1) * d],
                with_div,
                &mut scratch,
                &mut bs[i * d..(i + 1) * d],
                &mut ss[i * d..(i + 1) * d],
            );
            log_rho[i] = lr;
            if with_div {
                div[i] = dv;
                div_s[i] = dsv;
            }
        }
        check_finite(&b, &s)?;
        Ok(FieldValues {
            log_rho,
            b: Points::from_matrix_unchecked(b),
            s: Points::from_matrix_unchecked(s),
            div: with_div.then_some(div),
            div_s: with_div.then_some(div_s),
        })
    }

    /// log ρ(t, x) per point.
    pub fn log_density(&self, t: f64, x: &Points) -> Result<Vec<f64>> {
        Ok(self.evaluate(t, x, false)?.log_rho)
    }

    /// ρ(t) itself as a Gaussian mixture (docs/math.md §4): one component per pair (i, j) of endpoint
    /// components, with weight ∝ p_i q_j, mean α μ_i + β ν_j and covariance α² C_i + β² D_j + γ² I (the
    /// components [`MixtureFields::moments`] sums and [`MixtureFields::sample`] draws from).
    pub fn marginal(&self, t: f64) -> Result<GaussianMixture> {
        check_time(t)?;
        let c = self.interpolant.schedule_unchecked(t);
        let d = self.dim();
        let total: f64 = self.pairs.iter().map(|p| p.weight).sum();
        let (mut w, mut m, mut cov) = (vec![], vec![], vec![]);
        for p in &self.pairs {
            w.push(p.weight / total);
            m.push(&self.rho0.means()[p.i] * c.alpha + &self.rho1.means()[p.j] * c.beta);
            cov.push(
                &self.rho0.covariances()[p.i] * (c.alpha * c.alpha)
                    + &self.rho1.covariances()[p.j] * (c.beta * c.beta)
                    + DMatrix::identity(d, d) * (c.gamma * c.gamma),
            );
        }
        GaussianMixture::new(w, m, cov)
    }

    /// Exact mean and covariance of ρ(t).
    pub fn moments(&self, t: f64) -> Result<(DVector<f64>, DMatrix<f64>)> {
        check_time(t)?;
        let c = self.interpolant.schedule_unchecked(t);
        let d = self.dim();
        let total: f64 = self.pairs.iter().map(|p| p.weight).sum();
        let mut mean = DVector::zeros(d);
        let mut second = DMatrix::zeros(d, d);
        for p in &self.pairs {
            let w = p.weight / total;
            let m = &self.rho0.means()[p.i] * c.alpha + &self.rho1.means()[p.j] * c.beta;
            let cov = &self.rho0.covariances()[p.i] * (c.alpha * c.alpha)
                + &self.rho1.covariances()[p.j] * (c.beta * c.beta)
                + DMatrix::identity(d, d) * (c.gamma * c.gamma);
            second += (cov + &m * m.transpose()) * w;
            mean += m * w;
        }
        let cov = second - &mean * mean.transpose();
        Ok((mean, cov))
    }

    /// n exact samples of ρ(t).
    pub fn sample<R: Rng + ?Sized>(&self, t: f64, n: usize, rng: &mut R) -> Result<Points> {
        check_time(t)?;
        let d = self.dim();
        let mut comps = Components::new(self.pairs.len(), d, true);
        let end0 = flatten(&self.rho0, true);
        let end1 = flatten(&self.rho1, true);
        comps.fill(
            &self.interpolant.schedule_unchecked(t),
            &self.pairs,
            &end0,
            &end1,
            false,
        )?;
        let weights: Vec<f64> = self.pairs.iter().map(|p| p.weight).collect();
        let mut out = DMatrix::zeros(d, n);
        let mut xi = vec![0.0; d];
        for i in 0..n {
            let k = GaussianMixture::draw_component(&weights, rng);
            for v in xi.iter_mut() {
                *v = rng.sample(StandardNormal);
            }
            let l = &comps.l[k * d * d..(k + 1) * d * d];
            for r in 0..d {
                let lx: f64 = (0..=r).map(|q| l[r * d + q] * xi[q]).sum();
                out[(r, i)] = comps.m[k * d + r] + lx;
            }
        }
        Ok(Points::from_matrix_unchecked(out))
    }

    fn noise_scale(&self, t: f64) -> Result<(f64, f64)> {
        let c = self.interpolant.schedule(t)?;
        Ok((c.noise_scale, c.gamma_dgamma))
    }
}

/// b and s must be finite: a coefficient that is singular at the requested time is reported, not returned.
fn check_finite(b: &DMatrix<f64>, s: &DMatrix<f64>) -> Result<()> {
    if b.iter().chain(s.iter()).all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(CoreError::NonFinite {
            what: "the exact fields (a coefficient is singular at this time)",
        }
        .into())
    }
}

/// The per-point kernel: writes b and s for the point x, returns (log ρ, ∇·b, ∇·s) (the divergences only
/// when asked for; zero otherwise).
///
/// With weights w_k, u_k = C_k⁻¹(x − m_k), s = −Σ w_k u_k and ∇w_k = w_k(−u_k − s):
/// ∇·s = Σ_k w_k (|u_k|² − tr C_k⁻¹) − |s|².
#[inline]
fn kernel(
    c: &Components,
    x: &[f64],
    with_div: bool,
    sc: &mut Scratch,
    b: &mut [f64],
    s: &mut [f64],
) -> (f64, f64, f64) {
    let d = c.d;
    let mat = if c.dense { d * d } else { d };
    for k in 0..c.k {
        let m = &c.m[k * d..(k + 1) * d];
        let u = &mut sc.u[k * d..(k + 1) * d];
        let l = &c.l[k * mat..(k + 1) * mat];
        let quad = if c.dense {
            for r in 0..d {
                u[r] = x[r] - m[r];
            }
            forward_solve(l, d, u);
            let q: f64 = u.iter().map(|v| v * v).sum();
            backward_solve(l, d, u);
            q
        } else {
            let mut q = 0.0;
            for r in 0..d {
                let dr = x[r] - m[r];
                u[r] = dr / l[r];
                q += dr * u[r];
            }
            q
        };
        sc.logn[k] = quad;
        let g = &mut sc.g[k * d..(k + 1) * d];
        let mdot = &c.mdot[k * d..(k + 1) * d];
        let cd = &c.cdot[k * mat..(k + 1) * mat];
        if c.dense {
            for r in 0..d {
                let row = &cd[r * d..(r + 1) * d];
                let cu: f64 = row.iter().zip(u.iter()).map(|(a, b)| a * b).sum();
                g[r] = mdot[r] + 0.5 * cu;
            }
        } else {
            for r in 0..d {
                g[r] = mdot[r] + 0.5 * cd[r] * u[r];
            }
        }
    }
    let lse = weights(c, &mut sc.logn);
    b.fill(0.0);
    s.fill(0.0);
    let mut div = 0.0;
    let mut div_s = 0.0;
    for k in 0..c.k {
        let w = sc.logn[k];
        if w == 0.0 {
            continue;
        }
        let u = &sc.u[k * d..(k + 1) * d];
        let g = &sc.g[k * d..(k + 1) * d];
        let mut ug = 0.0;
        let mut uu = 0.0;
        for r in 0..d {
            s[r] -= w * u[r];
            b[r] += w * g[r];
            ug += u[r] * g[r];
            uu += u[r] * u[r];
        }
        if with_div {
            div += w * (c.half_tr[k] - ug);
            div_s += w * (uu - c.tr_inv[k]);
        }
    }
    if with_div {
        div -= s.iter().zip(b.iter()).map(|(a, b)| a * b).sum::<f64>();
        div_s -= s.iter().map(|a| a * a).sum::<f64>();
    }
    (lse, div, div_s)
}

/// Turns the quadratic forms q_k = |L_k⁻¹(x − m_k)|² (in `q`) into normalised weights w_k (in place) and
/// returns log ρ = log Σ_k p_k N_k(x). Linear domain: w̃_k = scale_k exp(−½(q_k − q_min)); log domain:
/// log-sum-exp of logc_k − ½ q_k.
#[inline]
fn weights(c: &Components, q: &mut [f64]) -> f64 {
    let half_log2pi_d = 0.5 * c.d as f64 * (2.0 * std::f64::consts::PI).ln();
    if c.linear {
        let qmin = q.iter().copied().fold(f64::INFINITY, f64::min);
        let mut z = 0.0;
        for (w, s) in q.iter_mut().zip(&c.scale) {
            *w = s * (-0.5 * (*w - qmin)).exp();
            z += *w;
        }
        // scale_k ∈ [1e-250, 1e250] (checked when the components were filled) and the arg-min term is
        // scale_k itself, so 0 < z < ∞: no underflow or overflow is possible here.
        q.iter_mut().for_each(|w| *w /= z);
        return z.ln() - 0.5 * qmin - half_log2pi_d;
    } else {
        for (w, l) in q.iter_mut().zip(&c.logc) {
            *w = l - 0.5 * *w;
        }
    }
    let lse = log_sum_exp(q);
    q.iter_mut().for_each(|w| *w = (*w - lse).exp());
    lse
}

/// `Field<Points>` for an exact oracle with `evaluate(t, x, with_div) -> FieldValues` and
/// `noise_scale(t) -> (σ, γγ̇)`: b and s from one evaluation, η = −σ s (σ = γ two-sided and mirror, α
/// one-sided), v = b + γγ̇ s, ∇·b from the same pass.
macro_rules! exact_field {
    ($t:ty) => {
        impl si_core::Field<si_core::Points> for $t {
            fn dim(&self) -> usize {
                <$t>::dim(self)
            }
            fn velocity(&self, t: f64, x: &si_core::Points) -> si_core::Result<si_core::Points> {
                Ok(self.evaluate(t, x, false)?.b)
            }
            fn score(&self, t: f64, x: &si_core::Points) -> si_core::Result<si_core::Points> {
                Ok(self.evaluate(t, x, false)?.s)
            }
            /// η = −σ s with σ = γ (two-sided, mirror) or α (one-sided).
            fn denoiser(&self, t: f64, x: &si_core::Points) -> si_core::Result<si_core::Points> {
                let (sigma, _) = self.noise_scale(t)?;
                let s = self.evaluate(t, x, false)?.s;
                Ok(si_core::Points::from_matrix_unchecked(
                    s.into_matrix() * -sigma,
                ))
            }
            /// v = b + γγ̇ s.
            fn v(&self, t: f64, x: &si_core::Points) -> si_core::Result<si_core::Points> {
                use si_core::Batch;
                let (_, ggd) = self.noise_scale(t)?;
                let $crate::fields::FieldValues { mut b, s, .. } = self.evaluate(t, x, false)?;
                b.axpy(ggd, &s)?;
                Ok(b)
            }
            fn velocity_and_score(
                &self,
                t: f64,
                x: &si_core::Points,
            ) -> si_core::Result<(si_core::Points, si_core::Points)> {
                let v = self.evaluate(t, x, false)?;
                Ok((v.b, v.s))
            }
            fn divergence(
                &self,
                t: f64,
                x: &si_core::Points,
            ) -> si_core::Result<nalgebra::DVector<f64>> {
                Ok(self.velocity_and_divergence(t, x)?.1)
            }
            fn velocity_and_divergence(
                &self,
                t: f64,
                x: &si_core::Points,
            ) -> si_core::Result<(si_core::Points, nalgebra::DVector<f64>)> {
                let v = self.evaluate(t, x, true)?;
                let div = nalgebra::DVector::from_vec(v.div.unwrap_or_default());
                Ok((v.b, div))
            }
            /// ∇·s = Δ log ρ, exact.
            fn score_divergence(
                &self,
                t: f64,
                x: &si_core::Points,
            ) -> si_core::Result<nalgebra::DVector<f64>> {
                let v = self.evaluate(t, x, true)?;
                Ok(nalgebra::DVector::from_vec(v.div_s.unwrap_or_default()))
            }
            /// b, s and ∇·(b + c s) from one evaluation.
            fn drift_terms(
                &self,
                t: f64,
                x: &si_core::Points,
                c: f64,
            ) -> si_core::Result<si_core::DriftTerms<si_core::Points>> {
                let v = self.evaluate(t, x, true)?;
                let div = v.div.unwrap_or_default();
                let div_s = v.div_s.unwrap_or_default();
                Ok(si_core::DriftTerms {
                    b: v.b,
                    s: v.s,
                    divergence: nalgebra::DVector::from_iterator(
                        div.len(),
                        div.iter().zip(&div_s).map(|(a, b)| a + c * b),
                    ),
                })
            }
        }
    };
}
pub(crate) use exact_field;

exact_field!(MixtureFields);
