//! One step of an integrator. Steppers hold no logging or progress code: observers do that.

use rand::RngCore;
use si_core::{Batch, Field};

use crate::diffusion::Diffusion;
use crate::driver::{check_dim, Observer};
use crate::error::Result;
use crate::grid::TimeGrid;

/// One step from t to t + dt (dt < 0 integrates backward in time).
pub trait Stepper<B: Batch> {
    /// Advances `x` in place.
    fn step<F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
        rng: &mut dyn RngCore,
    ) -> Result<()>;

    /// A short name for captions.
    fn name(&self) -> String;

    /// Integrates `x` over `grid`, telling every observer about each grid time: what [`crate::integrate`]
    /// calls. The default takes one [`Stepper::step`] per interval of the grid; a stepper that chooses its
    /// own steps ([`crate::Scheme::DormandPrince`]) lands on the grid's times instead.
    fn drive<F: Field<B> + ?Sized>(
        &self,
        field: &F,
        x: B,
        grid: &TimeGrid,
        rng: &mut dyn RngCore,
        observers: &mut [&mut dyn Observer<B>],
    ) -> Result<B> {
        step_over_grid(self, field, x, grid, rng, observers)
    }
}

/// [`Stepper::drive`]'s default: one step per interval of `grid`, the observers told after each.
pub(crate) fn step_over_grid<B: Batch, F: Field<B> + ?Sized, S: Stepper<B> + ?Sized>(
    stepper: &S,
    field: &F,
    mut x: B,
    grid: &TimeGrid,
    rng: &mut dyn RngCore,
    observers: &mut [&mut dyn Observer<B>],
) -> Result<B> {
    check_dim(field.dim(), x.dim())?;
    for o in observers.iter_mut() {
        o.start(grid, &x)?;
    }
    for (k, w) in grid.times().windows(2).enumerate() {
        stepper.step(field, w[0], w[1] - w[0], &mut x, rng)?;
        for o in observers.iter_mut() {
            o.step(k + 1, w[1], &x)?;
        }
    }
    for o in observers.iter_mut() {
        o.finish(&x)?;
    }
    Ok(x)
}

/// Clamps a stage time into [0, 1] against round-off at the ends of a grid.
pub(crate) fn clamp01(t: f64) -> f64 {
    t.clamp(0.0, 1.0)
}

/// A·ξ with ξ ~ N(0, I) in the shape and place of `like` (a noise increment that is used more than once:
/// by both stages of stochastic Heun, by the path and the stochastic integral of the SDE likelihood).
pub(crate) fn noise_like<B: Batch>(like: &B, a: f64, rng: &mut dyn RngCore) -> Result<B> {
    let mut dw = like.clone();
    dw.axpy(-1.0, like)?;
    dw.add_noise(a, rng)?;
    Ok(dw)
}

/// Explicit Euler for the ODE Ẋ = b(t, X): x ← x + dt·b(t, x). First order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Euler;

impl<B: Batch> Stepper<B> for Euler {
    fn step<F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
        _: &mut dyn RngCore,
    ) -> Result<()> {
        let b = field.velocity(t, x)?;
        x.axpy(dt, &b)?;
        Ok(())
    }
    fn name(&self) -> String {
        "Euler".into()
    }
}

/// Heun's method (explicit trapezoid) for the ODE: second order.
///
/// k1 = b(t, x), k2 = b(t + dt, x + dt·k1), x ← x + dt(k1 + k2)/2.
#[derive(Clone, Copy, Debug, Default)]
pub struct Heun;

impl<B: Batch> Stepper<B> for Heun {
    fn step<F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
        _: &mut dyn RngCore,
    ) -> Result<()> {
        let k1 = field.velocity(t, x)?;
        let mut xp = x.clone();
        xp.axpy(dt, &k1)?;
        let k2 = field.velocity(clamp01(t + dt), &xp)?;
        x.axpy(0.5 * dt, &k1)?;
        x.axpy(0.5 * dt, &k2)?;
        Ok(())
    }
    fn name(&self) -> String {
        "Heun".into()
    }
}

/// The SDE drift step x ← x + dt·(b + sign(dt) ε s)(t, x).
fn sde_drift<B: Batch, F: Field<B> + ?Sized>(
    field: &F,
    t: f64,
    dt: f64,
    eps: f64,
    x: &mut B,
) -> Result<()> {
    let (b, s) = field.velocity_and_score(t, x)?;
    x.axpy(dt, &b)?;
    x.axpy(dt.signum() * eps * dt, &s)?;
    Ok(())
}

/// The SDE noise step x ← x + √(2ε|dt|) ξ.
fn sde_noise<B: Batch>(dt: f64, eps: f64, x: &mut B, rng: &mut dyn RngCore) -> Result<()> {
    x.add_noise((2.0 * eps * dt.abs()).sqrt(), rng)?;
    Ok(())
}

/// One Euler–Maruyama step with ε = `eps` at t (see [`EulerMaruyama`]).
pub(crate) fn euler_maruyama_step<B: Batch, F: Field<B> + ?Sized>(
    field: &F,
    t: f64,
    dt: f64,
    eps: f64,
    noise_first: bool,
    x: &mut B,
    rng: &mut dyn RngCore,
) -> Result<()> {
    if eps == 0.0 {
        return Euler.step(field, t, dt, x, rng);
    }
    if noise_first {
        sde_noise(dt, eps, x, rng)?;
        sde_drift(field, t, dt, eps, x)
    } else {
        sde_drift(field, t, dt, eps, x)?;
        sde_noise(dt, eps, x, rng)
    }
}

/// Euler–Maruyama for the generative SDEs (arXiv 2303.08797, eqs. 2.33–2.34):
///
/// forward (dt > 0):  dX = [b + ε s](t, X) dt + √(2ε) dW,
/// backward (dt < 0): dX = [b − ε s](t, X) dt + √(2ε) dW̄,
///
/// i.e. x ← x + dt·(b + sign(dt) ε s) + √(2ε|dt|) ξ, ξ ~ N(0, I). With ε(t) = 0 it is Euler on the ODE.
///
/// [`EulerMaruyama::noise_first`] applies the noise before the drift (a splitting of the same SDEs, still
/// weak order 1): x̂ = x + √(2ε|dt|) ξ, then x ← x̂ + dt·(b + sign(dt) ε s)(t, x̂). The last step's noise is
/// then followed by a drift step that pulls it back toward the data instead of being left in the samples,
/// which matters when few steps are taken or the fields are sharp.
#[derive(Clone, Debug)]
pub struct EulerMaruyama {
    eps: Diffusion,
    noise_first: bool,
}

impl EulerMaruyama {
    /// With the diffusion coefficient ε(t).
    pub fn new(eps: Diffusion) -> Self {
        Self {
            eps,
            noise_first: false,
        }
    }

    /// The noise-first splitting (see the type's documentation).
    pub fn noise_first(mut self) -> Self {
        self.noise_first = true;
        self
    }

    /// With a constant ε (checked ≥ 0).
    pub fn constant(eps: f64) -> Result<Self> {
        Ok(Self::new(Diffusion::constant(eps)?))
    }
}

impl<B: Batch> Stepper<B> for EulerMaruyama {
    fn step<F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        euler_maruyama_step(field, t, dt, self.eps.at(t)?, self.noise_first, x, rng)
    }
    fn name(&self) -> String {
        let order = if self.noise_first {
            ", noise first"
        } else {
            ""
        };
        format!("Euler-Maruyama{order} (eps = {:?})", self.eps)
    }
}

/// The stochastic Heun method for the generative SDEs: a predictor–corrector that uses the same noise in
/// both stages (the sampler of the Python reference). With the drift f = b + sign(dt) ε s and
/// ΔW = √(2ε(t)|dt|) ξ, ξ ~ N(0, I):
///
/// x̃ = x + dt f(t, x) + ΔW,   x ← x + ½ dt [f(t, x) + f(t + dt, x̃)] + ΔW.
///
/// The drift is integrated by the trapezoidal rule, the noise (additive) as in Euler–Maruyama. Each step
/// evaluates b and s twice, so it costs what two Euler–Maruyama steps cost. With ε = 0 it is [`Heun`].
/// Unlike Euler–Maruyama, it evaluates the score at the end of each step, t + dt, so the field's score
/// must be finite at the grid's last time (a score derived as −η/σ is not where σ = 0, e.g. at t = 1 for
/// one-sided interpolants).
#[derive(Clone, Debug)]
pub struct StochasticHeun {
    eps: Diffusion,
}

impl StochasticHeun {
    /// With the diffusion coefficient ε(t).
    pub fn new(eps: Diffusion) -> Self {
        Self { eps }
    }

    /// With a constant ε (checked ≥ 0).
    pub fn constant(eps: f64) -> Result<Self> {
        Ok(Self::new(Diffusion::constant(eps)?))
    }
}

/// f = b + sign(dt) ε s at (t, x).
fn sde_drift_value<B: Batch, F: Field<B> + ?Sized>(
    field: &F,
    t: f64,
    dt: f64,
    eps: f64,
    x: &B,
) -> Result<B> {
    let (mut b, s) = field.velocity_and_score(t, x)?;
    b.axpy(dt.signum() * eps, &s)?;
    Ok(b)
}

impl<B: Batch> Stepper<B> for StochasticHeun {
    fn step<F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        let eps = self.eps.at(t)?;
        let eps1 = self.eps.at(clamp01(t + dt))?;
        stochastic_heun_step(field, t, dt, (eps, eps1), x, rng)
    }
    fn name(&self) -> String {
        format!("stochastic Heun (eps = {:?})", self.eps)
    }
}

/// One stochastic Heun step with ε = `eps.0` at t and `eps.1` at t + dt (see [`StochasticHeun`]).
pub(crate) fn stochastic_heun_step<B: Batch, F: Field<B> + ?Sized>(
    field: &F,
    t: f64,
    dt: f64,
    (eps, eps1): (f64, f64),
    x: &mut B,
    rng: &mut dyn RngCore,
) -> Result<()> {
    let t1 = clamp01(t + dt);
    // (With ε = 0 this is Heun's step exactly: ΔW = 0 and f = b; no special case is needed.)
    let f0 = sde_drift_value(field, t, dt, eps, x)?;
    // The noise increment ΔW, drawn once and used by both stages.
    let dw = noise_like(x, (2.0 * eps * dt.abs()).sqrt(), rng)?;
    let mut pred = x.clone();
    pred.axpy(dt, &f0)?;
    pred.axpy(1.0, &dw)?;
    let f1 = sde_drift_value(field, t1, dt, eps1, &pred)?;
    x.axpy(0.5 * dt, &f0)?;
    x.axpy(0.5 * dt, &f1)?;
    x.axpy(1.0, &dw)?;
    Ok(())
}
