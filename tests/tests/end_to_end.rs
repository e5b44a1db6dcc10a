//! Across the crates: an exact field (si-analytic) integrated by si-integrate, checked with si-core's
//! metrics, in the 2-D reference setting; and the identities between the fields that every learned
//! field must also satisfy, checked on the oracle through the `Field` trait only.

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::metrics::ks_statistic;
use si_core::{Batch, Field, Gamma, Interpolant, Points};
use si_integrate::{integrate, ode_log_likelihood, Heun, TimeGrid, Trajectory};

fn pair() -> (GaussianMixture, GaussianMixture) {
    si_analytic::reference::pair_2d().unwrap()
}

/// 5 standard errors: two-sided false-alarm rate 5.7e-7 per statistic (normal approximation).
const Z_MAX: f64 = 5.0;
/// The same rate for the Kolmogorov–Smirnov checks, through the Dvoretzky–Kiefer–Wolfowitz inequality
/// P(D_n > λ) ≤ 2 exp(−2nλ²) (Massart's constant; valid for every n).
const KS_ALPHA: f64 = 5.7e-7;

/// The law of u·X: a 1-D mixture.
fn projection(g: &GaussianMixture, u: &[f64; 2]) -> GaussianMixture {
    let comps: Vec<(f64, f64, f64)> = g
        .weights()
        .iter()
        .zip(g.means())
        .zip(g.covariances())
        .map(|((&w, mu), c)| {
            let mean = u[0] * mu[0] + u[1] * mu[1];
            let var =
                u[0] * u[0] * c[(0, 0)] + 2.0 * u[0] * u[1] * c[(0, 1)] + u[1] * u[1] * c[(1, 1)];
            (w, mean, var)
        })
        .collect();
    GaussianMixture::univariate(&comps).unwrap()
}

/// The ODE transports ρ0 to ρ1 through the exact intermediate marginals: at every recorded time the
/// samples' per-coordinate mean and variance are within 5 standard errors of ρ(t)'s (the variance's
/// standard error from the mixture's exact fourth moment), and the KS distance of four projections
/// (axes and diagonals) to the exact projected law of ρ(t) is below the DKW bound at rate 5.7e-7. That is
/// 8 statistics at 5 times, 40 in all: family-wise false-alarm rate ≤ 2.3e-5 (Bonferroni); the seed is
/// fixed, so the test is deterministic.
#[test]
fn ode_samples_follow_the_exact_marginals() {
    let (r0, r1) = pair();
    let f = MixtureFields::new(
        r0.clone(),
        r1,
        Interpolant::trigonometric(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let n = 800;
    let mut tr = Trajectory::every(25);
    integrate(
        &Heun,
        &f,
        r0.sample(n, &mut rng),
        &TimeGrid::uniform(0.0, 1.0, 100).unwrap(),
        &mut rng,
        &mut [&mut tr],
    )
    .unwrap();
    assert_eq!(tr.times.len(), 5);
    let ks_lim = ((2.0 / KS_ALPHA).ln() / (2.0 * n as f64)).sqrt();
    let h = std::f64::consts::FRAC_1_SQRT_2;
    for (&t, x) in tr.times.iter().zip(&tr.states) {
        let rho = f.marginal(t).unwrap();
        let (m, c) = f.moments(t).unwrap();
        assert!((rho.mean() - &m).amax() < 1e-10 && (rho.covariance() - &c).amax() < 1e-10);
        let (sm, sc) = (x.mean(), x.covariance());
        for r in 0..2 {
            let z = (sm[r] - m[r]) / (c[(r, r)] / n as f64).sqrt();
            assert!(
                z.abs() < Z_MAX,
                "t = {t}: mean {} vs {}, z = {z:.2}",
                sm[r],
                m[r]
            );
            let se =
                ((rho.central_fourth_moment(r, r).unwrap() - c[(r, r)].powi(2)) / n as f64).sqrt();
            let z = (sc[(r, r)] - c[(r, r)]) / se;
            assert!(
                z.abs() < Z_MAX,
                "t = {t}: var {} vs {}, z = {z:.2}",
                sc[(r, r)],
                c[(r, r)]
            );
        }
        for u in [[1.0, 0.0], [0.0, 1.0], [h, h], [h, -h]] {
            let law = projection(&rho, &u);
            let proj: Vec<f64> = (0..n)
                .map(|i| u[0] * x.point(i)[0] + u[1] * x.point(i)[1])
                .collect();
            let d = ks_statistic(&proj, |v| law.cdf_1d(v).unwrap()).unwrap();
            assert!(
                d < ks_lim,
                "t = {t}, direction {u:?}: KS {d:.4} vs {ks_lim:.4}"
            );
        }
    }
}

/// Log-likelihood of the ODE model equals the exact log ρ1 also for points far in the tails.
#[test]
fn likelihood_in_the_tails() {
    let (r0, r1) = pair();
    let f = MixtureFields::new(
        r0.clone(),
        r1.clone(),
        Interpolant::linear(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let x = Points::from_row_major(3, 2, &[0.0, 0.0, 6.0, -6.0, -1.0, 5.0]).unwrap();
    let ll = ode_log_likelihood(&f, &x, &TimeGrid::uniform(1.0, 0.0, 600).unwrap(), |p| {
        Ok(r0.log_density(p)?)
    })
    .unwrap();
    let exact = r1.log_density(&x).unwrap();
    for (a, b) in ll.iter().zip(&exact) {
        assert!((a - b).abs() < 1e-2 * (1.0 + b.abs()), "{a} vs {b}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Through the `Field` trait: η = −γ s and b = v − γγ̇ s for random points and times.
    #[test]
    fn field_identities_through_the_trait(t in 0.0f64..=1.0, x in -6.0f64..6.0, y in -6.0f64..6.0) {
        let (r0, r1) = pair();
        let it = Interpolant::linear(Gamma::Quadratic).unwrap();
        let c = it.schedule(t).unwrap();
        let f = MixtureFields::new(r0, r1, it).unwrap();
        let f: &dyn Field<Points> = &f;
        let p = Points::from_row_major(1, 2, &[x, y]).unwrap();
        let (b, s) = f.velocity_and_score(t, &p).unwrap();
        let (eta, v) = (f.denoiser(t, &p).unwrap(), f.v(t, &p).unwrap());
        for k in 0..2 {
            prop_assert!((eta.as_slice()[k] + c.gamma * s.as_slice()[k]).abs() < 1e-12 * (1.0 + s.as_slice()[k].abs()));
            prop_assert!((b.as_slice()[k] - v.as_slice()[k] + c.gamma_dgamma * s.as_slice()[k]).abs() < 1e-10 * (1.0 + b.as_slice()[k].abs()));
        }
        prop_assert_eq!(f.divergence(t, &p).unwrap().len(), p.len());
    }
}
