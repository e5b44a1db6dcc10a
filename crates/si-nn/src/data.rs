//! Training data: what the trainer draws each step (pairs (x0, x1) and an optional context c).

use rand::{Rng, RngCore};
use si_core::{Batch, CoreError, Coupling, Points, Sampler};

/// One draw of training data: n pairs and, for conditional models, n context vectors.
#[derive(Clone, Debug)]
pub struct Draw {
    /// Base points (d × n). One-sided interpolants use them as the noise x0 ~ N(0, I).
    pub x0: Points,
    /// Target points (d × n).
    pub x1: Points,
    /// Context vectors (k × n), e.g. one-hot class labels of x1.
    pub context: Option<Points>,
}

/// A source of training pairs (and contexts).
pub trait TrainingData {
    /// Dimension d of the points.
    fn dim(&self) -> usize;
    /// Size k of the context (0: unconditional).
    fn context_dim(&self) -> usize {
        0
    }
    /// Draws n pairs.
    fn draw(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Draw>;
}

/// Unconditional training data from a coupling ν of (ρ0, ρ1).
pub struct CouplingData<C>(pub C);

impl<C: Coupling> TrainingData for CouplingData<C> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn draw(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Draw> {
        let (x0, x1) = self.0.sample_pairs(n, rng)?;
        Ok(Draw {
            x0,
            x1,
            context: None,
        })
    }
}

/// The rows of a data matrix (n × d, e.g. from a `.npy` file) as a sampler that draws rows uniformly with
/// replacement, with optional per-row labels as one-hot contexts.
#[derive(Clone, Debug)]
pub struct ArrayData {
    points: Points,
    labels: Option<(Vec<usize>, usize)>,
}

impl ArrayData {
    /// From host points (all finite: `Points` checks it).
    pub fn new(points: Points) -> si_core::Result<Self> {
        if points.is_empty() {
            return Err(CoreError::ShapeMismatch {
                expected: "at least one data point".into(),
                got: "none".into(),
            });
        }
        Ok(Self {
            points,
            labels: None,
        })
    }

    /// Adds class labels in `0..classes`, one per point (contexts become one-hot vectors).
    pub fn with_labels(mut self, labels: Vec<usize>, classes: usize) -> si_core::Result<Self> {
        if labels.len() != self.points.len() {
            return Err(CoreError::ShapeMismatch {
                expected: format!("{} labels", self.points.len()),
                got: format!("{}", labels.len()),
            });
        }
        if let Some(bad) = labels.iter().find(|&&l| l >= classes) {
            return Err(CoreError::ShapeMismatch {
                expected: format!("labels in 0..{classes}"),
                got: format!("label {bad}"),
            });
        }
        self.labels = Some((labels, classes));
        Ok(self)
    }

    /// The points.
    pub fn points(&self) -> &Points {
        &self.points
    }
}

/// One-hot vectors (k × n) of `labels`.
pub fn one_hot(labels: &[usize], classes: usize) -> Points {
    let mut p = Points::zeros(labels.len(), classes);
    for (i, &l) in labels.iter().enumerate() {
        p.matrix_mut()[(l, i)] = 1.0;
    }
    p
}

impl TrainingData for ArrayData {
    fn dim(&self) -> usize {
        self.points.dim()
    }
    fn context_dim(&self) -> usize {
        self.labels.as_ref().map_or(0, |l| l.1)
    }
    fn draw(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Draw> {
        let (m, d) = (self.points.len(), self.points.dim());
        let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..m)).collect();
        let mut x1 = Points::zeros(n, d);
        for (j, &i) in idx.iter().enumerate() {
            x1.matrix_mut()
                .column_mut(j)
                .copy_from(&self.points.point(i));
        }
        let x0 = Points::standard_normal(n, d, rng);
        let context = self
            .labels
            .as_ref()
            .map(|(l, k)| one_hot(&idx.iter().map(|&i| l[i]).collect::<Vec<_>>(), *k));
        Ok(Draw { x0, x1, context })
    }
}

impl Sampler for ArrayData {
    fn dim(&self) -> usize {
        self.points.dim()
    }
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Points> {
        TrainingData::draw(self, n, rng).map(|d| d.x1)
    }
}
