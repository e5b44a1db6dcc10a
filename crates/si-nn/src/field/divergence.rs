//! The divergence ∇·b of a learned field: exact (one backward pass per dimension) or Hutchinson's
//! estimator (one per probe).

use std::sync::atomic::Ordering;

use tch::Tensor;

use super::LearnedField;
use crate::error::backend;

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

impl LearnedField<'_> {
    /// ∇·y with respect to `xg` (which tracks gradients), by the field's [`Divergence`] setting.
    pub(super) fn divergence_of(&self, xg: &Tensor, y: &Tensor) -> si_core::Result<Tensor> {
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
