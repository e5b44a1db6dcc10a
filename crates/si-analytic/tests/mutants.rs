//! Tests written to kill mutants that `cargo mutants` found missed (docs/mutation.md). The truths are
//! independent of the code under test: ρ(t) is the law of α x0 + β x1 + γ z for Gaussian-mixture endpoints,
//! itself a Gaussian mixture whose log-density is evaluated by `GaussianMixture::log_density` (nalgebra's
//! Cholesky, not the flat kernels of the fields); s is checked against finite differences of that density;
//! b against the continuity equation ∂t log ρ + ∇·b + b·∇log ρ = 0 with both derivatives by differences.

use nalgebra::{DMatrix, DVector};
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Batch, Gamma, Interpolant, Points, Sidedness};

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
                let lr = truth.log_density(&x).unwrap();
                let ts = vec![t; x.len()];
                for with_div in [false, true] {
                    let v = f.evaluate_per_point(&ts, &x, with_div).unwrap();
                    #[allow(clippy::needless_range_loop)]
                    for i in 0..x.len() {
                        assert!(
                            (v.log_rho[i] - lr[i]).abs() < 1e-10 * (1.0 + lr[i].abs()),
                            "{name} t = {t}: log rho {} vs {}",
                            v.log_rho[i],
                            lr[i]
                        );
                        // s = ∇ log ρ by central differences of the exact law
                        for r in 0..d {
                            let lp = |e: f64| truth.log_density(&shift(&x, i, r, e)).unwrap()[0];
                            let g = (lp(h) - lp(-h)) / (2.0 * h);
                            let s = v.s.point(i)[r];
                            assert!(
                                (s - g).abs() < 1e-5 * (1.0 + g.abs()),
                                "{name} t = {t}: s {s} vs {g} (with_div {with_div})"
                            );
                        }
                    }
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
