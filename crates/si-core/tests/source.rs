//! Target sources: the built-in interpolant source gives the same x_t and targets as `Interpolant::targets`
//! (an independent formula, written per family), and its draws have the stated laws.

use proptest::prelude::*;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{
    CoreError, CouplingPairs, Gamma, Independent, Interpolant, InterpolantSource, PairSource,
    Pairs, Points, StandardNormal, TargetSource, TimeRange,
};

/// Fixed pairs (x0_i, x1_i) = (i, 10 + i) in every coordinate, so each row of a draw can be traced.
struct Fixed {
    dim: usize,
}

impl PairSource for Fixed {
    fn dim(&self) -> usize {
        self.dim
    }
    fn draw_pairs(&self, n: usize, _rng: &mut dyn RngCore) -> si_core::Result<Pairs> {
        let x0: Vec<f64> = (0..n * self.dim).map(|j| (j / self.dim) as f64).collect();
        let x1: Vec<f64> = x0.iter().map(|v| 10.0 + v).collect();
        Ok(Pairs {
            x0: Points::from_row_major(n, self.dim, &x0)?,
            x1: Points::from_row_major(n, self.dim, &x1)?,
            context: None,
        })
    }
}

fn interpolants() -> Vec<Interpolant> {
    vec![
        Interpolant::linear(Gamma::brownian()).unwrap(),
        Interpolant::linear(Gamma::Zero).unwrap(),
        Interpolant::trigonometric(Gamma::Quadratic).unwrap(),
        Interpolant::encoder_decoder(),
        Interpolant::one_sided_linear(),
        Interpolant::one_sided_vp(),
        Interpolant::one_sided_sqrt(),
        Interpolant::mirror(Gamma::sqrt(2.0).unwrap()).unwrap(),
    ]
}

fn close(a: &Points, b: &Points, what: &str) {
    for (u, v) in a.as_slice().iter().zip(b.as_slice()) {
        assert!(
            (u - v).abs() <= 1e-12 * (1.0 + v.abs()),
            "{what}: {u} vs {v}"
        );
    }
}

#[test]
fn draws_give_the_targets_of_the_interpolant() {
    for it in interpolants() {
        let src =
            InterpolantSource::new(it.clone(), Fixed { dim: 3 }, TimeRange::new(1e-3).unwrap());
        let d = src.draw(50, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        let got = d.targets().unwrap();
        let pairs = Fixed { dim: 3 }
            .draw_pairs(50, &mut ChaCha8Rng::seed_from_u64(0))
            .unwrap();
        let t = d.t.as_slice().to_vec();
        // One-sided interpolants use x0 as their Gaussian (ζ = x0); the others draw ζ = z.
        let (x0, z) = match it.sidedness() {
            si_core::Sidedness::OneSided => {
                assert_eq!(d.zeta, pairs.x0, "one-sided: zeta is x0");
                (pairs.x0.clone(), Points::zeros(50, 3))
            }
            _ => (pairs.x0.clone(), d.zeta.clone()),
        };
        let want = it.targets(&t, &x0, &pairs.x1, &z, false).unwrap();
        let name = it.to_string();
        close(&got.xt, &want.xt, &format!("{name} x_t"));
        close(&got.b, &want.b, &format!("{name} b"));
        close(&got.eta, &want.eta, &format!("{name} eta"));
        close(&got.v, &want.v, &format!("{name} v"));
        match (&got.s, &want.s) {
            (Some(a), Some(b)) => close(a, b, &format!("{name} s")),
            (None, None) => {}
            _ => panic!("{name}: the score target exists in one and not the other"),
        }
        assert!(t.iter().all(|&ti| (1e-3..=1.0 - 1e-3).contains(&ti)));
    }
}

#[test]
fn times_and_noise_have_the_stated_laws() {
    // n = 40,000: the mean of t within 5 standard errors of ½ (sd of U[a, b] is (b − a)/√12); ζ's mean and
    // variance within 5 standard errors of 0 and 1 (false-alarm rate about 6e-7 each).
    let it = Interpolant::linear(Gamma::brownian()).unwrap();
    let pairs = CouplingPairs(
        Independent::new(StandardNormal { dim: 1 }, StandardNormal { dim: 1 }).unwrap(),
    );
    let src = InterpolantSource::new(it, pairs, TimeRange::new(0.1).unwrap());
    let n = 40_000;
    let d = src.draw(n, &mut ChaCha8Rng::seed_from_u64(7)).unwrap();
    let nf = n as f64;
    let mt = d.t.mean();
    assert!(
        (mt - 0.5).abs() < 5.0 * 0.8 / 12f64.sqrt() / nf.sqrt(),
        "mean t {mt}"
    );
    assert!(d.t.iter().all(|&t| (0.1..=0.9).contains(&t)));
    let z = d.zeta.as_slice();
    let mz = z.iter().sum::<f64>() / nf;
    let vz = z.iter().map(|v| (v - mz).powi(2)).sum::<f64>() / (nf - 1.0);
    assert!(mz.abs() < 5.0 / nf.sqrt(), "mean zeta {mz}");
    assert!((vz - 1.0).abs() < 5.0 * (2.0 / nf).sqrt(), "var zeta {vz}");
}

#[test]
fn bad_time_ranges_and_shapes_are_typed_errors() {
    for t_min in [-0.1, 0.5, 0.7, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            TimeRange::new(t_min),
            Err(CoreError::InvalidParameter { name: "t_min", .. })
        ));
    }
    /// A pair source that lies about its dimension.
    struct Liar;
    impl PairSource for Liar {
        fn dim(&self) -> usize {
            2
        }
        fn draw_pairs(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Pairs> {
            Ok(Pairs {
                x0: Points::standard_normal(n, 3, rng),
                x1: Points::standard_normal(n, 3, rng),
                context: None,
            })
        }
    }
    let src = InterpolantSource::new(
        Interpolant::one_sided_linear(),
        Liar,
        TimeRange::new(0.0).unwrap(),
    );
    assert!(matches!(
        src.draw(4, &mut ChaCha8Rng::seed_from_u64(0)),
        Err(CoreError::ShapeMismatch { .. })
    ));
}

proptest! {
    #[test]
    fn x_t_is_m_plus_sigma_zeta(seed in any::<u64>(), n in 1usize..40, k in 0usize..8) {
        let it = interpolants()[k].clone();
        let src = InterpolantSource::new(it, Fixed { dim: 2 }, TimeRange::new(1e-3).unwrap());
        let d = src.draw(n, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
        let tg = d.targets().unwrap();
        for i in 0..n {
            for c in 0..2 {
                let xt = d.m.point(i)[c] + d.sigma[i] * d.zeta.point(i)[c];
                prop_assert!((tg.xt.point(i)[c] - xt).abs() < 1e-12);
                let b = d.dm.point(i)[c] + d.dsigma[i] * d.zeta.point(i)[c];
                prop_assert!((tg.b.point(i)[c] - b).abs() < 1e-9 * (1.0 + b.abs()));
            }
        }
    }
}
