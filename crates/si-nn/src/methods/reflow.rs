//! Reflow (rectified flow; Liu, Gong & Liu 2022, arXiv 2209.03003; docs/math.md §5).
//!
//! Given a model of b trained on a coupling ν of (ρ0, ρ1), simulate its ODE accurately to get the coupling
//! (Z0, Φ(Z0)), Z0 ~ ρ0, and train again, from the previous weights, on that coupling with the linear
//! interpolant. Each round keeps the marginals (Φ pushes ρ0 to the model's ρ1) and cannot lengthen the
//! transport (E|Z1 − Z0|² decreases), and the paths straighten: for Gaussians the second round is exactly
//! straight, so one Euler step samples exactly. Straightness is measured along the simulated paths with
//! si-integrate's `Straightness` observer.

use rand::RngCore;
use si_core::{
    Batch, Interpolant, InterpolantSource, PairSource, Pairs, Points, Sampler, TimeRange,
};
use si_integrate::{Observer, TimeGrid};

use crate::sampling::draw_rows;
pub use crate::sampling::flow;
use crate::{FieldNet, NnError, Result, TensorBatch, TrainParams, Trainer, Uploaded};

/// A fixed set of pairs (the coupling (Z0, Φ(Z0)) of a reflow round); each draw takes rows without
/// replacement (with replacement only when more rows are asked for than there are).
#[derive(Clone, Debug)]
pub struct FixedPairs {
    x0: Points,
    x1: Points,
}

impl FixedPairs {
    /// Pairs (x0 column i, x1 column i); both must have the same shape and at least one point.
    pub fn new(x0: Points, x1: Points) -> Result<Self> {
        if x0.len() != x1.len() || x0.dim() != x1.dim() || x0.is_empty() {
            return Err(NnError::Shape {
                expected: format!(
                    "two non-empty sets of {} points of dimension {}",
                    x0.len(),
                    x0.dim()
                ),
                got: format!("{} points of dimension {}", x1.len(), x1.dim()),
            });
        }
        Ok(Self { x0, x1 })
    }
    /// The base points.
    pub fn x0(&self) -> &Points {
        &self.x0
    }
    /// Their partners.
    pub fn x1(&self) -> &Points {
        &self.x1
    }
}

impl PairSource for FixedPairs {
    fn dim(&self) -> usize {
        self.x0.dim()
    }
    fn draw_pairs(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Pairs> {
        let idx = draw_rows(rng, self.x0.len(), n);
        Ok(Pairs {
            x0: self.x0.select(&idx)?,
            x1: self.x1.select(&idx)?,
            context: None,
        })
    }
}

/// The coupling of one reflow round: `pool` points Z0 ~ `base` and Z1 = Φ(Z0) by `ode_steps` Heun steps of
/// `net`'s b (with the interpolant it was trained for); observers see the simulated paths.
pub fn rectified_pairs(
    net: &FieldNet,
    interpolant: &Interpolant,
    base: &dyn Sampler,
    pool: usize,
    ode_steps: usize,
    rng: &mut dyn RngCore,
    observers: &mut [&mut dyn Observer<TensorBatch>],
) -> Result<FixedPairs> {
    let z0 = base.sample(pool, rng)?;
    let z1 = flow(
        net,
        interpolant,
        &z0,
        &TimeGrid::uniform(0.0, 1.0, ode_steps)?,
        observers,
    )?;
    FixedPairs::new(z0, z1)
}

/// One reflow round: the coupling of [`rectified_pairs`] from `previous`'s sampling model, then a new run
/// warm-started from that model's weights and trained for `train.steps` on the coupling with the linear
/// interpolant γ = 0 (`interpolant`, which must also be what `previous` was trained with).
pub fn reflow_round(
    previous: &Trainer,
    interpolant: &Interpolant,
    base: &dyn Sampler,
    train: TrainParams,
    pool: usize,
    ode_steps: usize,
    rng: &mut dyn RngCore,
) -> Result<Trainer> {
    let net = previous.sampling_net();
    let pairs = rectified_pairs(net, interpolant, base, pool, ode_steps, rng, &mut [])?;
    let mut next = Trainer::warm_start(net, train)?;
    let source = Uploaded::new(
        InterpolantSource::new(interpolant.clone(), pairs, TimeRange::new(1e-3)?),
        net.device(),
    );
    next.run(&source, &mut [])?;
    Ok(next)
}
