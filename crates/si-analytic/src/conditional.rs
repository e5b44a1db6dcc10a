//! The exact conditioned oracle: a base mixture ρ0, an interpolant and k target mixtures ρ1^(1..k)
//! (classes). A context c ∈ R^k with c_j ≥ 0, Σ c_j > 0 selects the target
//!
//! ```text
//! ρ1( · | c) = Σ_j c̃_j ρ1^(j),   c̃_j = c_j / Σ_l c_l
//! ```
//!
//! (a one-hot c picks one class, c = (½, ½) mixes two), and the conditioned fields are the exact fields of
//! the interpolant between ρ0 and ρ1( · | c). With ρ_j, b_j, s_j the fields of class j alone and
//! π_j(t, x) = c̃_j ρ_j(t, x) / ρ(t, x | c) the posterior of the class,
//!
//! ```text
//! ρ(t,x|c) = Σ_j c̃_j ρ_j(t,x),   b(t,x|c) = Σ_j π_j b_j,   s(t,x|c) = Σ_j π_j s_j,
//! ∇·b(t,x|c) = Σ_j π_j (∇·b_j + b_j·s_j) − b·s.
//! ```
//!
//! A shared context builds one [`MixtureFields`] for the merged target (components of every class, weights
//! scaled by c̃_j); one context per point combines the per-class fields with the identities above.

use nalgebra::DMatrix;
use si_core::{
    check_context, Batch, ConditionalField, ContextForm, CoreError, Interpolant, Points,
};

use crate::error::{AnalyticError, Result};
use crate::fields::{FieldValues, MixtureFields};
use crate::linalg::log_sum_exp;
use crate::mixture::GaussianMixture;

/// Exact conditioned fields b(t, x | c), s(t, x | c), η, v, ∇·b and log ρ(t, x | c) for a base mixture ρ0,
/// k class mixtures ρ1^(j) and a spatially linear interpolant. The context c ∈ R^k, c_j ≥ 0, Σ c_j > 0,
/// weighs the classes: ρ1( · | c) = Σ_j c̃_j ρ1^(j) with c̃ = c / Σ c (one-hot: one class). With ρ_j, b_j,
/// s_j the fields of class j alone and π_j = c̃_j ρ_j / ρ( · | c) the posterior of the class,
///
/// ```text
/// ρ(t,x|c) = Σ_j c̃_j ρ_j(t,x),   b(t,x|c) = Σ_j π_j b_j,   s(t,x|c) = Σ_j π_j s_j,
/// ∇·b(t,x|c) = Σ_j π_j (∇·b_j + b_j·s_j) − b·s.
/// ```
///
/// Implements [`ConditionalField<Points>`]: a shared context (one point) gives the exact [`MixtureFields`]
/// of the merged target; one context per point combines the per-class fields with the identities above.
///
/// ```
/// use si_analytic::{ConditionalMixtureFields, GaussianMixture, MixtureFields};
/// use si_core::{ConditionalField, Field, Gamma, Interpolant, Points};
/// let rho0 = GaussianMixture::standard_normal(1).unwrap();
/// let left = GaussianMixture::univariate(&[(1.0, -3.0, 0.25)]).unwrap();
/// let right = GaussianMixture::univariate(&[(0.5, 2.0, 0.25), (0.5, 4.0, 0.25)]).unwrap();
/// let it = Interpolant::linear(Gamma::brownian()).unwrap();
/// let oracle = ConditionalMixtureFields::new(rho0.clone(), vec![left, right.clone()], it.clone()).unwrap();
/// assert_eq!(oracle.context_dim(), 2);
///
/// // a one-hot context selects the class
/// let one_hot = Points::from_row_major(1, 2, &[0.0, 1.0]).unwrap();
/// let x = Points::from_row_major(3, 1, &[-1.0, 0.5, 2.0]).unwrap();
/// let b = oracle.given(&one_hot).unwrap().velocity(0.4, &x).unwrap();
/// let direct = MixtureFields::new(rho0, right, it).unwrap().velocity(0.4, &x).unwrap();
/// for (a, e) in b.to_row_major().iter().zip(direct.to_row_major()) {
///     assert!((a - e).abs() < 1e-12);
/// }
///
/// // one label per point; negative weights, NaN and a wrong k are errors
/// let labels = Points::from_row_major(3, 2, &[1.0, 0.0, 0.5, 0.5, 0.0, 1.0]).unwrap();
/// assert!(oracle.given(&labels).unwrap().velocity(0.4, &x).is_ok());
/// assert!(oracle.given(&Points::from_row_major(1, 2, &[-1.0, 2.0]).unwrap()).is_err());
/// assert!(oracle.given(&Points::from_row_major(1, 3, &[1.0, 0.0, 0.0]).unwrap()).is_err());
/// assert!(oracle.conditioned(&[0.0, 0.0]).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct ConditionalMixtureFields {
    rho0: GaussianMixture,
    classes: Vec<GaussianMixture>,
    /// The exact fields of (ρ0, ρ1^(j)) for each class j.
    class_fields: Vec<MixtureFields>,
}

impl ConditionalMixtureFields {
    /// The oracle for ρ0, the class targets ρ1^(1..k) (k ≥ 1, all of the dimension of ρ0) and the
    /// interpolant (one-sided interpolants need ρ0 = N(0, I), as for [`MixtureFields`]).
    pub fn new(
        rho0: GaussianMixture,
        classes: Vec<GaussianMixture>,
        interpolant: Interpolant,
    ) -> Result<Self> {
        if classes.is_empty() {
            return Err(AnalyticError::NoClasses);
        }
        let class_fields = classes
            .iter()
            .map(|c| MixtureFields::new(rho0.clone(), c.clone(), interpolant.clone()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            rho0,
            classes,
            class_fields,
        })
    }

    /// Dimension d of the points.
    pub fn dim(&self) -> usize {
        self.rho0.dim()
    }
    /// Dimension k of the context: the number of classes.
    pub fn context_dim(&self) -> usize {
        self.classes.len()
    }
    /// The base mixture ρ0.
    pub fn rho0(&self) -> &GaussianMixture {
        &self.rho0
    }
    /// The class targets ρ1^(1..k).
    pub fn classes(&self) -> &[GaussianMixture] {
        &self.classes
    }
    /// The exact fields of (ρ0, ρ1^(j)) for each class j.
    pub fn class_fields(&self) -> &[MixtureFields] {
        &self.class_fields
    }
    /// The interpolant.
    pub fn interpolant(&self) -> &Interpolant {
        self.class_fields[0].interpolant()
    }

    /// The class weights c̃ = c / Σ c of a context. Errors (wrapping [`CoreError`]): a length other than k
    /// ([`CoreError::ShapeMismatch`]), a NaN or infinite entry ([`CoreError::NonFinite`]), a negative entry
    /// or all entries zero ([`CoreError::InvalidParameter`]).
    pub fn class_weights(&self, context: &[f64]) -> Result<Vec<f64>> {
        Ok(normalise(context, self.context_dim())?)
    }

    /// The conditioned target ρ1( · | c) = Σ_j c̃_j ρ1^(j): the components of every class with c̃_j > 0, in
    /// class order, their weights scaled by c̃_j.
    pub fn target(&self, context: &[f64]) -> Result<GaussianMixture> {
        let w = self.class_weights(context)?;
        let (mut weights, mut means, mut covs) = (Vec::new(), Vec::new(), Vec::new());
        for (class, &cw) in self.classes.iter().zip(&w) {
            if cw > 0.0 {
                weights.extend(class.weights().iter().map(|q| cw * q));
                means.extend_from_slice(class.means());
                covs.extend_from_slice(class.covariances());
            }
        }
        // each class sums to 1 within 1e-9; renormalise so the merged sum does too
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|q| *q /= total);
        GaussianMixture::new(weights, means, covs)
    }

    /// The exact fields for one shared context: [`MixtureFields`] of (ρ0, ρ1( · | c)).
    pub fn conditioned(&self, context: &[f64]) -> Result<MixtureFields> {
        MixtureFields::new(
            self.rho0.clone(),
            self.target(context)?,
            self.interpolant().clone(),
        )
    }

    fn given_points(&self, context: &Points) -> Result<ConditionedMixtureFields<'_>> {
        let k = self.context_dim();
        let form = check_context(context, k)?;
        let inner = match form {
            ContextForm::Shared => Given::Shared(Box::new(self.conditioned(context.as_slice())?)),
            ContextForm::PerPoint(n) => {
                let mut weights = Vec::with_capacity(n * k);
                for i in 0..n {
                    weights.extend(normalise(&context.as_slice()[i * k..(i + 1) * k], k)?);
                }
                Given::PerPoint {
                    classes: &self.class_fields,
                    weights,
                    n,
                }
            }
        };
        Ok(ConditionedMixtureFields { inner })
    }
}

/// c / Σ c after checking length, finiteness and signs; scaled by max c first so that Σ cannot overflow.
fn normalise(c: &[f64], k: usize) -> si_core::Result<Vec<f64>> {
    if c.len() != k {
        return Err(CoreError::ShapeMismatch {
            expected: format!("a context of {k} class weights"),
            got: format!("{} values", c.len()),
        });
    }
    if c.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::NonFinite {
            what: "the context",
        });
    }
    if let Some(&value) = c.iter().find(|&&v| v < 0.0) {
        return Err(CoreError::InvalidParameter {
            name: "context",
            value,
            reason: "class weights must be >= 0",
        });
    }
    let max = c.iter().copied().fold(0.0, f64::max);
    if max <= 0.0 {
        return Err(CoreError::InvalidParameter {
            name: "context",
            value: 0.0,
            reason: "at least one class weight must be positive",
        });
    }
    let scaled: Vec<f64> = c.iter().map(|v| v / max).collect();
    let sum: f64 = scaled.iter().sum();
    Ok(scaled.into_iter().map(|v| v / sum).collect())
}

/// The exact fields of a [`ConditionalMixtureFields`] for one context (shared or one per point): what
/// [`ConditionalField::given`] returns.
#[derive(Clone, Debug)]
pub struct ConditionedMixtureFields<'a> {
    inner: Given<'a>,
}

#[derive(Clone, Debug)]
enum Given<'a> {
    /// The fields of the merged target.
    Shared(Box<MixtureFields>),
    /// Per-class fields combined point by point; `weights[i * k + j]` = c̃_j of point i.
    PerPoint {
        classes: &'a [MixtureFields],
        weights: Vec<f64>,
        n: usize,
    },
}

impl ConditionedMixtureFields<'_> {
    /// Shared or per point.
    pub fn form(&self) -> ContextForm {
        match &self.inner {
            Given::Shared(_) => ContextForm::Shared,
            Given::PerPoint { n, .. } => ContextForm::PerPoint(*n),
        }
    }

    /// The [`MixtureFields`] of (ρ0, ρ1( · | c)) for a shared context; `None` for per-point contexts.
    pub fn as_mixture_fields(&self) -> Option<&MixtureFields> {
        match &self.inner {
            Given::Shared(f) => Some(f),
            Given::PerPoint { .. } => None,
        }
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        match &self.inner {
            Given::Shared(f) => f.dim(),
            Given::PerPoint { classes, .. } => classes[0].dim(),
        }
    }

    /// The interpolant.
    pub fn interpolant(&self) -> &Interpolant {
        match &self.inner {
            Given::Shared(f) => f.interpolant(),
            Given::PerPoint { classes, .. } => classes[0].interpolant(),
        }
    }

    /// Every field at one time `t` for all points (for per-point contexts, point i under context i).
    pub fn evaluate(&self, t: f64, x: &Points, with_div: bool) -> Result<FieldValues> {
        match &self.inner {
            Given::Shared(f) => f.evaluate(t, x, with_div),
            Given::PerPoint {
                classes,
                weights,
                n,
            } => {
                ContextForm::PerPoint(*n).check_points(x.len())?;
                combine(classes, weights, t, x, with_div)
            }
        }
    }

    /// log ρ(t, x | c) per point.
    pub fn log_density(&self, t: f64, x: &Points) -> Result<Vec<f64>> {
        Ok(self.evaluate(t, x, false)?.log_rho)
    }

    fn noise_scale(&self, t: f64) -> si_core::Result<(f64, f64)> {
        let c = self.interpolant().schedule(t)?;
        Ok((c.noise_scale, c.gamma_dgamma))
    }
}

/// Per-point class posteriors π_ij ∝ c̃_ij ρ_j(t, x_i) and the mixture identities of the module docs.
fn combine(
    classes: &[MixtureFields],
    weights: &[f64],
    t: f64,
    x: &Points,
    with_div: bool,
) -> Result<FieldValues> {
    let (k, n, d) = (classes.len(), x.len(), x.dim());
    let per_class = classes
        .iter()
        .enumerate()
        .map(|(j, f)| {
            if (0..n).any(|i| weights[i * k + j] > 0.0) {
                f.evaluate(t, x, with_div).map(Some)
            } else {
                Ok(None)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let mut b = DMatrix::zeros(d, n);
    let mut s = DMatrix::zeros(d, n);
    let mut log_rho = vec![0.0; n];
    let mut div = vec![0.0; if with_div { n } else { 0 }];
    let mut div_s = div.clone();
    let mut logs = vec![f64::NEG_INFINITY; k];
    for i in 0..n {
        for (j, v) in per_class.iter().enumerate() {
            let w = weights[i * k + j];
            logs[j] = match v {
                Some(v) if w > 0.0 => w.ln() + v.log_rho[i],
                _ => f64::NEG_INFINITY,
            };
        }
        let lse = log_sum_exp(&logs);
        if !lse.is_finite() {
            return Err(CoreError::NonFinite {
                what: "the conditioned density (every class density underflows)",
            }
            .into());
        }
        log_rho[i] = lse;
        let mut dv = 0.0;
        let mut dsv = 0.0;
        for (j, v) in per_class.iter().enumerate() {
            let Some(v) = v else { continue };
            let p = (logs[j] - lse).exp();
            if p == 0.0 {
                continue;
            }
            let (bj, sj) = (v.b.point(i), v.s.point(i));
            for r in 0..d {
                b[(r, i)] += p * bj[r];
                s[(r, i)] += p * sj[r];
            }
            if let Some(dj) = &v.div {
                dv += p * (dj[i] + bj.dot(&sj));
            }
            // ∇·s = Σ p_j (∇·s_j + |s_j|²) − |s|² (∇p_j = p_j (s_j − s))
            if let Some(dj) = &v.div_s {
                dsv += p * (dj[i] + sj.norm_squared());
            }
        }
        if with_div {
            div[i] = dv - b.column(i).dot(&s.column(i));
            div_s[i] = dsv - s.column(i).norm_squared();
        }
    }
    Ok(FieldValues {
        log_rho,
        b: Points::from_matrix_unchecked(b),
        s: Points::from_matrix_unchecked(s),
        div: with_div.then_some(div),
        div_s: with_div.then_some(div_s),
    })
}

crate::fields::exact_field!(ConditionedMixtureFields<'_>);

impl ConditionalField<Points> for ConditionalMixtureFields {
    type Given<'a> = ConditionedMixtureFields<'a>;

    fn dim(&self) -> usize {
        ConditionalMixtureFields::dim(self)
    }
    fn context_dim(&self) -> usize {
        ConditionalMixtureFields::context_dim(self)
    }
    /// A shared context (one point) gives the exact [`MixtureFields`] of the merged target; n context points
    /// give one context per point of a state of n points.
    fn given<'a>(&'a self, context: &Points) -> si_core::Result<ConditionedMixtureFields<'a>> {
        Ok(self.given_points(context)?)
    }
}
