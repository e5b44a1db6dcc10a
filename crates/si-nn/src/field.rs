//! [`LearnedField`]: a trained [`FieldNet`] as an [`si_core::Field`] on its own device.

use std::sync::atomic::{AtomicU64, Ordering};

use si_core::{
    check_context, ConditionalField, CoreError, DriftTerms, Field, Interpolant, Schedule,
};
use tch::{Kind, Tensor};

use crate::batch::{TensorBatch, TensorRows};
use crate::error::backend;
use crate::model::{Context, FieldNet, Head};

/// How ∇·b is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Divergence {
    /// Exact: one autograd pass per dimension, ∇·b = Σ_i ∂b_i/∂x_i.
    Exact,
    /// Hutchinson's estimator ∇·b ≈ (1/M) Σ_m ε_mᵀ (∂b/∂x) ε_m with Rademacher ε_m, one pass per probe;
    /// unbiased, for large d.
    Hutchinson {
        /// Number of probes M.
        probes: usize,
        /// Seed of the probes.
        seed: u64,
    },
}

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

    /// Every head at (t, x), guided. Gradients are tracked only if the caller enables them.
    fn heads(&self, t: f64, x: &Tensor) -> si_core::Result<Vec<Tensor>> {
        let tt = self.net.time_tensor(t);
        let n = x.size()[0];
        let Some(c) = &self.context else {
            return self.net.forward(&tt, x, None).map_err(Into::into);
        };
        let c = if c.dim() == 1 {
            c.unsqueeze(0).expand([n, -1], false)
        } else if c.size()[0] == 1 && n != 1 {
            c.expand([n, -1], false)
        } else {
            c.shallow_clone()
        };
        let dev = (Kind::Float, self.net.device());
        let w = self.guidance;
        if (w - 1.0).abs() < f64::EPSILON {
            let mask = Tensor::ones([n, 1], dev);
            return self
                .net
                .forward(&tt, x, Some(&Context { c: &c, mask: &mask }))
                .map_err(Into::into);
        }
        if w.abs() < f64::EPSILON {
            let mask = Tensor::zeros([n, 1], dev);
            return self
                .net
                .forward(&tt, x, Some(&Context { c: &c, mask: &mask }))
                .map_err(Into::into);
        }
        // One forward pass over [x | x] with the context kept, then dropped.
        let xx = Tensor::cat(&[x.shallow_clone(), x.shallow_clone()], 0);
        let cc = Tensor::cat(&[c.shallow_clone(), c], 0);
        let mask = Tensor::cat(&[Tensor::ones([n, 1], dev), Tensor::zeros([n, 1], dev)], 0);
        let outs = self.net.forward(
            &tt,
            &xx,
            Some(&Context {
                c: &cc,
                mask: &mask,
            }),
        )?;
        Ok(outs
            .into_iter()
            .map(|o| {
                let (cond, unc) = (o.narrow(0, 0, n), o.narrow(0, n, n));
                &unc + (cond - &unc) * w
            })
            .collect())
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

    /// ∇·y with respect to `xg` (which tracks gradients), by the field's [`Divergence`] setting.
    fn divergence_of(&self, xg: &Tensor, y: &Tensor) -> si_core::Result<Tensor> {
        let d = self.net.params().dim as i64;
        let rows = (xg.kind(), xg.device());
        match self.divergence {
            Divergence::Exact => {
                let mut acc = Tensor::zeros([xg.size()[0]], rows);
                for i in 0..d {
                    let gi = y.narrow(1, i, 1).sum(xg.kind());
                    let g =
                        Tensor::f_run_backward(&[gi], &[xg], i + 1 < d, false).map_err(backend)?;
                    acc += g[0].narrow(1, i, 1).squeeze_dim(1);
                }
                Ok(acc)
            }
            Divergence::Hutchinson { probes, seed } => {
                let call = self.calls.fetch_add(1, Ordering::Relaxed);
                let base = seed.wrapping_add(call.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let m = probes.max(1);
                let mut acc = Tensor::zeros([xg.size()[0]], rows);
                let numel = xg.numel() as i64;
                for k in 0..m {
                    // Rademacher probes from the keyed generator: no process-wide reseeding.
                    let key = base.wrapping_add((k as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
                    let eps = (crate::rng::uniforms(key, numel, xg.device())
                        .ge(0.5)
                        .to_kind(xg.kind())
                        * 2.0
                        - 1.0)
                        .reshape(xg.size());
                    let gi = (y * &eps).sum(xg.kind());
                    let g =
                        Tensor::f_run_backward(&[gi], &[xg], k + 1 < m, false).map_err(backend)?;
                    acc += (&g[0] * &eps).sum_dim_intlist(1, false, xg.kind());
                }
                Ok(acc / m as f64)
            }
        }
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

/// A conditional model as a [`ConditionalField`]: `given(c)` is the [`LearnedField`] conditioned on c
/// (one context point shared by the batch, or one per point) with guidance weight `w`, so that code
/// written against `ConditionalField` (a policy, a test against an exact conditioned oracle) runs on it.
#[derive(Debug)]
pub struct ConditionalNet<'a> {
    net: &'a FieldNet,
    interpolant: Interpolant,
    guidance: f64,
    divergence: Divergence,
}

impl<'a> ConditionalNet<'a> {
    /// The conditional fields of `net` (which must have a context) for `interpolant`, guidance w = 1.
    pub fn new(net: &'a FieldNet, interpolant: Interpolant) -> si_core::Result<Self> {
        if net.params().context_dim == 0 {
            return Err(CoreError::ShapeMismatch {
                expected: "a model with a context (context_dim > 0)".into(),
                got: "an unconditional model".into(),
            });
        }
        Ok(Self {
            net,
            interpolant,
            guidance: 1.0,
            divergence: Divergence::Exact,
        })
    }
    /// Classifier-free guidance weight w (w = 1: plain conditional, 0: unconditional).
    pub fn with_guidance(mut self, w: f64) -> Self {
        self.guidance = w;
        self
    }
    /// How ∇·b is computed.
    pub fn with_divergence(mut self, d: Divergence) -> Self {
        self.divergence = d;
        self
    }
}

impl ConditionalField<TensorBatch> for ConditionalNet<'_> {
    type Given<'b>
        = LearnedField<'b>
    where
        Self: 'b;
    fn dim(&self) -> usize {
        self.net.params().dim
    }
    fn context_dim(&self) -> usize {
        self.net.params().context_dim
    }
    fn given<'b>(&'b self, context: &TensorBatch) -> si_core::Result<LearnedField<'b>> {
        check_context(context, self.context_dim())?;
        Ok(LearnedField::new(self.net, self.interpolant.clone())
            .with_context(context.0.shallow_clone(), self.guidance)
            .with_divergence(self.divergence))
    }
}
