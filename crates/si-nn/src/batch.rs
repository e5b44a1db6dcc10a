//! [`TensorBatch`]: the integrator state on the model's device.

use rand::Rng;
use si_core::{Batch, CoreError, ErrorNorm, Points};
use tch::{Device, Kind, Tensor};

use crate::error::backend;

/// n points in R^d as an `[n, d]` tensor on any device (the orphan rule needs this newtype to implement
/// [`si_core::Batch`] for `tch::Tensor`). Integrators update it in place, so the state never leaves the
/// model's device and a sampling loop makes no host round trip per step.
///
/// `Clone` is a deep copy (integrators clone the state and then update the copy).
#[derive(Debug)]
pub struct TensorBatch(pub Tensor);

/// One scalar per point, a `[n]` tensor on the batch's device.
#[derive(Debug)]
pub struct TensorRows(pub Tensor);

impl Clone for TensorBatch {
    fn clone(&self) -> Self {
        Self(self.0.copy())
    }
}

impl Clone for TensorRows {
    fn clone(&self) -> Self {
        Self(self.0.copy())
    }
}

impl TensorBatch {
    /// The underlying `[n, d]` tensor.
    pub fn tensor(&self) -> &Tensor {
        &self.0
    }
}

fn shape_err(a: &Tensor, b: &Tensor) -> CoreError {
    CoreError::ShapeMismatch {
        expected: format!("{:?}", a.size()),
        got: format!("{:?}", b.size()),
    }
}

impl Batch for TensorBatch {
    type Rows = TensorRows;
    /// The dtype and the device.
    type Place = (Kind, Device);

    fn len(&self) -> usize {
        self.0.size().first().copied().unwrap_or(0) as usize
    }
    fn dim(&self) -> usize {
        self.0.size().get(1).copied().unwrap_or(0) as usize
    }
    fn axpy(&mut self, a: f64, x: &Self) -> si_core::Result<()> {
        if self.0.size() != x.0.size() {
            return Err(shape_err(&self.0, &x.0));
        }
        tch::no_grad(|| self.0.f_add_(&(&x.0 * a)).map(|_| ()).map_err(backend))
    }
    /// ξ is made on the batch's device by the keyed generator of [`crate::rng`], its key drawn from `rng`,
    /// so a run is reproducible from `rng` alone, no noise crosses the host–device link and no process-wide
    /// generator is touched.
    fn add_noise<R: Rng + ?Sized>(&mut self, a: f64, rng: &mut R) -> si_core::Result<()> {
        let key: u64 = rng.random();
        let xi = crate::rng::normals(key, &self.0.size(), self.0.kind(), self.0.device())?;
        tch::no_grad(|| self.0.f_add_(&(xi * a)).map(|_| ()).map_err(backend))
    }
    fn place(&self) -> (Kind, Device) {
        (self.0.kind(), self.0.device())
    }
    /// Host points → `[n, d]` tensor of the place's kind on its device.
    fn from_points(p: &Points, place: &(Kind, Device)) -> si_core::Result<Self> {
        let (n, d) = (p.len() as i64, p.dim() as i64);
        // Points are column-major d × n: point i occupies [i·d, (i+1)·d), i.e. row-major n × d.
        let t = Tensor::f_from_slice(p.as_slice())
            .and_then(|t| t.f_reshape([n, d]))
            .and_then(|t| t.f_to_kind(place.0))
            .and_then(|t| t.f_to_device(place.1))
            .map_err(backend)?;
        Ok(Self(t))
    }
    fn to_points(&self) -> si_core::Result<Points> {
        let (n, d) = (self.len(), self.dim());
        let host = self
            .0
            .f_to_kind(Kind::Double)
            .and_then(|t| t.f_to_device(Device::Cpu))
            .and_then(|t| t.f_contiguous())
            .map_err(backend)?;
        let v = Vec::<f64>::try_from(host.reshape([-1])).map_err(backend)?;
        Points::from_row_major(n, d, &v)
    }
    fn rows_zeros(&self) -> TensorRows {
        TensorRows(Tensor::zeros(
            [self.len() as i64],
            (self.0.kind(), self.0.device()),
        ))
    }
    fn rows_axpy(acc: &mut TensorRows, a: f64, x: &TensorRows) -> si_core::Result<()> {
        if acc.0.size() != x.0.size() {
            return Err(shape_err(&acc.0, &x.0));
        }
        tch::no_grad(|| acc.0.f_add_(&(&x.0 * a)).map(|_| ()).map_err(backend))
    }
    fn rows_to_vec(rows: &TensorRows) -> si_core::Result<Vec<f64>> {
        let host = rows
            .0
            .f_to_kind(Kind::Double)
            .and_then(|t| t.f_to_device(Device::Cpu))
            .map_err(backend)?;
        Vec::<f64>::try_from(host.reshape([-1])).map_err(backend)
    }
    fn rows_dot(a: &Self, b: &Self) -> si_core::Result<TensorRows> {
        if a.0.size() != b.0.size() {
            return Err(shape_err(&a.0, &b.0));
        }
        tch::no_grad(|| {
            (&a.0 * &b.0)
                .f_sum_dim_intlist(1, false, a.0.kind())
                .map(TensorRows)
                .map_err(backend)
        })
    }
    /// Computed on the device (the ratios in double precision); one scalar is read back.
    fn error_norm(
        err: &Self,
        y0: &Self,
        y1: &Self,
        atol: f64,
        rtol: f64,
        norm: ErrorNorm,
    ) -> si_core::Result<f64> {
        if err.0.size() != y0.0.size() || err.0.size() != y1.0.size() {
            return Err(shape_err(&err.0, &y1.0));
        }
        tensor_norm(&err.0, &y0.0, &y1.0, atol, rtol, norm)
    }
    fn rows_error_norm(
        err: &TensorRows,
        y0: &TensorRows,
        y1: &TensorRows,
        atol: f64,
        rtol: f64,
        norm: ErrorNorm,
    ) -> si_core::Result<f64> {
        if err.0.size() != y0.0.size() || err.0.size() != y1.0.size() {
            return Err(shape_err(&err.0, &y1.0));
        }
        let col = |t: &Tensor| t.reshape([-1, 1]);
        tensor_norm(&col(&err.0), &col(&y0.0), &col(&y1.0), atol, rtol, norm)
    }
}

/// [`si_core::scaled_norm`] on `[n, d]` tensors of one shape, on their device: the squared ratios
/// (e / (atol + rtol·max(|y0|, |y1|)))², averaged over everything (RMS) or per row and then the largest.
fn tensor_norm(
    e: &Tensor,
    y0: &Tensor,
    y1: &Tensor,
    atol: f64,
    rtol: f64,
    norm: ErrorNorm,
) -> si_core::Result<f64> {
    if e.numel() == 0 {
        return Ok(0.0);
    }
    tch::no_grad(|| {
        let scale = y0.abs().maximum(&y1.abs()) * rtol + atol;
        let r2 = (e / scale).square().to_kind(Kind::Double);
        let ms = match norm {
            ErrorNorm::Rms => r2.f_mean(Kind::Double),
            // NaN propagates through amax
            ErrorNorm::WorstPoint => r2
                .f_mean_dim(1, false, Kind::Double)
                .and_then(|m| m.f_amax(0, false)),
        };
        ms.and_then(|m| m.f_sqrt())
            .and_then(|m| m.f_double_value(&[]))
            .map_err(backend)
    })
}

impl TensorBatch {
    /// Host points → `[n, d]` tensor of `kind` on `device` (the [`Batch::from_points`] of that place).
    pub fn upload(p: &Points, kind: Kind, device: Device) -> si_core::Result<Self> {
        Self::from_points(p, &(kind, device))
    }
}
