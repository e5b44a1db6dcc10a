//! The [`Field`] trait: b, s, η, v (and ∇·b) at a batch of points and one time.

use crate::batch::Batch;
use crate::error::{CoreError, Result};

/// The fields of a stochastic interpolant (arXiv 2303.08797, §2):
///
/// * velocity b(t, x) = E[∂tI + γ̇ z | x_t = x],
/// * score s(t, x) = ∇ log ρ(t, x),
/// * denoiser η(t, x) = E[z | x_t = x] (so s = −η/γ, or −η/α one-sided),
/// * v(t, x) = E[∂tI | x_t = x], with b = v − γγ̇ s.
///
/// Exact fields (`si-analytic`) and learned ones (`si-nn`) implement it on their own state type `B`,
/// so every integrator and metric runs on both. A field provides at least b; the rest default to
/// [`CoreError::Unsupported`].
///
/// ```
/// use si_core::{Batch, CoreError, Field, Points};
/// /// b(t, x) = −x: an Ornstein–Uhlenbeck-like contraction.
/// struct Contract;
/// impl Field<Points> for Contract {
///     fn dim(&self) -> usize { 1 }
///     fn velocity(&self, _t: f64, x: &Points) -> Result<Points, CoreError> {
///         Ok(Points::from_matrix_unchecked(-x.matrix()))
///     }
/// }
/// let x = Points::from_row_major(2, 1, &[1.0, -2.0]).unwrap();
/// let b = Contract.velocity(0.5, &x).unwrap();
/// assert_eq!(b.to_row_major(), vec![-1.0, 2.0]);
/// assert!(Contract.score(0.5, &x).is_err());
/// ```
pub trait Field<B: Batch> {
    /// The dimension d of the points.
    fn dim(&self) -> usize;

    /// The velocity b(t, x).
    fn velocity(&self, t: f64, x: &B) -> Result<B>;

    /// The score s(t, x) = ∇ log ρ(t, x).
    fn score(&self, _t: f64, _x: &B) -> Result<B> {
        Err(CoreError::Unsupported {
            quantity: "the score s",
        })
    }

    /// The denoiser η(t, x) = E[z | x_t = x].
    fn denoiser(&self, _t: f64, _x: &B) -> Result<B> {
        Err(CoreError::Unsupported {
            quantity: "the denoiser eta",
        })
    }

    /// v(t, x) = E[∂tI | x_t = x].
    fn v(&self, _t: f64, _x: &B) -> Result<B> {
        Err(CoreError::Unsupported {
            quantity: "the field v",
        })
    }

    /// b and s together (one pass where the field can share work).
    fn velocity_and_score(&self, t: f64, x: &B) -> Result<(B, B)> {
        Ok((self.velocity(t, x)?, self.score(t, x)?))
    }

    /// The divergence ∇·b(t, x), one value per point.
    fn divergence(&self, _t: f64, _x: &B) -> Result<B::Rows> {
        Err(CoreError::Unsupported {
            quantity: "the divergence of b",
        })
    }

    /// b and ∇·b together.
    fn velocity_and_divergence(&self, t: f64, x: &B) -> Result<(B, B::Rows)> {
        Ok((self.velocity(t, x)?, self.divergence(t, x)?))
    }

    /// The divergence of the score ∇·s(t, x) = Δ log ρ(t, x), one value per point.
    fn score_divergence(&self, _t: f64, _x: &B) -> Result<B::Rows> {
        Err(CoreError::Unsupported {
            quantity: "the divergence of the score s",
        })
    }

    /// b, s and ∇·(b + c s) at (t, x): what the SDE likelihood needs at every step, with c = ε(t) (the
    /// divergence of the forward drift b_F = b + ε s). The default composes the methods above (with c = 0
    /// it asks for no score divergence); a learned field differentiates b + c s in one pass.
    fn drift_terms(&self, t: f64, x: &B, c: f64) -> Result<DriftTerms<B>> {
        let (b, s) = self.velocity_and_score(t, x)?;
        let mut divergence = self.divergence(t, x)?;
        if c != 0.0 {
            B::rows_axpy(&mut divergence, c, &self.score_divergence(t, x)?)?;
        }
        Ok(DriftTerms { b, s, divergence })
    }
}

/// b, s and ∇·(b + c s) at one time ([`Field::drift_terms`]).
#[derive(Clone, Debug)]
pub struct DriftTerms<B: Batch> {
    /// The velocity b.
    pub b: B,
    /// The score s.
    pub s: B,
    /// ∇·(b + c s), one value per point.
    pub divergence: B::Rows,
}

impl<B: Batch, F: Field<B> + ?Sized> Field<B> for &F {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn velocity(&self, t: f64, x: &B) -> Result<B> {
        (**self).velocity(t, x)
    }
    fn score(&self, t: f64, x: &B) -> Result<B> {
        (**self).score(t, x)
    }
    fn denoiser(&self, t: f64, x: &B) -> Result<B> {
        (**self).denoiser(t, x)
    }
    fn v(&self, t: f64, x: &B) -> Result<B> {
        (**self).v(t, x)
    }
    fn velocity_and_score(&self, t: f64, x: &B) -> Result<(B, B)> {
        (**self).velocity_and_score(t, x)
    }
    fn divergence(&self, t: f64, x: &B) -> Result<B::Rows> {
        (**self).divergence(t, x)
    }
    fn velocity_and_divergence(&self, t: f64, x: &B) -> Result<(B, B::Rows)> {
        (**self).velocity_and_divergence(t, x)
    }
    fn score_divergence(&self, t: f64, x: &B) -> Result<B::Rows> {
        (**self).score_divergence(t, x)
    }
    fn drift_terms(&self, t: f64, x: &B, c: f64) -> Result<DriftTerms<B>> {
        (**self).drift_terms(t, x, c)
    }
}
