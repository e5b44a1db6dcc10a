//! A data set of rows (e.g. from a `.npy` file) with optional class labels: the pairs a trainer draws.

use rand::{Rng, RngCore};
use si_core::{Batch, CoreError, PairSource, Pairs, Points, Sampler};

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

/// One-hot vectors (k × n) of `labels`; a label outside `0..classes` is an error.
pub fn one_hot(labels: &[usize], classes: usize) -> si_core::Result<Points> {
    let mut p = Points::zeros(labels.len(), classes);
    for (i, &l) in labels.iter().enumerate() {
        if l >= classes {
            return Err(CoreError::ShapeMismatch {
                expected: format!("labels in 0..{classes}"),
                got: format!("label {l}"),
            });
        }
        p.matrix_mut()[(l, i)] = 1.0;
    }
    Ok(p)
}

impl PairSource for ArrayData {
    fn dim(&self) -> usize {
        self.points.dim()
    }
    fn context_dim(&self) -> usize {
        self.labels.as_ref().map_or(0, |l| l.1)
    }
    /// x0 ~ N(0, I), x1 = rows drawn uniformly with replacement, contexts the rows' one-hot labels.
    fn draw_pairs(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Pairs> {
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
            .map(|(l, k)| one_hot(&idx.iter().map(|&i| l[i]).collect::<Vec<_>>(), *k))
            .transpose()?;
        Ok(Pairs { x0, x1, context })
    }
}

impl Sampler for ArrayData {
    fn dim(&self) -> usize {
        self.points.dim()
    }
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Points> {
        self.draw_pairs(n, rng).map(|d| d.x1)
    }
}
