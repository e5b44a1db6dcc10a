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

/// `rows × cols` values of 8 bytes, if they can be addressed (at most `isize::MAX` bytes).
fn check_size(what: &str, rows: usize, cols: usize) -> si_core::Result<()> {
    let fits = rows
        .checked_mul(cols)
        .and_then(|v| v.checked_mul(8))
        .is_some_and(|b| isize::try_from(b).is_ok());
    if fits {
        Ok(())
    } else {
        Err(CoreError::ShapeMismatch {
            expected: format!("{what} of at most isize::MAX bytes"),
            got: format!("{rows} x {cols} values"),
        })
    }
}

fn check_classes(classes: usize) -> si_core::Result<()> {
    if (1..=ArrayData::MAX_CLASSES).contains(&classes) {
        Ok(())
    } else {
        Err(CoreError::InvalidParameter {
            name: "classes",
            value: classes as f64,
            reason: "the number of classes must be in 1..=65536",
        })
    }
}

impl ArrayData {
    /// Most classes [`ArrayData::with_labels`] and [`one_hot`] accept (a one-hot context wider than this
    /// would make every batch a huge allocation).
    pub const MAX_CLASSES: usize = 1 << 16;

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

    /// Adds class labels in `0..classes`, one per point (contexts become one-hot vectors); `classes` is in
    /// `1..=`[`ArrayData::MAX_CLASSES`].
    pub fn with_labels(mut self, labels: Vec<usize>, classes: usize) -> si_core::Result<Self> {
        check_classes(classes)?;
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

/// One-hot vectors (k × n) of `labels`; a label outside `0..classes`, or `classes` outside
/// `1..=`[`ArrayData::MAX_CLASSES`], is an error (checked before anything is allocated).
pub fn one_hot(labels: &[usize], classes: usize) -> si_core::Result<Points> {
    check_classes(classes)?;
    if let Some(l) = labels.iter().find(|&&l| l >= classes) {
        return Err(CoreError::ShapeMismatch {
            expected: format!("labels in 0..{classes}"),
            got: format!("label {l}"),
        });
    }
    check_size("one-hot vectors", labels.len(), classes)?;
    let mut p = Points::zeros(labels.len(), classes);
    for (i, &l) in labels.iter().enumerate() {
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
    /// A batch too large to address is an error.
    fn draw_pairs(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Pairs> {
        let (m, d) = (self.points.len(), self.points.dim());
        check_size("a batch", n, d.max(self.context_dim()).max(1))?;
        if m == 0 {
            return Err(CoreError::ShapeMismatch {
                expected: "at least one data point".into(),
                got: "none".into(),
            });
        }
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
