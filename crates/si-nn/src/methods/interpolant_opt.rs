//! Route (b) to the Schrödinger bridge, learned: the max–min problem over the interpolant
//! (arXiv 2303.08797, §3.4; docs/math.md §9) solved by gradient descent–ascent.
//!
//! The interpolant ranges over si-core's [`PolySchedule`] family x_t = α x0 + β x1 + γ z over the
//! *independent* coupling of ρ0 and ρ1 (no transport plan is computed anywhere). With the regression
//! losses of the heads b and s,
//!
//! ```text
//! L(θ, b̂, ŝ) = E[ ½|b̂|² − b̂·ẋ_t ] + ε² E[ ½|ŝ|² + ŝ·z/γ ],
//! ```
//!
//! the minimum over the networks is −½ ∫ E[|b|² + ε²|s|²] dt, minus half the interpolant's action
//! (kinetic energy plus ε² times the Fisher information of its marginals), and the Schrödinger bridge for
//! the reference σW (ε = σ²/2) is the interpolant that minimises the action. So the networks descend L
//! and the schedule's coefficients θ ascend it, through x_t, ẋ_t and γ (the envelope theorem: at the
//! networks' optimum, L's partial gradient in θ is −½ ∇A, so ascending L descends the action A). Antithetic noise (±z, as in
//! the trainer) keeps the 1/γ terms' variance bounded near the ends. The result is sampled by the forward
//! SDE dX = (b + εs) dt + σ dW from X0 ~ ρ0; its (X0, X1) is the bridge's coupling when the optimum is
//! reached.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Points, PolySchedule, Sampler};
use tch::{Device, Kind, Tensor};

use crate::train::{clip_grad_norm, Adam};
use crate::{FieldNet, Head, ModelParams, NnError, Result, TensorBatch};

/// Settings of the descent–ascent (checked by [`InterpolantOptConfig::check`]).
#[derive(Clone, Debug)]
pub struct InterpolantOptConfig {
    /// Steps (each one network update and, every `schedule_every` steps, one schedule update).
    pub steps: usize,
    /// Pairs per step (each used with +z and −z).
    pub batch: usize,
    /// The networks' Adam learning rate (cosine-decayed to a tenth).
    pub lr: f64,
    /// The schedule's Adam learning rate (cosine-decayed to a tenth).
    pub schedule_lr: f64,
    /// Coefficients per function of the family (a, c and g each).
    pub coefficients: usize,
    /// σ of the reference σW (the bridge's; ε = σ²/2), also the family's γ scale.
    pub sigma: f64,
    /// The schedule moves every this many steps, after the networks' update of the same step (1: every
    /// step).
    pub schedule_every: usize,
    /// Times are drawn from U(δ, 1 − δ) with this δ (the ends carry the 1/γ singularities).
    pub time_margin: f64,
    /// Seed of the draws and of the networks' initial weights.
    pub seed: u64,
}

impl Default for InterpolantOptConfig {
    fn default() -> Self {
        Self {
            steps: 4000,
            batch: 512,
            lr: 2e-3,
            schedule_lr: 5e-3,
            coefficients: 3,
            sigma: 1.0,
            schedule_every: 1,
            time_margin: 1e-3,
            seed: 0,
        }
    }
}

/// Checked [`InterpolantOptConfig`].
#[derive(Clone, Debug)]
pub struct InterpolantOptParams(InterpolantOptConfig);

impl InterpolantOptConfig {
    /// Validates: steps, batch, coefficients and schedule_every ≥ 1; learning rates and σ finite and
    /// > 0; 0 < δ < ½.
    pub fn check(self) -> Result<InterpolantOptParams> {
        let bad = |name, reason: String| Err(NnError::InvalidHyperParameter { name, reason });
        if self.steps == 0 || self.batch == 0 || self.coefficients == 0 || self.schedule_every == 0
        {
            return bad(
                "steps/batch/coefficients/schedule_every",
                "each must be at least 1".into(),
            );
        }
        for (name, v) in [
            ("lr", self.lr),
            ("schedule_lr", self.schedule_lr),
            ("sigma", self.sigma),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(name, format!("{v} must be finite and > 0"));
            }
        }
        if !(self.time_margin > 0.0 && self.time_margin < 0.5) {
            return bad(
                "time_margin",
                format!("{} must lie in (0, 0.5)", self.time_margin),
            );
        }
        Ok(InterpolantOptParams(self))
    }
}

impl std::ops::Deref for InterpolantOptParams {
    type Target = InterpolantOptConfig;
    fn deref(&self) -> &InterpolantOptConfig {
        &self.0
    }
}

/// The outcome: the networks (heads b and s), the schedule at the end, and the action estimated along the
/// way.
pub struct InterpolantOpt {
    /// The networks of b and s of the final schedule.
    pub net: FieldNet,
    /// The final member of the family.
    pub schedule: PolySchedule,
    /// (step, −2 L averaged over the last 100 steps): the action's estimate by the current networks.
    pub history: Vec<(usize, f64)>,
}

/// The family's coefficients as trainable tensors.
struct Theta {
    a: Tensor,
    c: Tensor,
    g: Tensor,
}

impl Theta {
    fn new(k: usize, device: Device) -> Self {
        let z = || Tensor::zeros([k as i64], (Kind::Float, device)).set_requires_grad(true);
        Self {
            a: z(),
            c: z(),
            g: z(),
        }
    }
    fn list(&self) -> Vec<Tensor> {
        vec![
            self.a.shallow_clone(),
            self.c.shallow_clone(),
            self.g.shallow_clone(),
        ]
    }
    fn to_schedule(&self, sigma: f64) -> Result<PolySchedule> {
        let v = |t: &Tensor| -> Result<Vec<f64>> {
            Ok(Vec::<f64>::try_from(
                t.detach().to_device(Device::Cpu).to_kind(Kind::Double),
            )?)
        };
        Ok(PolySchedule::new(
            sigma,
            v(&self.a)?,
            v(&self.c)?,
            v(&self.g)?,
        )?)
    }
}

/// One batch's draws: x0, x1, z as `[n, d]`, the times and the family's basis at them.
struct Draws {
    x0: Tensor,
    x1: Tensor,
    z: Tensor,
    t: Tensor,
    p: Tensor,
    dp: Tensor,
}

fn points(p: &Points, device: Device) -> Result<Tensor> {
    Ok(TensorBatch::from_points(p, &(Kind::Float, device))?
        .tensor()
        .shallow_clone())
}

fn draw(
    rho0: &dyn Sampler,
    rho1: &dyn Sampler,
    cfg: &InterpolantOptConfig,
    rng: &mut ChaCha8Rng,
    device: Device,
) -> Result<Draws> {
    let n = cfg.batch;
    let d = rho0.dim();
    let x0 = rho0.sample(n, rng as &mut dyn RngCore)?;
    let x1 = rho1.sample(n, rng as &mut dyn RngCore)?;
    let z = Points::standard_normal(n, d, rng);
    let k = cfg.coefficients;
    let (mut ts, mut p, mut dp) = (Vec::with_capacity(n), Vec::new(), Vec::new());
    for _ in 0..n {
        let t = cfg.time_margin + (1.0 - 2.0 * cfg.time_margin) * rng.random::<f64>();
        let (b, db) = PolySchedule::basis(t, k);
        ts.push(t as f32);
        p.extend(b.iter().map(|&v| v as f32));
        dp.extend(db.iter().map(|&v| v as f32));
    }
    let (n, k) = (n as i64, k as i64);
    Ok(Draws {
        x0: points(&x0, device)?,
        x1: points(&x1, device)?,
        z: points(&z, device)?,
        t: Tensor::from_slice(&ts).reshape([n, 1]).to_device(device),
        p: Tensor::from_slice(&p).reshape([n, k]).to_device(device),
        dp: Tensor::from_slice(&dp).reshape([n, k]).to_device(device),
    })
}

/// L(θ, b̂, ŝ) on one batch with antithetic noise (the trainer's antithetic losses, docs/math.md §2), the
/// schedule built from `a`, `c`, `g` (live or detached).
fn objective(
    net: &FieldNet,
    ib: usize,
    is: usize,
    dr: &Draws,
    coef: (&Tensor, &Tensor, &Tensor),
    sigma: f64,
) -> Result<Tensor> {
    let (a, c, g) = coef;
    let t = &dr.t;
    let w = t * (t.ones_like() - t);
    let lin = |q: &Tensor| dr.p.matmul(q).unsqueeze(1);
    let dlin = |q: &Tensor| dr.dp.matmul(q).unsqueeze(1);
    let one_m2t = t.ones_like() - t * 2.0;
    // α = 1 − t + w A, α̇ = −1 + (1 − 2t) A + w A′; β likewise with t and +1
    let alpha = t.ones_like() - t + &w * lin(a);
    let dalpha = -t.ones_like() + &one_m2t * lin(a) + &w * dlin(a);
    let beta = t + &w * lin(c);
    let dbeta = t.ones_like() + &one_m2t * lin(c) + &w * dlin(c);
    // γ = σ √w e^G, γ̇ = γ ((1 − 2t)/(2w) + G′)
    let gamma = w.sqrt() * sigma * lin(g).exp();
    let dgamma = &gamma * (&one_m2t / (&w * 2.0) + dlin(g));
    let mean = &alpha * &dr.x0 + &beta * &dr.x1;
    let dmean = &dalpha * &dr.x0 + &dbeta * &dr.x1;
    let gz = &gamma * &dr.z;
    let x = Tensor::cat(&[&mean + &gz, &mean - &gz], 0);
    let tt = Tensor::cat(&[t, t], 0);
    let outs = net.forward(&tt, &x, None)?;
    let n = dr.t.size()[0];
    let dot = |u: &Tensor, v: &Tensor| (u * v).sum_dim_intlist(1, false, Kind::Float);
    let split = |o: &Tensor| (o.narrow(0, 0, n), o.narrow(0, n, n));
    let (bp, bm) = split(&outs[ib]);
    let (sp, sm) = split(&outs[is]);
    let eps = sigma * sigma / 2.0;
    // ½|b̂|² − b̂·ẋ averaged over ±z; ẋ± = ṁ ± γ̇ z
    let lb = (dot(&bp, &bp) + dot(&bm, &bm)) * 0.25
        - (dot(&dmean, &(&bp + &bm)) + dot(&(&dgamma * &dr.z), &(&bp - &bm))) * 0.5;
    // ½|ŝ|² + ŝ·z/γ averaged over ±z
    let ls = (dot(&sp, &sp) + dot(&sm, &sm)) * 0.25 + dot(&(&dr.z / &gamma), &(&sp - &sm)) * 0.5;
    Ok((lb + ls * (eps * eps)).mean(Kind::Float))
}

fn cosine(lr: f64, step: usize, steps: usize) -> f64 {
    let floor = lr / 10.0;
    floor + 0.5 * (lr - floor) * (1.0 + (std::f64::consts::PI * step as f64 / steps as f64).cos())
}

/// Learns the Schrödinger bridge between `rho0` and `rho1` by optimising over the interpolant: a model of
/// heads b and s (`model`, on `device`) and the family's coefficients, from the Brownian-bridge member. The
/// samplers draw on the host (each step's batch is then moved to the device). Sample the result with
/// `LearnedField::new(&out.net, out.schedule.interpolant()?)` and the forward SDE dX = (b + εs) dt + σ dW
/// (ε = σ²/2) from X0 ~ ρ0: its (X0, X1) is the learned bridge's coupling.
pub fn optimise_interpolant(
    rho0: &dyn Sampler,
    rho1: &dyn Sampler,
    model: ModelParams,
    cfg: &InterpolantOptParams,
    device: Device,
) -> Result<InterpolantOpt> {
    let d = rho0.dim();
    if rho1.dim() != d || model.dim != d {
        return Err(NnError::Shape {
            expected: format!("ρ0, ρ1 and the model of one dimension ({d})"),
            got: format!("ρ1 {}, model {}", rho1.dim(), model.dim),
        });
    }
    let net = FieldNet::new(model, device, cfg.seed);
    let (ib, is) = match (net.head_index(Head::B), net.head_index(Head::S)) {
        (Some(b), Some(s)) => (b, s),
        _ => return Err(NnError::MissingHead("b and s (route (b) learns both)")),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed_b1d6e);
    let theta = Theta::new(cfg.coefficients, device);
    let mut weights = net.var_store().trainable_variables();
    let mut th = theta.list();
    let mut adam = Adam::new(&weights, (0.9, 0.999), 1e-8);
    let mut adam_th = Adam::new(&th, (0.9, 0.999), 1e-8);
    let mut history = Vec::new();
    let mut recent = Vec::with_capacity(100);
    let mut k_th = 0;
    for step in 1..=cfg.steps {
        let dr = draw(rho0, rho1, cfg, &mut rng, device)?;
        // the networks descend L with the schedule held
        let (a, c, g) = (theta.a.detach(), theta.c.detach(), theta.g.detach());
        let l = objective(&net, ib, is, &dr, (&a, &c, &g), cfg.sigma)?;
        let lv = l.double_value(&[]);
        if !lv.is_finite() {
            return Err(NnError::NonFiniteLoss { step });
        }
        l.backward();
        clip_grad_norm(&weights, 1.0);
        adam.step(&mut weights, cosine(cfg.lr, step, cfg.steps), step);
        for w in weights.iter_mut() {
            w.zero_grad();
        }
        recent.push(-2.0 * lv);
        if recent.len() == 100 {
            history.push((step, recent.iter().sum::<f64>() / 100.0));
            recent.clear();
        }
        // the schedule ascends L with the networks held (their gradients are discarded)
        if step % cfg.schedule_every == 0 {
            k_th += 1;
            let l = objective(&net, ib, is, &dr, (&theta.a, &theta.c, &theta.g), cfg.sigma)?;
            (-l).backward();
            adam_th.step(&mut th, cosine(cfg.schedule_lr, step, cfg.steps), k_th);
            for w in weights.iter_mut().chain(th.iter_mut()) {
                w.zero_grad();
            }
        }
    }
    let schedule = theta.to_schedule(cfg.sigma)?;
    Ok(InterpolantOpt {
        net,
        schedule,
        history,
    })
}
