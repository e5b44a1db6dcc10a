//! Target sources on the model's device (docs/math.md §2): [`Uploaded`] moves any host source's draws to
//! the device; [`DeviceData`] keeps a data set resident there and makes each draw in place.

use rand::{Rng, RngCore};
use si_core::{Batch, CoreError, Draw, Interpolant, Points, Sidedness, TargetSource, TimeRange};
use tch::{Device, Kind, Tensor};

use crate::batch::{TensorBatch, TensorRows};
use crate::rng;

fn backend(e: tch::TchError) -> CoreError {
    CoreError::Backend(e.to_string())
}

fn rows(v: &[f64], device: Device) -> TensorRows {
    TensorRows(Tensor::from_slice(v).to_kind(Kind::Float).to_device(device))
}

/// A host [`TargetSource<Points>`] whose draws are converted to f32 tensors on `device`: any source works
/// on any device, at the price of one upload of the draw per step.
#[derive(Clone, Debug)]
pub struct Uploaded<S> {
    source: S,
    device: Device,
}

impl<S: TargetSource<Points>> Uploaded<S> {
    /// Draws of `source`, uploaded to `device`.
    pub fn new(source: S, device: Device) -> Self {
        Self { source, device }
    }
    /// The host source.
    pub fn inner(&self) -> &S {
        &self.source
    }
}

impl<S: TargetSource<Points>> TargetSource<TensorBatch> for Uploaded<S> {
    fn dim(&self) -> usize {
        self.source.dim()
    }
    fn context_dim(&self) -> usize {
        self.source.context_dim()
    }
    fn interpolant(&self) -> Option<&Interpolant> {
        self.source.interpolant()
    }
    fn draw(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Draw<TensorBatch>> {
        let d = self.source.draw(n, rng)?;
        let place = (Kind::Float, self.device);
        let up = |p: &Points| TensorBatch::from_points(p, &place);
        Ok(Draw {
            t: rows(d.t.as_slice(), self.device),
            m: up(&d.m)?,
            dm: up(&d.dm)?,
            sigma: rows(d.sigma.as_slice(), self.device),
            dsigma: rows(d.dsigma.as_slice(), self.device),
            zeta: up(&d.zeta)?,
            context: d.context.as_ref().map(up).transpose()?,
            v_is_b: d.v_is_b,
        })
    }
}

/// A data set resident on the device, bridged from x0 ~ N(0, I) by a built-in interpolant (the device twin
/// of `si_data::ArrayData` under `si_core::InterpolantSource`).
///
/// Per draw, the host makes only O(n) numbers: the rows' indices, their times and the interpolant's
/// coefficients at those times (exact f64 schedules from si-core, for every interpolant, user-defined ones
/// included), uploaded as one `[n, 7]` block and one `[n]` index vector. Everything of size n × d happens
/// on the device: the gather of the data rows (and their one-hot contexts), x0 and z from the keyed
/// generator of [`crate::rng`] (keys drawn from the caller's `rng`), and m, ṁ.
#[derive(Debug)]
pub struct DeviceData {
    interpolant: Interpolant,
    data: Tensor,
    context: Option<Tensor>,
    times: TimeRange,
    len: usize,
    dim: usize,
    /// L when the data are counts 0..L dequantised at every draw.
    levels: Option<usize>,
}

impl DeviceData {
    /// `points` (n × d) copied to `device` once; `labels` (one per point, in `0..classes`) become one-hot
    /// contexts.
    pub fn new(
        interpolant: Interpolant,
        points: &Points,
        labels: Option<(&[usize], usize)>,
        times: TimeRange,
        device: Device,
    ) -> si_core::Result<Self> {
        if points.is_empty() {
            return Err(CoreError::ShapeMismatch {
                expected: "at least one data point".into(),
                got: "none".into(),
            });
        }
        let data = TensorBatch::from_points(points, &(Kind::Float, device))?.0;
        let context = match labels {
            Some((l, k)) => {
                if l.len() != points.len() {
                    return Err(CoreError::ShapeMismatch {
                        expected: format!("{} labels", points.len()),
                        got: format!("{}", l.len()),
                    });
                }
                let oh = si_data::one_hot(l, k)?;
                Some(TensorBatch::from_points(&oh, &(Kind::Float, device))?.0)
            }
            None => None,
        };
        Ok(Self {
            interpolant,
            data,
            context,
            times,
            len: points.len(),
            dim: points.dim(),
            levels: None,
        })
    }

    /// The data are counts k ∈ {0, …, L − 1} (L = `levels` ≥ 2), dequantised afresh at every draw on the
    /// device: x1 = 2 (k + u)/L − 1 with u ~ U[0, 1) per value from the keyed generator (si-data
    /// `digits::dequantize`'s convention, docs/math.md §10). Values that are not such counts are an error.
    pub fn with_dequantization(mut self, levels: usize) -> si_core::Result<Self> {
        if levels < 2 {
            return Err(CoreError::InvalidParameter {
                name: "levels",
                value: levels as f64,
                reason: "at least two levels are needed",
            });
        }
        let bad = self
            .data
            .f_fmod(1.0)
            .map_err(backend)?
            .ne(0.0)
            .logical_or(&self.data.lt(0.0))
            .logical_or(&self.data.ge(levels as f64));
        if bad.any().int64_value(&[]) != 0 {
            return Err(CoreError::ShapeMismatch {
                expected: format!("counts in 0..{levels}"),
                got: "values that are not".into(),
            });
        }
        self.levels = Some(levels);
        Ok(self)
    }
}

impl TargetSource<TensorBatch> for DeviceData {
    fn dim(&self) -> usize {
        self.dim
    }
    fn context_dim(&self) -> usize {
        self.context
            .as_ref()
            .map_or(0, |c| c.size().get(1).copied().unwrap_or(0) as usize)
    }
    fn interpolant(&self) -> Option<&Interpolant> {
        Some(&self.interpolant)
    }
    fn draw(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Draw<TensorBatch>> {
        let device = self.data.device();
        let idx: Vec<i64> = (0..n)
            .map(|_| rng.random_range(0..self.len) as i64)
            .collect();
        let mut block = Vec::with_capacity(7 * n);
        for _ in 0..n {
            let t = self.times.sample(rng);
            let c = self.interpolant.schedule_unchecked(t);
            block.extend_from_slice(&[
                t,
                c.alpha,
                c.beta,
                c.dalpha,
                c.dbeta,
                c.noise_scale,
                c.dnoise_scale,
            ]);
        }
        let (key0, keyz) = (rng.next_u64(), rng.next_u64());
        let block = Tensor::from_slice(&block)
            .to_kind(Kind::Float)
            .reshape([n as i64, 7])
            .to_device(device);
        let col = |j: i64| block.narrow(1, j, 1);
        let idx = Tensor::from_slice(&idx).to_device(device);
        let mut x1 = self.data.f_index_select(0, &idx).map_err(backend)?;
        let shape = [n as i64, self.dim as i64];
        if let Some(l) = self.levels {
            let u =
                rng::uniforms(rng.next_u64(), n as i64 * self.dim as i64, device).reshape(shape);
            x1 = (x1 + u.to_kind(Kind::Float)) * (2.0 / l as f64) - 1.0;
        }
        let x0 = rng::normals(key0, &shape, Kind::Float, device)?;
        let one_sided = self.interpolant.sidedness() == Sidedness::OneSided;
        let (m, dm, zeta) = if one_sided {
            (&x1 * col(2), &x1 * col(4), x0)
        } else {
            let z = rng::normals(keyz, &shape, Kind::Float, device)?;
            (&x0 * col(1) + &x1 * col(2), &x0 * col(3) + &x1 * col(4), z)
        };
        let context = match &self.context {
            Some(c) => Some(TensorBatch(c.f_index_select(0, &idx).map_err(backend)?)),
            None => None,
        };
        let r = |j: i64| TensorRows(col(j).reshape([-1]));
        Ok(Draw {
            t: r(0),
            m: TensorBatch(m),
            dm: TensorBatch(dm),
            sigma: r(5),
            dsigma: r(6),
            zeta: TensorBatch(zeta),
            context,
            v_is_b: one_sided,
        })
    }
}
