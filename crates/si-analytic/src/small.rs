//! A fused, allocation-free kernel for small fixed dimensions (d = 1, 2, 3) and one time per point.
//!
//! The same formulas as [`crate::components`] and the general kernel (docs/math.md §4), with the d × d algebra
//! on stack arrays so the compiler unrolls it: per point and pair (i, j) it forms C_ij(t), its Cholesky
//! factor, u = C⁻¹(x − m), and b, s in one pass. Weights use the linear domain
//! w̃ = p_i q_j / √det C · exp(−½(q − q_min)), which is exact and safe while √det C stays in
//! [1e-250, 1e250]; outside that range the caller falls back to the general log-domain path.

// Index loops mirror the formulas (row r, column q) in these numerical kernels.
#![allow(clippy::needless_range_loop)]

use si_core::Schedule;

use crate::components::{Endpoint, Pair};

/// One pair's endpoint data as fixed-size arrays.
#[derive(Clone, Debug)]
struct PairData<const D: usize> {
    weight: f64,
    mu: [f64; D],
    nu: [f64; D],
    /// Row-major covariances of ρ0's and ρ1's components of the pair.
    ci: [[f64; D]; D],
    dj: [[f64; D]; D],
    mu_zero: bool,
}

/// Every pair, as fixed-size arrays.
#[derive(Clone, Debug)]
pub(crate) struct SmallPairs<const D: usize> {
    pairs: Vec<PairData<D>>,
}

/// Per pair: the weight, the quadratic form, u = C⁻¹(x − m) and g = ṁ + ½ Ċ u.
#[derive(Clone, Copy)]
struct Slot<const D: usize> {
    w: f64,
    q: f64,
    u: [f64; D],
    g: [f64; D],
}

/// Scratch space for one point.
pub(crate) struct SmallScratch<const D: usize> {
    slots: Vec<Slot<D>>,
}

impl<const D: usize> SmallPairs<D> {
    /// From the flattened endpoints (dense row-major or diagonal covariances).
    pub fn new(pairs: &[Pair], e0: &Endpoint, e1: &Endpoint, dense: bool) -> Self {
        let arr = |v: &[f64]| -> [f64; D] { std::array::from_fn(|r| v[r]) };
        let mat = |v: &[f64]| -> [[f64; D]; D] {
            std::array::from_fn(|r| {
                std::array::from_fn(|c| {
                    if dense {
                        v[r * D + c]
                    } else if r == c {
                        v[r]
                    } else {
                        0.0
                    }
                })
            })
        };
        Self {
            pairs: pairs
                .iter()
                .map(|p| PairData {
                    weight: p.weight,
                    mu: arr(&e0.means[p.i]),
                    nu: arr(&e1.means[p.j]),
                    ci: mat(&e0.covs[p.i]),
                    dj: mat(&e1.covs[p.j]),
                    mu_zero: e0.zero_mean[p.i],
                })
                .collect(),
        }
    }

    pub fn scratch(&self) -> SmallScratch<D> {
        let empty = Slot {
            w: 0.0,
            q: 0.0,
            u: [0.0; D],
            g: [0.0; D],
        };
        SmallScratch {
            slots: vec![empty; self.pairs.len()],
        }
    }

    /// b and s at x for the schedule `c`; returns log ρ, or `None` when C_ij is not positive definite or
    /// √det C_ij leaves the safe range (the caller then uses the general path).
    #[inline]
    pub fn eval(
        &self,
        c: &Schedule,
        x: &[f64],
        sc: &mut SmallScratch<D>,
        b: &mut [f64],
        s: &mut [f64],
    ) -> Option<f64> {
        let (a2, b2, g2) = (c.alpha * c.alpha, c.beta * c.beta, c.gamma * c.gamma);
        let (aa, bb, gg) = (c.alpha_dalpha, c.beta * c.dbeta, c.gamma_dgamma);
        let mut qmin = f64::INFINITY;
        for (p, slot) in self.pairs.iter().zip(sc.slots.iter_mut()) {
            let (mu, nu, ci, dj) = (&p.mu, &p.nu, &p.ci, &p.dj);
            let da = if p.mu_zero { 0.0 } else { c.dalpha };
            // C = α² C_i + β² D_j + γ² I (lower triangle), Cholesky in place
            let mut l = [[0.0; D]; D];
            for r in 0..D {
                for q in 0..=r {
                    l[r][q] = a2 * ci[r][q] + b2 * dj[r][q];
                }
                l[r][r] += g2;
            }
            let mut sqrt_det = 1.0;
            for j in 0..D {
                let mut v = l[j][j];
                for q in 0..j {
                    v -= l[j][q] * l[j][q];
                }
                if v <= 0.0 || !v.is_finite() {
                    return None;
                }
                let ljj = v.sqrt();
                l[j][j] = ljj;
                sqrt_det *= ljj;
                for i in j + 1..D {
                    let mut v = l[i][j];
                    for q in 0..j {
                        v -= l[i][q] * l[j][q];
                    }
                    l[i][j] = v / ljj;
                }
            }
            // y = L⁻¹(x − m), q = |y|², u = L⁻ᵀ y
            let mut y = [0.0; D];
            for r in 0..D {
                let mut v = x[r] - (c.alpha * mu[r] + c.beta * nu[r]);
                for q in 0..r {
                    v -= l[r][q] * y[q];
                }
                y[r] = v / l[r][r];
            }
            let quad: f64 = y.iter().map(|v| v * v).sum();
            let mut u = y;
            for r in (0..D).rev() {
                let mut v = u[r];
                for q in r + 1..D {
                    v -= l[q][r] * u[q];
                }
                u[r] = v / l[r][r];
            }
            // g = ṁ + ½ Ċ u,  Ċ = 2(αα̇ C_i + ββ̇ D_j + γγ̇ I)
            let mut g = [0.0; D];
            for r in 0..D {
                let mut cu = gg * u[r];
                for q in 0..D {
                    cu += (aa * ci[r][q] + bb * dj[r][q]) * u[q];
                }
                g[r] = da * mu[r] + c.dbeta * nu[r] + cu;
            }
            let scale = p.weight / sqrt_det;
            if !(1e-250..1e250).contains(&scale) {
                return None;
            }
            *slot = Slot {
                w: scale,
                q: quad,
                u,
                g,
            };
            qmin = qmin.min(quad);
        }
        let mut z = 0.0;
        for slot in sc.slots.iter_mut() {
            slot.w *= (-0.5 * (slot.q - qmin)).exp();
            z += slot.w;
        }
        let inv = 1.0 / z;
        let (mut bo, mut so) = ([0.0; D], [0.0; D]);
        for slot in &sc.slots {
            let w = slot.w * inv;
            for r in 0..D {
                so[r] -= w * slot.u[r];
                bo[r] += w * slot.g[r];
            }
        }
        b[..D].copy_from_slice(&bo);
        s[..D].copy_from_slice(&so);
        Some(z.ln() - 0.5 * qmin - 0.5 * D as f64 * (2.0 * std::f64::consts::PI).ln())
    }
}
