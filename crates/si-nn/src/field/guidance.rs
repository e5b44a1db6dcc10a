//! Classifier-free guidance: the guided heads out_w = out(x | ∅) + w (out(x | c) − out(x | ∅)) of a
//! [`LearnedField`], and [`ConditionalNet`], a conditional model as a [`ConditionalField`].

use si_core::{check_context, ConditionalField, CoreError, Interpolant};
use tch::{Kind, Tensor};

use super::{Divergence, LearnedField};
use crate::batch::TensorBatch;
use crate::model::{Context, FieldNet};

impl LearnedField<'_> {
    /// Every head at (t, x), guided. Gradients are tracked only if the caller enables them.
    pub(super) fn heads(&self, t: f64, x: &Tensor) -> si_core::Result<Vec<Tensor>> {
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
