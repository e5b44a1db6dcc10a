//! Sources of regression draws: what a trainer regresses the fields on (docs/math.md §2).
//!
//! Every training problem of the workspace writes its samples as a Gaussian tube around a moving mean,
//!
//! ```text
//! x_t = m(t) + σ(t) ζ,   ζ ~ N(0, I),
//! ```
//!
//! with the time derivatives ṁ and σ̇ known per row. The regression targets follow (arXiv 2303.08797,
//! eqs. 2.13–2.17): b ← ṁ + σ̇ ζ, η ← ζ, s ← −ζ/σ, and v ← ṁ (or ṁ + σ̇ζ where the Gaussian is the
//! interpolant's own base, one-sided, so that v = b). The built-in interpolants over a coupling are one
//! source ([`InterpolantSource`]: two-sided and mirror m = α x0 + β x1, σ = γ, ζ = z; one-sided m = β x1,
//! σ = α, ζ = x0). A streaming policy's tube (m = ξ(t), σ = σ0 e^{−kt}), self-consistent pairs (x̂, F(x̂)) and
//! reflow pairs (Z0, Φ(Z0)) are others: a trainer that takes any [`TargetSource`] trains them all.
//!
//! A draw lives in the source's batch type `B`, so a source can make its draws where the model lives
//! (a tensor batch on a GPU) without a host round trip per step.

use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngCore};

use crate::batch::{Batch, Points};
use crate::error::{CoreError, Result};
use crate::interpolant::{Interpolant, Sidedness};
use crate::targets::Targets;
use crate::Coupling;

/// n pairs (x0, x1) with optional contexts: what a coupling or a labelled data set gives per draw.
#[derive(Clone, Debug)]
pub struct Pairs {
    /// Base points (d × n). One-sided interpolants use them as the Gaussian x0 ~ N(0, I).
    pub x0: Points,
    /// Target points (d × n).
    pub x1: Points,
    /// Context vectors (k × n), e.g. one-hot class labels of x1.
    pub context: Option<Points>,
}

/// Something that draws pairs (x0, x1), and for conditional problems a context per pair.
pub trait PairSource {
    /// Dimension d of the points.
    fn dim(&self) -> usize;
    /// Size k of the context (0: unconditional).
    fn context_dim(&self) -> usize {
        0
    }
    /// Draws n pairs.
    fn draw_pairs(&self, n: usize, rng: &mut dyn RngCore) -> Result<Pairs>;
}

/// The pairs of a [`Coupling`], without context.
#[derive(Clone, Debug)]
pub struct CouplingPairs<C>(pub C);

impl<C: Coupling> PairSource for CouplingPairs<C> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn draw_pairs(&self, n: usize, rng: &mut dyn RngCore) -> Result<Pairs> {
        let (x0, x1) = self.0.sample_pairs(n, rng)?;
        Ok(Pairs {
            x0,
            x1,
            context: None,
        })
    }
}

impl<P: PairSource + ?Sized> PairSource for &P {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn context_dim(&self) -> usize {
        (**self).context_dim()
    }
    fn draw_pairs(&self, n: usize, rng: &mut dyn RngCore) -> Result<Pairs> {
        (**self).draw_pairs(n, rng)
    }
}

/// One regression draw of n rows, x_t = m + σ ζ, in the batch type `B` (see the module documentation).
#[derive(Clone, Debug)]
pub struct Draw<B: Batch> {
    /// The time of each row.
    pub t: B::Rows,
    /// The tube's mean m(t) (d per row).
    pub m: B,
    /// Its time derivative ṁ(t).
    pub dm: B,
    /// The tube's scale σ(t) per row.
    pub sigma: B::Rows,
    /// Its time derivative σ̇(t) per row (may be infinite only where σ = 0 is never drawn).
    pub dsigma: B::Rows,
    /// The standard Gaussian ζ of each row.
    pub zeta: B,
    /// The context of each row (k per row), for conditional models.
    pub context: Option<B>,
    /// Whether the target of v is ṁ + σ̇ζ (the Gaussian belongs to the interpolant, one-sided) rather than ṁ.
    pub v_is_b: bool,
}

impl Draw<Points> {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.m.len()
    }

    /// Whether the draw is empty.
    pub fn is_empty(&self) -> bool {
        self.m.is_empty()
    }

    /// x_t and every regression target in host memory: x_t = m + σζ, b ← ṁ + σ̇ζ, η ← ζ, s ← −ζ/σ (None if
    /// some σ is 0), v ← ṁ (or b where `v_is_b`).
    pub fn targets(&self) -> Result<Targets> {
        let (d, n) = (self.m.dim(), self.m.len());
        for (name, p) in [("dm", &self.dm), ("zeta", &self.zeta)] {
            if p.dim() != d || p.len() != n {
                return Err(CoreError::ShapeMismatch {
                    expected: format!("{name}: {n} points of dimension {d}"),
                    got: format!("{} points of dimension {}", p.len(), p.dim()),
                });
            }
        }
        for (name, r) in [
            ("t", &self.t),
            ("sigma", &self.sigma),
            ("dsigma", &self.dsigma),
        ] {
            if r.len() != n {
                return Err(CoreError::ShapeMismatch {
                    expected: format!("{name}: {n} values"),
                    got: format!("{} values", r.len()),
                });
            }
        }
        let col = |f: &dyn Fn(usize, usize) -> f64| {
            Points::from_matrix_unchecked(DMatrix::from_fn(d, n, f))
        };
        let (m, dm, z) = (self.m.matrix(), self.dm.matrix(), self.zeta.matrix());
        let xt = col(&|k, i| m[(k, i)] + self.sigma[i] * z[(k, i)]);
        let b = col(&|k, i| dm[(k, i)] + self.dsigma[i] * z[(k, i)]);
        let s = self
            .sigma
            .iter()
            .all(|&s| s > 0.0)
            .then(|| col(&|k, i| -z[(k, i)] / self.sigma[i]));
        let v = if self.v_is_b {
            b.clone()
        } else {
            self.dm.clone()
        };
        for (what, p) in [("x_t", &xt), ("the target of b", &b)] {
            if p.as_slice().iter().any(|x| !x.is_finite()) {
                return Err(CoreError::SingularTarget { what });
            }
        }
        Ok(Targets {
            xt,
            b,
            eta: self.zeta.clone(),
            s,
            v,
        })
    }
}

/// A source of regression draws in the batch type `B`: what a trainer takes.
pub trait TargetSource<B: Batch> {
    /// Dimension d of x_t.
    fn dim(&self) -> usize;
    /// Size k of the context (0: unconditional).
    fn context_dim(&self) -> usize {
        0
    }
    /// The interpolant the draws come from, where there is one: stored with a trained model so that its
    /// fields can be converted (s = −η/σ, b = v − γγ̇ s) and sampled.
    fn interpolant(&self) -> Option<&Interpolant> {
        None
    }
    /// Draws n rows; all randomness comes from `rng` (a source on a device may derive a key from it).
    fn draw(&self, n: usize, rng: &mut dyn RngCore) -> Result<Draw<B>>;
}

impl<B: Batch, S: TargetSource<B> + ?Sized> TargetSource<B> for &S {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn context_dim(&self) -> usize {
        (**self).context_dim()
    }
    fn interpolant(&self) -> Option<&Interpolant> {
        (**self).interpolant()
    }
    fn draw(&self, n: usize, rng: &mut dyn RngCore) -> Result<Draw<B>> {
        (**self).draw(n, rng)
    }
}

/// The times of a draw: t ~ U[t_min, 1 − t_min], so that σ⁻¹ and σ̇ are finite at every drawn time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeRange {
    t_min: f64,
}

impl TimeRange {
    /// U[t_min, 1 − t_min], t_min ∈ [0, ½).
    pub fn new(t_min: f64) -> Result<Self> {
        if t_min.is_finite() && (0.0..0.5).contains(&t_min) {
            Ok(Self { t_min })
        } else {
            Err(CoreError::InvalidParameter {
                name: "t_min",
                value: t_min,
                reason: "times are drawn from U[t_min, 1 - t_min]: t_min must be in [0, 0.5)",
            })
        }
    }
    /// t_min.
    pub fn t_min(&self) -> f64 {
        self.t_min
    }
    /// One draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u: f64 = rng.random();
        self.t_min + (1.0 - 2.0 * self.t_min) * u
    }
}

/// The built-in interpolants over a [`PairSource`] as a [`TargetSource`] in host memory: pairs, then
/// t ~ U[t_min, 1 − t_min], then z ~ N(0, I) for two-sided and mirror interpolants.
#[derive(Clone, Debug)]
pub struct InterpolantSource<P> {
    interpolant: Interpolant,
    pairs: P,
    times: TimeRange,
}

impl<P: PairSource> InterpolantSource<P> {
    /// Regression draws of `interpolant` over `pairs`.
    pub fn new(interpolant: Interpolant, pairs: P, times: TimeRange) -> Self {
        Self {
            interpolant,
            pairs,
            times,
        }
    }
    /// The pair source.
    pub fn pairs(&self) -> &P {
        &self.pairs
    }
    /// The time law.
    pub fn times(&self) -> TimeRange {
        self.times
    }
}

impl<P: PairSource> TargetSource<Points> for InterpolantSource<P> {
    fn dim(&self) -> usize {
        self.pairs.dim()
    }
    fn context_dim(&self) -> usize {
        self.pairs.context_dim()
    }
    fn interpolant(&self) -> Option<&Interpolant> {
        Some(&self.interpolant)
    }
    fn draw(&self, n: usize, rng: &mut dyn RngCore) -> Result<Draw<Points>> {
        let d = self.pairs.dim();
        let pairs = self.pairs.draw_pairs(n, rng)?;
        for (name, p) in [("x0", &pairs.x0), ("x1", &pairs.x1)] {
            if p.len() != n || p.dim() != d {
                return Err(CoreError::ShapeMismatch {
                    expected: format!("{name}: {n} points of dimension {d}"),
                    got: format!("{} points of dimension {}", p.len(), p.dim()),
                });
            }
        }
        let k = self.pairs.context_dim();
        if let Some(c) = &pairs.context {
            if c.len() != n || c.dim() != k {
                return Err(CoreError::ShapeMismatch {
                    expected: format!("context: {n} vectors of size {k}"),
                    got: format!("{} vectors of size {}", c.len(), c.dim()),
                });
            }
        }
        let t: Vec<f64> = (0..n).map(|_| self.times.sample(rng)).collect();
        let sc: Vec<_> = t
            .iter()
            .map(|&ti| self.interpolant.schedule_unchecked(ti))
            .collect();
        let one_sided = self.interpolant.sidedness() == Sidedness::OneSided;
        let zeta = if one_sided {
            pairs.x0.clone()
        } else {
            Points::standard_normal(n, d, rng)
        };
        let (x0, x1) = (pairs.x0.matrix(), pairs.x1.matrix());
        let (m, dm) = if one_sided {
            (
                DMatrix::from_fn(d, n, |r, i| sc[i].beta * x1[(r, i)]),
                DMatrix::from_fn(d, n, |r, i| sc[i].dbeta * x1[(r, i)]),
            )
        } else {
            (
                DMatrix::from_fn(d, n, |r, i| {
                    sc[i].alpha * x0[(r, i)] + sc[i].beta * x1[(r, i)]
                }),
                DMatrix::from_fn(d, n, |r, i| {
                    sc[i].dalpha * x0[(r, i)] + sc[i].dbeta * x1[(r, i)]
                }),
            )
        };
        Ok(Draw {
            t: DVector::from_vec(t),
            m: Points::from_matrix_unchecked(m),
            dm: Points::from_matrix_unchecked(dm),
            sigma: DVector::from_iterator(n, sc.iter().map(|c| c.noise_scale)),
            dsigma: DVector::from_iterator(n, sc.iter().map(|c| c.dnoise_scale)),
            zeta,
            context: pairs.context,
            v_is_b: one_sided,
        })
    }
}
