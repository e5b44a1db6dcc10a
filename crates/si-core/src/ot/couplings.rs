//! Couplings ν(x0, x1) built from independent batches (docs/math.md §5): exact minibatch OT, its entropic
//! (Schrödinger-bridge) relaxation, and data-dependent couplings x0 = m(x1) + σζ.

use rand::RngCore;

use super::assignment::{assignment, squared_distances};
use super::sinkhorn::{sinkhorn_uniform, SinkhornConfig, SinkhornParams};
use crate::batch::{Batch, Points};
use crate::coupling::{same_dim, Coupling, Sampler};
use crate::error::{CoreError, Result};

/// Exact minibatch OT (Pooladian et al. 2023, arXiv 2302.00482; Tong et al. 2023): n independent draws of
/// each marginal, re-paired by the optimal assignment for |x0_i − x1_j|². Every drawn point is used exactly
/// once, so the marginals are exactly ρ0 and ρ1 and no pair repeats.
pub struct MinibatchOt<S0, S1> {
    rho0: S0,
    rho1: S1,
}

impl<S0: Sampler, S1: Sampler> MinibatchOt<S0, S1> {
    /// Couples two samplers of one dimension.
    pub fn new(rho0: S0, rho1: S1) -> Result<Self> {
        same_dim(&rho0, &rho1)?;
        Ok(Self { rho0, rho1 })
    }
}

/// Re-pairs two batches of the same size by the optimal assignment: returns (x0, x1 permuted).
pub fn pair_optimally(x0: Points, x1: &Points) -> Result<(Points, Points)> {
    if x0.len() != x1.len() {
        return Err(CoreError::ShapeMismatch {
            expected: format!("{} target points", x0.len()),
            got: format!("{}", x1.len()),
        });
    }
    if x0.is_empty() {
        return Ok((x0, x1.clone()));
    }
    let c = squared_distances(&x0, x1)?;
    let a = assignment(&c)?;
    let x1 = x1.select(a.col_of_row())?;
    Ok((x0, x1))
}

impl<S0: Sampler, S1: Sampler> Coupling for MinibatchOt<S0, S1> {
    fn dim(&self) -> usize {
        self.rho0.dim()
    }
    fn sample_pairs(&self, n: usize, rng: &mut dyn RngCore) -> Result<(Points, Points)> {
        let x0 = self.rho0.sample(n, rng)?;
        let x1 = self.rho1.sample(n, rng)?;
        pair_optimally(x0, &x1)
    }
}

/// The entropic minibatch coupling (the Schrödinger bridge with noise σ between the batches): the Sinkhorn
/// plan for the cost |x0_i − x1_j|² at ε = 2σ², each x0_i kept once and paired with x1_j drawn from the
/// plan's conditional P_ij / P_i·. As σ → 0 it tends to [`MinibatchOt`], as σ → ∞ to the independent
/// coupling.
pub struct EntropicOt<S0, S1> {
    rho0: S0,
    rho1: S1,
    params: SinkhornParams,
}

impl<S0: Sampler, S1: Sampler> EntropicOt<S0, S1> {
    /// The coupling with bridge noise σ > 0, Sinkhorn solved to a row-marginal error of `tol` (at most
    /// `max_iter` iterations; a batch that does not reach it is still used, see [`sinkhorn_uniform`]).
    pub fn new(rho0: S0, rho1: S1, sigma: f64, tol: f64, max_iter: usize) -> Result<Self> {
        same_dim(&rho0, &rho1)?;
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(CoreError::InvalidParameter {
                name: "sigma",
                value: sigma,
                reason: "the bridge noise must be finite and positive",
            });
        }
        let params = SinkhornConfig {
            tol,
            max_iter,
            ..SinkhornConfig::new(2.0 * sigma * sigma)
        }
        .check()?;
        Ok(Self { rho0, rho1, params })
    }
}

impl<S0: Sampler, S1: Sampler> Coupling for EntropicOt<S0, S1> {
    fn dim(&self) -> usize {
        self.rho0.dim()
    }
    fn sample_pairs(&self, n: usize, rng: &mut dyn RngCore) -> Result<(Points, Points)> {
        let x0 = self.rho0.sample(n, rng)?;
        let x1 = self.rho1.sample(n, rng)?;
        if n == 0 {
            return Ok((x0, x1));
        }
        let plan = sinkhorn_uniform(&squared_distances(&x0, &x1)?, &self.params)?;
        let cols = plan.sample_conditional(rng);
        Ok((x0, x1.select(&cols)?))
    }
}

/// A data-dependent coupling (arXiv 2310.03725): x1 ~ ρ1 and x0 = m(x1) + σζ, ζ ~ N(0, I), for a map m the
/// caller gives (a corruption, a mask, a coarse version of x1).
pub struct DataDependent<S1, M> {
    rho1: S1,
    map: M,
    sigma: f64,
}

impl<S1: Sampler, M: Fn(&Points) -> Result<Points>> DataDependent<S1, M> {
    /// x0 = map(x1) + σζ with σ ≥ 0; `map` must keep the shape of its input.
    pub fn new(rho1: S1, map: M, sigma: f64) -> Result<Self> {
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(CoreError::InvalidParameter {
                name: "sigma",
                value: sigma,
                reason: "must be finite and non-negative",
            });
        }
        Ok(Self { rho1, map, sigma })
    }
}

impl<S1: Sampler, M: Fn(&Points) -> Result<Points>> Coupling for DataDependent<S1, M> {
    fn dim(&self) -> usize {
        self.rho1.dim()
    }
    fn sample_pairs(&self, n: usize, rng: &mut dyn RngCore) -> Result<(Points, Points)> {
        let x1 = self.rho1.sample(n, rng)?;
        let mut x0 = (self.map)(&x1)?;
        if x0.len() != n || x0.dim() != x1.dim() {
            return Err(CoreError::ShapeMismatch {
                expected: format!("m(x1): {n} points of dimension {}", x1.dim()),
                got: format!("{} points of dimension {}", x0.len(), x0.dim()),
            });
        }
        x0.add_noise(self.sigma, rng)?;
        Ok((x0, x1))
    }
}
