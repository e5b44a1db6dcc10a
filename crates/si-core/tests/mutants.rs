//! Tests written to kill mutants that `cargo mutants` found missed (docs/mutation.md). Every expected value
//! comes from an independent truth: a closed form worked out by hand, a finite difference, or the limit of a
//! one-sided derivative, never from the formula under test.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::metrics::{energy_distance, knn_kl, ks_critical_5pct, ks_statistic, relative_l2};
use si_core::{
    Batch, Coefficients, CoreError, CouplingPairs, CustomCoefficients, CustomGamma, Draw, Gamma,
    Independent, Interpolant, InterpolantSource, PairSource, Pairs, Points, Sidedness,
    StandardNormal, TargetSource, TimeRange,
};

/// γ = √(a t(1−t)): γ̇ against central differences inside (0, 1), and the one-sided limits at the ends:
/// γ̇ → +∞ as t → 0⁺ and −∞ as t → 1⁻ (γ ~ √(a t) near 0, √(a(1−t)) near 1).
#[test]
fn sqrt_gamma_derivative_matches_differences_and_end_limits() {
    for a in [1.0, 2.5] {
        let g = Gamma::sqrt(a).unwrap();
        for t in [0.1, 0.3, 0.5, 0.7, 0.9] {
            let h = 1e-6;
            let fd = (g.gamma(t + h) - g.gamma(t - h)) / (2.0 * h);
            assert!(
                (g.dgamma(t) - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "a = {a}, t = {t}"
            );
        }
        assert_eq!(g.dgamma(0.0), f64::INFINITY, "a = {a}");
        assert_eq!(g.dgamma(1.0), f64::NEG_INFINITY, "a = {a}");
        // the schedule (fused path) has the same end limits
        let s0 = Interpolant::linear(g.clone())
            .unwrap()
            .schedule(0.0)
            .unwrap();
        let s1 = Interpolant::linear(g).unwrap().schedule(1.0).unwrap();
        assert_eq!(s0.dgamma, f64::INFINITY);
        assert_eq!(s1.dgamma, f64::NEG_INFINITY);
    }
}

/// A custom α, β: αα̇ is d/dt(α²/2), checked against its closed form and a central difference.
#[test]
fn custom_coefficients_alpha_dalpha_is_the_product() {
    // α = 1 − t², α̇ = −2t: αα̇ = −2t(1 − t²).
    let c = Coefficients::Custom(CustomCoefficients::new("1-t^2", |t| {
        [1.0 - t * t, -2.0 * t, t, 1.0]
    }));
    for t in [0.2, 0.5, 0.8] {
        let ab = c.eval(t, &Gamma::Zero);
        let closed = -2.0 * t * (1.0 - t * t);
        let h = 1e-6;
        let half_sq = |s: f64| 0.5 * (1.0 - s * s).powi(2);
        let fd = (half_sq(t + h) - half_sq(t - h)) / (2.0 * h);
        assert!((ab.alpha_dalpha - closed).abs() < 1e-12, "t = {t}");
        assert!((ab.alpha_dalpha - fd).abs() < 1e-6, "t = {t}");
    }
}

/// Clones of a custom γ are equal (also without a closed-form γγ̇); different closures are not.
#[test]
fn custom_gamma_clones_are_equal() {
    let g = Gamma::Custom(CustomGamma::new("q", |t| t * (1.0 - t), |t| 1.0 - 2.0 * t));
    assert_eq!(g.clone(), g);
    let h = Gamma::Custom(CustomGamma::new("q", |t| t * (1.0 - t), |t| 1.0 - 2.0 * t));
    assert_ne!(g, h);
    let with = CustomGamma::new("q", |t| t * (1.0 - t), |t| 1.0 - 2.0 * t)
        .with_gamma_dgamma(|t| t * (1.0 - t) * (1.0 - 2.0 * t));
    let with = Gamma::Custom(with);
    assert_eq!(with.clone(), with);
}

/// The one-sided family is valid through the checked constructor too (γ ≡ 0 is zero).
#[test]
fn one_sided_interpolants_pass_validation() {
    assert!(Gamma::Zero.is_zero());
    assert!(!Gamma::Quadratic.is_zero());
    for c in [
        Coefficients::Linear,
        Coefficients::VariancePreserving,
        Coefficients::SqrtOneMinusTSquared,
    ] {
        let it = Interpolant::new(Sidedness::OneSided, c, Gamma::Zero);
        assert!(it.is_ok(), "{it:?}");
    }
}

/// γ(½) = 1 is allowed for the trigonometric family (the bound is γ ≤ 1): α = β = 0 there.
#[test]
fn trigonometric_accepts_gamma_reaching_one() {
    let it = Interpolant::trigonometric(Gamma::SinSquared).unwrap();
    let s = it.schedule(0.5).unwrap();
    assert!((s.gamma - 1.0).abs() < 1e-15);
    assert!(s.alpha.abs() < 1e-15 && s.beta.abs() < 1e-15);
}

/// The closed-form γγ̇ of a custom γ is accepted when it agrees with γ·γ̇ to rounding: 1e-10 absolute where
/// γγ̇ crosses 0 (t = ½) and 1e-10 relative where |γγ̇| ≈ 960 (γ = 100 t(1−t)). A 1 % error is rejected.
#[test]
fn closed_form_gamma_dgamma_tolerance_is_relative_and_absolute() {
    let ok = CustomGamma::new(
        "100t(1-t)",
        |t| 100.0 * t * (1.0 - t),
        |t| 100.0 * (1.0 - 2.0 * t),
    )
    .with_gamma_dgamma(|t| {
        let exact = 1e4 * t * (1.0 - t) * (1.0 - 2.0 * t);
        exact * (1.0 + 1e-10) + 1e-10
    });
    assert!(Interpolant::linear(Gamma::Custom(ok)).is_ok());
    let bad = CustomGamma::new(
        "100t(1-t)",
        |t| 100.0 * t * (1.0 - t),
        |t| 100.0 * (1.0 - 2.0 * t),
    )
    .with_gamma_dgamma(|t| 1.01e4 * t * (1.0 - t) * (1.0 - 2.0 * t));
    assert!(matches!(
        Interpolant::linear(Gamma::Custom(bad)),
        Err(CoreError::InvalidParameter { .. })
    ));
}

/// Energy distance of small 2-D samples with distances from 3-4-5 triangles, worked out by hand:
/// x = {(0,0), (3,4)}, y = {(0,0), (0,0), (6,8)}: E|X−Y| = 25/6, E|X−X'| = 10/4, E|Y−Y'| = 40/9,
/// E = 2·25/6 − 5/2 − 40/9 = 25/18.
#[test]
fn energy_distance_by_hand() {
    let x = Points::from_row_major(2, 2, &[0.0, 0.0, 3.0, 4.0]).unwrap();
    let y = Points::from_row_major(3, 2, &[0.0, 0.0, 0.0, 0.0, 6.0, 8.0]).unwrap();
    let e = energy_distance(&x, &y).unwrap();
    assert!((e - 25.0 / 18.0).abs() < 1e-12, "{e}");
    let e = energy_distance(&y, &x).unwrap();
    assert!((e - 25.0 / 18.0).abs() < 1e-12, "{e}");
    // an empty sample on either side, or dimension 0, is an error
    assert!(energy_distance(&x, &Points::zeros(0, 2)).is_err());
    assert!(energy_distance(&Points::zeros(0, 2), &x).is_err());
    assert!(energy_distance(&Points::zeros(2, 0), &Points::zeros(3, 0)).is_err());
}

/// One sample point at 0.2 against U(0, 1): F_n jumps from 0 to 1 at 0.2, so D = max(0.2, 0.8) = 0.8.
#[test]
fn ks_of_one_point() {
    let d = ks_statistic(&[0.2], |x| x.clamp(0.0, 1.0)).unwrap();
    assert!((d - 0.8).abs() < 1e-15, "{d}");
    // two points (unsorted) at 0.2 and 0.1: F_n = 1 from 0.2 on, where F = 0.2, so D = 0.8
    let d = ks_statistic(&[0.2, 0.1], |x| x.clamp(0.0, 1.0)).unwrap();
    assert!((d - 0.8).abs() < 1e-15, "{d}");
}

/// The 5 % critical value of √n D_n: the Kolmogorov tail P(K > x) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²x²}
/// (evaluated here from its series) is 0.05 at x = √n · ks_critical_5pct(n).
#[test]
fn ks_critical_value_is_the_kolmogorov_5pct_quantile() {
    let tail = |x: f64| -> f64 {
        (1..50)
            .map(|k| {
                let k = k as f64;
                2.0 * (-1f64).powf(k - 1.0) * (-2.0 * k * k * x * x).exp()
            })
            .sum()
    };
    for n in [10usize, 100, 2500] {
        let x = ks_critical_5pct(n) * (n as f64).sqrt();
        assert!(
            (tail(x) - 0.05).abs() < 5e-4,
            "n = {n}: x = {x}, tail {}",
            tail(x)
        );
    }
}

/// relative_l2 needs the same number of points and the same dimension (non-zero references).
#[test]
fn relative_l2_shape_checks() {
    let a = Points::from_row_major(2, 2, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let more = Points::from_row_major(3, 2, &[1.0; 6]).unwrap();
    let wider = Points::from_row_major(2, 3, &[1.0; 6]).unwrap();
    assert!(matches!(
        relative_l2(&a, &more),
        Err(CoreError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        relative_l2(&a, &wider),
        Err(CoreError::ShapeMismatch { .. })
    ));
    assert!(relative_l2(&a, &a).unwrap() == 0.0);
}

/// The 1-nearest-neighbour KL estimate on hand-checkable configurations (Wang, Kulkarni & Verdú 2009,
/// eq. 5, evaluated by hand). p = {0, 1, 3}, q = {0.5, 5, 10} on a line: ρ = (1, 1, 2), ν = (0.5, 0.5, 2), so
/// Σ log(ν/ρ) = 2 log ½ and KL̂ = (d/3)·2 log ½ + log(3/2). The same points on a line in 2-D (unit direction
/// (0.6, 0.8)) give the same distances, so only the factor d changes.
#[test]
fn knn_kl_by_hand() {
    let (pv, qv) = ([0.0, 1.0, 3.0], [0.5, 5.0, 10.0]);
    let p1 = Points::from_row_major(3, 1, &pv).unwrap();
    let q1 = Points::from_row_major(3, 1, &qv).unwrap();
    let exact1 = 2.0 * 0.5f64.ln() / 3.0 + 1.5f64.ln();
    let k1 = knn_kl(&p1, &q1).unwrap();
    assert!((k1 - exact1).abs() < 1e-12, "{k1} vs {exact1}");
    let line = |v: &[f64]| -> Vec<f64> { v.iter().flat_map(|x| [0.6 * x, 0.8 * x]).collect() };
    let p2 = Points::from_row_major(3, 2, &line(&pv)).unwrap();
    let q2 = Points::from_row_major(3, 2, &line(&qv)).unwrap();
    let exact2 = 2.0 * 2.0 * 0.5f64.ln() / 3.0 + 1.5f64.ln();
    let k2 = knn_kl(&p2, &q2).unwrap();
    assert!((k2 - exact2).abs() < 1e-12, "{k2} vs {exact2}");
    // the smallest valid sizes: n = 2, m = 1. p = {0, 1}, q = {0.5}: ρ = (1, 1), ν = (½, ½),
    // KL̂ = (1/2)·2 log ½ + log(1/1) = log ½.
    let p = Points::from_row_major(2, 1, &[0.0, 1.0]).unwrap();
    let q = Points::from_row_major(1, 1, &[0.5]).unwrap();
    assert!((knn_kl(&p, &q).unwrap() - 0.5f64.ln()).abs() < 1e-12);
    // too small: one point of p, no point of q, dimension 0
    assert!(knn_kl(&q, &p).is_err());
    assert!(knn_kl(&p, &Points::zeros(0, 1)).is_err());
    assert!(knn_kl(&Points::zeros(3, 0), &Points::zeros(3, 0)).is_err());
}

/// Pairs (x0, x1) = (0, 1) per coordinate with a k-vector context per pair, optionally of a wrong shape.
struct WithContext {
    dim: usize,
    k: usize,
    /// (extra vectors, extra entries per vector) of the returned context.
    off: (usize, usize),
}

impl PairSource for WithContext {
    fn dim(&self) -> usize {
        self.dim
    }
    fn context_dim(&self) -> usize {
        self.k
    }
    fn draw_pairs(&self, n: usize, _rng: &mut dyn RngCore) -> si_core::Result<Pairs> {
        let (cn, ck) = (n + self.off.0, self.k + self.off.1);
        Ok(Pairs {
            x0: Points::zeros(n, self.dim),
            x1: Points::from_row_major(n, self.dim, &vec![1.0; n * self.dim])?,
            context: Some(Points::from_row_major(cn, ck, &vec![1.0; cn * ck])?),
        })
    }
}

/// A target source that keeps every default of the trait.
struct Plain;

impl TargetSource<Points> for Plain {
    fn dim(&self) -> usize {
        3
    }
    fn draw(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Draw<Points>> {
        InterpolantSource::new(
            Interpolant::one_sided_linear(),
            CouplingPairs(Independent::new(
                StandardNormal { dim: 3 },
                StandardNormal { dim: 3 },
            )?),
            TimeRange::new(0.1)?,
        )
        .draw(n, rng)
    }
}

/// Sizes and the interpolant pass through the sources, their references and their draws.
#[test]
fn sources_report_their_sizes() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let cp = CouplingPairs(
        Independent::new(StandardNormal { dim: 3 }, StandardNormal { dim: 3 }).unwrap(),
    );
    assert_eq!((cp.dim(), cp.context_dim()), (3, 0));
    let wc = WithContext {
        dim: 2,
        k: 4,
        off: (0, 0),
    };
    // Through the `&P` impl (it must forward both, not fall back to the trait's default context size).
    let by_ref: &WithContext = &wc;
    assert_eq!(
        (
            <&WithContext as PairSource>::dim(&by_ref),
            <&WithContext as PairSource>::context_dim(&by_ref)
        ),
        (2, 4)
    );
    assert_eq!((&&cp).dim(), 3);
    let it = Interpolant::linear(Gamma::brownian()).unwrap();
    let src = InterpolantSource::new(it.clone(), wc, TimeRange::new(0.25).unwrap());
    assert_eq!(src.times().t_min(), 0.25);
    assert_eq!(
        (
            TargetSource::<Points>::dim(&src),
            TargetSource::<Points>::context_dim(&src)
        ),
        (2, 4)
    );
    assert_eq!(TargetSource::<Points>::interpolant(&src), Some(&it));
    let r = &src;
    assert_eq!(
        (
            TargetSource::<Points>::dim(&r),
            TargetSource::<Points>::context_dim(&r)
        ),
        (2, 4)
    );
    assert_eq!(TargetSource::<Points>::interpolant(&r), Some(&it));
    let d = r.draw(6, &mut rng).unwrap();
    assert_eq!((d.len(), d.is_empty()), (6, false));
    assert_eq!(d.context.as_ref().map(|c| (c.len(), c.dim())), Some((6, 4)));
    let e = src.draw(0, &mut rng).unwrap();
    assert_eq!((e.len(), e.is_empty()), (0, true));
    // the trait's defaults: no context, no interpolant
    assert_eq!((Plain.context_dim(), Plain.interpolant()), (0, None));
    assert_eq!(Plain.draw(2, &mut rng).unwrap().len(), 2);
}

/// A context of the wrong number of vectors or the wrong size is a shape error.
#[test]
fn wrong_context_shapes_are_errors() {
    let it = Interpolant::linear(Gamma::brownian()).unwrap();
    for off in [(1, 0), (0, 1)] {
        let src = InterpolantSource::new(
            it.clone(),
            WithContext { dim: 2, k: 3, off },
            TimeRange::new(0.1).unwrap(),
        );
        assert!(matches!(
            src.draw(4, &mut ChaCha8Rng::seed_from_u64(0)),
            Err(CoreError::ShapeMismatch { .. })
        ));
    }
}

/// Draw::targets and Interpolant::targets reject inputs of the right count but the wrong dimension.
#[test]
fn targets_reject_a_wrong_dimension() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut d = Plain.draw(4, &mut rng).unwrap();
    assert!(d.targets().is_ok());
    d.dm = Points::zeros(4, 2);
    assert!(matches!(d.targets(), Err(CoreError::ShapeMismatch { .. })));
    let mut d = Plain.draw(4, &mut rng).unwrap();
    d.zeta = Points::zeros(4, 5);
    assert!(matches!(d.targets(), Err(CoreError::ShapeMismatch { .. })));
    let it = Interpolant::linear(Gamma::brownian()).unwrap();
    let (a, wide) = (Points::zeros(3, 2), Points::zeros(3, 4));
    assert!(matches!(
        it.targets(&[0.5; 3], &wide, &a, &a, false),
        Err(CoreError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        it.targets(&[0.5; 3], &a, &a, &wide, false),
        Err(CoreError::ShapeMismatch { .. })
    ));
}

/// The caption of √(a t(1−t)) names a unless a = 1: sqrt=2 and the Brownian bridge are told apart.
#[test]
fn sqrt_gamma_caption_names_its_scale() {
    let (one, two) = (Gamma::brownian().name(), Gamma::sqrt(2.0).unwrap().name());
    assert_ne!(one, two);
    assert!(two.contains('2'), "{two}");
}

/// Custom schedules are equal only as clones: the same name with other closures is a different schedule.
#[test]
fn custom_gammas_with_one_name_but_other_closures_differ() {
    use si_core::CustomGamma;
    let a = CustomGamma::new("g", |t| t * (1.0 - t), |t| 1.0 - 2.0 * t);
    let b = CustomGamma::new("g", |t| 2.0 * t * (1.0 - t), |t| 2.0 - 4.0 * t);
    assert!(a == a.clone());
    assert!(a != b);
}

/// Only a = 1 names the Brownian bridge: a = 1 + ε (the next float) is another schedule.
#[test]
fn sqrt_gamma_next_to_one_is_not_the_brownian_bridge() {
    let g = Gamma::sqrt(1.0 + f64::EPSILON).unwrap();
    assert_ne!(g.name(), Gamma::brownian().name());
}

/// The debug forms of custom schedules name them (closures have no debug form of their own).
#[test]
fn custom_schedules_debug_by_name() {
    use si_core::{CustomCoefficients, CustomGamma};
    let c = CustomCoefficients::new("my-ab", |t| [1.0 - t, -1.0, t, 1.0]);
    let g = CustomGamma::new("my-gamma", |t| t * (1.0 - t), |t| 1.0 - 2.0 * t);
    assert!(format!("{c:?}").contains("my-ab"));
    assert!(format!("{g:?}").contains("my-gamma"));
}

#[test]
fn unbiased_energy_distance_by_hand_and_under_equal_laws() {
    use rand::SeedableRng;
    use si_core::metrics::energy_distance_unbiased;
    // x = {0, 1}, y = {0, 3}: cross mean 1.5; distinct-pair means 1 and 3; V-statistic means 0.5 and 1.5
    let x = Points::from_row_major(2, 1, &[0.0, 1.0]).unwrap();
    let y = Points::from_row_major(2, 1, &[0.0, 3.0]).unwrap();
    assert!((energy_distance(&x, &y).unwrap() - 1.0).abs() < 1e-15);
    assert!((energy_distance_unbiased(&x, &y).unwrap() + 1.0).abs() < 1e-15);
    assert!(energy_distance_unbiased(&x, &Points::zeros(1, 1)).is_err());
    // two samples of one law: over 400 repeats the U-statistic averages 0 (within 4 standard errors), the
    // V-statistic 2 E|X − X'| / n = 2 (2/√π) / 50 ≈ 0.045 for N(0, 1) with n = 50
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let (mut u, mut v, mut u2) = (0.0, 0.0, 0.0);
    let reps = 400;
    for _ in 0..reps {
        let a = Points::standard_normal(50, 1, &mut rng);
        let b = Points::standard_normal(50, 1, &mut rng);
        let e = energy_distance_unbiased(&a, &b).unwrap();
        u += e;
        u2 += e * e;
        v += energy_distance(&a, &b).unwrap();
    }
    let (u, v) = (u / reps as f64, v / reps as f64);
    let se = ((u2 / reps as f64 - u * u) / reps as f64).sqrt();
    assert!(u.abs() < 4.0 * se, "U mean {u}, se {se}");
    let want = 2.0 * (2.0 / std::f64::consts::PI.sqrt()) / 50.0;
    assert!((v - want).abs() < 4.0 * se, "V mean {v}, want {want}");
}
