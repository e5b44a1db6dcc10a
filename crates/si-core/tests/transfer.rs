//! Schedule transfer against closed-form fields of Gaussian data (docs/math.md §8.2): for x1 ~ N(m, diag v)
//! and a one-sided path, x_t ~ N(β m, β² v + α²) per coordinate, with
//! b = β̇ m + (αα̇ + ββ̇ v)/(β² v + α²) (x − β m), s = −(x − β m)/(β² v + α²), η = α (x − β m)/(β² v + α²).
//! The field of A transferred to B must equal B's own field (b, s, η, ∇·b, ∇·s) to 1e-12.

use nalgebra::DVector;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, CoreError, Field, Interpolant, Points, ScheduleTransfer};

const M: [f64; 2] = [1.5, -0.7];
const V: [f64; 2] = [0.3, 2.0];

/// The closed-form fields of N(M, diag V) under a one-sided interpolant.
struct Gauss(Interpolant);

impl Gauss {
    /// Per coordinate: (β m, β² v + α², αα̇ + ββ̇ v) and the schedule.
    fn parts(&self, t: f64) -> (si_core::Schedule, [(f64, f64, f64); 2]) {
        let c = self.0.schedule(t).unwrap();
        let p = |k: usize| {
            (
                c.beta * M[k],
                c.beta * c.beta * V[k] + c.alpha * c.alpha,
                c.alpha_dalpha + c.beta * c.dbeta * V[k],
            )
        };
        (c, [p(0), p(1)])
    }

    fn map(
        &self,
        t: f64,
        x: &Points,
        f: impl Fn(usize, f64, &si_core::Schedule, (f64, f64, f64)) -> f64,
    ) -> Points {
        let (c, parts) = self.parts(t);
        let v: Vec<f64> = (0..x.len())
            .flat_map(|i| (0..2).map(move |k| (i, k)))
            .map(|(i, k)| f(k, x.matrix()[(k, i)], &c, parts[k]))
            .collect();
        Points::from_row_major(x.len(), 2, &v).unwrap()
    }
}

impl Field<Points> for Gauss {
    fn dim(&self) -> usize {
        2
    }
    fn velocity(&self, t: f64, x: &Points) -> si_core::Result<Points> {
        Ok(self.map(t, x, |k, xk, c, (mu, var, cov)| {
            c.dbeta * M[k] + cov / var * (xk - mu)
        }))
    }
    fn score(&self, t: f64, x: &Points) -> si_core::Result<Points> {
        Ok(self.map(t, x, |_, xk, _, (mu, var, _)| -(xk - mu) / var))
    }
    fn denoiser(&self, t: f64, x: &Points) -> si_core::Result<Points> {
        Ok(self.map(t, x, |_, xk, c, (mu, var, _)| c.alpha * (xk - mu) / var))
    }
    fn divergence(&self, t: f64, x: &Points) -> si_core::Result<DVector<f64>> {
        let (_, p) = self.parts(t);
        Ok(DVector::from_element(
            x.len(),
            p.iter().map(|(_, var, cov)| cov / var).sum(),
        ))
    }
    fn score_divergence(&self, t: f64, x: &Points) -> si_core::Result<DVector<f64>> {
        let (_, p) = self.parts(t);
        Ok(DVector::from_element(
            x.len(),
            p.iter().map(|(_, var, _)| -1.0 / var).sum(),
        ))
    }
}

const PATHS: [&str; 9] = [
    "edm",
    "ve:sigma_min=0.1,sigma_max=5",
    "vp",
    "vp:beta_min=0.5,beta_max=8",
    "fm",
    "fm:sigma_min=0.05",
    "one-sided-linear",
    "cosine",
    "linear-vp",
];

fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}: {g} vs {w}");
    }
}

#[test]
fn transfer_equals_the_targets_closed_form() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for a in PATHS {
        let ia: Interpolant = a.parse().unwrap();
        for b in PATHS {
            let ib: Interpolant = b.parse().unwrap();
            let tr = ScheduleTransfer::new(Gauss(ia.clone()), ia.clone(), ib.clone()).unwrap();
            let own = Gauss(ib.clone());
            let (l0, l1) = (ia.log_snr(0.0), ia.log_snr(1.0));
            let mut mapped = 0;
            for _ in 0..40 {
                let t: f64 = rng.random_range(1e-3..1.0 - 1e-3);
                let lb = ib.log_snr(t);
                let m = tr.map(t);
                if lb < l0 || lb > l1 {
                    assert!(
                        matches!(m, Err(CoreError::TransferRange { .. })),
                        "{a} -> {b} at {t}"
                    );
                    continue;
                }
                let m = m.unwrap();
                if a == b {
                    assert!((m.tau - t).abs() < 1e-14 && (m.scale - 1.0).abs() < 1e-12);
                }
                mapped += 1;
                let c = ib.schedule(t).unwrap();
                let x = Points::from_row_major(
                    3,
                    2,
                    &(0..6)
                        .map(|i| {
                            c.beta * M[i % 2]
                                + (c.beta * c.beta * V[i % 2] + c.alpha * c.alpha).sqrt()
                                    * rng.random_range(-2.0..2.0)
                        })
                        .collect::<Vec<_>>(),
                )
                .unwrap();
                let what = format!("{a} -> {b} at t = {t}");
                close(
                    tr.velocity(t, &x).unwrap().as_slice(),
                    own.velocity(t, &x).unwrap().as_slice(),
                    1e-12,
                    &what,
                );
                close(
                    tr.v(t, &x).unwrap().as_slice(),
                    own.velocity(t, &x).unwrap().as_slice(),
                    1e-12,
                    &what,
                );
                close(
                    tr.score(t, &x).unwrap().as_slice(),
                    own.score(t, &x).unwrap().as_slice(),
                    1e-12,
                    &what,
                );
                close(
                    tr.denoiser(t, &x).unwrap().as_slice(),
                    own.denoiser(t, &x).unwrap().as_slice(),
                    1e-12,
                    &what,
                );
                let (vb, vs) = tr.velocity_and_score(t, &x).unwrap();
                close(
                    vb.as_slice(),
                    own.velocity(t, &x).unwrap().as_slice(),
                    1e-12,
                    &what,
                );
                close(
                    vs.as_slice(),
                    own.score(t, &x).unwrap().as_slice(),
                    1e-12,
                    &what,
                );
                close(
                    tr.divergence(t, &x).unwrap().as_slice(),
                    own.divergence(t, &x).unwrap().as_slice(),
                    1e-11,
                    &what,
                );
                let (vb, vd) = tr.velocity_and_divergence(t, &x).unwrap();
                close(
                    vb.as_slice(),
                    own.velocity(t, &x).unwrap().as_slice(),
                    1e-12,
                    &what,
                );
                close(
                    vd.as_slice(),
                    own.divergence(t, &x).unwrap().as_slice(),
                    1e-11,
                    &what,
                );
                close(
                    tr.score_divergence(t, &x).unwrap().as_slice(),
                    own.score_divergence(t, &x).unwrap().as_slice(),
                    1e-11,
                    &what,
                );
            }
            assert!(mapped >= 5, "{a} -> {b}: {mapped} times mapped");
        }
    }
}

/// The ends: both paths at pure noise (t = 0) or clean data (t = 1) with finite derivatives take the limits.
#[test]
fn transfer_at_the_ends() {
    let paths = ["fm", "one-sided-linear", "cosine", "fm:sigma_min=0"];
    for a in paths {
        let ia: Interpolant = a.parse().unwrap();
        for b in paths {
            let ib: Interpolant = b.parse().unwrap();
            let tr = ScheduleTransfer::new(Gauss(ia.clone()), ia.clone(), ib.clone()).unwrap();
            let own = Gauss(ib.clone());
            let x = Points::from_row_major(2, 2, &[0.3, -1.2, 2.0, 0.5]).unwrap();
            for t in [0.0, 1.0] {
                let m = tr.map(t).unwrap();
                assert_eq!(m.tau, t);
                let what = format!("{a} -> {b} at {t}");
                close(
                    tr.velocity(t, &x).unwrap().as_slice(),
                    own.velocity(t, &x).unwrap().as_slice(),
                    1e-12,
                    &what,
                );
            }
        }
    }
    // VP starts short of pure noise (β(0) > 0) and EDM never reaches it: the noise end of fm is refused
    for a in ["vp", "edm"] {
        let tr = ScheduleTransfer::new(
            Gauss(a.parse().unwrap()),
            a.parse().unwrap(),
            "fm".parse().unwrap(),
        )
        .unwrap();
        assert!(
            matches!(tr.map(0.0), Err(CoreError::TransferRange { .. })),
            "{a}"
        );
    }
    // EDM's data end has α(1) = σ_min > 0: fm's t = 1 (α = 0) is out of its range
    let tr = ScheduleTransfer::new(
        Gauss("edm".parse().unwrap()),
        "edm".parse().unwrap(),
        "fm".parse().unwrap(),
    )
    .unwrap();
    assert!(tr.map(1.0).is_err());
    // a time outside [0, 1]
    assert!(matches!(tr.map(1.5), Err(CoreError::TimeOutOfRange { .. })));
}

#[test]
fn transfer_refuses_other_sidedness_and_reports_its_parts() {
    let fm: Interpolant = "fm".parse().unwrap();
    let lin: Interpolant = "linear".parse().unwrap();
    assert!(ScheduleTransfer::new(Gauss(fm.clone()), fm.clone(), lin.clone()).is_err());
    assert!(ScheduleTransfer::new(Gauss(fm.clone()), lin, fm.clone()).is_err());
    let cos: Interpolant = "cosine".parse().unwrap();
    let tr = ScheduleTransfer::new(Gauss(fm.clone()), fm.clone(), cos.clone()).unwrap();
    assert_eq!(tr.from(), &fm);
    assert_eq!(tr.to(), &cos);
    assert_eq!(tr.inner().0, fm);
    assert_eq!(Field::<Points>::dim(&tr), 2);
}

/// The end limits of τ̇ and ṡ/s are the limits of the interior values: one-sided differences of τ(t) and
/// ln s(t) next to each end (the fields alone cannot show τ̇ at the data end, where its terms cancel).
#[test]
fn end_limits_continue_the_interior() {
    for (a, b) in [
        ("fm", "cosine"),
        ("cosine", "fm"),
        ("one-sided-linear", "fm:sigma_min=0"),
        ("cosine", "one-sided-linear"),
    ] {
        let (ia, ib): (Interpolant, Interpolant) = (a.parse().unwrap(), b.parse().unwrap());
        let tr = ScheduleTransfer::new(Gauss(ia.clone()), ia, ib).unwrap();
        let h = 1e-6;
        for (t, inner) in [(0.0, h), (1.0, 1.0 - h)] {
            let (m, n) = (tr.map(t).unwrap(), tr.map(inner).unwrap());
            let slope = (n.tau - m.tau) / (inner - t);
            let dlog = (n.scale.ln() - m.scale.ln()) / (inner - t);
            assert!(
                (m.dtau - slope).abs() < 1e-4 * (1.0 + slope.abs()),
                "{a} -> {b} at {t}: dtau {} vs {slope}",
                m.dtau
            );
            assert!(
                (m.dlog_scale - dlog).abs() < 1e-4 * (1.0 + dlog.abs()),
                "{a} -> {b} at {t}: dlog {} vs {dlog}",
                m.dlog_scale
            );
        }
    }
    // linear-VP's α̇ is −∞ at t = 1: mapping flow matching onto it there would need an infinite τ̇, refused
    let fm: Interpolant = "fm".parse().unwrap();
    let tr = ScheduleTransfer::new(Gauss(fm.clone()), fm, "linear-vp".parse().unwrap()).unwrap();
    assert!(matches!(tr.map(1.0), Err(CoreError::TransferRange { .. })));
}
