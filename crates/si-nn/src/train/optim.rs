//! Adam (Kingma & Ba 2015, with PyTorch's bias correction), global-norm gradient clipping and an EMA of
//! the weights, all as in-place tensor operations on the weights' device (no host synchronisation).
//!
//! The optimiser's state (m, v) is plain tensors so that checkpoints can hold it and a resumed run is
//! bit-identical to an uninterrupted one.

use tch::Tensor;

/// Adam's moment estimates for a fixed, ordered list of weights.
#[derive(Debug)]
pub struct Adam {
    /// First moments, one per weight.
    pub m: Vec<Tensor>,
    /// Second moments, one per weight.
    pub v: Vec<Tensor>,
    betas: (f64, f64),
    eps: f64,
}

impl Adam {
    /// Zero moments for `params`.
    pub fn new(params: &[Tensor], betas: (f64, f64), eps: f64) -> Self {
        let z = || {
            params
                .iter()
                .map(|p| p.zeros_like().detach())
                .collect::<Vec<_>>()
        };
        Self {
            m: z(),
            v: z(),
            betas,
            eps,
        }
    }

    /// One update with learning rate `lr` at 1-based step `k`:
    /// m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², p ← p − lr · (m/(1−β1ᵏ)) / (√(v/(1−β2ᵏ)) + ε).
    pub fn step(&mut self, params: &mut [Tensor], lr: f64, k: usize) {
        let (b1, b2) = self.betas;
        let bc1 = 1.0 - b1.powi(k as i32);
        let bc2 = 1.0 - b2.powi(k as i32);
        tch::no_grad(|| {
            for ((p, m), v) in params.iter_mut().zip(&mut self.m).zip(&mut self.v) {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let _ = m.lerp_(&g, 1.0 - b1);
                let _ = v.g_mul_scalar_(b2);
                let _ = v.addcmul_(&(&g * (1.0 - b2)), &g);
                let denom = (v.sqrt() / bc2.sqrt()) + self.eps;
                let _ = p.addcdiv_(&(&*m * (-lr / bc1)), &denom);
            }
        });
    }
}

/// Scales every gradient by min(1, max_norm / ‖g‖) with ‖g‖ the norm of all gradients together.
pub fn clip_grad_norm(params: &[Tensor], max_norm: f64) {
    tch::no_grad(|| {
        let grads: Vec<Tensor> = params
            .iter()
            .map(|p| p.grad())
            .filter(|g| g.defined())
            .collect();
        if grads.is_empty() {
            return;
        }
        let sq: Vec<Tensor> = grads.iter().map(|g| g.square().sum(g.kind())).collect();
        let total = Tensor::stack(&sq, 0).sum(grads[0].kind()).sqrt();
        let coef = (total + 1e-6).reciprocal() * max_norm;
        let coef = coef.clamp_max(1.0);
        for mut g in grads {
            let _ = g.g_mul_(&coef);
        }
    });
}

/// Zeroes the gradients.
pub fn zero_grad(params: &mut [Tensor]) {
    for p in params.iter_mut() {
        p.zero_grad();
    }
}

/// ema ← decay·ema + (1 − decay)·p for each pair.
pub fn ema_update(ema: &mut [Tensor], params: &[Tensor], decay: f64) {
    tch::no_grad(|| {
        for (e, p) in ema.iter_mut().zip(params) {
            let _ = e.lerp_(p, 1.0 - decay);
        }
    });
}
