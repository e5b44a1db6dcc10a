//! One integration step per action of the tube's flow, ODE (λ = 0) or SDE (λ > 0) (docs/math.md §7):
//!
//! ```text
//! dX = [b − λ σ_t η](t, X) dt + σ_t √(2λ) dW,
//! ```
//!
//! which is dX = (b + ε s) dt + √(2ε) dW with ε = λ σ_t² (s = −η/σ_t). Started from N(ξ(0), σ0²) it has the
//! ODE's marginals for every λ; started exactly at ξ(0), one path's variance is σ_t²(1 − e^{−2λt}).
//!
//! Near a path the drift is ξ̇ − (k + λ)(x − ξ): a stiff linear part that one Euler step per action
//! (h = 1/T_pred) gets wrong by several per cent once (k + λ) h is a few tenths ([`TubeEulerMaruyama`]).
//! [`TubeExponential`] integrates that linear part exactly. From the fields at (t, x) it reads the local
//! path velocity u = b + k σ_t η and the offset x − ξ = σ_t η, and steps the Ornstein–Uhlenbeck process
//! dY = −(k + λ) Y dt + σ_t √(2λ) dW of Y = x − ξ while ξ moves on with velocity u:
//!
//! ```text
//! x ← x + h u − (1 − e^{−(k+λ)h}) σ_t η + σ_{t+h} √(1 − e^{−2λh}) ζ
//!   = x + h b + σ_t [k h − (1 − e^{−(k+λ)h})] η + σ_{t+h} √(1 − e^{−2λh}) ζ,
//! ```
//!
//! with ∫₀ʰ e^{−2(k+λ)(h−r)} 2λ σ_{t+r}² dr = σ_{t+h}² (1 − e^{−2λh}) the exact noise variance. For one
//! path that is straight over the step (a window's knots lie on the policy's grid of one step per action)
//! the step is exact for any h; for several paths, the posterior weights are frozen over the step. As
//! h → 0 both steppers agree to first order.
//!
//! Both are written as a [`TubeStep`]: the step's conditional mean E[X_{t+h} | X_t = x] (the drift part,
//! applied in place) and the standard deviation of its Gaussian increment. [`Stepper::step`] is the one
//! followed by the other; the streaming policy may send the mean instead of the state (docs/math.md §7,
//! "What is sent").

use rand::RngCore;
use si_core::{Batch, Field, Points};
use si_integrate::{IntegrateError, Result, Stepper};

use crate::error::RobotError;
use crate::tube::Tube;

fn check_lambda(lambda: f64) -> std::result::Result<(), RobotError> {
    if lambda.is_finite() && lambda >= 0.0 {
        Ok(())
    } else {
        Err(RobotError::InvalidParameter {
            name: "lambda",
            value: lambda.to_string(),
            reason: "the SDE's noise level must be finite and >= 0",
        })
    }
}

fn check_forward(dt: f64) -> Result<()> {
    if dt > 0.0 && dt.is_finite() {
        Ok(())
    } else {
        Err(IntegrateError::InvalidGrid(format!(
            "the tube's flow runs forward in time; got a step of {dt}"
        )))
    }
}

/// A step of the tube's flow split into its conditional mean and its Gaussian increment:
/// X_{t+h} = E[X_{t+h} | X_t] + sd · ζ, ζ ~ N(0, I).
pub trait TubeStep: Stepper<Points> {
    /// Replaces `x` by the step's conditional mean E[X_{t+h} | X_t = x] (the step without its noise).
    fn step_mean<B: Batch, F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
    ) -> Result<()>;

    /// The standard deviation of the step's increment, `None` for the ODE (λ = 0: no noise is drawn).
    fn noise_sd(&self, t: f64, dt: f64) -> Option<f64>;
}

/// [`TubeStep::step_mean`] then the increment: the whole step, as [`Stepper::step`] takes it.
fn split_step<B: Batch, F: Field<B> + ?Sized, S: TubeStep>(
    s: &S,
    field: &F,
    t: f64,
    dt: f64,
    x: &mut B,
    rng: &mut dyn RngCore,
) -> Result<()> {
    s.step_mean(field, t, dt, x)?;
    if let Some(sd) = s.noise_sd(t, dt) {
        x.add_noise(sd, rng)?;
    }
    Ok(())
}

/// Euler–Maruyama on the tube SDE: x ← x + h (b − λ σ_t η) + σ_t √(2λh) ζ (Euler on b alone for λ = 0).
#[derive(Clone, Copy, Debug)]
pub struct TubeEulerMaruyama {
    tube: Tube,
    lambda: f64,
}

impl TubeEulerMaruyama {
    /// With noise level λ ≥ 0.
    pub fn new(tube: Tube, lambda: f64) -> std::result::Result<Self, RobotError> {
        check_lambda(lambda)?;
        Ok(Self { tube, lambda })
    }
}

impl TubeStep for TubeEulerMaruyama {
    /// x + h (b − λ σ_t η); x + h b for λ = 0 (η is not evaluated).
    fn step_mean<B: Batch, F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
    ) -> Result<()> {
        check_forward(dt)?;
        let b = field.velocity(t, x)?;
        if self.lambda == 0.0 {
            return x.axpy(dt, &b).map_err(Into::into);
        }
        let eta = field.denoiser(t, x)?;
        x.axpy(dt, &b)?;
        x.axpy(-dt * self.lambda * self.tube.sigma(t), &eta)?;
        Ok(())
    }

    /// σ_t √(2λh).
    fn noise_sd(&self, t: f64, dt: f64) -> Option<f64> {
        (self.lambda != 0.0).then(|| self.tube.sigma(t) * (2.0 * self.lambda * dt).sqrt())
    }
}

impl<B: Batch> Stepper<B> for TubeEulerMaruyama {
    fn step<F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        split_step(self, field, t, dt, x, rng)
    }
    fn name(&self) -> String {
        format!("Euler-Maruyama, lambda = {}", self.lambda)
    }
}

/// The exponential step (module documentation): the linear pull onto the path integrated exactly.
#[derive(Clone, Copy, Debug)]
pub struct TubeExponential {
    tube: Tube,
    lambda: f64,
}

impl TubeExponential {
    /// With noise level λ ≥ 0.
    pub fn new(tube: Tube, lambda: f64) -> std::result::Result<Self, RobotError> {
        check_lambda(lambda)?;
        Ok(Self { tube, lambda })
    }
}

impl TubeStep for TubeExponential {
    /// x + h b + σ_t [k h − (1 − e^{−(k+λ)h})] η.
    fn step_mean<B: Batch, F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
    ) -> Result<()> {
        check_forward(dt)?;
        let (k, l) = (self.tube.k(), self.lambda);
        let b = field.velocity(t, x)?;
        let eta = field.denoiser(t, x)?;
        let sigma = self.tube.sigma(t);
        // 1 − e^{−(k+λ)h}, accurate for small (k+λ)h
        let decay = -(-(k + l) * dt).exp_m1();
        x.axpy(dt, &b)?;
        x.axpy(sigma * (k * dt - decay), &eta)?;
        Ok(())
    }

    /// σ_{t+h} √(1 − e^{−2λh}).
    fn noise_sd(&self, t: f64, dt: f64) -> Option<f64> {
        let l = self.lambda;
        (l > 0.0).then(|| {
            let keep = -(-2.0 * l * dt).exp_m1(); // 1 − e^{−2λh}
            self.tube.sigma(t + dt) * keep.sqrt()
        })
    }
}

impl<B: Batch> Stepper<B> for TubeExponential {
    fn step<F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        split_step(self, field, t, dt, x, rng)
    }
    fn name(&self) -> String {
        format!("exponential, lambda = {}", self.lambda)
    }
}
