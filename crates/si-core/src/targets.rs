//! Sampling x_t and the regression targets of the quadratic losses (arXiv 2303.08797, §2.2, eqs. 2.13–2.17).

use nalgebra::DMatrix;

use crate::batch::{Batch, Points};
use crate::error::{check_time, CoreError, Result};
use crate::interpolant::{Interpolant, Sidedness};

/// x_t and the targets whose conditional means are the fields.
///
/// Two-sided: x_t = α x0 + β x1 + γ z; targets b: α̇ x0 + β̇ x1 + γ̇ z, η: z, s: −z/γ, v: α̇ x0 + β̇ x1.
/// One-sided (x0 ~ N(0, I) is the noise, z unused): x_t = α x0 + β x1; b = v: α̇ x0 + β̇ x1, η: x0, s: −x0/α.
/// Mirror: x_t = x1 + γ z; b: γ̇ z, η: z, s: −z/γ, v: 0.
#[derive(Clone, Debug)]
pub struct Targets {
    /// The interpolant samples x_t.
    pub xt: Points,
    /// Target of the velocity b.
    pub b: Points,
    /// Target of the denoiser η.
    pub eta: Points,
    /// Target of the score s, −η/σ; `None` when the noise scale σ (γ, or α one-sided) is 0 at one of the
    /// times, where the score target does not exist (e.g. γ ≡ 0, or t at an end).
    pub s: Option<Points>,
    /// Target of v.
    pub v: Points,
}

impl Interpolant {
    /// x_t and targets for a batch with one time per point. `z` is ignored by one-sided interpolants.
    /// With `antithetic`, z is replaced by −z (pair this call with the plain one for variance control).
    pub fn targets(
        &self,
        t: &[f64],
        x0: &Points,
        x1: &Points,
        z: &Points,
        antithetic: bool,
    ) -> Result<Targets> {
        let (n, d) = (x1.len(), x1.dim());
        for (name, p) in [("x0", x0), ("z", z)] {
            if p.len() != n || p.dim() != d {
                return Err(CoreError::ShapeMismatch {
                    expected: format!("{name}: {n} points of dimension {d}"),
                    got: format!("{} points of dimension {}", p.len(), p.dim()),
                });
            }
        }
        if t.len() != n {
            return Err(CoreError::ShapeMismatch {
                expected: format!("{n} times"),
                got: format!("{} times", t.len()),
            });
        }
        let sign = if antithetic { -1.0 } else { 1.0 };
        let mut out = [(); 5].map(|_| DMatrix::zeros(d, n));
        for (i, &ti) in t.iter().enumerate() {
            check_time(ti)?;
            let c = self.schedule_unchecked(ti);
            let (a0, a1, az) = (x0.point(i), x1.point(i), z.point(i));
            for k in 0..d {
                let (u0, u1, uz) = (a0[k], a1[k], sign * az[k]);
                let (xt, b, eta, v) = match self.sidedness() {
                    Sidedness::TwoSided => (
                        c.alpha * u0 + c.beta * u1 + c.gamma * uz,
                        c.dalpha * u0 + c.dbeta * u1 + c.dgamma * uz,
                        uz,
                        c.dalpha * u0 + c.dbeta * u1,
                    ),
                    Sidedness::OneSided => {
                        let u0 = sign * u0;
                        let b = c.dalpha * u0 + c.dbeta * u1;
                        (c.alpha * u0 + c.beta * u1, b, u0, b)
                    }
                    Sidedness::Mirror => (u1 + c.gamma * uz, c.dgamma * uz, uz, 0.0),
                };
                out[0][(k, i)] = xt;
                out[1][(k, i)] = b;
                out[2][(k, i)] = eta;
                out[3][(k, i)] = -eta / c.noise_scale;
                out[4][(k, i)] = v;
            }
        }
        let score_exists = t
            .iter()
            .all(|&ti| self.schedule_unchecked(ti).noise_scale > 0.0);
        let [xt, b, eta, s, v] = out.map(Points::from_matrix_unchecked);
        for (what, p) in [
            ("x_t", &xt),
            ("the target of b", &b),
            ("the target of v", &v),
        ] {
            if p.as_slice().iter().any(|x| !x.is_finite()) {
                return Err(CoreError::SingularTarget { what });
            }
        }
        let s = score_exists.then_some(s);
        Ok(Targets { xt, b, eta, s, v })
    }
}
