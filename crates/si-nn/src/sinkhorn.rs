//! Log-domain Sinkhorn on tensors (docs/math.md §5.1): the iterations of si-core's host solver
//! (`si_core::ot::sinkhorn`: the same checked settings and ε-scaling `Stages`), with uniform marginals, on the cost's device and
//! dtype, so that a GPU computes the entropic (Schrödinger-bridge, ε = 2σ²) coupling of a batch that lives
//! there. With f = ε log a − ε LSE_j((g_j − C_ij)/ε) and g = ε log b − ε LSE_i((f_i − C_ij)/ε) the kernel
//! e^{−C/ε} is never formed, so float32 does not underflow where a kernel-domain solver returns a zero plan.
//! The row-marginal error is read back every `check_every` iterations (one host synchronisation each).

use si_core::ot::{SinkhornParams, Stages};
use tch::{Kind, Tensor};

use crate::{NnError, Result};

/// The plan on the cost's device: log P, and how well it meets the marginals.
#[derive(Debug)]
pub struct TensorPlan {
    /// log P_ij = (f_i + g_j − C_ij)/ε (n × m, the cost's dtype and device).
    pub log_plan: Tensor,
    /// Iterations made (all stages).
    pub iterations: usize,
    /// Σ_i |(P 1)_i − 1/n|.
    pub row_error: f64,
    /// Σ_j |(Pᵀ 1)_j − 1/m|.
    pub col_error: f64,
    /// Whether the row error reached the tolerance.
    pub converged: bool,
}

fn row_error(f: &Tensor, g: &Tensor, cost: &Tensor, eps: f64, n: i64) -> Result<f64> {
    let lp = (f.unsqueeze(1) + g.unsqueeze(0) - cost) / eps;
    let err = (lp.logsumexp([1], false).exp() - 1.0 / n as f64)
        .abs()
        .sum(Kind::Double);
    Ok(err.double_value(&[]))
}

/// The entropic plan between uniform marginals for `cost` (n × m, float or double, any device), at the
/// settings `params`; the tolerance is checked every `check_every` ≥ 1 iterations.
pub fn sinkhorn_uniform(
    cost: &Tensor,
    params: &SinkhornParams,
    check_every: usize,
) -> Result<TensorPlan> {
    let shape = cost.size();
    if shape.len() != 2 || shape[0] == 0 || shape[1] == 0 {
        return Err(NnError::Shape {
            expected: "a non-empty n × m cost".into(),
            got: format!("{shape:?}"),
        });
    }
    if check_every == 0 {
        return Err(NnError::hyper("check_every", "must be >= 1"));
    }
    let (n, m) = (shape[0], shape[1]);
    if !bool::try_from(cost.isfinite().all())? {
        return Err(si_core::CoreError::NonFinite {
            what: "cost tensor",
        }
        .into());
    }
    let (eps, tol) = (params.epsilon(), params.tol());
    let spread = (cost.max() - cost.min()).double_value(&[]);
    let mut stages = Stages::new(params, spread);
    let (log_a, log_b) = (-(n as f64).ln(), -(m as f64).ln());
    let opts = (cost.kind(), cost.device());
    let (mut f, mut g) = (Tensor::zeros([n], opts), Tensor::zeros([m], opts));
    let mut iterations = 0;
    tch::no_grad(|| -> Result<()> {
        while let Some(stage) = stages.next_stage(iterations) {
            let stage_eps = stage.epsilon;
            for step in 1..=stage.max_steps {
                f = (((g.unsqueeze(0) - cost) / stage_eps).logsumexp([1], false) * -stage_eps)
                    + stage_eps * log_a;
                g = (((f.unsqueeze(1) - cost) / stage_eps).logsumexp([0], false) * -stage_eps)
                    + stage_eps * log_b;
                iterations += 1;
                let check = step % check_every == 0 || step == stage.max_steps;
                if check && row_error(&f, &g, cost, stage_eps, n)? <= stage.tol {
                    break;
                }
            }
        }
        Ok(())
    })?;
    let log_plan = tch::no_grad(|| (f.unsqueeze(1) + g.unsqueeze(0) - cost) / eps);
    let row_error = (log_plan.logsumexp([1], false).exp() - 1.0 / n as f64)
        .abs()
        .sum(Kind::Double)
        .double_value(&[]);
    let col_error = (log_plan.logsumexp([0], false).exp() - 1.0 / m as f64)
        .abs()
        .sum(Kind::Double)
        .double_value(&[]);
    if !(row_error.is_finite() && col_error.is_finite()) {
        return Err(si_core::CoreError::NonFinite {
            what: "Sinkhorn potentials",
        }
        .into());
    }
    Ok(TensorPlan {
        log_plan,
        iterations,
        row_error,
        col_error,
        converged: row_error <= tol,
    })
}

impl TensorPlan {
    /// For each row i one column j drawn from the plan's conditional P_ij / P_i· by inverting its cumulative
    /// sum at a uniform of `si_nn::rng` (key `key`), on the plan's device: the partner of x0_i in the
    /// entropic coupling. No process-wide generator is used.
    pub fn sample_conditional(&self, key: u64) -> Tensor {
        tch::no_grad(|| {
            let (n, m) = (self.log_plan.size()[0], self.log_plan.size()[1]);
            let cdf = self
                .log_plan
                .to_kind(Kind::Double)
                .softmax(1, Kind::Double)
                .cumsum(1, Kind::Double);
            let u = crate::rng::uniforms(key, n, self.log_plan.device()).unsqueeze(1);
            // tch's `values.searchsorted(sorted, ..)` is torch.searchsorted(sorted, values)
            u.searchsorted(&cdf, false, false, "left", None::<Tensor>)
                .squeeze_dim(1)
                .clamp_max(m - 1)
        })
    }
}
