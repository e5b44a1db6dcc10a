//! Schedule transfer: a field learned under one Gaussian path sampled under another without retraining
//! (docs/math.md §8.2; Meta's flow_matching `ScheduleTransformedModel`).
//!
//! Two one-sided interpolants A and B (x0 ~ N(0, I), the same data x1) have marginals related by
//! x^B_t = s(t) x^A_{τ(t)}, where τ(t) matches the log signal-to-noise ratios, λ_A(τ) = λ_B(t) with
//! λ = ln(β/α), and s(t) = β_B(t)/β_A(τ) = α_B(t)/α_A(τ). Differentiating in t:
//!
//! * b_B(t, x) = (ṡ/s) x + s τ̇ b_A(τ, x/s), with τ̇ = λ̇_B(t)/λ̇_A(τ) and ṡ/s = β̇_B/β_B − τ̇ β̇_A/β_A
//!   (or the same with α),
//! * s_B(t, x) = s_A(τ, x/s)/s (the density is rescaled),
//! * η_B(t, x) = η_A(τ, x/s) (the same x0 is recovered),
//! * ∇·b_B = d ṡ/s + τ̇ ∇·b_A(τ, x/s), ∇·s_B = ∇·s_A(τ, x/s)/s².

use crate::batch::Batch;
use crate::error::{check_time, CoreError, Result};
use crate::field::Field;
use crate::interpolant::{Interpolant, Sidedness};

/// A field of interpolant `from` presented as the field of interpolant `to` (both one-sided Gaussian
/// paths from N(0, I) to the same data).
///
/// Defined at the times t where λ_to(t) is finite and inside [λ_from(0), λ_from(1)], and at the ends where
/// both paths are pure noise (β = 0) or clean data (α = 0) with finite derivatives (the limits of τ̇ and ṡ/s
/// there); elsewhere every method returns [`CoreError::TransferRange`].
#[derive(Clone, Debug)]
pub struct ScheduleTransfer<F> {
    field: F,
    from: Interpolant,
    to: Interpolant,
}

/// τ(t), s(t), ṡ/s and τ̇ at one time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransferMap {
    /// The time of the source interpolant with the same log signal-to-noise ratio.
    pub tau: f64,
    /// The scale s(t) with x^to_t = s x^from_τ.
    pub scale: f64,
    /// ṡ/s.
    pub dlog_scale: f64,
    /// τ̇(t).
    pub dtau: f64,
}

/// λ̇ = β̇/β − α̇/α.
fn dlambda(c: &crate::interpolant::Schedule) -> f64 {
    c.dbeta / c.beta - c.dalpha / c.alpha
}

impl<F> ScheduleTransfer<F> {
    /// Presents `field`, a field of the interpolant `from`, as a field of `to`. Both must be one-sided
    /// (x0 ~ N(0, I)); otherwise the marginals are not rescaled copies of each other and this is an error.
    pub fn new(field: F, from: Interpolant, to: Interpolant) -> Result<Self> {
        for it in [&from, &to] {
            if it.sidedness() != Sidedness::OneSided {
                return Err(CoreError::InvalidParameter {
                    name: "interpolant",
                    value: f64::NAN,
                    reason: "schedule transfer needs one-sided interpolants (Gaussian paths from N(0, I))",
                });
            }
        }
        Ok(Self { field, from, to })
    }

    /// The source interpolant.
    pub fn from(&self) -> &Interpolant {
        &self.from
    }

    /// The target interpolant.
    pub fn to(&self) -> &Interpolant {
        &self.to
    }

    /// The wrapped field.
    pub fn inner(&self) -> &F {
        &self.field
    }

    /// τ(t), s(t), ṡ/s and τ̇ (docs/math.md §8.2).
    pub fn map(&self, t: f64) -> Result<TransferMap> {
        check_time(t)?;
        let lambda = self.to.log_snr(t);
        if !lambda.is_finite() {
            return self.end_map(t, lambda);
        }
        let tau = self
            .from
            .time_of_log_snr(lambda)
            .ok_or(CoreError::TransferRange {
                t,
                reason:
                    "the source interpolant never reaches the target's signal-to-noise ratio here",
            })?;
        let (b, a) = (
            self.to.schedule_unchecked(t),
            self.from.schedule_unchecked(tau),
        );
        let dtau = dlambda(&b) / dlambda(&a);
        // the larger of the two coefficients gives the better-conditioned ratio
        let (scale, dlog_scale) = if a.alpha >= a.beta {
            (
                b.alpha / a.alpha,
                b.dalpha / b.alpha - dtau * a.dalpha / a.alpha,
            )
        } else {
            (b.beta / a.beta, b.dbeta / b.beta - dtau * a.dbeta / a.beta)
        };
        if ![scale, dlog_scale, dtau].iter().all(|v| v.is_finite()) || scale <= 0.0 {
            return Err(CoreError::TransferRange {
                t,
                reason: "the time change is singular here",
            });
        }
        Ok(TransferMap {
            tau,
            scale,
            dlog_scale,
            dtau,
        })
    }
}

impl<F> ScheduleTransfer<F> {
    /// The ends, where λ_to(t) = ±∞: both paths at pure noise (β = 0; τ = 0, s = α_B/α_A,
    /// τ̇ = β̇_B α_A/(β̇_A α_B), the limit of λ̇_B/λ̇_A) or both at clean data (α = 0; τ = 1, s = β_B/β_A,
    /// τ̇ = α̇_B β_A/(α̇_A β_B)); defined when the source reaches the same end and the limits are finite.
    fn end_map(&self, t: f64, lambda: f64) -> Result<TransferMap> {
        let noise_end = lambda == f64::NEG_INFINITY;
        let tau = if noise_end { 0.0 } else { 1.0 };
        let out_of_range = CoreError::TransferRange {
            t,
            reason: "the target's log signal-to-noise ratio is infinite here and the source does not reach that end \
                     with finite derivatives",
        };
        // both infinite with the same sign
        if self.from.log_snr(tau).to_bits() != lambda.to_bits() {
            return Err(out_of_range);
        }
        let (b, a) = (
            self.to.schedule_unchecked(t),
            self.from.schedule_unchecked(tau),
        );
        let (dtau, scale, dlog_scale) = if noise_end {
            let dtau = (b.dbeta * a.alpha) / (a.dbeta * b.alpha);
            (
                dtau,
                b.alpha / a.alpha,
                b.dalpha / b.alpha - dtau * a.dalpha / a.alpha,
            )
        } else {
            let dtau = (b.dalpha * a.beta) / (a.dalpha * b.beta);
            (
                dtau,
                b.beta / a.beta,
                b.dbeta / b.beta - dtau * a.dbeta / a.beta,
            )
        };
        if ![scale, dlog_scale, dtau].iter().all(|v| v.is_finite()) || scale <= 0.0 {
            return Err(out_of_range);
        }
        Ok(TransferMap {
            tau,
            scale,
            dlog_scale,
            dtau,
        })
    }
}

/// x/s for the source field.
fn shrink<B: Batch>(x: &B, s: f64) -> Result<B> {
    let mut y = x.clone();
    y.scale(1.0 / s)?;
    Ok(y)
}

/// One value per point, all equal to `c`.
fn constant_rows<B: Batch>(x: &B, c: f64) -> Result<B::Rows> {
    let (n, d) = (x.len(), x.dim());
    let mut e = vec![0.0; n * d];
    e.iter_mut().step_by(d.max(1)).for_each(|v| *v = 1.0);
    let ones = B::from_points(&crate::batch::Points::from_row_major(n, d, &e)?, &x.place())?;
    let mut rows = x.rows_zeros();
    B::rows_axpy(&mut rows, c, &B::rows_dot(&ones, &ones)?)?;
    Ok(rows)
}

/// b_B = (ṡ/s) x + s τ̇ b_A.
fn velocity_at<B: Batch>(m: &TransferMap, x: &B, b_from: B) -> Result<B> {
    let mut out = b_from;
    out.scale(m.scale * m.dtau)?;
    out.axpy(m.dlog_scale, x)?;
    Ok(out)
}

/// ∇·b_B = d ṡ/s + τ̇ ∇·b_A.
fn divergence_at<B: Batch>(m: &TransferMap, x: &B, div_from: &B::Rows) -> Result<B::Rows> {
    let mut rows = constant_rows(x, x.dim() as f64 * m.dlog_scale)?;
    B::rows_axpy(&mut rows, m.dtau, div_from)?;
    Ok(rows)
}

/// s_B = s_A/s.
fn score_at<B: Batch>(m: &TransferMap, s_from: B) -> Result<B> {
    let mut out = s_from;
    out.scale(1.0 / m.scale)?;
    Ok(out)
}

impl<B: Batch, F: Field<B>> Field<B> for ScheduleTransfer<F> {
    fn dim(&self) -> usize {
        self.field.dim()
    }

    /// b_B(t, x) = (ṡ/s) x + s τ̇ b_A(τ, x/s).
    fn velocity(&self, t: f64, x: &B) -> Result<B> {
        let m = self.map(t)?;
        let y = shrink(x, m.scale)?;
        let b = self.field.velocity(m.tau, &y)?;
        velocity_at(&m, x, b)
    }

    /// s_B(t, x) = s_A(τ, x/s)/s.
    fn score(&self, t: f64, x: &B) -> Result<B> {
        let m = self.map(t)?;
        score_at(&m, self.field.score(m.tau, &shrink(x, m.scale)?)?)
    }

    /// η_B(t, x) = η_A(τ, x/s).
    fn denoiser(&self, t: f64, x: &B) -> Result<B> {
        let m = self.map(t)?;
        self.field.denoiser(m.tau, &shrink(x, m.scale)?)
    }

    /// v = b for one-sided interpolants.
    fn v(&self, t: f64, x: &B) -> Result<B> {
        self.velocity(t, x)
    }

    fn velocity_and_score(&self, t: f64, x: &B) -> Result<(B, B)> {
        let m = self.map(t)?;
        let y = shrink(x, m.scale)?;
        let (b, s) = self.field.velocity_and_score(m.tau, &y)?;
        Ok((velocity_at(&m, x, b)?, score_at(&m, s)?))
    }

    /// ∇·b_B = d ṡ/s + τ̇ ∇·b_A(τ, x/s).
    fn divergence(&self, t: f64, x: &B) -> Result<B::Rows> {
        let m = self.map(t)?;
        let div = self.field.divergence(m.tau, &shrink(x, m.scale)?)?;
        divergence_at(&m, x, &div)
    }

    fn velocity_and_divergence(&self, t: f64, x: &B) -> Result<(B, B::Rows)> {
        let m = self.map(t)?;
        let y = shrink(x, m.scale)?;
        let (b, div) = self.field.velocity_and_divergence(m.tau, &y)?;
        Ok((velocity_at(&m, x, b)?, divergence_at(&m, x, &div)?))
    }

    /// ∇·s_B = ∇·s_A(τ, x/s)/s².
    fn score_divergence(&self, t: f64, x: &B) -> Result<B::Rows> {
        let m = self.map(t)?;
        let div = self.field.score_divergence(m.tau, &shrink(x, m.scale)?)?;
        let mut rows = x.rows_zeros();
        B::rows_axpy(&mut rows, 1.0 / (m.scale * m.scale), &div)?;
        Ok(rows)
    }
}
