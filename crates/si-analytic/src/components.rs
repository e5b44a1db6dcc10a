//! The Gaussian components of ρ(t) for a pair of mixtures (arXiv 2303.08797, appendix on Gaussian
//! mixtures; docs/math.md §4), in flat buffers reused across evaluations.
//!
//! Pair (i, j) with weight p_i q_j contributes N(m_ij, C_ij):
//!
//! ```text
//! m_ij = α μ_i + β ν_j,          C_ij = α² C_i + β² D_j + γ² I
//! ṁ_ij = α̇ μ_i + β̇ ν_j,          Ċ_ij = 2(αα̇ C_i + ββ̇ D_j + γγ̇ I)
//! ```

// Index loops mirror the formulas (row r, column q) in these numerical kernels.
#![allow(clippy::needless_range_loop)]

use si_core::Schedule;

use crate::error::{AnalyticError, Result};
use crate::linalg::{backward_solve, cholesky_in_place, forward_solve};

/// Largest dimension for which weights are formed in the linear domain.
const LINEAR_MAX_DIM: usize = 8;

/// Static data of one pair (i, j): log p_i q_j and the flattened endpoint parameters.
#[derive(Clone, Debug)]
pub(crate) struct Pair {
    pub i: usize,
    pub j: usize,
    pub log_weight: f64,
    /// p_i q_j (the exponential of `log_weight`, formed once).
    pub weight: f64,
}

/// Flattened endpoint mixtures: means (K·d) and covariances (K·d·d row-major, or K·d diagonals).
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub means: Vec<Vec<f64>>,
    pub covs: Vec<Vec<f64>>,
    /// Whether each mean is exactly zero (then α̇ μ = 0 even where α̇ is infinite).
    pub zero_mean: Vec<bool>,
}

/// Every component of ρ(t) at one time, for all pairs.
#[derive(Clone, Debug)]
pub(crate) struct Components {
    pub k: usize,
    pub d: usize,
    pub dense: bool,
    /// m_ij, K·d.
    pub m: Vec<f64>,
    /// ṁ_ij, K·d.
    pub mdot: Vec<f64>,
    /// Dense: lower Cholesky factor of C_ij (K·d·d). Diagonal: the variances (K·d).
    pub l: Vec<f64>,
    /// Ċ_ij, K·d·d (dense) or K·d (diagonal).
    pub cdot: Vec<f64>,
    /// log p_i q_j − ½ log det C_ij − (d/2) log 2π (filled when `linear` is false).
    pub logc: Vec<f64>,
    /// p_i q_j / √det C_ij (filled when `linear` is true).
    pub scale: Vec<f64>,
    /// Whether the weights can be formed in the linear domain (small d, det C in a safe range): then
    /// w_ij ∝ scale_ij · exp(−½(q_ij − min q)), which saves a logarithm per component and point.
    pub linear: bool,
    /// ½ tr(Ċ_ij C_ij⁻¹) (filled only when the divergence is wanted).
    pub half_tr: Vec<f64>,
    /// tr(C_ij⁻¹) (filled only when the divergence is wanted; the score's divergence needs it).
    pub tr_inv: Vec<f64>,
    /// The identity in the layout of `cdot` (d·d dense, d diagonal), to reuse the trace routine.
    eye: Vec<f64>,
}

impl Components {
    pub fn new(k: usize, d: usize, dense: bool) -> Self {
        let mat = if dense { d * d } else { d };
        Self {
            k,
            d,
            dense,
            m: vec![0.0; k * d],
            mdot: vec![0.0; k * d],
            l: vec![0.0; k * mat],
            cdot: vec![0.0; k * mat],
            logc: vec![0.0; k],
            scale: vec![0.0; k],
            linear: false,
            half_tr: vec![0.0; k],
            tr_inv: vec![0.0; k],
            eye: if dense {
                (0..d * d)
                    .map(|e| if e % (d + 1) == 0 { 1.0 } else { 0.0 })
                    .collect()
            } else {
                vec![1.0; d]
            },
        }
    }

    /// Fills every component at the schedule `c`.
    pub fn fill(
        &mut self,
        c: &Schedule,
        pairs: &[Pair],
        rho0: &Endpoint,
        rho1: &Endpoint,
        want_trace: bool,
    ) -> Result<()> {
        let d = self.d;
        let mat = if self.dense { d * d } else { d };
        let log2pi = (2.0 * std::f64::consts::PI).ln();
        let (a2, b2, g2) = (c.alpha * c.alpha, c.beta * c.beta, c.gamma * c.gamma);
        for (k, p) in pairs.iter().enumerate() {
            let (mu, nu) = (&rho0.means[p.i], &rho1.means[p.j]);
            let da = if rho0.zero_mean[p.i] { 0.0 } else { c.dalpha };
            for r in 0..d {
                self.m[k * d + r] = c.alpha * mu[r] + c.beta * nu[r];
                self.mdot[k * d + r] = da * mu[r] + c.dbeta * nu[r];
            }
            let (ci, dj) = (&rho0.covs[p.i], &rho1.covs[p.j]);
            let l = &mut self.l[k * mat..(k + 1) * mat];
            let cd = &mut self.cdot[k * mat..(k + 1) * mat];
            for e in 0..mat {
                l[e] = a2 * ci[e] + b2 * dj[e];
                cd[e] = 2.0 * (c.alpha_dalpha * ci[e] + c.beta * c.dbeta * dj[e]);
            }
            let not_pd = || AnalyticError::NotPositiveDefinite {
                what: format!("C_ij of rho(t) for pair ({}, {}) at t = {}", p.i, p.j, c.t),
            };
            // √det C_ij: the product of the Cholesky diagonal (dense) or of the standard deviations.
            let sqrt_det = if self.dense {
                for r in 0..d {
                    l[r * d + r] += g2;
                    cd[r * d + r] += 2.0 * c.gamma_dgamma;
                }
                if !cholesky_in_place(l, d) {
                    return Err(not_pd());
                }
                (0..d).map(|r| l[r * d + r]).product::<f64>()
            } else {
                let mut det = 1.0;
                for r in 0..d {
                    l[r] += g2;
                    cd[r] += 2.0 * c.gamma_dgamma;
                    if l[r] <= 0.0 || !l[r].is_finite() {
                        return Err(not_pd());
                    }
                    det *= l[r];
                }
                det.sqrt()
            };
            self.scale[k] = p.weight / sqrt_det;
            if want_trace {
                self.half_tr[k] = 0.5 * trace_cdot_cinv(l, cd, d, self.dense);
                self.tr_inv[k] = trace_cdot_cinv(l, &self.eye, d, self.dense);
            }
        }
        self.linear = d <= LINEAR_MAX_DIM && self.scale.iter().all(|s| (1e-250..1e250).contains(s));
        if !self.linear {
            for k in 0..self.k {
                let l = &self.l[k * mat..(k + 1) * mat];
                let logdet = if self.dense {
                    2.0 * (0..d).map(|r| l[r * d + r].ln()).sum::<f64>()
                } else {
                    l.iter().map(|v| v.ln()).sum::<f64>()
                };
                self.logc[k] = pairs[k].log_weight - 0.5 * logdet - 0.5 * d as f64 * log2pi;
            }
        }
        Ok(())
    }
}

/// tr(Ċ C⁻¹) from the Cholesky factor (dense) or the variances (diagonal).
fn trace_cdot_cinv(l: &[f64], cdot: &[f64], d: usize, dense: bool) -> f64 {
    if !dense {
        return (0..d).map(|r| cdot[r] / l[r]).sum();
    }
    // tr(Ċ C⁻¹) = Σ_r (C⁻¹ Ċ)_rr: solve C u = Ċ e_r for each column r.
    let mut col = vec![0.0; d];
    let mut tr = 0.0;
    for r in 0..d {
        for (q, v) in col.iter_mut().enumerate() {
            *v = cdot[q * d + r];
        }
        forward_solve(l, d, &mut col);
        backward_solve(l, d, &mut col);
        tr += col[r];
    }
    tr
}
