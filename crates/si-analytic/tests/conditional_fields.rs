//! The exact conditioned oracle `ConditionalMixtureFields` against independent computations:
//! a one-hot context against `MixtureFields` of that class alone; a mixed context against the mixture
//! identities ρ(t,x|c) = Σ c̃_j ρ_j and b = Σ c̃_j ρ_j b_j / Σ c̃_j ρ_j computed from one-class oracles; per-point
//! contexts against the shared-context fields point by point; arbitrary contexts give typed errors.

mod common;

use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use si_analytic::{AnalyticError, ConditionalMixtureFields, GaussianMixture, MixtureFields};
use si_core::{
    Batch, ConditionalField, ContextForm, CoreError, Field, Gamma, Guided, Interpolant, Points,
};

const TIMES: [f64; 3] = [0.1, 0.37, 0.8];

fn classes_1d() -> Vec<GaussianMixture> {
    vec![
        GaussianMixture::univariate(&[(0.5, -6.0, 0.5), (0.5, -2.0, 0.3)]).unwrap(),
        GaussianMixture::univariate(&[(1.0, 0.0, 0.33)]).unwrap(),
        GaussianMixture::univariate(&[(0.25, 4.0, 0.2), (0.75, 6.5, 0.6)]).unwrap(),
    ]
}

fn m2(a: f64, b: f64, c: f64) -> DMatrix<f64> {
    DMatrix::from_row_slice(2, 2, &[a, b, b, c])
}

fn v2(a: f64, b: f64) -> DVector<f64> {
    DVector::from_vec(vec![a, b])
}

/// Three classes in 2-D: the top and bottom halves of the reference target and one correlated component.
fn classes_2d() -> Vec<GaussianMixture> {
    vec![
        GaussianMixture::new(
            vec![0.5, 0.5],
            vec![v2(-3.0, 3.0), v2(3.0, 3.0)],
            vec![m2(0.2, 0.0, 0.2), m2(0.4, 0.0, 0.4)],
        )
        .unwrap(),
        GaussianMixture::new(
            vec![0.3, 0.7],
            vec![v2(-3.0, -3.0), v2(3.0, -3.0)],
            vec![m2(0.3, -0.1, 0.3), m2(0.25, 0.0, 0.25)],
        )
        .unwrap(),
        GaussianMixture::new(vec![1.0], vec![v2(0.5, 0.0)], vec![m2(0.6, 0.25, 0.3)]).unwrap(),
    ]
}

/// (ρ0, classes, interpolants): two-sided interpolants with the reference base, one-sided ones with
/// N(0, I), and the mirror interpolant.
fn cases(d: usize) -> Vec<(GaussianMixture, Vec<GaussianMixture>, Interpolant)> {
    let (rho0, classes) = match d {
        1 => (common::pair_1d().0, classes_1d()),
        _ => (common::pair_2d().0, classes_2d()),
    };
    let mut v: Vec<_> = common::two_sided_interpolants()
        .into_iter()
        .map(|it| (rho0.clone(), classes.clone(), it))
        .collect();
    let n = GaussianMixture::standard_normal(d).unwrap();
    for it in [Interpolant::one_sided_linear(), Interpolant::one_sided_vp()] {
        v.push((n.clone(), classes.clone(), it));
    }
    v.push((
        rho0,
        classes,
        Interpolant::mirror(Gamma::brownian()).unwrap(),
    ));
    v
}

fn grid(d: usize) -> Points {
    match d {
        1 => {
            let xs: Vec<f64> = (0..25).map(|i| -7.5 + 0.625 * i as f64).collect();
            Points::from_row_major(xs.len(), 1, &xs).unwrap()
        }
        _ => {
            let mut xs = Vec::new();
            for i in 0..7 {
                for j in 0..7 {
                    xs.push(-4.5 + 1.5 * i as f64);
                    xs.push(-4.5 + 1.5 * j as f64 + 0.1);
                }
            }
            Points::from_row_major(xs.len() / 2, 2, &xs).unwrap()
        }
    }
}

fn ctx(c: &[f64]) -> Points {
    Points::from_row_major(1, c.len(), c).unwrap()
}

fn assert_close(got: &[f64], expected: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= tol * e.abs().max(1.0),
            "{what}[{i}]: got {g}, expected {e}"
        );
    }
}

/// Every quantity of two fields at the same points agrees.
fn assert_same_fields(
    a: &impl Field<Points>,
    b: &impl Field<Points>,
    t: f64,
    x: &Points,
    tol: f64,
    what: &str,
) {
    let (ba, da) = a.velocity_and_divergence(t, x).unwrap();
    let (bb, db) = b.velocity_and_divergence(t, x).unwrap();
    assert_close(
        &ba.to_row_major(),
        &bb.to_row_major(),
        tol,
        &format!("{what} b"),
    );
    assert_close(da.as_slice(), db.as_slice(), tol, &format!("{what} div b"));
    for (q, fa, fb) in [
        ("s", a.score(t, x).unwrap(), b.score(t, x).unwrap()),
        ("eta", a.denoiser(t, x).unwrap(), b.denoiser(t, x).unwrap()),
        ("v", a.v(t, x).unwrap(), b.v(t, x).unwrap()),
    ] {
        assert_close(
            &fa.to_row_major(),
            &fb.to_row_major(),
            tol,
            &format!("{what} {q}"),
        );
    }
}

#[test]
fn one_hot_context_is_the_class_alone() {
    for d in [1, 2] {
        let x = grid(d);
        for (rho0, classes, it) in cases(d) {
            let oracle =
                ConditionalMixtureFields::new(rho0.clone(), classes.clone(), it.clone()).unwrap();
            assert_eq!(ConditionalField::<Points>::context_dim(&oracle), 3);
            assert_eq!(ConditionalField::<Points>::dim(&oracle), d);
            for (j, class) in classes.iter().enumerate() {
                let mut c = vec![0.0; 3];
                c[j] = 1.0;
                let given = oracle.given(&ctx(&c)).unwrap();
                assert_eq!(given.form(), ContextForm::Shared);
                let direct = MixtureFields::new(rho0.clone(), class.clone(), it.clone()).unwrap();
                for t in TIMES {
                    let what = format!("d = {d}, {it:?}, class {j}, t = {t}");
                    assert_same_fields(&given, &direct, t, &x, 1e-12, &what);
                    assert_close(
                        &given.log_density(t, &x).unwrap(),
                        &direct.log_density(t, &x).unwrap(),
                        1e-12,
                        &format!("{what} log rho"),
                    );
                }
                // a scaled one-hot context is the same class
                c[j] = 7.5;
                let scaled = oracle.given(&ctx(&c)).unwrap();
                assert_same_fields(&scaled, &direct, 0.37, &x, 1e-12, "scaled one-hot");
            }
        }
    }
}

#[test]
fn mixed_context_is_the_posterior_weighted_union() {
    for d in [1, 2] {
        let x = grid(d);
        for (rho0, classes, it) in cases(d) {
            let oracle =
                ConditionalMixtureFields::new(rho0.clone(), classes.clone(), it.clone()).unwrap();
            let one = |j: usize| MixtureFields::new(rho0.clone(), classes[j].clone(), it.clone());
            for (j1, j2) in [(0, 1), (1, 2), (0, 2)] {
                let (f1, f2) = (one(j1).unwrap(), one(j2).unwrap());
                for w in [0.5, 0.2, 0.93] {
                    let mut c = vec![0.0; 3];
                    // unnormalised on purpose: c̃ = (w, 1 − w)
                    c[j1] = 3.0 * w;
                    c[j2] = 3.0 * (1.0 - w);
                    let given = oracle.given(&ctx(&c)).unwrap();
                    for t in TIMES {
                        let what = format!("d = {d}, {it:?}, classes {j1},{j2}, w = {w}, t = {t}");
                        let e1 = f1.evaluate(t, &x, false).unwrap();
                        let e2 = f2.evaluate(t, &x, false).unwrap();
                        let g = given.evaluate(t, &x, false).unwrap();
                        let mut log_rho = Vec::new();
                        let mut b = Vec::new();
                        let mut s = Vec::new();
                        for i in 0..x.len() {
                            let (l1, l2) = (e1.log_rho[i], e2.log_rho[i]);
                            // log(w ρ1 + (1 − w) ρ2), shifted by the larger log density
                            let m = l1.max(l2);
                            let (r1, r2) = (w * (l1 - m).exp(), (1.0 - w) * (l2 - m).exp());
                            log_rho.push(m + (r1 + r2).ln());
                            let (p1, p2) = (r1 / (r1 + r2), r2 / (r1 + r2));
                            for r in 0..d {
                                b.push(p1 * e1.b.point(i)[r] + p2 * e2.b.point(i)[r]);
                                s.push(p1 * e1.s.point(i)[r] + p2 * e2.s.point(i)[r]);
                            }
                        }
                        assert_close(&g.log_rho, &log_rho, 1e-10, &format!("{what} log rho"));
                        assert_close(&g.b.to_row_major(), &b, 1e-9, &format!("{what} b"));
                        assert_close(&g.s.to_row_major(), &s, 1e-9, &format!("{what} s"));
                    }
                }
            }
        }
    }
}

#[test]
fn mixed_target_has_the_scaled_components() {
    let oracle = ConditionalMixtureFields::new(
        common::pair_1d().0,
        classes_1d(),
        Interpolant::linear(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let target = oracle.target(&[1.0, 0.0, 3.0]).unwrap();
    assert_eq!(target.n_components(), 4);
    assert_close(
        target.weights(),
        &[0.125, 0.125, 0.1875, 0.5625],
        1e-15,
        "weights",
    );
    let means: Vec<f64> = target.means().iter().map(|m| m[0]).collect();
    assert_eq!(means, vec![-6.0, -2.0, 4.0, 6.5]);
    assert_close(
        &oracle.class_weights(&[2.0, 0.0, 6.0]).unwrap(),
        &[0.25, 0.0, 0.75],
        1e-15,
        "class weights",
    );
    // huge weights do not overflow the normalisation
    assert_close(
        &oracle.class_weights(&[1e308, 1e308, 0.0]).unwrap(),
        &[0.5, 0.5, 0.0],
        1e-15,
        "huge weights",
    );
    // the density of the merged target is the mixture of the class densities
    let x = grid(1);
    let got = target.log_density(&x).unwrap();
    let c0 = classes_1d()[0].log_density(&x).unwrap();
    let c2 = classes_1d()[2].log_density(&x).unwrap();
    let expected: Vec<f64> = c0
        .iter()
        .zip(&c2)
        .map(|(a, b)| (0.25 * a.exp() + 0.75 * b.exp()).ln())
        .collect();
    assert_close(&got, &expected, 1e-12, "target log density");
}

/// ∇·s of a context that mixes classes (the class-posterior composition) by central differences of s.
#[test]
fn mixed_context_score_divergence_matches_finite_differences() {
    for d in [1, 2] {
        let x = grid(d);
        for (rho0, classes, it) in cases(d) {
            let oracle = ConditionalMixtureFields::new(rho0, classes, it.clone()).unwrap();
            let given = oracle.given(&ctx(&[0.3, 0.7, 0.2])).unwrap();
            for t in TIMES {
                let ds = given.score_divergence(t, &x).unwrap();
                for i in 0..x.len() {
                    let xi = x.point(i).clone_owned();
                    let h = 1e-5;
                    let mut fd = 0.0;
                    for r in 0..d {
                        let mut up = xi.clone();
                        let mut dn = xi.clone();
                        up[r] += h;
                        dn[r] -= h;
                        let su = given
                            .score(t, &Points::from_row_major(1, d, up.as_slice()).unwrap())
                            .unwrap();
                        let sd = given
                            .score(t, &Points::from_row_major(1, d, dn.as_slice()).unwrap())
                            .unwrap();
                        fd += (su.as_slice()[r] - sd.as_slice()[r]) / (2.0 * h);
                    }
                    assert!(
                        (ds[i] - fd).abs() < 1e-4 * (1.0 + fd.abs()),
                        "d = {d}, {it:?}, t = {t}, point {i}: {} vs {fd}",
                        ds[i]
                    );
                }
            }
        }
    }
}

#[test]
fn per_point_contexts_match_the_shared_fields_point_by_point() {
    for d in [1, 2] {
        let x = grid(d);
        let n = x.len();
        for (rho0, classes, it) in cases(d) {
            let oracle = ConditionalMixtureFields::new(rho0, classes, it.clone()).unwrap();
            // a different context per point: one-hot, mixed, unnormalised
            let contexts: Vec<[f64; 3]> = (0..n)
                .map(|i| match i % 4 {
                    0 => [1.0, 0.0, 0.0],
                    1 => [0.0, 0.0, 2.0],
                    2 => [0.3, 0.7, 0.0],
                    _ => [0.2 + 0.01 * i as f64, 1.0, 0.5],
                })
                .collect();
            let flat: Vec<f64> = contexts.iter().flatten().copied().collect();
            let given = oracle
                .given(&Points::from_row_major(n, 3, &flat).unwrap())
                .unwrap();
            assert_eq!(given.form(), ContextForm::PerPoint(n));
            assert!(given.as_mixture_fields().is_none());
            for t in TIMES {
                let all = given.evaluate(t, &x, true).unwrap();
                let (b, div) = given.velocity_and_divergence(t, &x).unwrap();
                let (eta, v) = (given.denoiser(t, &x).unwrap(), given.v(t, &x).unwrap());
                for (i, c) in contexts.iter().enumerate() {
                    let xi = Points::from_row_major(1, d, x.point(i).as_slice()).unwrap();
                    let one = oracle.given(&ctx(c)).unwrap();
                    let e = one.evaluate(t, &xi, true).unwrap();
                    let what = format!("d = {d}, {it:?}, t = {t}, point {i}");
                    assert_close(
                        &[all.log_rho[i]],
                        &e.log_rho,
                        1e-10,
                        &format!("{what} log rho"),
                    );
                    assert_close(
                        b.point(i).as_slice(),
                        e.b.as_slice(),
                        1e-9,
                        &format!("{what} b"),
                    );
                    assert_close(
                        all.s.point(i).as_slice(),
                        e.s.as_slice(),
                        1e-9,
                        &format!("{what} s"),
                    );
                    assert_close(
                        &[div[i]],
                        e.div.as_ref().unwrap(),
                        1e-8,
                        &format!("{what} div"),
                    );
                    let ee = one.denoiser(t, &xi).unwrap();
                    assert_close(
                        eta.point(i).as_slice(),
                        ee.as_slice(),
                        1e-9,
                        &format!("{what} eta"),
                    );
                    let ve = one.v(t, &xi).unwrap();
                    assert_close(
                        v.point(i).as_slice(),
                        ve.as_slice(),
                        1e-9,
                        &format!("{what} v"),
                    );
                }
            }
            // a state with another number of points is a typed error
            let fewer = Points::zeros(n - 1, d);
            assert!(matches!(
                given.velocity(0.5, &fewer),
                Err(CoreError::ShapeMismatch { .. })
            ));
        }
    }
}

#[test]
fn conditioned_fields_work_through_the_generic_interface() {
    fn velocity_at<C: ConditionalField<Points>>(c: C, context: &Points, x: &Points) -> Points {
        c.given(context).unwrap().velocity(0.5, x).unwrap()
    }
    let (rho0, _) = common::pair_2d();
    let it = Interpolant::trigonometric(Gamma::brownian()).unwrap();
    let oracle = ConditionalMixtureFields::new(rho0.clone(), classes_2d(), it.clone()).unwrap();
    let x = grid(2);
    let c = ctx(&[0.0, 1.0, 0.0]);
    let by_ref = velocity_at(&oracle, &c, &x);
    let by_value = velocity_at(oracle.clone(), &c, &x);
    assert_eq!(by_ref, by_value);
    let direct = MixtureFields::new(rho0, classes_2d()[1].clone(), it).unwrap();
    assert_close(
        &by_ref.to_row_major(),
        &direct.velocity(0.5, &x).unwrap().to_row_major(),
        1e-12,
        "generic",
    );
    // guidance with w = 0 is the conditioned field; w = 1 is 2 b_c − b_u
    let uniform = oracle.given(&ctx(&[1.0, 1.0, 1.0])).unwrap();
    let cond = oracle.given(&c).unwrap();
    let g0 = Guided::new(&cond, &uniform, 0.0).unwrap();
    assert_eq!(
        g0.velocity(0.5, &x).unwrap(),
        cond.velocity(0.5, &x).unwrap()
    );
    let g1 = Guided::new(&cond, &uniform, 1.0).unwrap();
    let bc = cond.velocity(0.5, &x).unwrap().to_row_major();
    let bu = uniform.velocity(0.5, &x).unwrap().to_row_major();
    let expected: Vec<f64> = bc.iter().zip(&bu).map(|(c, u)| 2.0 * c - u).collect();
    assert_close(
        &g1.velocity(0.5, &x).unwrap().to_row_major(),
        &expected,
        1e-12,
        "guided",
    );
}

#[test]
fn bad_oracles_are_typed_errors() {
    let (rho0, _) = common::pair_1d();
    let it = Interpolant::linear(Gamma::brownian()).unwrap();
    assert_eq!(
        ConditionalMixtureFields::new(rho0.clone(), vec![], it.clone()).unwrap_err(),
        AnalyticError::NoClasses
    );
    assert!(matches!(
        ConditionalMixtureFields::new(rho0.clone(), vec![classes_2d()[0].clone()], it),
        Err(AnalyticError::DimensionMismatch(_))
    ));
    assert_eq!(
        ConditionalMixtureFields::new(rho0, classes_1d(), Interpolant::one_sided_linear())
            .unwrap_err(),
        AnalyticError::NotStandardNormalBase
    );
}

#[test]
fn bad_contexts_are_typed_errors() {
    let oracle = ConditionalMixtureFields::new(
        common::pair_1d().0,
        classes_1d(),
        Interpolant::linear(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let raw = |n: usize, k: usize, v: &[f64]| {
        Points::from_matrix_unchecked(DMatrix::from_column_slice(k, n, v))
    };
    assert!(matches!(
        oracle.given(&raw(1, 2, &[1.0, 0.0])),
        Err(CoreError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        oracle.given(&raw(0, 3, &[])),
        Err(CoreError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        oracle.given(&raw(1, 3, &[1.0, f64::NAN, 0.0])),
        Err(CoreError::NonFinite { .. })
    ));
    assert!(matches!(
        oracle.given(&raw(1, 3, &[1.0, f64::INFINITY, 0.0])),
        Err(CoreError::NonFinite { .. })
    ));
    assert!(matches!(
        oracle.given(&raw(1, 3, &[1.0, -0.1, 0.0])),
        Err(CoreError::InvalidParameter { .. })
    ));
    assert!(matches!(
        oracle.given(&raw(1, 3, &[0.0, -0.0, 0.0])),
        Err(CoreError::InvalidParameter { .. })
    ));
    // one bad point among per-point contexts
    assert!(matches!(
        oracle.given(&raw(2, 3, &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0])),
        Err(CoreError::InvalidParameter { .. })
    ));
    // the inherent API wraps the same errors
    assert!(matches!(
        oracle.conditioned(&[1.0, 2.0]),
        Err(AnalyticError::Core(CoreError::ShapeMismatch { .. }))
    ));
    // t outside [0, 1] and points of the wrong dimension are errors of the conditioned field too
    let given = oracle.given(&raw(1, 3, &[1.0, 1.0, 0.0])).unwrap();
    let x = Points::zeros(2, 1);
    assert!(given.velocity(1.5, &x).is_err());
    assert!(given.velocity(0.5, &Points::zeros(2, 2)).is_err());
}

fn entry() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0f64..5.0,
        1 => Just(0.0),
        1 => -5.0f64..0.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => any::<f64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary contexts (wrong length, NaN, infinities, negative, all zero) never panic: a context is
    /// accepted exactly when every point has k finite, non-negative entries, not all zero.
    #[test]
    fn arbitrary_contexts_error_and_never_panic(
        k in 0usize..6,
        n in 0usize..4,
        values in prop::collection::vec(entry(), 0..24),
    ) {
        let oracle = ConditionalMixtureFields::new(
            common::pair_1d().0,
            classes_1d(),
            Interpolant::linear(Gamma::brownian()).unwrap(),
        )
        .unwrap();
        let mut v = values;
        v.resize(n * k, 0.5);
        let context = Points::from_matrix_unchecked(DMatrix::from_column_slice(k, n, &v));
        let point_ok = |p: &[f64]| {
            p.iter().all(|c| c.is_finite() && *c >= 0.0) && p.iter().any(|c| *c > 0.0)
        };
        let valid = k == 3 && n >= 1 && v.chunks(3).all(point_ok);
        let result = oracle.given(&context);
        prop_assert_eq!(result.is_ok(), valid, "context {:?} (n = {}, k = {})", v, n, k);
        match result {
            Ok(given) => {
                let x = Points::from_row_major(n, 1, &vec![0.25; n]).unwrap();
                let b = given.velocity(0.5, &x).unwrap();
                prop_assert!(b.as_slice().iter().all(|v| v.is_finite()));
                if n == 1 {
                    let w = oracle.class_weights(&v).unwrap();
                    prop_assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                }
            }
            Err(CoreError::ShapeMismatch { .. }) => prop_assert!(k != 3 || n == 0),
            Err(CoreError::NonFinite { .. }) | Err(CoreError::InvalidParameter { .. }) => {
                prop_assert!(k == 3)
            }
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
        // the slice API agrees on single contexts
        if n == 1 {
            prop_assert_eq!(oracle.conditioned(&v).is_ok(), valid);
        }
    }
}
