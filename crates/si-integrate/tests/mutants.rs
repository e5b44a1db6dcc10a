//! Tests written to kill mutants that `cargo mutants` found missed (docs/mutation.md). Expected values come
//! from independent truths: hand-written grids, Taylor expansions of linear flows, and exact Gaussian laws.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Field, Points};
use si_integrate::{
    ode_log_likelihood, Diffusion, IntegrateError, Stepper, StochasticHeun, TimeGrid,
};

/// Repeated times are not strictly monotone, in either direction.
#[test]
fn grids_with_repeated_times_are_rejected() {
    for times in [
        vec![0.0, 0.5, 0.5, 1.0],
        vec![1.0, 0.5, 0.5, 0.0],
        vec![0.2, 0.2],
        vec![0.0, 0.3, 0.3],
    ] {
        assert!(
            matches!(
                TimeGrid::from_times(times.clone()),
                Err(IntegrateError::InvalidGrid(_))
            ),
            "{times:?}"
        );
    }
    assert!(TimeGrid::from_times(vec![0.0, 0.3, 1.0]).is_ok());
    // two times are enough: one step
    assert_eq!(TimeGrid::from_times(vec![0.3, 0.7]).unwrap().steps(), 1);
    assert!(TimeGrid::from_times(vec![0.9, 0.3, 0.1]).is_ok());
}

/// start, end, steps and the direction of grids written by hand.
#[test]
fn grid_ends_and_direction() {
    let g = TimeGrid::uniform(0.2, 0.9, 7).unwrap();
    assert_eq!((g.start(), g.end(), g.steps()), (0.2, 0.9, 7));
    assert!(!g.is_backward());
    let g = TimeGrid::from_times(vec![0.8, 0.5, 0.25]).unwrap();
    assert_eq!((g.start(), g.end(), g.steps()), (0.8, 0.25, 2));
    assert!(g.is_backward());
    let g = TimeGrid::uniform(1.0, 0.0, 4).unwrap();
    assert!(g.is_backward());
}

/// b(t, x) = λ x with ∇·b = λ d: a field with known flow and divergence.
struct Linear {
    lambda: f64,
    d: usize,
}

impl Field<Points> for Linear {
    fn dim(&self) -> usize {
        self.d
    }
    fn velocity(&self, _t: f64, x: &Points) -> si_core::Result<Points> {
        Ok(Points::from_matrix_unchecked(x.matrix() * self.lambda))
    }
    fn divergence(&self, _t: f64, x: &Points) -> si_core::Result<nalgebra::DVector<f64>> {
        Ok(nalgebra::DVector::from_element(
            x.len(),
            self.lambda * self.d as f64,
        ))
    }
}

/// The likelihood needs a grid from exactly 1 to exactly 0: one end right is not enough.
#[test]
fn likelihood_grid_must_run_from_one_to_zero() {
    let f = Linear { lambda: 0.0, d: 1 };
    let x = Points::from_row_major(1, 1, &[0.3]).unwrap();
    let base = |p: &Points| -> si_core::Result<Vec<f64>> { Ok(vec![0.0; p.len()]) };
    for (a, b) in [(1.0, 0.5), (0.5, 0.0), (0.0, 1.0)] {
        let g = TimeGrid::uniform(a, b, 4).unwrap();
        assert!(
            matches!(
                ode_log_likelihood(&f, &x, &g, base),
                Err(IntegrateError::LikelihoodGrid { .. })
            ),
            "{a} -> {b}"
        );
    }
    let g = TimeGrid::uniform(1.0, 0.0, 4).unwrap();
    assert!(ode_log_likelihood(&f, &x, &g, base).is_ok());
}

/// b = 0 and s(t, x) = −x (the score of N(0, I)).
struct PureScore;

impl Field<Points> for PureScore {
    fn dim(&self) -> usize {
        1
    }
    fn velocity(&self, _t: f64, x: &Points) -> si_core::Result<Points> {
        Ok(Points::zeros(x.len(), x.dim()))
    }
    fn score(&self, _t: f64, x: &Points) -> si_core::Result<Points> {
        Ok(Points::from_matrix_unchecked(-x.matrix()))
    }
}

/// Stochastic Heun where ε(t) = 0 but ε(t + dt) > 0: the noise ΔW = √(2ε(t)|dt|) ξ is 0, and the scheme
/// x̃ = x + dt f(t, x), x ← x + ½dt [f(t, x) + f(t + dt, x̃)] with f = b + ε s, b = 0, s = −x, worked by
/// hand: f(t, x) = 0, x̃ = x, f(t + dt, x̃) = −ε(t + dt) x, so x ← (1 − ½ dt ε(t + dt)) x. (Plain Heun, which
/// ignores ε, would leave x unchanged.)
#[test]
fn stochastic_heun_uses_the_end_diffusion_when_the_start_one_vanishes() {
    let sh = StochasticHeun::new(Diffusion::function("t", |t| t));
    let dt = 0.25;
    let mut x = Points::from_row_major(3, 1, &[1.0, -2.0, 0.5]).unwrap();
    let x0 = x.clone();
    sh.step(
        &PureScore,
        0.0,
        dt,
        &mut x,
        &mut ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap();
    let gain = 1.0 - 0.5 * dt * dt;
    for (a, b) in x.as_slice().iter().zip(x0.as_slice()) {
        assert!((a - gain * b).abs() < 1e-14, "{a} vs {}", gain * b);
    }
}

/// Stochastic Heun where ε(t) > 0 but ε(t + dt) = 0 (ε = 1 − t, last step to t = 1): the step is stochastic,
/// with ΔW ~ N(0, 2ε(t)dt). From x = 1 (n = 20,000 copies), b = 0, s = −x: x̃ = x − dt ε x + ΔW,
/// f(t + dt, x̃) = 0, so x ← (1 − ½ dt ε) x + ΔW: mean 1 − ½ dt ε, variance 2 ε dt. Bounds of 5 standard
/// errors (s.e. of the mean √(v/n), of the variance v√(2/(n−1))): false-alarm rate about 6e-7 each.
#[test]
fn stochastic_heun_is_stochastic_when_only_the_end_diffusion_vanishes() {
    let sh = StochasticHeun::new(Diffusion::function("1 - t", |t| 1.0 - t));
    let (t, dt) = (0.75, 0.25);
    let eps = 1.0 - t;
    let n = 20_000;
    let mut x = Points::from_row_major(n, 1, &vec![1.0; n]).unwrap();
    sh.step(
        &PureScore,
        t,
        dt,
        &mut x,
        &mut ChaCha8Rng::seed_from_u64(11),
    )
    .unwrap();
    let v = x.as_slice();
    let nf = n as f64;
    let mean = v.iter().sum::<f64>() / nf;
    let var = v.iter().map(|u| (u - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    let (m_exact, v_exact) = (1.0 - 0.5 * dt * eps, 2.0 * eps * dt);
    assert!(
        (mean - m_exact).abs() < 5.0 * (v_exact / nf).sqrt(),
        "mean {mean} vs {m_exact}"
    );
    assert!(
        (var - v_exact).abs() < 5.0 * v_exact * (2.0 / (nf - 1.0)).sqrt(),
        "variance {var} vs {v_exact}"
    );
}

/// Captions name the stepper (figures and logs print them): each is non-empty and tells the steppers apart;
/// a diffusion's debug form names its schedule.
#[test]
fn stepper_names_tell_the_steppers_apart() {
    use si_integrate::{Euler, EulerMaruyama, Heun};
    let names = [
        <Euler as Stepper<Points>>::name(&Euler),
        <Heun as Stepper<Points>>::name(&Heun),
        <EulerMaruyama as Stepper<Points>>::name(&EulerMaruyama::constant(0.5).unwrap()),
    ];
    assert!(
        names[0].contains("Euler") && names[1].contains("Heun"),
        "{names:?}"
    );
    assert!(names[2].contains("Maruyama"), "{names:?}");
    let d = Diffusion::constant(0.25).unwrap();
    assert!(
        format!("{d:?}").starts_with("Diffusion(") && format!("{d:?}").len() > "Diffusion()".len()
    );
}
