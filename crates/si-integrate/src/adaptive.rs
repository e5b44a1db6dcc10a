//! Adaptive Dormand–Prince 5(4) for the probability-flow ODE Ẋ = b(t, X) and its log-likelihood.
//!
//! The embedded pair of Dormand and Prince (1980; Hairer, Nørsett and Wanner, *Solving ODEs I*, §II.5,
//! Table 5.2): seven stages, first same as last (six new evaluations of b per accepted step), the fifth-order
//! solution propagated, the difference to the fourth-order one used as the error estimate. The scaled
//! norm of that difference ([`si_core::Batch::error_norm`]) decides acceptance: the batch shares one step,
//! as torchdiffeq's `dopri5` does for a batched tensor, but by default every point must meet the tolerance
//! ([`ErrorNorm::WorstPoint`]) rather than the batch's RMS ([`ErrorNorm::Rms`], torchdiffeq's). The
//! next step is h·min(fac_max, max(fac_min, 0.9·err^{−1/5})) (§II.4, eq. 4.13). The solver lands exactly
//! on every time of the requested [`TimeGrid`] (the step is shortened to reach it) and reports there to
//! the observers; between them it chooses its own steps.
//!
//! It is generic over [`si_core::Batch`] like the fixed-step steppers: on a tensor batch every stage
//! stays on the device and one scalar (the error norm) is read back per step. Notes: docs/math.md §3.2.

use rand::RngCore;
use si_core::{Batch, ErrorNorm, Field, Points};

use crate::driver::{check_dim, Observer};
use crate::error::{IntegrateError, Result};
use crate::grid::TimeGrid;
use crate::stepper::{clamp01, Stepper};

/// Stage times c_i (c_1 = 0).
const C: [f64; 7] = [0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0];

/// Stage coefficients a_ij (row i, j < i); the last row is the fifth-order weights b_i (first same as
/// last: b_7 = 0, and the seventh stage is evaluated at the fifth-order solution).
const A: [&[f64]; 7] = [
    &[],
    &[1.0 / 5.0],
    &[3.0 / 40.0, 9.0 / 40.0],
    &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
    &[
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
    ],
    &[
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
    ],
    &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];

/// Error weights e_i = b_i − b̂_i (fifth minus fourth order).
const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];

/// Safety factor of the step-size controller.
const SAFETY: f64 = 0.9;

/// Settings of [`DormandPrince`], checked by [`AdaptiveConfig::check`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptiveConfig {
    /// Relative tolerance (> 0).
    pub rtol: f64,
    /// Absolute tolerance (> 0).
    pub atol: f64,
    /// First step size; `None` chooses it from the field (Hairer et al., §II.4, "starting step size").
    pub first_step: Option<f64>,
    /// Largest allowed step growth per step (> 1).
    pub fac_max: f64,
    /// Largest allowed step shrink per step (in (0, 1)).
    pub fac_min: f64,
    /// Attempted steps (accepted and rejected) before giving up.
    pub max_steps: usize,
    /// How the error ratios of a batch are combined: every point within the tolerance (the default), or
    /// their RMS over the whole batch (torchdiffeq's, for parity with interflow). On smooth fields the
    /// worst-point norm costs about 1.5× the steps and holds every point to the tolerance; on a ReLU
    /// network, whose kinks make some point's error estimate jump at almost every step, it can cost several
    /// times more (measured on a 3×128 ReLU model in d = 4, 300 points, likelihood at 1e-5: 630 steps
    /// against 142 with the RMS, whose per-point log-likelihoods then differ by up to 8e-3).
    pub norm: ErrorNorm,
}

impl Default for AdaptiveConfig {
    /// rtol = atol = 1e-5 (interflow's and torchdiffeq's setting), growth at most 10×, shrink at most 5×,
    /// every point within the tolerance.
    fn default() -> Self {
        Self {
            rtol: 1e-5,
            atol: 1e-5,
            first_step: None,
            fac_max: 10.0,
            fac_min: 0.2,
            max_steps: 100_000,
            norm: ErrorNorm::WorstPoint,
        }
    }
}

impl AdaptiveConfig {
    /// With both tolerances set to `tol`.
    pub fn tolerance(tol: f64) -> Self {
        Self {
            rtol: tol,
            atol: tol,
            ..Self::default()
        }
    }

    /// Checks every setting once.
    pub fn check(self) -> Result<DormandPrince> {
        let bad = |what: &str, v: f64| IntegrateError::InvalidSolver(format!("{what} = {v}"));
        if !(self.rtol.is_finite() && self.rtol > 0.0) {
            return Err(bad("rtol must be finite and > 0; got rtol", self.rtol));
        }
        if !(self.atol.is_finite() && self.atol > 0.0) {
            return Err(bad("atol must be finite and > 0; got atol", self.atol));
        }
        if let Some(h) = self.first_step {
            if !(h.is_finite() && h > 0.0 && h <= 1.0) {
                return Err(bad("the first step must be in (0, 1]; got", h));
            }
        }
        if !(self.fac_max.is_finite() && self.fac_max > 1.0) {
            return Err(bad("fac_max must be finite and > 1; got", self.fac_max));
        }
        if !(self.fac_min > 0.0 && self.fac_min < 1.0) {
            return Err(bad("fac_min must be in (0, 1); got", self.fac_min));
        }
        if self.max_steps == 0 {
            return Err(IntegrateError::InvalidSolver(
                "max_steps must be at least 1".into(),
            ));
        }
        Ok(DormandPrince { cfg: self })
    }
}

/// What an adaptive solve did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SolveStats {
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected steps.
    pub rejected: usize,
    /// Evaluations of the right-hand side (b, or b with ∇·b for the likelihood).
    pub evaluations: usize,
}

/// The adaptive Dormand–Prince 5(4) solver (see the module documentation); built by
/// [`AdaptiveConfig::check`]. As a [`Stepper`] it takes one fixed fifth-order step (no error control).
#[derive(Clone, Debug, PartialEq)]
pub struct DormandPrince {
    cfg: AdaptiveConfig,
}

/// A state the solver can advance: linear combinations and the scaled error norm.
trait OdeState: Clone {
    fn axpy(&mut self, a: f64, x: &Self) -> Result<()>;
    fn norm(err: &Self, y0: &Self, y1: &Self, tol: (f64, f64, ErrorNorm)) -> Result<f64>;
}

impl<B: Batch> OdeState for B {
    fn axpy(&mut self, a: f64, x: &Self) -> Result<()> {
        Ok(Batch::axpy(self, a, x)?)
    }
    fn norm(
        err: &Self,
        y0: &Self,
        y1: &Self,
        (atol, rtol, norm): (f64, f64, ErrorNorm),
    ) -> Result<f64> {
        Ok(B::error_norm(err, y0, y1, atol, rtol, norm)?)
    }
}

/// (x, ℓ): the state and its accumulated log-density change.
#[derive(Clone)]
struct Augmented<B: Batch> {
    x: B,
    ell: B::Rows,
}

impl<B: Batch> OdeState for Augmented<B> {
    fn axpy(&mut self, a: f64, o: &Self) -> Result<()> {
        Batch::axpy(&mut self.x, a, &o.x)?;
        B::rows_axpy(&mut self.ell, a, &o.ell)?;
        Ok(())
    }
    /// The larger of the two norms (torchdiffeq's rule for a tuple state).
    fn norm(
        err: &Self,
        y0: &Self,
        y1: &Self,
        (atol, rtol, norm): (f64, f64, ErrorNorm),
    ) -> Result<f64> {
        let nx = B::error_norm(&err.x, &y0.x, &y1.x, atol, rtol, norm)?;
        let nl = B::rows_error_norm(&err.ell, &y0.ell, &y1.ell, atol, rtol, norm)?;
        // a NaN in either must reject (f64::max would drop it)
        Ok(if nx.is_nan() || nl.is_nan() {
            f64::NAN
        } else {
            nx.max(nl)
        })
    }
}

/// The six stages of a Dormand–Prince step from (t, y) to `t_next` = t + h with k1 = f(t, y): the slopes
/// k1…k6 and the fifth-order solution y5 = y + h Σ b_i k_i (the last row of A: first same as last).
/// `t_next` is passed (not recomputed) so that a step landing on an output time evaluates exactly there.
fn stages<S: OdeState>(
    f: &mut impl FnMut(f64, &S) -> Result<S>,
    t: f64,
    h: f64,
    t_next: f64,
    y: &S,
    k1: &S,
) -> Result<(Vec<S>, S)> {
    let mut k: Vec<S> = Vec::with_capacity(7);
    k.push(k1.clone());
    for i in 1..7 {
        let mut yi = y.clone();
        for (j, a) in A[i].iter().enumerate() {
            if *a != 0.0 {
                yi.axpy(h * a, &k[j])?;
            }
        }
        if i == 6 {
            return Ok((k, yi));
        }
        let ti = if i == 5 {
            t_next
        } else {
            clamp01(t + C[i] * h)
        };
        k.push(f(ti, &yi)?);
    }
    unreachable!("the loop returns at its seventh row")
}

/// One Dormand–Prince attempt ([`stages`]): the fifth-order solution, the error estimate h Σ e_i k_i and
/// k7 = f(t + h, y5), the next step's k1 when accepted.
fn attempt<S: OdeState>(
    f: &mut impl FnMut(f64, &S) -> Result<S>,
    t: f64,
    h: f64,
    t_next: f64,
    y: &S,
    k1: &S,
) -> Result<(S, S, S)> {
    let (k, y5) = stages(f, t, h, t_next, y, k1)?;
    // the seventh stage is evaluated at the fifth-order solution itself
    let k7 = f(t_next, &y5)?;
    let mut err = k1.clone();
    err.axpy(h * E[0] - 1.0, k1)?;
    for (kj, e) in k.iter().chain(std::iter::once(&k7)).zip(E).skip(1) {
        if e != 0.0 {
            err.axpy(h * e, kj)?;
        }
    }
    Ok((y5, err, k7))
}

impl DormandPrince {
    /// The solver with the default settings ([`AdaptiveConfig::default`]).
    pub fn new() -> Self {
        Self {
            cfg: AdaptiveConfig::default(),
        }
    }

    /// The checked settings.
    pub fn config(&self) -> &AdaptiveConfig {
        &self.cfg
    }

    fn tol(&self) -> (f64, f64, ErrorNorm) {
        (self.cfg.atol, self.cfg.rtol, self.cfg.norm)
    }

    /// Integrates Ẋ = b(t, X) from `grid.start()` through every time of `grid` (either direction), landing
    /// exactly on each and telling the observers there (step k is the k-th grid time).
    ///
    /// ```
    /// use si_analytic::{GaussianMixture, MixtureFields};
    /// use si_core::{Gamma, Interpolant, Points};
    /// use si_integrate::{DormandPrince, TimeGrid};
    /// let g = GaussianMixture::univariate(&[(1.0, 0.0, 1.0)]).unwrap();
    /// let h = GaussianMixture::univariate(&[(1.0, 5.0, 1.0)]).unwrap();
    /// let f = MixtureFields::new(g, h, Interpolant::linear(Gamma::Zero).unwrap()).unwrap();
    /// let x0 = Points::from_row_major(1, 1, &[0.5]).unwrap();
    /// let grid = TimeGrid::uniform(0.0, 1.0, 1).unwrap();
    /// let (x1, stats) = DormandPrince::new().solve(&f, x0, &grid, &mut []).unwrap();
    /// // the flow map between N(0, 1) and N(5, 1) is x + 5
    /// assert!((x1.as_slice()[0] - 5.5).abs() < 1e-4); // rtol = atol = 1e-5
    /// assert!(stats.accepted < 20);
    /// ```
    pub fn solve<B, F>(
        &self,
        field: &F,
        x: B,
        grid: &TimeGrid,
        observers: &mut [&mut dyn Observer<B>],
    ) -> Result<(B, SolveStats)>
    where
        B: Batch,
        F: Field<B> + ?Sized,
    {
        check_dim(field.dim(), x.dim())?;
        for o in observers.iter_mut() {
            o.start(grid, &x)?;
        }
        let mut f = |t: f64, y: &B| -> Result<B> { Ok(field.velocity(t, y)?) };
        let (x, stats) = self.run(&mut f, x, grid, &mut |k, t, y: &B| {
            for o in observers.iter_mut() {
                o.step(k, t, y)?;
            }
            Ok(())
        })?;
        for o in observers.iter_mut() {
            o.finish(&x)?;
        }
        Ok((x, stats))
    }

    /// log ρ1(x) for every point of `x1` under the ODE model of `field` (the likelihood of
    /// [`crate::ode_log_likelihood`]): the state augmented with ℓ(t) = ∫₁ᵗ ∇·b ds is integrated from t = 1 to
    /// 0 with error control on both x and ℓ, and log ρ1(x) = log ρ0(X_0) + ℓ(0).
    ///
    /// The divergence must be a deterministic function of (t, x) for the error control to mean anything:
    /// use the exact divergence (a Hutchinson estimate that draws new probes at every call is noise to it).
    pub fn log_likelihood<B, F>(
        &self,
        field: &F,
        x1: &B,
        log_rho0: impl Fn(&Points) -> si_core::Result<Vec<f64>>,
    ) -> Result<(Vec<f64>, SolveStats)>
    where
        B: Batch,
        F: Field<B> + ?Sized,
    {
        check_dim(field.dim(), x1.dim())?;
        let y = Augmented {
            x: x1.clone(),
            ell: x1.rows_zeros(),
        };
        let mut f = |t: f64, y: &Augmented<B>| -> Result<Augmented<B>> {
            let (b, div) = field.velocity_and_divergence(t, &y.x)?;
            Ok(Augmented { x: b, ell: div })
        };
        let grid = TimeGrid::uniform(1.0, 0.0, 1)?;
        let (y, stats) = self.run(&mut f, y, &grid, &mut |_, _, _| Ok(()))?;
        let ll = crate::likelihood::add_base(&y.x, &y.ell, log_rho0)?;
        Ok((ll, stats))
    }

    /// The adaptive loop over the output times of `grid`.
    fn run<S: OdeState>(
        &self,
        f: &mut impl FnMut(f64, &S) -> Result<S>,
        mut y: S,
        grid: &TimeGrid,
        report: &mut impl FnMut(usize, f64, &S) -> Result<()>,
    ) -> Result<(S, SolveStats)> {
        let cfg = &self.cfg;
        let dir = if grid.is_backward() { -1.0 } else { 1.0 };
        let mut t = grid.start();
        let mut stats = SolveStats::default();
        let mut k1 = f(t, &y)?;
        stats.evaluations += 1;
        let span = (grid.end() - grid.start()).abs();
        let mut h = match cfg.first_step {
            Some(h) => h.min(span),
            None => {
                let (h, evals) = self.first_step(f, t, &y, &k1, dir, span)?;
                stats.evaluations += evals;
                h
            }
        };
        for (k, &target) in grid.times().iter().enumerate().skip(1) {
            loop {
                let left = (target - t) * dir;
                if left <= 0.0 {
                    break;
                }
                // land exactly on the output time when the step would pass it (or nearly reach it)
                let lands = h >= left * (1.0 - 1e-12);
                let step = if lands { left } else { h };
                if stats.accepted + stats.rejected >= cfg.max_steps {
                    return Err(IntegrateError::TooManySteps {
                        steps: cfg.max_steps,
                        t,
                    });
                }
                let t_next = if lands { target } else { t + dir * step };
                let (y5, err, k7) = attempt(f, t, dir * step, t_next, &y, &k1)?;
                stats.evaluations += 6;
                let e = S::norm(&err, &y, &y5, self.tol())?;
                if !e.is_finite() {
                    return Err(IntegrateError::StepSizeUnderflow { t, h: step });
                }
                let fac = if e == 0.0 {
                    cfg.fac_max
                } else {
                    (SAFETY * e.powf(-0.2)).clamp(cfg.fac_min, cfg.fac_max)
                };
                if e <= 1.0 {
                    stats.accepted += 1;
                    t = t_next;
                    y = y5;
                    k1 = k7;
                    // a step shortened to land keeps the controller's proposal for the unshortened one
                    h = if lands { h.max(step * fac) } else { step * fac };
                } else {
                    stats.rejected += 1;
                    h = step * fac.min(1.0);
                    if h <= 1e-14 * t.abs().max(1.0) {
                        return Err(IntegrateError::StepSizeUnderflow { t, h });
                    }
                }
            }
            report(k, t, &y)?;
        }
        Ok((y, stats))
    }

    /// The starting step of Hairer, Nørsett and Wanner (§II.4): h0 = 0.01‖y‖/‖f‖, one explicit Euler step to
    /// estimate the second derivative, then h = min(100 h0, (0.01 / max(‖f‖, ‖f′‖))^{1/5}), at most the span.
    fn first_step<S: OdeState>(
        &self,
        f: &mut impl FnMut(f64, &S) -> Result<S>,
        t: f64,
        y: &S,
        k1: &S,
        dir: f64,
        span: f64,
    ) -> Result<(f64, usize)> {
        let tol = self.tol();
        let d0 = S::norm(y, y, y, tol)?;
        let d1 = S::norm(k1, y, y, tol)?;
        let h0 = if d0 < 1e-5 || d1 < 1e-5 {
            1e-6
        } else {
            0.01 * d0 / d1
        }
        .min(span);
        let mut y1 = y.clone();
        y1.axpy(dir * h0, k1)?;
        let k2 = f(clamp01(t + dir * h0), &y1)?;
        let mut dk = k2;
        dk.axpy(-1.0, k1)?;
        let d2 = S::norm(&dk, y, y, tol)? / h0;
        let h1 = if d1.max(d2) <= 1e-15 {
            (h0 * 1e-3).max(1e-6)
        } else {
            (0.01 / d1.max(d2)).powf(0.2)
        };
        Ok(((100.0 * h0).min(h1).min(span), 1))
    }
}

impl Default for DormandPrince {
    fn default() -> Self {
        Self::new()
    }
}

/// One fixed fifth-order Dormand–Prince step from t to t + dt (six evaluations of b; no error control).
pub(crate) fn fixed_step<B: Batch, F: Field<B> + ?Sized>(
    field: &F,
    t: f64,
    dt: f64,
    x: &mut B,
) -> Result<()> {
    let mut f = |t: f64, y: &B| -> Result<B> { Ok(field.velocity(t, y)?) };
    let k1 = f(t, x)?;
    let (_, y5) = stages(&mut f, t, dt, clamp01(t + dt), x, &k1)?;
    *x = y5;
    Ok(())
}

impl<B: Batch> Stepper<B> for DormandPrince {
    /// One fixed fifth-order step (six evaluations of b; no error control).
    fn step<F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
        _: &mut dyn RngCore,
    ) -> Result<()> {
        fixed_step(field, t, dt, x)
    }
    fn name(&self) -> String {
        "Dormand-Prince 5".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hairer, Nørsett and Wanner's starting step on y′ = λy, y0 = 1, rtol = atol = 1e-6: every scale is
    /// 2e-6, so d0 = 5e5, d1 = 1e6 (λ = −2), h0 = 0.01·d0/d1 = 0.005, y1 = 0.99, d2 = 0.02/2e-6/0.005 = 2e6
    /// and h = min(100 h0, (0.01/2e6)^{1/5}) = (5e-9)^{1/5} ≈ 0.02187.
    #[test]
    fn first_step_follows_hairer_norsett_wanner() {
        let solver = AdaptiveConfig::tolerance(1e-6).check().unwrap();
        let y = Points::from_row_major(1, 1, &[1.0]).unwrap();
        let mut f = |_t: f64, y: &Points| -> Result<Points> {
            Ok(Points::from_matrix_unchecked(y.matrix() * -2.0))
        };
        let k1 = f(0.0, &y).unwrap();
        let (h, evals) = solver.first_step(&mut f, 0.0, &y, &k1, 1.0, 1.0).unwrap();
        assert_eq!(evals, 1);
        let want = 5e-9f64.powf(0.2);
        assert!((h - want).abs() < 1e-12 * want, "{h} vs {want}");
        // backward on y′ = 2y is the same problem as forward on y′ = −2y
        let mut g = |_t: f64, y: &Points| -> Result<Points> {
            Ok(Points::from_matrix_unchecked(y.matrix() * 2.0))
        };
        let kb = g(1.0, &y).unwrap();
        let (hg, _) = solver.first_step(&mut g, 1.0, &y, &kb, -1.0, 1.0).unwrap();
        assert!((hg - want).abs() < 1e-12 * want, "{hg}");
        // at most the span
        let (hs, _) = solver.first_step(&mut f, 0.0, &y, &k1, 1.0, 0.01).unwrap();
        assert!(hs <= 0.01);
        // a zero field: h0 = 1e-6 (‖f‖ < 1e-5), no curvature, h1 = max(1e-6, 1e-3 h0) = 1e-6
        let mut z = |_t: f64, y: &Points| -> Result<Points> { Ok(Points::zeros(y.len(), 1)) };
        let kz = z(0.0, &y).unwrap();
        let (hz, _) = solver.first_step(&mut z, 0.0, &y, &kz, 1.0, 1.0).unwrap();
        assert!((hz - 1e-6).abs() < 1e-18, "{hz}");
        // y0 = 0, f = 1: h0 = 1e-6 (‖y‖ < 1e-5); d1 = 1e6, no curvature: h = min(1e-4, (1e-8)^{1/5})
        let y0 = Points::from_row_major(1, 1, &[0.0]).unwrap();
        let mut one = |_t: f64, y: &Points| -> Result<Points> {
            Ok(Points::from_row_major(y.len(), 1, &vec![1.0; y.len()])?)
        };
        let k1 = one(0.0, &y0).unwrap();
        let (h1, _) = solver
            .first_step(&mut one, 0.0, &y0, &k1, 1.0, 1.0)
            .unwrap();
        assert!((h1 - 1e-4).abs() < 1e-16, "{h1}");
    }

    #[test]
    fn name_and_settings() {
        let s = AdaptiveConfig::tolerance(3e-4).check().unwrap();
        assert_eq!(
            <DormandPrince as Stepper<Points>>::name(&s),
            "Dormand-Prince 5"
        );
        assert_eq!((s.config().rtol, s.config().atol), (3e-4, 3e-4));
        assert_eq!(s.config().norm, ErrorNorm::WorstPoint);
    }
}
