//! Samplers of densities and couplings ν of (ρ0, ρ1) (arXiv 2310.03725, §2).

use rand::RngCore;

use crate::batch::{Batch, Points};
use crate::error::{CoreError, Result};

/// Something that draws i.i.d. points from a density.
pub trait Sampler {
    /// Dimension of the points.
    fn dim(&self) -> usize;
    /// Draws n points using `rng`.
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<Points>;
}

/// A sampler from a closure, handy for data sets defined by a generator (e.g. the checkerboard).
pub struct FnSampler<F> {
    dim: usize,
    f: F,
}

impl<F: Fn(usize, &mut dyn RngCore) -> Result<Points>> FnSampler<F> {
    /// Wraps `f(n, rng)`, which must return n points of dimension `dim`.
    pub fn new(dim: usize, f: F) -> Self {
        Self { dim, f }
    }
}

impl<F: Fn(usize, &mut dyn RngCore) -> Result<Points>> Sampler for FnSampler<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<Points> {
        let p = (self.f)(n, rng)?;
        if p.len() != n || p.dim() != self.dim {
            return Err(CoreError::ShapeMismatch {
                expected: format!("{n} points of dimension {}", self.dim),
                got: format!("{} points of dimension {}", p.len(), p.dim()),
            });
        }
        Ok(p)
    }
}

/// N(0, I_d).
#[derive(Clone, Copy, Debug)]
pub struct StandardNormal {
    /// Dimension.
    pub dim: usize,
}

impl Sampler for StandardNormal {
    fn dim(&self) -> usize {
        self.dim
    }
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<Points> {
        Ok(Points::standard_normal(n, self.dim, rng))
    }
}

/// A coupling ν: draws pairs (x0, x1) whose marginals are ρ0 and ρ1.
pub trait Coupling {
    /// Dimension of the points.
    fn dim(&self) -> usize;
    /// Draws n pairs (x0 column i paired with x1 column i).
    fn sample_pairs(&self, n: usize, rng: &mut dyn RngCore) -> Result<(Points, Points)>;
}

/// The independent coupling ν = ρ0 × ρ1.
pub struct Independent<S0, S1> {
    rho0: S0,
    rho1: S1,
}

impl<S0: Sampler, S1: Sampler> Independent<S0, S1> {
    /// Couples two samplers of the same dimension independently.
    pub fn new(rho0: S0, rho1: S1) -> Result<Self> {
        same_dim(&rho0, &rho1)?;
        Ok(Self { rho0, rho1 })
    }
}

/// The two marginals of a coupling must have one dimension.
pub(crate) fn same_dim(rho0: &dyn Sampler, rho1: &dyn Sampler) -> Result<()> {
    if rho0.dim() != rho1.dim() {
        return Err(CoreError::ShapeMismatch {
            expected: format!("rho1 of dimension {}", rho0.dim()),
            got: format!("dimension {}", rho1.dim()),
        });
    }
    Ok(())
}

impl<S0: Sampler, S1: Sampler> Coupling for Independent<S0, S1> {
    fn dim(&self) -> usize {
        self.rho0.dim()
    }
    fn sample_pairs(&self, n: usize, rng: &mut dyn RngCore) -> Result<(Points, Points)> {
        Ok((self.rho0.sample(n, rng)?, self.rho1.sample(n, rng)?))
    }
}

impl StandardNormal {
    /// log N(x; 0, I_d) = −½ d log 2π − ½|x|² for each point.
    pub fn log_density(&self, x: &Points) -> Result<Vec<f64>> {
        if x.dim() != self.dim {
            return Err(CoreError::ShapeMismatch {
                expected: format!("points of dimension {}", self.dim),
                got: format!("dimension {}", x.dim()),
            });
        }
        self.log_density_scaled(x, 1.0)
    }

    /// log N(x; 0, σ² I) = −(d/2) ln(2π) − d ln σ − |x|²/(2σ²), one value per point: the base density of
    /// an interpolant whose t = 0 marginal is N(0, σ² I) ([`Interpolant::base_scale`](crate::Interpolant::base_scale)).
    ///
    /// ```
    /// use si_core::{Points, StandardNormal};
    /// let x = Points::from_row_major(1, 1, &[2.0]).unwrap();
    /// let l = StandardNormal { dim: 1 }.log_density_scaled(&x, 2.0).unwrap()[0];
    /// assert!((l - (-0.5 * (2.0 * std::f64::consts::PI * 4.0).ln() - 0.5)).abs() < 1e-15);
    /// ```
    pub fn log_density_scaled(&self, x: &Points, sigma: f64) -> Result<Vec<f64>> {
        if x.dim() != self.dim {
            return Err(CoreError::ShapeMismatch {
                expected: format!("points of dimension {}", self.dim),
                got: format!("dimension {}", x.dim()),
            });
        }
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(CoreError::InvalidParameter {
                name: "sigma",
                value: sigma,
                reason: "the scale of the base Gaussian must be finite and > 0",
            });
        }
        let d = self.dim as f64;
        let c = -0.5 * d * (2.0 * std::f64::consts::PI).ln() - d * sigma.ln();
        Ok((0..x.len())
            .map(|i| c - 0.5 * x.point(i).norm_squared() / (sigma * sigma))
            .collect())
    }
}

/// k equally weighted Gaussian modes N(r (cos 2πl/k, sin 2πl/k), s² I) on a circle in 2-D (with k = 8 the
/// "8 Gaussians" target of the rectified-flow and OT-CFM benchmarks).
#[derive(Clone, Copy, Debug)]
pub struct Ring {
    modes: usize,
    radius: f64,
    std: f64,
}

impl Ring {
    /// `modes` ≥ 1 modes at distance `radius` from the origin, each with standard deviation `std` ≥ 0.
    pub fn new(modes: usize, radius: f64, std: f64) -> Result<Self> {
        if modes == 0 {
            return Err(CoreError::InvalidParameter {
                name: "modes",
                value: 0.0,
                reason: "a ring needs at least one mode",
            });
        }
        for (name, value) in [("radius", radius), ("std", std)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(CoreError::InvalidParameter {
                    name,
                    value,
                    reason: "must be finite and non-negative",
                });
            }
        }
        Ok(Self { modes, radius, std })
    }
}

impl Sampler for Ring {
    fn dim(&self) -> usize {
        2
    }
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<Points> {
        use rand::Rng;
        let mut p = Points::standard_normal(n, 2, rng);
        for i in 0..n {
            let angle =
                std::f64::consts::TAU * rng.random_range(0..self.modes) as f64 / self.modes as f64;
            let m = p.matrix_mut();
            m[(0, i)] = self.radius * angle.cos() + self.std * m[(0, i)];
            m[(1, i)] = self.radius * angle.sin() + self.std * m[(1, i)];
        }
        Ok(p)
    }
}
