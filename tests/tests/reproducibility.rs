//! Results are reproducible from a seed: the same seed gives bit-identical SDE samples, another seed
//! different ones.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Gamma, Interpolant, Points};
use si_integrate::{integrate, EulerMaruyama, TimeGrid};

fn run(seed: u64) -> Points {
    let r0 = GaussianMixture::univariate(&[(0.5, -2.0, 0.3), (0.5, 2.0, 0.3)]).unwrap();
    let r1 = GaussianMixture::univariate(&[(1.0, 1.0, 0.5)]).unwrap();
    let f = MixtureFields::new(
        r0.clone(),
        r1,
        Interpolant::linear(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x0 = r0.sample(64, &mut rng);
    let em = EulerMaruyama::constant(0.7).unwrap();
    integrate(
        &em,
        &f,
        x0,
        &TimeGrid::uniform(0.0, 1.0, 50).unwrap(),
        &mut rng,
        &mut [],
    )
    .unwrap()
}

#[test]
fn same_seed_same_samples() {
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}
