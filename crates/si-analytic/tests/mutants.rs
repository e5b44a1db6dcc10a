//! Tests written to kill mutants that `cargo mutants` found missed (docs/mutation.md). The truths are
//! independent of the code under test: ρ(t) is the law of α x0 + β x1 + γ z for Gaussian-mixture endpoints,
//! itself a Gaussian mixture whose log-density is evaluated by `GaussianMixture::log_density` (nalgebra's
//! Cholesky, not the flat kernels of the fields); s is checked against finite differences of that density;
//! b against the continuity equation ∂t log ρ + ∇·b + b·∇log ρ = 0 with both derivatives by differences.

#![allow(clippy::needless_range_loop)] // index loops over points read as the formulas do

use nalgebra::{DMatrix, DVector};
use si_analytic::{AnalyticError, FieldValues, GaussianMixture, MixtureFields};
use si_core::{Batch, Coefficients, CustomCoefficients, Gamma, Interpolant, Points, Sidedness};

/// The exact law of x_t: pair (i, j) gives N(α μ_i + β ν_j, α² C_i + β² D_j + γ² I) with weight p_i q_j
/// (mirror: x_t = x1 + γ z, weight q_j).
fn rho_t(f: &MixtureFields, t: f64) -> GaussianMixture {
    let c = f.interpolant().schedule(t).unwrap();
    let (r0, r1) = (f.rho0(), f.rho1());
    let d = f.dim();
    let (mut w, mut m, mut cov) = (Vec::new(), Vec::new(), Vec::new());
    let mirror = f.interpolant().sidedness() == Sidedness::Mirror;
    for i in 0..r0.n_components() {
        if mirror && i > 0 {
            continue;
        }
        for j in 0..r1.n_components() {
            let (p, a) = if mirror {
                (r1.weights()[j], 0.0)
            } else {
                (r0.weights()[i] * r1.weights()[j], c.alpha)
            };
            w.push(p);
            m.push(&r0.means()[i] * a + &r1.means()[j] * c.beta);
            cov.push(
                &r0.covariances()[i] * (a * a)
                    + &r1.covariances()[j] * (c.beta * c.beta)
                    + DMatrix::identity(d, d) * (c.gamma * c.gamma),
            );
        }
    }
    GaussianMixture::new(w, m, cov).unwrap()
}

/// The fields' log ρ equals the exact law's to 1e-10 (relative), and s its gradient by central differences
/// of step `h` to `s_tol` (relative), at every point of `x`.
fn assert_matches_law(
    truth: &GaussianMixture,
    x: &Points,
    v: &FieldValues,
    h: f64,
    s_tol: f64,
    what: &str,
) {
    let lr = truth.log_density(x).unwrap();
    for i in 0..x.len() {
        assert!(
            (v.log_rho[i] - lr[i]).abs() < 1e-10 * (1.0 + lr[i].abs()),
            "{what}: log rho {} vs {}",
            v.log_rho[i],
            lr[i]
        );
        for r in 0..x.dim() {
            let lp = |e: f64| truth.log_density(&shift(x, i, r, e)).unwrap()[0];
            let g = (lp(h) - lp(-h)) / (2.0 * h);
            let s = v.s.point(i)[r];
            assert!(
                (s - g).abs() < s_tol * (1.0 + g.abs()),
                "{what}: s {s} vs {g}"
            );
        }
    }
}

/// A symmetric positive definite d × d matrix with every entry non-zero: A Aᵀ + s I.
fn spd(d: usize, seed: f64, s: f64) -> DMatrix<f64> {
    let a = DMatrix::from_fn(d, d, |r, c| 0.3 * ((r * d + c) as f64 + seed).sin() + 0.05);
    &a * a.transpose() + DMatrix::identity(d, d) * s
}

fn mean(d: usize, seed: f64, scale: f64) -> DVector<f64> {
    DVector::from_fn(d, |r, _| scale * ((r as f64 + 1.0) * seed).cos())
}

/// Mixtures with full covariances (no zero entry) in dimension d: ρ0 with 2 components, ρ1 with 3.
fn mixtures(d: usize) -> (GaussianMixture, GaussianMixture) {
    let r0 = GaussianMixture::new(
        vec![0.4, 0.6],
        vec![mean(d, 1.0, 2.0), mean(d, 2.0, 2.0)],
        vec![spd(d, 0.0, 0.3), spd(d, 1.0, 0.2)],
    )
    .unwrap();
    let r1 = GaussianMixture::new(
        vec![0.2, 0.5, 0.3],
        vec![mean(d, 3.0, 3.0), mean(d, 4.0, 3.0), mean(d, 5.0, 3.0)],
        vec![spd(d, 2.0, 0.25), spd(d, 3.0, 0.4), spd(d, 4.0, 0.15)],
    )
    .unwrap();
    (r0, r1)
}

fn fields(d: usize) -> Vec<MixtureFields> {
    let (r0, r1) = mixtures(d);
    let mut v: Vec<MixtureFields> = [
        Interpolant::linear(Gamma::brownian()).unwrap(),
        Interpolant::linear(Gamma::Zero).unwrap(),
        Interpolant::trigonometric(Gamma::Quadratic).unwrap(),
    ]
    .into_iter()
    .map(|it| MixtureFields::new(r0.clone(), r1.clone(), it).unwrap())
    .collect();
    let n = GaussianMixture::standard_normal(d).unwrap();
    v.push(MixtureFields::new(n, r1.clone(), Interpolant::one_sided_vp()).unwrap());
    v.push(
        MixtureFields::new(
            r1.clone(),
            r1,
            Interpolant::mirror(Gamma::Quadratic).unwrap(),
        )
        .unwrap(),
    );
    v
}

/// Points spread over the support (deterministic).
fn points(d: usize, n: usize) -> Points {
    let v: Vec<f64> = (0..n * d)
        .map(|k| 3.0 * ((k as f64) * 0.77 + 0.3).sin())
        .collect();
    Points::from_row_major(n, d, &v).unwrap()
}

fn shift(x: &Points, i: usize, r: usize, h: f64) -> Points {
    let mut y = Points::from_matrix_unchecked(
        x.point(i)
            .into_owned()
            .reshape_generic(nalgebra::Dyn(x.dim()), nalgebra::Dyn(1)),
    );
    y.as_mut_slice()[r] += h;
    y
}

/// log ρ, s (per point, with one time per point: the fused small-dimension path for d ≤ 3 without the
/// divergence, the general path with it) against the exact mixture ρ(t) and its finite differences, and b
/// against the continuity equation, in d = 1, 2, 3 with full covariances.
#[test]
fn per_point_fields_match_the_exact_law_in_small_dimensions() {
    let h = 1e-5;
    for d in 1..=3 {
        for f in fields(d) {
            let name = format!("d = {d}, {}", f.interpolant().name());
            let x = points(d, 4);
            for t in [0.2, 0.55, 0.8] {
                let truth = rho_t(&f, t);
                let ts = vec![t; x.len()];
                for with_div in [false, true] {
                    let v = f.evaluate_per_point(&ts, &x, with_div).unwrap();
                    assert_eq!(
                        v.div.is_some(),
                        with_div,
                        "{name}: the divergence iff asked for"
                    );
                    if let Some(div) = &v.div {
                        // ∇·b by central differences of b (shared-time path)
                        for i in 0..x.len() {
                            let mut fd = 0.0;
                            for r in 0..d {
                                let b = |e: f64| {
                                    f.evaluate(t, &shift(&x, i, r, e), false)
                                        .unwrap()
                                        .b
                                        .as_slice()[r]
                                };
                                fd += (b(h) - b(-h)) / (2.0 * h);
                            }
                            assert!(
                                (div[i] - fd).abs() < 1e-4 * (1.0 + fd.abs()),
                                "{name} t = {t}: div {} vs {fd}",
                                div[i]
                            );
                        }
                    }
                    let what = format!("{name} t = {t} (with_div {with_div})");
                    assert_matches_law(&truth, &x, &v, h, 1e-5, &what);
                }
                // continuity: ∂t log ρ + ∇·b + b·s = 0, ∂t from the exact law at t ± h, ∇·b from
                // differences of the per-point b (fused path)
                let (tp, tm) = (rho_t(&f, t + h), rho_t(&f, t - h));
                let (lp, lm) = (tp.log_density(&x).unwrap(), tm.log_density(&x).unwrap());
                let v = f.evaluate_per_point(&ts, &x, false).unwrap();
                for i in 0..x.len() {
                    let dt_log = (lp[i] - lm[i]) / (2.0 * h);
                    let mut div = 0.0;
                    for r in 0..d {
                        let b = |e: f64| {
                            f.evaluate_per_point(&[t], &shift(&x, i, r, e), false)
                                .unwrap()
                                .b
                                .as_slice()[r]
                        };
                        div += (b(h) - b(-h)) / (2.0 * h);
                    }
                    let bs: f64 = (0..d).map(|r| v.b.point(i)[r] * v.s.point(i)[r]).sum();
                    let res = dt_log + div + bs;
                    let scale = 1.0 + dt_log.abs() + div.abs() + bs.abs();
                    assert!(
                        res.abs() < 1e-4 * scale,
                        "{name} t = {t}: continuity residual {res}"
                    );
                }
            }
        }
    }
}

/// The number of Gaussian components of ρ(t): one per pair (i, j) with p_i q_j > 0 (2 × 3 = 6); the mirror
/// interpolant uses ρ1's components only (3); a zero weight drops its pairs.
#[test]
fn component_counts() {
    let fs = fields(2);
    assert_eq!(fs[0].n_components(), 6);
    assert_eq!(fs[3].n_components(), 3); // one-sided: N(0, I) × 3
    assert_eq!(fs[4].n_components(), 3); // mirror
    let r0 = GaussianMixture::univariate(&[(1.0, 0.0, 1.0), (0.0, 1.0, 1.0)]).unwrap();
    let r1 = GaussianMixture::univariate(&[(0.5, 0.0, 1.0), (0.5, 2.0, 1.0)]).unwrap();
    let f = MixtureFields::new(r0, r1, Interpolant::linear(Gamma::brownian()).unwrap()).unwrap();
    assert_eq!(f.n_components(), 2);
}

/// An interpolant whose α, β and γ all vanish at t = ½ makes C_ij = 0 there: ρ(½) is a point mass and the
/// fields do not exist. That is a typed error (not NaN fields), with diagonal and with dense algebra.
#[test]
fn a_degenerate_covariance_is_an_error() {
    let c = Coefficients::Custom(CustomCoefficients::new("pinched", |t| {
        if t < 0.5 {
            [(1.0 - 2.0 * t).powi(2), -4.0 * (1.0 - 2.0 * t), 0.0, 0.0]
        } else {
            [0.0, 0.0, (2.0 * t - 1.0).powi(2), 4.0 * (2.0 * t - 1.0)]
        }
    }));
    let it = Interpolant::new(Sidedness::TwoSided, c, Gamma::Zero).unwrap();
    let (r0, r1) = (
        GaussianMixture::univariate(&[(1.0, 0.0, 1.0)]).unwrap(),
        GaussianMixture::univariate(&[(1.0, 2.0, 0.5)]).unwrap(),
    );
    let f = MixtureFields::new(r0, r1, it).unwrap();
    let x = Points::from_row_major(1, 1, &[0.3]).unwrap();
    assert!(f.evaluate(0.4, &x, true).is_ok());
    for g in [f.clone(), f.with_dense_algebra()] {
        assert!(matches!(
            g.evaluate(0.5, &x, false),
            Err(AnalyticError::NotPositiveDefinite { .. })
        ));
    }
}

/// The exact mean and covariance of ρ(t) equal those of the law of x_t (computed by
/// `GaussianMixture::mean`/`covariance` of that law), for asymmetric mixtures (a symmetric pair hides sign
/// errors) and for single Gaussians, where mean = α μ0 + β μ1 and cov = α² C0 + β² C1 + γ² I by hand.
#[test]
fn moments_are_those_of_the_law_of_x_t() {
    for d in [1, 2, 3] {
        for f in fields(d) {
            for t in [0.0, 0.3, 0.7, 1.0] {
                let g = rho_t(&f, t);
                let (m, c) = f.moments(t).unwrap();
                let name = format!("d = {d}, {} t = {t}", f.interpolant().name());
                assert!(
                    (&m - g.mean()).amax() < 1e-10,
                    "{name}: mean {m} vs {}",
                    g.mean()
                );
                assert!(
                    (&c - g.covariance()).amax() < 1e-10,
                    "{name}: cov {c} vs {}",
                    g.covariance()
                );
            }
        }
    }
    let (c0, c1) = (spd(2, 0.0, 0.3), spd(2, 1.0, 0.2));
    let (m0, m1) = (mean(2, 1.0, 2.0), mean(2, 2.0, 3.0));
    let r0 = GaussianMixture::new(vec![1.0], vec![m0.clone()], vec![c0.clone()]).unwrap();
    let r1 = GaussianMixture::new(vec![1.0], vec![m1.clone()], vec![c1.clone()]).unwrap();
    let f = MixtureFields::new(r0, r1, Interpolant::linear(Gamma::brownian()).unwrap()).unwrap();
    let t = 0.3;
    let (m, c) = f.moments(t).unwrap();
    let em = &m0 * 0.7 + &m1 * 0.3;
    let ec = &c0 * 0.49 + &c1 * 0.09 + DMatrix::identity(2, 2) * 0.21;
    assert!(
        (&m - &em).amax() < 1e-12 && (&c - &ec).amax() < 1e-12,
        "{m} {c}"
    );
}

/// Points so far out that the quadratic forms overflow: the fields are finite or a typed error, never NaN.
#[test]
fn far_points_give_finite_fields_or_errors() {
    for d in [1, 2, 4] {
        for f in fields(d) {
            let x = Points::from_row_major(2, d, &vec![1e300; 2 * d]).unwrap();
            let ts = [0.4, 0.4];
            for v in [
                f.evaluate(0.4, &x, false),
                f.evaluate(0.4, &x, true),
                f.evaluate_per_point(&ts, &x, false),
            ]
            .into_iter()
            .flatten()
            {
                {
                    assert!(
                        v.b.as_slice()
                            .iter()
                            .chain(v.s.as_slice())
                            .all(|u| u.is_finite()),
                        "d = {d}, {}",
                        f.interpolant().name()
                    );
                }
            }
        }
    }
}

/// Mixture mean and covariance worked by hand. 1-D: 0.25 N(−1, 0.5) + 0.75 N(3, 2): mean 2, E X² =
/// 0.25·1.5 + 0.75·11 = 8.625, variance 4.625. 2-D: ½ N((0, 0), I) + ½ N((2, 4), [[1, .5], [.5, 2]]):
/// mean (1, 2), covariance ½(I) + ½ C + ¼ (Δμ Δμᵀ) with Δμ = (2, 4): [[2, 2.25], [2.25, 5.5]].
#[test]
fn mixture_moments_by_hand() {
    let g = GaussianMixture::univariate(&[(0.25, -1.0, 0.5), (0.75, 3.0, 2.0)]).unwrap();
    assert!((g.mean()[0] - 2.0).abs() < 1e-14);
    assert!((g.covariance()[(0, 0)] - 4.625).abs() < 1e-13);
    let c = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.5, 2.0]);
    let g = GaussianMixture::new(
        vec![0.5, 0.5],
        vec![DVector::zeros(2), DVector::from_vec(vec![2.0, 4.0])],
        vec![DMatrix::identity(2, 2), c],
    )
    .unwrap();
    assert!((g.mean() - DVector::from_vec(vec![1.0, 2.0])).amax() < 1e-14);
    let want = DMatrix::from_row_slice(2, 2, &[2.0, 2.25, 2.25, 5.5]);
    assert!((g.covariance() - want).amax() < 1e-13, "{}", g.covariance());
    assert!(!g.is_diagonal());
    assert!(GaussianMixture::standard_normal(3).unwrap().is_diagonal());
    assert_eq!(<GaussianMixture as si_core::Sampler>::dim(&g), 2);
}

/// F(x) of 0.3 N(−2, 0.25) + 0.7 N(1, 1) from standard normal values: F(1) = 0.3 Φ(6) + 0.35,
/// F(−2) = 0.15 + 0.7 Φ(−3), with Φ(6) = 1 − 9.8659e-10 and Φ(−3) = 1.349898e-3.
#[test]
fn mixture_cdf_by_hand() {
    let g = GaussianMixture::univariate(&[(0.3, -2.0, 0.25), (0.7, 1.0, 1.0)]).unwrap();
    let f1 = 0.3 * (1.0 - 9.8659e-10) + 0.35;
    let fm2 = 0.15 + 0.7 * 1.349898e-3;
    assert!((g.cdf_1d(1.0).unwrap() - f1).abs() < 1e-9);
    assert!((g.cdf_1d(-2.0).unwrap() - fm2).abs() < 1e-8);
}

/// Labelled samples of 0.3 N(−2, 0.25) + 0.7 N(1, 1), n = 20,000: the label frequencies, and the mean and
/// variance of the points of each label, within 5 standard errors of p_k, μ_k, σ_k² (false-alarm rate about
/// 6e-7 per statistic, 6 statistics). A 2-D mixture's labelled points have their component's mean.
#[test]
fn labelled_samples_have_the_component_laws() {
    use rand::SeedableRng;
    let comps = [(0.3, -2.0, 0.25), (0.7, 1.0, 1.0)];
    let g = GaussianMixture::univariate(&comps).unwrap();
    let n = 20_000;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
    let (x, labels) = g.sample_labelled(n, &mut rng);
    assert_eq!((x.len(), labels.len()), (n, n));
    let nf = n as f64;
    for (k, &(p, m, v)) in comps.iter().enumerate() {
        let xs: Vec<f64> = (0..n)
            .filter(|&i| labels[i] == k)
            .map(|i| x.as_slice()[i])
            .collect();
        let nk = xs.len() as f64;
        assert!(
            (nk / nf - p).abs() < 5.0 * (p * (1.0 - p) / nf).sqrt(),
            "frequency of {k}: {}",
            nk / nf
        );
        let mean = xs.iter().sum::<f64>() / nk;
        let var = xs.iter().map(|u| (u - mean).powi(2)).sum::<f64>() / (nk - 1.0);
        assert!(
            (mean - m).abs() < 5.0 * (v / nk).sqrt(),
            "mean of {k}: {mean}"
        );
        assert!(
            (var - v).abs() < 5.0 * v * (2.0 / (nk - 1.0)).sqrt(),
            "variance of {k}: {var}"
        );
    }
    let (r0, _) = mixtures(2);
    let (x, labels) = r0.sample_labelled(4000, &mut rng);
    for k in 0..2 {
        let idx: Vec<usize> = (0..4000).filter(|&i| labels[i] == k).collect();
        let c = &r0.covariances()[k];
        for r in 0..2 {
            let mean = idx.iter().map(|&i| x.point(i)[r]).sum::<f64>() / idx.len() as f64;
            let se = (c[(r, r)] / idx.len() as f64).sqrt();
            assert!(
                (mean - r0.means()[k][r]).abs() < 5.0 * se,
                "2-D component {k}, coordinate {r}"
            );
        }
    }
}

/// Wide mixtures (covariances × 6, entries of C_ij(t) well above 1) in d = 2, 3, 4: log ρ and s from the
/// fused per-point path (d ≤ 3) and from the general dense path (shared time; d = 4 needs every row of the
/// Cholesky update) against the exact law of x_t and finite differences of its log-density. With variances
/// above 1 a wrong Cholesky step still gives a positive pivot, so the fused kernel cannot hide it by
/// declining (and falling back to the general path).
#[test]
fn wide_mixtures_match_the_exact_law() {
    let h = 1e-5;
    for d in 2..=4 {
        let widen = |g: &GaussianMixture| {
            GaussianMixture::new(
                g.weights().to_vec(),
                g.means().iter().map(|m| m * 2.0).collect(),
                g.covariances().iter().map(|c| c * 6.0).collect(),
            )
            .unwrap()
        };
        let (r0, r1) = mixtures(d);
        let (r0, r1) = (widen(&r0), widen(&r1));
        for it in [
            Interpolant::linear(Gamma::Zero).unwrap(),
            Interpolant::linear(Gamma::brownian()).unwrap(),
        ] {
            let f = MixtureFields::new(r0.clone(), r1.clone(), it).unwrap();
            let x = points(d, 3);
            for t in [0.1, 0.5, 0.9] {
                let truth = rho_t(&f, t);
                let ts = vec![t; x.len()];
                for v in [
                    f.evaluate(t, &x, false).unwrap(),
                    f.evaluate_per_point(&ts, &x, false).unwrap(),
                ] {
                    assert_matches_law(&truth, &x, &v, h, 1e-5, &format!("d = {d} t = {t}"));
                }
            }
        }
    }
}

/// A strongly correlated 3-D covariance with large variances (100 R, R with correlations 0.8): a wrong
/// off-diagonal Cholesky entry in the fused d = 3 kernel then still leaves every pivot positive, so the
/// kernel cannot decline it and fall back to the general path. log ρ and s against the exact law of x_t.
#[test]
fn correlated_wide_covariances_in_three_dimensions() {
    let r = DMatrix::from_row_slice(3, 3, &[1.0, 0.8, 0.7, 0.8, 1.0, 0.75, 0.7, 0.75, 1.0]);
    let r0 = GaussianMixture::new(vec![1.0], vec![DVector::zeros(3)], vec![&r * 100.0]).unwrap();
    let r1 = GaussianMixture::new(
        vec![1.0],
        vec![DVector::from_vec(vec![1.0, -2.0, 3.0])],
        vec![&r * 150.0],
    )
    .unwrap();
    let f = MixtureFields::new(r0, r1, Interpolant::linear(Gamma::Zero).unwrap()).unwrap();
    let x = points(3, 4);
    let h = 1e-4;
    for t in [0.2, 0.5, 0.8] {
        let truth = rho_t(&f, t);
        let v = f.evaluate_per_point(&vec![t; x.len()], &x, false).unwrap();
        assert_matches_law(&truth, &x, &v, h, 1e-6, &format!("t = {t}"));
    }
}

/// Variances of 1e260 in d = 2: det C overflows, so the component's scale 1/√det is 0 and the weights must
/// be formed in the log domain. Against the closed form of one Gaussian: ρ(t) = N(0, (α² + β²) 1e260 I),
/// s = −x/v, log ρ = −|x|²/(2v) − log(2π v).
#[test]
fn huge_variances_use_the_log_domain() {
    let big = DMatrix::identity(2, 2) * 1e260;
    let g = GaussianMixture::new(vec![1.0], vec![DVector::zeros(2)], vec![big]).unwrap();
    let f = MixtureFields::new(g.clone(), g, Interpolant::linear(Gamma::Zero).unwrap()).unwrap();
    let x = Points::from_row_major(2, 2, &[1e130, -2e130, 3e129, 0.0]).unwrap();
    let t = 0.3;
    let v = (0.49 + 0.09) * 1e260;
    for out in [
        f.evaluate(t, &x, false).unwrap(),
        f.evaluate_per_point(&[t, t], &x, false).unwrap(),
    ] {
        for i in 0..2 {
            let p = x.point(i);
            let want =
                -(p[0] * p[0] + p[1] * p[1]) / (2.0 * v) - (2.0 * std::f64::consts::PI * v).ln();
            assert!(
                (out.log_rho[i] - want).abs() < 1e-10 * want.abs(),
                "{} vs {want}",
                out.log_rho[i]
            );
            for r in 0..2 {
                let s = -p[r] / v;
                assert!(
                    (out.s.point(i)[r] - s).abs() <= 1e-12 * s.abs() + 1e-300,
                    "s"
                );
            }
        }
    }
}
