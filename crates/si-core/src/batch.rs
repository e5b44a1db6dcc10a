//! The state type integrators and fields work on: a batch of n points in R^d.
//!
//! [`Batch`] is implemented here for [`Points`] (host memory, nalgebra); a tensor implementation living
//! on a GPU implements the same trait in `si-nn`, so integrators never copy the state to the host.

use nalgebra::{DMatrix, DVector, DVectorView};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::error::{CoreError, Result};

/// A batch of n points in R^d that integrators can update in place.
///
/// `Rows` holds one scalar per point (divergences, log-likelihoods) on the same device as the batch.
pub trait Batch: Clone + Send + Sized {
    /// One scalar per point.
    type Rows: Clone + Send;
    /// Where a batch lives and in which precision (`()` for host points; a device and a dtype for tensors),
    /// so that generic code can build a batch from host points next to an existing one.
    type Place: Clone + Send + std::fmt::Debug;

    /// Number of points n.
    fn len(&self) -> usize;
    /// Whether the batch has no points.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Dimension d.
    fn dim(&self) -> usize;
    /// self ← self + a·x.
    fn axpy(&mut self, a: f64, x: &Self) -> Result<()>;
    /// self ← a·self (the default goes through [`Batch::axpy`]; implementations multiply directly).
    fn scale(&mut self, a: f64) -> Result<()> {
        let x = self.clone();
        self.axpy(a - 1.0, &x)
    }
    /// self ← self + a·ξ with ξ ~ N(0, I) drawn from a generator seeded by `rng`.
    fn add_noise<R: Rng + ?Sized>(&mut self, a: f64, rng: &mut R) -> Result<()>;
    /// A copy in host memory.
    fn to_points(&self) -> Result<Points>;
    /// Where this batch lives.
    fn place(&self) -> Self::Place;
    /// A batch at `place` holding the host points `p` (converted to the place's precision).
    fn from_points(p: &Points, place: &Self::Place) -> Result<Self>;
    /// A `Rows` of zeros, one per point.
    fn rows_zeros(&self) -> Self::Rows;
    /// acc ← acc + a·x.
    fn rows_axpy(acc: &mut Self::Rows, a: f64, x: &Self::Rows) -> Result<()>;
    /// The per-point values in host memory.
    fn rows_to_vec(rows: &Self::Rows) -> Result<Vec<f64>>;
    /// The per-point inner products a_i·b_i (e.g. s·ΔW in the SDE likelihood).
    fn rows_dot(a: &Self, b: &Self) -> Result<Self::Rows>;
    /// The scaled norm of embedded Runge–Kutta error control (Hairer, Nørsett and Wanner, *Solving ODEs
    /// I*, §II.4, eq. 4.11) with the ratios r_ij = e_ij / (atol + rtol·max(|y0_ij|, |y1_ij|)) over points i
    /// and coordinates j: the RMS over every coordinate of the batch ([`ErrorNorm::Rms`], torchdiffeq's
    /// norm for a batched tensor), or the largest per-point RMS ([`ErrorNorm::WorstPoint`]: every point meets
    /// the tolerance).
    ///
    /// One scalar comes back to the host (the accept/reject decision needs it); nothing else is copied.
    fn error_norm(
        err: &Self,
        y0: &Self,
        y1: &Self,
        atol: f64,
        rtol: f64,
        norm: ErrorNorm,
    ) -> Result<f64>;
    /// [`Batch::error_norm`] of per-point values (an augmented state such as the log-likelihood; one
    /// coordinate per point).
    fn rows_error_norm(
        err: &Self::Rows,
        y0: &Self::Rows,
        y1: &Self::Rows,
        atol: f64,
        rtol: f64,
        norm: ErrorNorm,
    ) -> Result<f64>;
}

/// Which norm of the scaled error ratios adaptive error control uses ([`Batch::error_norm`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ErrorNorm {
    /// The RMS over every coordinate of the batch (torchdiffeq's and interflow's): points share one
    /// budget, so a few hard points can exceed the tolerance while the rest are easy.
    Rms,
    /// The largest RMS over one point's coordinates: every point meets the tolerance.
    #[default]
    WorstPoint,
}

/// [`Batch::error_norm`] over three equally long slices holding points of `dim` values each, one after
/// the other (NaN if any value is).
pub fn scaled_norm(
    err: &[f64],
    y0: &[f64],
    y1: &[f64],
    dim: usize,
    atol: f64,
    rtol: f64,
    norm: ErrorNorm,
) -> Result<f64> {
    if err.len() != y0.len() || err.len() != y1.len() || dim == 0 || !err.len().is_multiple_of(dim)
    {
        return Err(CoreError::ShapeMismatch {
            expected: format!("{} values in points of {dim}", err.len()),
            got: format!("{} and {} values", y0.len(), y1.len()),
        });
    }
    if err.is_empty() {
        return Ok(0.0);
    }
    let ratio2 = |(e, (a, b)): (&f64, (&f64, &f64))| {
        let r = e / (atol + rtol * a.abs().max(b.abs()));
        r * r
    };
    match norm {
        ErrorNorm::Rms => {
            let sum: f64 = err.iter().zip(y0.iter().zip(y1)).map(ratio2).sum();
            Ok((sum / err.len() as f64).sqrt())
        }
        ErrorNorm::WorstPoint => {
            let mut worst = 0.0f64;
            for ((e, a), b) in err.chunks(dim).zip(y0.chunks(dim)).zip(y1.chunks(dim)) {
                let ms = e.iter().zip(a.iter().zip(b)).map(ratio2).sum::<f64>() / dim as f64;
                // NaN propagates: f64::max would drop it
                if ms.is_nan() {
                    return Ok(f64::NAN);
                }
                worst = worst.max(ms);
            }
            Ok(worst.sqrt())
        }
    }
}

/// n points in R^d in host memory, stored as a d × n column-major matrix (one column per point).
#[derive(Clone, Debug, PartialEq)]
pub struct Points {
    data: DMatrix<f64>,
}

impl Points {
    /// n points of dimension d from a row-major buffer `[x_00, x_01, ..., x_0(d-1), x_10, ...]`.
    pub fn from_row_major(n: usize, d: usize, values: &[f64]) -> Result<Self> {
        if n.checked_mul(d) != Some(values.len()) {
            return Err(CoreError::ShapeMismatch {
                expected: format!("{n} x {d} values"),
                got: format!("{} values", values.len()),
            });
        }
        Self::from_matrix(DMatrix::from_column_slice(d, n, values))
    }

    /// From a d × n matrix whose columns are points; checks every value is finite.
    pub fn from_matrix(data: DMatrix<f64>) -> Result<Self> {
        if data.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite { what: "points" });
        }
        Ok(Self { data })
    }

    /// From a d × n matrix without the finiteness check (values computed by the library itself).
    pub fn from_matrix_unchecked(data: DMatrix<f64>) -> Self {
        Self { data }
    }

    /// n zero points of dimension d.
    pub fn zeros(n: usize, d: usize) -> Self {
        Self {
            data: DMatrix::zeros(d, n),
        }
    }

    /// n points with independent N(0, 1) coordinates.
    pub fn standard_normal<R: Rng + ?Sized>(n: usize, d: usize, rng: &mut R) -> Self {
        Self {
            data: DMatrix::from_fn(d, n, |_, _| rng.sample(StandardNormal)),
        }
    }

    /// The d × n matrix (columns are points).
    pub fn matrix(&self) -> &DMatrix<f64> {
        &self.data
    }

    /// Mutable access to the d × n matrix.
    pub fn matrix_mut(&mut self) -> &mut DMatrix<f64> {
        &mut self.data
    }

    /// Consumes into the d × n matrix.
    pub fn into_matrix(self) -> DMatrix<f64> {
        self.data
    }

    /// Point i as a column view.
    pub fn point(&self, i: usize) -> DVectorView<'_, f64> {
        self.data.column(i)
    }

    /// Coordinates of the points as a row-major `Vec` (n·d values).
    pub fn to_row_major(&self) -> Vec<f64> {
        self.data.as_slice().to_vec()
    }

    /// Column-major storage: point i occupies `[i·d, (i+1)·d)`.
    pub fn as_slice(&self) -> &[f64] {
        self.data.as_slice()
    }

    /// Mutable column-major storage.
    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        self.data.as_mut_slice()
    }

    /// The points `idx` (columns), in that order; an index out of range is a [`CoreError::ShapeMismatch`].
    pub fn select(&self, idx: &[usize]) -> Result<Self> {
        let d = self.dim();
        let src = self.as_slice();
        let mut out = Vec::with_capacity(d * idx.len());
        for &i in idx {
            let col = src
                .get(i * d..(i + 1) * d)
                .ok_or_else(|| CoreError::ShapeMismatch {
                    expected: format!("indices below {}", self.len()),
                    got: format!("index {i}"),
                })?;
            out.extend_from_slice(col);
        }
        Ok(Self::from_matrix_unchecked(DMatrix::from_vec(
            d,
            idx.len(),
            out,
        )))
    }

    /// Sample mean (length d).
    pub fn mean(&self) -> DVector<f64> {
        self.data.column_mean()
    }

    /// Unbiased sample covariance (d × d).
    pub fn covariance(&self) -> DMatrix<f64> {
        let n = self.len();
        let m = self.mean();
        let mut c = DMatrix::zeros(self.dim(), self.dim());
        for p in self.data.column_iter() {
            let r = p - &m;
            c += &r * r.transpose();
        }
        c / (n.max(2) - 1) as f64
    }

    fn check_same_shape(&self, other: &Self) -> Result<()> {
        if self.data.shape() == other.data.shape() {
            Ok(())
        } else {
            Err(CoreError::ShapeMismatch {
                expected: format!("{} points of dimension {}", self.len(), self.dim()),
                got: format!("{} points of dimension {}", other.len(), other.dim()),
            })
        }
    }
}

impl Batch for Points {
    type Rows = DVector<f64>;
    type Place = ();

    fn len(&self) -> usize {
        self.data.ncols()
    }
    fn dim(&self) -> usize {
        self.data.nrows()
    }
    fn axpy(&mut self, a: f64, x: &Self) -> Result<()> {
        self.check_same_shape(x)?;
        for (u, v) in self.data.iter_mut().zip(x.data.iter()) {
            *u += a * v;
        }
        Ok(())
    }
    fn scale(&mut self, a: f64) -> Result<()> {
        self.data *= a;
        Ok(())
    }
    fn add_noise<R: Rng + ?Sized>(&mut self, a: f64, rng: &mut R) -> Result<()> {
        for v in self.data.iter_mut() {
            let xi: f64 = rng.sample(StandardNormal);
            *v += a * xi;
        }
        Ok(())
    }
    fn to_points(&self) -> Result<Points> {
        Ok(self.clone())
    }
    fn place(&self) {}
    fn from_points(p: &Points, _place: &()) -> Result<Self> {
        Ok(p.clone())
    }
    fn rows_zeros(&self) -> DVector<f64> {
        DVector::zeros(self.len())
    }
    fn rows_axpy(acc: &mut DVector<f64>, a: f64, x: &DVector<f64>) -> Result<()> {
        if acc.len() != x.len() {
            return Err(CoreError::ShapeMismatch {
                expected: format!("{} values", acc.len()),
                got: format!("{} values", x.len()),
            });
        }
        acc.axpy(a, x, 1.0);
        Ok(())
    }
    fn rows_to_vec(rows: &DVector<f64>) -> Result<Vec<f64>> {
        Ok(rows.as_slice().to_vec())
    }
    fn rows_dot(a: &Self, b: &Self) -> Result<DVector<f64>> {
        a.check_same_shape(b)?;
        Ok(DVector::from_iterator(
            a.len(),
            a.data
                .column_iter()
                .zip(b.data.column_iter())
                .map(|(u, v)| u.dot(&v)),
        ))
    }
    fn error_norm(
        err: &Self,
        y0: &Self,
        y1: &Self,
        atol: f64,
        rtol: f64,
        norm: ErrorNorm,
    ) -> Result<f64> {
        err.check_same_shape(y0)?;
        err.check_same_shape(y1)?;
        let (e, a, b) = (err.as_slice(), y0.as_slice(), y1.as_slice());
        scaled_norm(e, a, b, err.dim().max(1), atol, rtol, norm)
    }
    fn rows_error_norm(
        err: &DVector<f64>,
        y0: &DVector<f64>,
        y1: &DVector<f64>,
        atol: f64,
        rtol: f64,
        norm: ErrorNorm,
    ) -> Result<f64> {
        scaled_norm(
            err.as_slice(),
            y0.as_slice(),
            y1.as_slice(),
            1,
            atol,
            rtol,
            norm,
        )
    }
}
