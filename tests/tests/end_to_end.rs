//! Across the crates: an exact field (si-analytic) integrated by si-integrate, checked with si-core's
//! metrics, in the 2-D reference setting; and the identities between the fields that every learned
//! field must also satisfy, checked on the oracle through the `Field` trait only.

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::metrics::energy_distance;
use si_core::{Batch, Field, Gamma, Interpolant, Points};
use si_integrate::{integrate, ode_log_likelihood, Heun, TimeGrid, Trajectory};

fn pair() -> (GaussianMixture, GaussianMixture) {
    si_analytic::reference::pair_2d().unwrap()
}

/// The ODE transports ρ0 to ρ1 through the exact intermediate marginals: at every recorded time the
/// samples match exact samples of ρ(t) within the null level of the energy distance.
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
    for (&t, x) in tr.times.iter().zip(&tr.states) {
        let (m, c) = f.moments(t).unwrap();
        let (sm, sc) = (x.mean(), x.covariance());
        for r in 0..2 {
            assert!(
                (sm[r] - m[r]).abs() < 5.0 * (c[(r, r)] / n as f64).sqrt(),
                "t = {t}: mean {} vs {}",
                sm[r],
                m[r]
            );
            let se = (2.0 * c[(r, r)].powi(2) / n as f64).sqrt() * 2.0;
            assert!(
                (sc[(r, r)] - c[(r, r)]).abs() < 5.0 * se,
                "t = {t}: var {} vs {}",
                sc[(r, r)],
                c[(r, r)]
            );
        }
        let null = (0..5)
            .map(|_| {
                energy_distance(
                    &f.sample(t, n, &mut rng).unwrap(),
                    &f.sample(t, n, &mut rng).unwrap(),
                )
                .unwrap()
            })
            .fold(0.0, f64::max);
        let e = energy_distance(x, &f.sample(t, n, &mut rng).unwrap()).unwrap();
        assert!(
            e < 3.0 * null,
            "t = {t}: energy distance {e} vs null level {null}"
        );
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
