//! Conditioned fields: a family of [`Field`]s indexed by a context c ∈ R^k (an observation, a one-hot
//! label, ...), and classifier-free guidance between two members of such a family.

use crate::batch::Batch;
use crate::error::{CoreError, Result};
use crate::field::Field;

/// A family of fields indexed by a context c ∈ R^k: b(t, x | c), s(t, x | c), η(t, x | c), v(t, x | c).
///
/// Conditioning changes the target ρ1 into ρ1( · | c) (or the coupling into ρ(x0, x1 | c)), and every
/// field becomes the corresponding conditional expectation (arXiv 2303.08797, §2, with c added to the
/// conditioning):
///
/// * b(t, x | c) = E[∂tI + γ̇ z | x_t = x, c],
/// * s(t, x | c) = ∇ log ρ(t, x | c),
/// * η(t, x | c) = E[z | x_t = x, c],
/// * v(t, x | c) = E[∂tI | x_t = x, c], with b = v − γγ̇ s for every c.
///
/// [`given`](ConditionalField::given) fixes the context and returns an ordinary [`Field`], so every
/// integrator and metric runs on a conditioned field unchanged. Exact oracles (`si-analytic`) and learned
/// models (`si-nn`, on its tensor batch) implement the trait on their own state type `B`; the context is
/// a batch of the same type, of dimension k = [`context_dim`](ConditionalField::context_dim), holding
/// either
///
/// * one point, shared by every point of the state ([`ContextForm::Shared`]), or
/// * n points, one per point of the state ([`ContextForm::PerPoint`]); the field then checks, when it is
///   evaluated, that the state has exactly n points.
///
/// Implementations validate the context with [`check_context`] (a wrong k is a typed
/// [`CoreError::ShapeMismatch`], never a panic); those that support only a shared context return the
/// error of [`ContextForm::require_shared`] for the per-point form. Checking the values themselves
/// (finite, non-negative, ...) is up to the implementation.
///
/// Typical contexts: an observation vector (a robot policy), a one-hot class label (class-conditional
/// generation), and for classifier-free guidance two contexts, a label and a "null" context, whose fields
/// [`Guided`] combines.
///
/// A hand-written example on [`Points`](crate::Points): b(t, x | c) = c − x pulls every point towards its
/// context.
///
/// ```
/// use nalgebra::DMatrix;
/// use si_core::{check_context, Batch, ConditionalField, ContextForm, CoreError, Field, Points};
///
/// /// b(t, x | c) = c − x in R^d (so k = d).
/// struct Pull { d: usize }
///
/// /// The field for one context.
/// struct Toward { c: Points, form: ContextForm }
///
/// impl Field<Points> for Toward {
///     fn dim(&self) -> usize { self.c.dim() }
///     fn velocity(&self, _t: f64, x: &Points) -> Result<Points, CoreError> {
///         self.form.check_points(x.len())?;
///         let (c, xm) = (self.c.matrix(), x.matrix());
///         let b = DMatrix::from_fn(x.dim(), x.len(), |r, i| c[(r, self.form.index(i))] - xm[(r, i)]);
///         Ok(Points::from_matrix_unchecked(b))
///     }
/// }
///
/// impl ConditionalField<Points> for Pull {
///     type Given<'a> = Toward;
///     fn dim(&self) -> usize { self.d }
///     fn context_dim(&self) -> usize { self.d }
///     fn given<'a>(&'a self, context: &Points) -> Result<Toward, CoreError> {
///         let form = check_context(context, self.context_dim())?;
///         Ok(Toward { c: context.clone(), form })
///     }
/// }
///
/// let x = Points::from_row_major(2, 1, &[1.0, -2.0]).unwrap();
/// // one context shared by both points
/// let shared = Points::from_row_major(1, 1, &[3.0]).unwrap();
/// let b = Pull { d: 1 }.given(&shared).unwrap().velocity(0.5, &x).unwrap();
/// assert_eq!(b.to_row_major(), vec![2.0, 5.0]);
/// // one context per point
/// let each = Points::from_row_major(2, 1, &[0.0, 10.0]).unwrap();
/// let b = Pull { d: 1 }.given(&each).unwrap().velocity(0.5, &x).unwrap();
/// assert_eq!(b.to_row_major(), vec![-1.0, 12.0]);
/// // a context of the wrong dimension, and a per-point context for the wrong number of points
/// let wrong = Points::from_row_major(1, 2, &[0.0, 1.0]).unwrap();
/// assert!(matches!(Pull { d: 1 }.given(&wrong), Err(CoreError::ShapeMismatch { .. })));
/// let three = Points::from_row_major(3, 1, &[0.0, 1.0, 2.0]).unwrap();
/// assert!(Pull { d: 1 }.given(&three).unwrap().velocity(0.5, &x).is_err());
/// ```
pub trait ConditionalField<B: Batch> {
    /// The field for one context.
    type Given<'a>: Field<B>
    where
        Self: 'a;

    /// The dimension d of the points.
    fn dim(&self) -> usize;

    /// The dimension k of the context.
    fn context_dim(&self) -> usize;

    /// The field conditioned on `context`: a batch of k-dimensional points, either one point (shared by
    /// every point of the state) or one per point of the state (n points). Implementations that support
    /// only the shared form return the typed error of [`ContextForm::require_shared`] for the other.
    fn given<'a>(&'a self, context: &B) -> Result<Self::Given<'a>>;
}

impl<B: Batch, T: ConditionalField<B> + ?Sized> ConditionalField<B> for &T {
    type Given<'a>
        = T::Given<'a>
    where
        Self: 'a;

    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn context_dim(&self) -> usize {
        (**self).context_dim()
    }
    fn given<'a>(&'a self, context: &B) -> Result<Self::Given<'a>> {
        (**self).given(context)
    }
}

/// How a context batch maps onto the points of the state (see [`check_context`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextForm {
    /// One context point, shared by every point of the state.
    Shared,
    /// One context point per point of the state; the state must have exactly this many points.
    PerPoint(usize),
}

impl ContextForm {
    /// Checks that a state of `n` points fits this context: any `n` for a shared context, exactly the
    /// number of context points otherwise ([`CoreError::ShapeMismatch`]).
    pub fn check_points(self, n: usize) -> Result<()> {
        match self {
            ContextForm::Shared => Ok(()),
            ContextForm::PerPoint(m) if m == n => Ok(()),
            ContextForm::PerPoint(m) => Err(CoreError::ShapeMismatch {
                expected: format!("{m} points (one per context point)"),
                got: format!("{n} points"),
            }),
        }
    }

    /// The index of the context point that applies to point `i` of the state: 0 when shared, `i` otherwise.
    pub fn index(self, i: usize) -> usize {
        match self {
            ContextForm::Shared => 0,
            ContextForm::PerPoint(_) => i,
        }
    }

    /// `Ok` for a shared context; for one context per point, the [`CoreError::Unsupported`] error that an
    /// implementation supporting only a shared context returns.
    pub fn require_shared(self) -> Result<()> {
        match self {
            ContextForm::Shared => Ok(()),
            ContextForm::PerPoint(_) => Err(CoreError::Unsupported {
                quantity: "one context per point (only a single context point, shared by every point, is supported)",
            }),
        }
    }
}

/// Checks a context batch against the context dimension k of a [`ConditionalField`]: it must have
/// dimension k and at least one point. Returns [`ContextForm::Shared`] for one point and
/// [`ContextForm::PerPoint`]`(n)` for n > 1 points; a wrong dimension or an empty batch is a
/// [`CoreError::ShapeMismatch`].
///
/// ```
/// use si_core::{check_context, ContextForm, Points};
/// let one_hot = Points::from_row_major(1, 3, &[0.0, 1.0, 0.0]).unwrap();
/// assert_eq!(check_context(&one_hot, 3).unwrap(), ContextForm::Shared);
/// assert!(check_context(&one_hot, 2).is_err());
/// let labels = Points::from_row_major(2, 3, &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0]).unwrap();
/// assert_eq!(check_context(&labels, 3).unwrap(), ContextForm::PerPoint(2));
/// ```
pub fn check_context<B: Batch>(context: &B, context_dim: usize) -> Result<ContextForm> {
    if context.dim() != context_dim {
        return Err(CoreError::ShapeMismatch {
            expected: format!("a context of dimension {context_dim}"),
            got: format!("a context of dimension {}", context.dim()),
        });
    }
    match context.len() {
        0 => Err(CoreError::ShapeMismatch {
            expected: "at least one context point".into(),
            got: "an empty context batch".into(),
        }),
        1 => Ok(ContextForm::Shared),
        n => Ok(ContextForm::PerPoint(n)),
    }
}

/// Classifier-free guidance: from a conditioned field f_c (e.g. `given(label)`) and an unconditioned one
/// f_u (e.g. `given(null context)`), the field f_c + w (f_c − f_u) = (1 + w) f_c − w f_u for every quantity
/// (b, s, η, v and ∇·b are all linear in the fields). w = 0 is f_c; w > 0 extrapolates away from f_u.
///
/// At each t the guided score is the score of ρ(t, · | c)^(1+w) / ρ(t, ·)^w, but these tilted densities
/// are not the marginals of one interpolant, so samples follow ρ1( · | c)^(1+w) / ρ1^w only approximately.
///
/// ```
/// use nalgebra::DMatrix;
/// use si_core::{CoreError, Field, Guided, Points};
/// /// b(t, x) = a − x.
/// struct Towards(f64);
/// impl Field<Points> for Towards {
///     fn dim(&self) -> usize { 1 }
///     fn velocity(&self, _t: f64, x: &Points) -> Result<Points, CoreError> {
///         Ok(Points::from_matrix_unchecked(x.matrix().map(|v| self.0 - v)))
///     }
/// }
/// let g = Guided::new(Towards(1.0), Towards(0.0), 2.0).unwrap();
/// let x = Points::from_row_major(1, 1, &[0.5]).unwrap();
/// // 3 (1 − 0.5) − 2 (0 − 0.5) = 2.5
/// assert_eq!(g.velocity(0.3, &x).unwrap().to_row_major(), vec![2.5]);
/// assert!(Guided::new(Towards(1.0), Towards(0.0), f64::NAN).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Guided<C, U> {
    conditioned: C,
    unconditioned: U,
    weight: f64,
}

impl<C, U> Guided<C, U> {
    /// f_c + w (f_c − f_u). The two fields must have the same dimension and w must be finite.
    pub fn new<B: Batch>(conditioned: C, unconditioned: U, weight: f64) -> Result<Self>
    where
        C: Field<B>,
        U: Field<B>,
    {
        if !weight.is_finite() {
            return Err(CoreError::InvalidParameter {
                name: "guidance weight",
                value: weight,
                reason: "must be finite",
            });
        }
        if conditioned.dim() != unconditioned.dim() {
            return Err(CoreError::ShapeMismatch {
                expected: format!("an unconditioned field of dimension {}", conditioned.dim()),
                got: format!("dimension {}", unconditioned.dim()),
            });
        }
        Ok(Self {
            conditioned,
            unconditioned,
            weight,
        })
    }

    /// The guidance weight w.
    pub fn weight(&self) -> f64 {
        self.weight
    }
    /// The conditioned field f_c.
    pub fn conditioned(&self) -> &C {
        &self.conditioned
    }
    /// The unconditioned field f_u.
    pub fn unconditioned(&self) -> &U {
        &self.unconditioned
    }

    /// (1 + w) c − w u.
    fn mix<B: Batch>(&self, c: B, u: &B) -> Result<B> {
        let mut out = c.clone();
        out.axpy(self.weight, &c)?;
        out.axpy(-self.weight, u)?;
        Ok(out)
    }

    fn mix_rows<B: Batch>(&self, c: B::Rows, u: &B::Rows) -> Result<B::Rows> {
        let mut out = c.clone();
        B::rows_axpy(&mut out, self.weight, &c)?;
        B::rows_axpy(&mut out, -self.weight, u)?;
        Ok(out)
    }
}

impl<B: Batch, C: Field<B>, U: Field<B>> Field<B> for Guided<C, U> {
    fn dim(&self) -> usize {
        self.conditioned.dim()
    }
    fn velocity(&self, t: f64, x: &B) -> Result<B> {
        let c = self.conditioned.velocity(t, x)?;
        self.mix(c, &self.unconditioned.velocity(t, x)?)
    }
    fn score(&self, t: f64, x: &B) -> Result<B> {
        let c = self.conditioned.score(t, x)?;
        self.mix(c, &self.unconditioned.score(t, x)?)
    }
    fn denoiser(&self, t: f64, x: &B) -> Result<B> {
        let c = self.conditioned.denoiser(t, x)?;
        self.mix(c, &self.unconditioned.denoiser(t, x)?)
    }
    fn v(&self, t: f64, x: &B) -> Result<B> {
        let c = self.conditioned.v(t, x)?;
        self.mix(c, &self.unconditioned.v(t, x)?)
    }
    fn velocity_and_score(&self, t: f64, x: &B) -> Result<(B, B)> {
        let (bc, sc) = self.conditioned.velocity_and_score(t, x)?;
        let (bu, su) = self.unconditioned.velocity_and_score(t, x)?;
        Ok((self.mix(bc, &bu)?, self.mix(sc, &su)?))
    }
    fn divergence(&self, t: f64, x: &B) -> Result<B::Rows> {
        let c = self.conditioned.divergence(t, x)?;
        self.mix_rows::<B>(c, &self.unconditioned.divergence(t, x)?)
    }
    fn velocity_and_divergence(&self, t: f64, x: &B) -> Result<(B, B::Rows)> {
        let (bc, dc) = self.conditioned.velocity_and_divergence(t, x)?;
        let (bu, du) = self.unconditioned.velocity_and_divergence(t, x)?;
        Ok((self.mix(bc, &bu)?, self.mix_rows::<B>(dc, &du)?))
    }
}

/// The mean of several estimates of the same conditional fields: b, s, η and v of `given(c)` are the
/// averages of the members' (1/M) Σ_m f_m(t, x | c), e.g. an ensemble of models of one recipe trained with
/// different seeds, whose average has the same expectation and a smaller variance than each (docs/math.md
/// §7, "An ensemble of fields"). All members must have the same dimension and context dimension.
#[derive(Clone, Debug)]
pub struct Averaged<C> {
    members: Vec<C>,
}

impl<C> Averaged<C> {
    /// The average of the conditional fields `members` (at least one, all of one dimension and context
    /// dimension; [`CoreError::ShapeMismatch`] otherwise).
    pub fn new<B: Batch>(members: Vec<C>) -> Result<Self>
    where
        C: ConditionalField<B>,
    {
        let dims = |m: &C| (m.dim(), m.context_dim());
        let Some(first) = members.first().map(dims) else {
            return Err(CoreError::ShapeMismatch {
                expected: "at least one member".into(),
                got: "none".into(),
            });
        };
        if let Some((d, k)) = members.iter().map(dims).find(|m| *m != first) {
            return Err(CoreError::ShapeMismatch {
                expected: format!(
                    "members of dimension {} with contexts of {}",
                    first.0, first.1
                ),
                got: format!("a member of dimension {d} with contexts of {k}"),
            });
        }
        Ok(Self { members })
    }

    /// The members.
    pub fn members(&self) -> &[C] {
        &self.members
    }
}

/// The fields of an [`Averaged`] family for one context: each quantity the mean of the members'.
#[derive(Clone, Debug)]
pub struct AveragedField<F> {
    members: Vec<F>,
}

impl<F> AveragedField<F> {
    /// (1/M) Σ_m q(f_m) for a quantity q of every member.
    fn mean<B: Batch>(&self, q: impl Fn(&F) -> Result<B>) -> Result<B> {
        let mut it = self.members.iter();
        let first = it.next().ok_or_else(|| CoreError::ShapeMismatch {
            expected: "at least one member".into(),
            got: "none".into(),
        })?;
        let mut acc = q(first)?;
        if self.members.len() == 1 {
            return Ok(acc);
        }
        for m in it {
            acc.axpy(1.0, &q(m)?)?;
        }
        acc.scale(1.0 / self.members.len() as f64)?;
        Ok(acc)
    }
}

impl<B: Batch, F: Field<B>> Field<B> for AveragedField<F> {
    fn dim(&self) -> usize {
        self.members.first().map_or(0, Field::dim)
    }
    fn velocity(&self, t: f64, x: &B) -> Result<B> {
        self.mean(|f| f.velocity(t, x))
    }
    fn score(&self, t: f64, x: &B) -> Result<B> {
        self.mean(|f| f.score(t, x))
    }
    fn denoiser(&self, t: f64, x: &B) -> Result<B> {
        self.mean(|f| f.denoiser(t, x))
    }
    fn v(&self, t: f64, x: &B) -> Result<B> {
        self.mean(|f| f.v(t, x))
    }
}

impl<B: Batch, C: ConditionalField<B>> ConditionalField<B> for Averaged<C> {
    type Given<'a>
        = AveragedField<C::Given<'a>>
    where
        Self: 'a;

    fn dim(&self) -> usize {
        self.members.first().map_or(0, ConditionalField::dim)
    }
    fn context_dim(&self) -> usize {
        self.members
            .first()
            .map_or(0, ConditionalField::context_dim)
    }
    fn given<'a>(&'a self, context: &B) -> Result<Self::Given<'a>> {
        Ok(AveragedField {
            members: self
                .members
                .iter()
                .map(|m| m.given(context))
                .collect::<Result<_>>()?,
        })
    }
}
