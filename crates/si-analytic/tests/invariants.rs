//! Property tests of the exact fields: s = ∇ log ρ, the continuity equation, ∇·b, η = −γ s,
//! b = v − γγ̇ s, finiteness on [0, 1], and consistency of the per-point and shared-time paths.

mod common;

use common::all_fields_2d;
use proptest::prelude::*;
use si_core::{Batch, Field, Points};

fn pt(x: f64, y: f64) -> Points {
    Points::from_row_major(1, 2, &[x, y]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// s = ∇ log ρ, checked by central differences.
    #[test]
    fn score_is_gradient_of_log_density(t in 0.02f64..0.98, x in -5.0f64..5.0, y in -5.0f64..5.0, which in 0usize..12) {
        let f = &all_fields_2d()[which];
        let h = 1e-5;
        let s = f.score(t, &pt(x, y)).unwrap().to_row_major();
        let lp = |a: f64, b: f64| f.log_density(t, &pt(a, b)).unwrap()[0];
        let gx = (lp(x + h, y) - lp(x - h, y)) / (2.0 * h);
        let gy = (lp(x, y + h) - lp(x, y - h)) / (2.0 * h);
        prop_assert!((s[0] - gx).abs() < 1e-5 * (1.0 + gx.abs()), "{} {} {}", f.interpolant().name(), s[0], gx);
        prop_assert!((s[1] - gy).abs() < 1e-5 * (1.0 + gy.abs()));
    }

    /// ∂t log ρ + ∇·b + b·∇log ρ = 0 (the continuity equation ∂tρ + ∇·(bρ) = 0 divided by ρ),
    /// with ∂t by central differences and ∇·b by central differences of b.
    #[test]
    fn continuity_equation_holds(t in 0.05f64..0.95, x in -5.0f64..5.0, y in -5.0f64..5.0, which in 0usize..12) {
        let f = &all_fields_2d()[which];
        // the encoder–decoder's α, β have a kink at ½: keep the stencil on one side
        prop_assume!((t - 0.5).abs() > 1e-3);
        let h = 1e-5;
        let p = pt(x, y);
        let dt_log = (f.log_density(t + h, &p).unwrap()[0] - f.log_density(t - h, &p).unwrap()[0]) / (2.0 * h);
        let v = f.evaluate(t, &p, true).unwrap();
        let (b, s) = (v.b.to_row_major(), v.s.to_row_major());
        let bx = |a: f64, c: f64| f.velocity(t, &pt(a, c)).unwrap().to_row_major();
        let fd_div = (bx(x + h, y)[0] - bx(x - h, y)[0]) / (2.0 * h) + (bx(x, y + h)[1] - bx(x, y - h)[1]) / (2.0 * h);
        let div = v.div.unwrap()[0];
        prop_assert!((div - fd_div).abs() < 1e-4 * (1.0 + div.abs()), "div {} fd {}", div, fd_div);
        let residual = dt_log + div + b[0] * s[0] + b[1] * s[1];
        let scale = 1.0 + dt_log.abs() + div.abs() + (b[0] * s[0]).abs() + (b[1] * s[1]).abs();
        prop_assert!(residual.abs() < 1e-4 * scale, "{}: residual {}", f.interpolant().name(), residual);
    }

    /// ∇·s = Δ log ρ by central differences of s, and `drift_terms` gives b, s and ∇·(b + c s) of the
    /// same evaluation.
    #[test]
    fn score_divergence_is_the_laplacian_of_log_density(t in 0.05f64..0.95, x in -5.0f64..5.0, y in -5.0f64..5.0, c in 0.0f64..3.0, which in 0usize..12) {
        let f = &all_fields_2d()[which];
        let h = 1e-5;
        let p = pt(x, y);
        let sx = |a: f64, b: f64| f.score(t, &pt(a, b)).unwrap().to_row_major();
        let fd = (sx(x + h, y)[0] - sx(x - h, y)[0]) / (2.0 * h) + (sx(x, y + h)[1] - sx(x, y - h)[1]) / (2.0 * h);
        let ds = f.score_divergence(t, &p).unwrap()[0];
        prop_assert!((ds - fd).abs() < 1e-4 * (1.0 + ds.abs()), "{}: div s {} fd {}", f.interpolant().name(), ds, fd);
        let terms = f.drift_terms(t, &p, c).unwrap();
        let (b, div) = f.velocity_and_divergence(t, &p).unwrap();
        prop_assert_eq!(terms.b.to_row_major(), b.to_row_major());
        prop_assert_eq!(terms.s.to_row_major(), f.score(t, &p).unwrap().to_row_major());
        prop_assert!((terms.divergence[0] - (div[0] + c * ds)).abs() < 1e-12 * (1.0 + div[0].abs() + c * ds.abs()));
    }

    /// η = −σ s and b = v − γγ̇ s.
    #[test]
    fn denoiser_and_v_relations(t in 0.0f64..=1.0, x in -5.0f64..5.0, y in -5.0f64..5.0, which in 0usize..12) {
        let f = &all_fields_2d()[which];
        let p = pt(x, y);
        let c = f.interpolant().schedule(t).unwrap();
        let (b, s) = f.velocity_and_score(t, &p).unwrap();
        let eta = f.denoiser(t, &p).unwrap();
        let v = f.v(t, &p).unwrap();
        for k in 0..2 {
            let (bk, sk) = (b.as_slice()[k], s.as_slice()[k]);
            prop_assert!((eta.as_slice()[k] + c.noise_scale * sk).abs() < 1e-12 * (1.0 + sk.abs()));
            prop_assert!((bk - (v.as_slice()[k] - c.gamma_dgamma * sk)).abs() < 1e-10 * (1.0 + bk.abs()));
        }
    }

    /// Every field is finite on [0, 1], ends included, far from the modes too.
    #[test]
    fn finite_everywhere(t in prop_oneof![Just(0.0), Just(1.0), Just(0.5), 0.0f64..=1.0], x in -40.0f64..40.0, y in -40.0f64..40.0, which in 0usize..12) {
        let f = &all_fields_2d()[which];
        let v = f.evaluate(t, &pt(x, y), true).unwrap();
        prop_assert!(v.log_rho[0].is_finite());
        prop_assert!(v.b.as_slice().iter().chain(v.s.as_slice()).all(|a| a.is_finite()));
        prop_assert!(v.div.unwrap()[0].is_finite());
    }

    /// The per-point-time path agrees with the shared-time path.
    #[test]
    fn per_point_matches_shared_time(t in 0.0f64..=1.0, x in -5.0f64..5.0, y in -5.0f64..5.0, which in 0usize..12) {
        let f = &all_fields_2d()[which];
        let p = Points::from_row_major(2, 2, &[x, y, y, x]).unwrap();
        let a = f.evaluate(t, &p, true).unwrap();
        for with_div in [true, false] {
            // with the divergence: the general path; without: the fused fixed-dimension kernel
            let b = f.evaluate_per_point(&[t, t], &p, with_div).unwrap();
            let close = |u: &[f64], v: &[f64]| u.iter().zip(v).all(|(x, y)| (x - y).abs() <= 1e-11 * (1.0 + x.abs()));
            prop_assert!(close(a.b.as_slice(), b.b.as_slice()), "{:?} {:?}", a.b, b.b);
            prop_assert!(close(a.s.as_slice(), b.s.as_slice()));
            prop_assert!(close(&a.log_rho, &b.log_rho));
        }
    }
}

/// ∫ ρ(t, x) dx = 1 on a grid, for the 1-D pair at several times.
#[test]
fn density_integrates_to_one() {
    let (r0, r1) = common::pair_1d();
    for it in common::two_sided_interpolants() {
        let f = si_analytic::MixtureFields::new(r0.clone(), r1.clone(), it).unwrap();
        for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let n = 8000;
            let (lo, hi) = (-15.0, 15.0);
            let h = (hi - lo) / n as f64;
            let xs: Vec<f64> = (0..n).map(|i| lo + (i as f64 + 0.5) * h).collect();
            let p = Points::from_row_major(n, 1, &xs).unwrap();
            let mass: f64 = f
                .log_density(t, &p)
                .unwrap()
                .iter()
                .map(|l| l.exp() * h)
                .sum();
            assert!(
                (mass - 1.0).abs() < 1e-6,
                "{} t={t}: mass {mass}",
                f.interpolant().name()
            );
        }
    }
}

/// At the ends ρ(0) = ρ0 and ρ(1) = ρ1 exactly.
#[test]
fn endpoint_densities_match_the_mixtures() {
    let (r0, r1) = common::pair_2d();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(3);
    let x = r1.sample(50, &mut rng);
    for it in common::two_sided_interpolants() {
        let f = si_analytic::MixtureFields::new(r0.clone(), r1.clone(), it).unwrap();
        let a = f.log_density(0.0, &x).unwrap();
        let b = f.log_density(1.0, &x).unwrap();
        for (i, (a, b)) in a.iter().zip(&b).enumerate() {
            assert!((a - r0.log_density(&x).unwrap()[i]).abs() < 1e-10);
            assert!((b - r1.log_density(&x).unwrap()[i]).abs() < 1e-10);
        }
    }
    assert_eq!(x.len(), 50);
}
