//! Forward models y = F(x): the black-box corruptions that self-consistent interpolants invert
//! (docs/math.md §6, arXiv 2512.10857).
//!
//! A forward model maps clean points to corrupted ones of the same dimension, drawing any noise from the
//! generator it is given. SCSI only ever *simulates* F: it needs no density, gradient or inverse. The built-in
//! models are additive Gaussian noise (the variance-reduction case), a linear map plus Gaussian noise (masking
//! coordinates and blurring a vector are linear maps) and additive noise of any law `rand_distr` can draw.
//! A user writes their own by implementing [`ForwardModel`].

use nalgebra::DMatrix;
use rand::RngCore;
use rand_distr::Distribution;

use crate::{Batch, CoreError, Points, Result};

/// A black-box forward model y = F(x), x and y in R^d.
pub trait ForwardModel: Send + Sync {
    /// The dimension d of x and y.
    fn dim(&self) -> usize;
    /// y = F(x) for every row of `x`, drawing noise from `rng`.
    fn apply(&self, x: &Points, rng: &mut dyn RngCore) -> Result<Points>;
    /// A short description (for logs and figure captions).
    fn describe(&self) -> String;
}

fn check_dim(model_dim: usize, x: &Points) -> Result<()> {
    if x.dim() != model_dim {
        return Err(CoreError::ShapeMismatch {
            expected: format!("points of dimension {model_dim}"),
            got: format!("dimension {}", x.dim()),
        });
    }
    Ok(())
}

fn check_positive_dim(dim: usize) -> Result<()> {
    if dim == 0 {
        return Err(CoreError::InvalidParameter {
            name: "dim",
            value: 0.0,
            reason: "must be >= 1",
        });
    }
    Ok(())
}

fn check_sigma(sigma: f64, zero_ok: bool) -> Result<f64> {
    if sigma.is_finite() && (sigma > 0.0 || (zero_ok && sigma == 0.0)) {
        Ok(sigma)
    } else {
        Err(CoreError::InvalidParameter {
            name: "sigma",
            value: sigma,
            reason: "the noise scale must be finite and > 0 (>= 0 for a linear map)",
        })
    }
}

/// y = x + σ z, z ~ N(0, I): every component's covariance grows by σ² I.
#[derive(Clone, Debug, PartialEq)]
pub struct AdditiveGaussian {
    dim: usize,
    sigma: f64,
}

impl AdditiveGaussian {
    /// Noise of scale `sigma > 0` in dimension `dim ≥ 1`.
    pub fn new(dim: usize, sigma: f64) -> Result<Self> {
        check_positive_dim(dim)?;
        Ok(Self {
            dim,
            sigma: check_sigma(sigma, false)?,
        })
    }
    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
}

impl ForwardModel for AdditiveGaussian {
    fn dim(&self) -> usize {
        self.dim
    }
    fn apply(&self, x: &Points, rng: &mut dyn RngCore) -> Result<Points> {
        check_dim(self.dim, x)?;
        let mut y = x.clone();
        y.add_noise(self.sigma, rng)?;
        Ok(y)
    }
    fn describe(&self) -> String {
        format!("x + {} z", self.sigma)
    }
}

/// y = M x + σ z with a fixed d × d matrix M (σ ≥ 0).
#[derive(Clone, Debug, PartialEq)]
pub struct LinearGaussian {
    matrix: DMatrix<f64>,
    sigma: f64,
    what: String,
}

impl LinearGaussian {
    /// y = M x + σ z for a square, finite M.
    pub fn new(matrix: DMatrix<f64>, sigma: f64) -> Result<Self> {
        if !matrix.is_square() || matrix.nrows() == 0 {
            return Err(CoreError::ShapeMismatch {
                expected: "a non-empty square matrix".into(),
                got: format!("{} x {}", matrix.nrows(), matrix.ncols()),
            });
        }
        if matrix.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite {
                what: "the forward model's matrix",
            });
        }
        let what = format!("M x + {sigma} z");
        Ok(Self {
            matrix,
            sigma: check_sigma(sigma, true)?,
            what,
        })
    }

    /// Masking: y_i = x_i + σ z_i where `keep[i]`, y_i = σ z_i elsewhere (the coordinate is lost).
    pub fn mask(keep: &[bool], sigma: f64) -> Result<Self> {
        let d = keep.len();
        let m = DMatrix::from_fn(d, d, |i, j| if i == j && keep[i] { 1.0 } else { 0.0 });
        let mut f = Self::new(m, sigma)?;
        f.what = format!(
            "mask keeping {} of {d} coordinates, + {sigma} z",
            keep.iter().filter(|&&k| k).count()
        );
        Ok(f)
    }

    /// Blur: the circular convolution of x with `kernel` (centred: `kernel[k]` weighs x_{i + k − ⌊len/2⌋}),
    /// plus σ z.
    pub fn blur(dim: usize, kernel: &[f64], sigma: f64) -> Result<Self> {
        if kernel.is_empty() || kernel.len() > dim {
            return Err(CoreError::ShapeMismatch {
                expected: format!("a kernel of 1..={dim} taps"),
                got: format!("{} taps", kernel.len()),
            });
        }
        let half = kernel.len() / 2;
        let mut m = DMatrix::zeros(dim, dim);
        for i in 0..dim {
            for (k, &w) in kernel.iter().enumerate() {
                let j = (i + dim + k - half) % dim;
                m[(i, j)] += w;
            }
        }
        let mut f = Self::new(m, sigma)?;
        f.what = format!("circular blur {kernel:?}, + {sigma} z");
        Ok(f)
    }

    /// M.
    pub fn matrix(&self) -> &DMatrix<f64> {
        &self.matrix
    }
    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
}

impl ForwardModel for LinearGaussian {
    fn dim(&self) -> usize {
        self.matrix.nrows()
    }
    fn apply(&self, x: &Points, rng: &mut dyn RngCore) -> Result<Points> {
        check_dim(self.dim(), x)?;
        // columns are points: Y = M X
        let mut y = Points::from_matrix(&self.matrix * x.matrix())?;
        if self.sigma > 0.0 {
            y.add_noise(self.sigma, rng)?;
        }
        Ok(y)
    }
    fn describe(&self) -> String {
        self.what.clone()
    }
}

/// y = x + ε with ε's coordinates drawn independently from `law` (e.g. `rand_distr::Uniform`, a Student t).
#[derive(Clone, Debug)]
pub struct AdditiveNoise<D> {
    dim: usize,
    law: D,
    what: String,
}

impl<D: Distribution<f64> + Send + Sync> AdditiveNoise<D> {
    /// Noise from `law` in dimension `dim ≥ 1`; `what` names the law in descriptions.
    pub fn new(dim: usize, law: D, what: impl Into<String>) -> Result<Self> {
        check_positive_dim(dim)?;
        Ok(Self {
            dim,
            law,
            what: what.into(),
        })
    }
}

impl<D: Distribution<f64> + Send + Sync> ForwardModel for AdditiveNoise<D> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn apply(&self, x: &Points, rng: &mut dyn RngCore) -> Result<Points> {
        check_dim(self.dim, x)?;
        let mut y = x.clone();
        for v in y.as_mut_slice() {
            *v += self.law.sample(rng);
        }
        if y.as_slice().iter().any(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite {
                what: "the forward model's output",
            });
        }
        Ok(y)
    }
    fn describe(&self) -> String {
        format!("x + noise ({})", self.what)
    }
}
