//! [`LearnedField`]: a trained [`FieldNet`] as an [`si_core::Field`] on its own device. Guided evaluation of
//! the heads and [`ConditionalNet`] are in `guidance`, the divergence ∇·b ([`Divergence`]) in `divergence`.

mod divergence;
mod guidance;

pub use divergence::Divergence;
pub use guidance::ConditionalNet;

use std::sync::atomic::AtomicU64;

use si_core::{CoreError, DriftTerms, Field, Interpolant, Schedule};
use tch::{Kind, Tensor};

use crate::batch::{TensorBatch, TensorRows};
use crate::model::{FieldNet, Head};

/// A trained model evaluated as the fields of its interpolant, with optional conditioning and classifier-
/// free guidance: out_w = out(x | ∅) + w (out(x | c) − out(x | ∅)) for every head (w = 1: plain
/// conditional, w = 0: unconditional).
///
/// Missing heads are derived: s = −η/σ and η = −σ s (σ = γ two-sided, α one-sided), b = v − γγ̇ s and
/// v = b + γγ̇ s (arXiv 2303.08797, §2.2).
pub struct LearnedField<'a> {
    net: &'a FieldNet,
    interpolant: Interpolant,
    context: Option<Tensor>,
    guidance: f64,
    divergence: Divergence,
    calls: AtomicU64,
}

impl std::fmt::Debug for LearnedField<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LearnedField")
            .field("guidance", &self.guidance)
            .field("divergence", &self.divergence)
            .finish()
    }
}

fn unsupported(q: &'static str) -> CoreError {
    CoreError::Unsupported { quantity: q }
}

impl<'a> LearnedField<'a> {
    /// The unconditional field of `net` for `interpolant`, exact divergence.
    pub fn new(net: &'a FieldNet, interpolant: Interpolant) -> Self {
        Self {
            net,
            interpolant,
            context: None,
            guidance: 1.0,
            divergence: Divergence::Exact,
            calls: AtomicU64::new(0),
        }
    }

    /// Conditions on `c` (`[k]` for every point or `[n, k]` per point) with guidance weight `w`.
    pub fn with_context(mut self, c: Tensor, w: f64) -> Self {
        self.context = Some(c.to_device(self.net.device()).to_kind(Kind::Float));
        self.guidance = w;
        self
    }

    /// Chooses how ∇·b is computed.
    pub fn with_divergence(mut self, d: Divergence) -> Self {
        self.divergence = d;
        self
    }

    /// The model.
    pub fn net(&self) -> &FieldNet {
        self.net
    }

    fn check(&self, t: f64, x: &TensorBatch) -> si_core::Result<Schedule> {
        use si_core::Batch;
        if x.dim() != self.net.params().dim {
            return Err(CoreError::ShapeMismatch {
                expected: format!("points of dimension {}", self.net.params().dim),
                got: format!("dimension {}", x.dim()),
            });
        }
        self.interpolant.schedule(t)
    }

    fn get(&self, outs: &[Tensor], h: Head) -> Option<Tensor> {
        self.net.head_index(h).map(|i| outs[i].shallow_clone())
    }

    fn score_from(&self, outs: &[Tensor], sc: &Schedule) -> Option<Tensor> {
        self.get(outs, Head::S).or_else(|| {
            self.get(outs, Head::Eta)
                .map(|eta| eta * (-1.0 / sc.noise_scale))
        })
    }

    fn velocity_from(&self, outs: &[Tensor], sc: &Schedule) -> Option<Tensor> {
        self.get(outs, Head::B).or_else(|| {
            let v = self.get(outs, Head::V)?;
            let s = self.score_from(outs, sc)?;
            Some(v - s * sc.gamma_dgamma)
        })
    }

    fn eval(
        &self,
        t: f64,
        x: &TensorBatch,
        f: impl FnOnce(&[Tensor], &Schedule) -> Option<Tensor>,
        q: &'static str,
    ) -> si_core::Result<TensorBatch> {
        let sc = self.check(t, x)?;
        tch::no_grad(|| {
            let outs = self.heads(t, &x.0)?;
            f(&outs, &sc).map(TensorBatch).ok_or_else(|| unsupported(q))
        })
    }

    /// Runs `f` on (x with gradients tracked, every head at (t, x), the schedule at t).
    fn with_grad_heads<T>(
        &self,
        t: f64,
        x: &TensorBatch,
        f: impl FnOnce(&Tensor, &[Tensor], &Schedule) -> si_core::Result<T>,
    ) -> si_core::Result<T> {
        let sc = self.check(t, x)?;
        tch::with_grad(|| {
            let xg = x.0.detach().set_requires_grad(true);
            let outs = self.heads(t, &xg)?;
            f(&xg, &outs, &sc)
        })
    }

    fn need_b(&self, outs: &[Tensor], sc: &Schedule) -> si_core::Result<Tensor> {
        self.velocity_from(outs, sc)
            .ok_or_else(|| unsupported("the velocity b"))
    }

    fn need_s(&self, outs: &[Tensor], sc: &Schedule) -> si_core::Result<Tensor> {
        self.score_from(outs, sc)
            .ok_or_else(|| unsupported("the score s"))
    }

    /// b and ∇·b with gradients through x.
    fn velocity_and_div(
        &self,
        t: f64,
        x: &TensorBatch,
    ) -> si_core::Result<(TensorBatch, TensorRows)> {
        self.with_grad_heads(t, x, |xg, outs, sc| {
            let b = self.need_b(outs, sc)?;
            let div = self.divergence_of(xg, &b)?;
            Ok((TensorBatch(b.detach()), TensorRows(div.detach())))
        })
    }

    /// b, s and ∇·(b + c s) from one forward pass (the divergence of the sum by one set of backward
    /// passes: d exact, or one per Hutchinson probe).
    fn terms(&self, t: f64, x: &TensorBatch, c: f64) -> si_core::Result<DriftTerms<TensorBatch>> {
        self.with_grad_heads(t, x, |xg, outs, sc| {
            let (b, s) = (self.need_b(outs, sc)?, self.need_s(outs, sc)?);
            let drift = if c == 0.0 {
                b.shallow_clone()
            } else {
                &b + &s * c
            };
            let div = self.divergence_of(xg, &drift)?;
            Ok(DriftTerms {
                b: TensorBatch(b.detach()),
                s: TensorBatch(s.detach()),
                divergence: TensorRows(div.detach()),
            })
        })
    }
}

impl Field<TensorBatch> for LearnedField<'_> {
    fn dim(&self) -> usize {
        self.net.params().dim
    }
    fn velocity(&self, t: f64, x: &TensorBatch) -> si_core::Result<TensorBatch> {
        self.eval(t, x, |o, sc| self.velocity_from(o, sc), "the velocity b")
    }
    fn score(&self, t: f64, x: &TensorBatch) -> si_core::Result<TensorBatch> {
        self.eval(t, x, |o, sc| self.score_from(o, sc), "the score s")
    }
    fn denoiser(&self, t: f64, x: &TensorBatch) -> si_core::Result<TensorBatch> {
        self.eval(
            t,
            x,
            |o, sc| {
                self.get(o, Head::Eta)
                    .or_else(|| self.get(o, Head::S).map(|s| s * (-sc.noise_scale)))
            },
            "the denoiser eta",
        )
    }
    fn v(&self, t: f64, x: &TensorBatch) -> si_core::Result<TensorBatch> {
        self.eval(
            t,
            x,
            |o, sc| {
                self.get(o, Head::V).or_else(|| {
                    let b = self.get(o, Head::B)?;
                    let s = self.score_from(o, sc)?;
                    Some(b + s * sc.gamma_dgamma)
                })
            },
            "the field v",
        )
    }
    fn velocity_and_score(
        &self,
        t: f64,
        x: &TensorBatch,
    ) -> si_core::Result<(TensorBatch, TensorBatch)> {
        let sc = self.check(t, x)?;
        tch::no_grad(|| {
            let outs = self.heads(t, &x.0)?;
            let (b, s) = (self.need_b(&outs, &sc)?, self.need_s(&outs, &sc)?);
            Ok((TensorBatch(b), TensorBatch(s)))
        })
    }
    fn divergence(&self, t: f64, x: &TensorBatch) -> si_core::Result<TensorRows> {
        self.velocity_and_div(t, x).map(|(_, d)| d)
    }
    fn velocity_and_divergence(
        &self,
        t: f64,
        x: &TensorBatch,
    ) -> si_core::Result<(TensorBatch, TensorRows)> {
        self.velocity_and_div(t, x)
    }
    fn score_divergence(&self, t: f64, x: &TensorBatch) -> si_core::Result<TensorRows> {
        // one set of passes through s alone (not ∇·(b + s) − ∇·b, which would take two)
        self.with_grad_heads(t, x, |xg, outs, sc| {
            let s = self.need_s(outs, sc)?;
            Ok(TensorRows(self.divergence_of(xg, &s)?.detach()))
        })
    }
    fn drift_terms(
        &self,
        t: f64,
        x: &TensorBatch,
        c: f64,
    ) -> si_core::Result<DriftTerms<TensorBatch>> {
        self.terms(t, x, c)
    }
}
