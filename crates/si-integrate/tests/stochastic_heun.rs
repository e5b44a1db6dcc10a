//! The stochastic Heun step against its exact discrete moment recursion on an affine (Gaussian) field, and
//! its order against Euler–Maruyama at equal numbers of field evaluations.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{reference, MixtureFields};
use si_core::{Field, Interpolant, Points};
use si_integrate::{integrate, EulerMaruyama, Stepper, StochasticHeun, TimeGrid};

fn gaussian_field() -> MixtureFields {
    let (rho0, rho1) = reference::gaussian_pair_1d().unwrap();
    MixtureFields::new(rho0, rho1, Interpolant::one_sided_linear()).unwrap()
}

/// The drift f = b + ε s of a Gaussian path is affine in x: f(t, x) = a x + c, read off at x = 0 and 1.
fn affine(f: &MixtureFields, t: f64, eps: f64) -> (f64, f64) {
    let x = Points::from_row_major(2, 1, &[0.0, 1.0]).unwrap();
    let (b, s) = f.velocity_and_score(t, &x).unwrap();
    let v = |p: &Points, i: usize| p.as_slice()[i];
    let f0 = v(&b, 0) + eps * v(&s, 0);
    let f1 = v(&b, 1) + eps * v(&s, 1);
    (f1 - f0, f0)
}

fn sample_moments(x: &Points) -> (f64, f64) {
    let v = x.as_slice();
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (
        m,
        v.iter().map(|u| (u - m).powi(2)).sum::<f64>() / (n - 1.0),
    )
}

#[test]
fn stochastic_heun_matches_its_exact_moment_recursion() {
    // One step with f = a x + c at t and a1 x + c1 at t + dt, shared noise ΔW ~ N(0, 2ε dt):
    //   x' = [1 + ½dt(a + a1 + dt a1 a)] x + ½dt[c + c1 + dt a1 c] + (1 + ½dt a1) ΔW,
    // so the mean and variance of N(m, v) follow exactly. N = 200,000 paths from N(0, 1); bounds of 5
    // standard errors (two-sided false-alarm rate 6e-7 each): s.e.(mean) = √(v/N), s.e.(var) = v√(2/(N−1)).
    let f = gaussian_field();
    let (eps, steps) = (2.0, 10);
    let grid = TimeGrid::uniform(0.0, 1.0, steps).unwrap();
    let (mut m, mut v) = (0.0, 1.0);
    let dt = 1.0 / steps as f64;
    for k in 0..steps {
        let t = k as f64 * dt;
        let (a, c) = affine(&f, t, eps);
        let (a1, c1) = affine(&f, (t + dt).min(1.0), eps);
        let gain = 1.0 + 0.5 * dt * (a + a1 + dt * a1 * a);
        let noise = 1.0 + 0.5 * dt * a1;
        m = gain * m + 0.5 * dt * (c + c1 + dt * a1 * c);
        v = gain * gain * v + noise * noise * 2.0 * eps * dt;
    }
    let n = 200_000;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x0 = Points::standard_normal(n, 1, &mut rng);
    let stepper = StochasticHeun::constant(eps).unwrap();
    let x = integrate(&stepper, &f, x0, &grid, &mut rng, &mut []).unwrap();
    let (sm, sv) = sample_moments(&x);
    let nf = n as f64;
    let zm = (sm - m) / (v / nf).sqrt();
    let zv = (sv - v) / (v * (2.0 / (nf - 1.0)).sqrt());
    assert!(
        zm.abs() < 5.0,
        "mean {sm} vs exact recursion {m} (z = {zm})"
    );
    assert!(
        zv.abs() < 5.0,
        "variance {sv} vs exact recursion {v} (z = {zv})"
    );
    // The recursion differs from what independent noises in the two stages would give, by many s.e.:
    // the test sees the shared noise.
    assert!(
        (v - 0.25).abs() > 0.02,
        "the 10-step variance {v} should carry a step error"
    );
}

#[test]
fn stochastic_heun_is_second_order_where_euler_maruyama_is_first() {
    // Exact variance recursions (no sampling) of the final variance error against the exact 0.25, at
    // equal numbers of field evaluations (n Heun steps = 2n Euler–Maruyama steps).
    let f = gaussian_field();
    let eps = 2.0;
    let recursion = |heun: bool, steps: usize| {
        let dt = 1.0 / steps as f64;
        let mut v = 1.0;
        for k in 0..steps {
            let t = k as f64 * dt;
            let (a, _) = affine(&f, t, eps);
            if heun {
                let (a1, _) = affine(&f, (t + dt).min(1.0), eps);
                let gain = 1.0 + 0.5 * dt * (a + a1 + dt * a1 * a);
                let noise = 1.0 + 0.5 * dt * a1;
                v = gain * gain * v + noise * noise * 2.0 * eps * dt;
            } else {
                v = (1.0 + dt * a).powi(2) * v + 2.0 * eps * dt;
            }
        }
        v
    };
    let final_var = |heun: bool, steps: usize| (recursion(heun, steps) - 0.25).abs();
    let (h10, h20, h40) = (
        final_var(true, 10),
        final_var(true, 20),
        final_var(true, 40),
    );
    let (e20, e40, e80) = (
        final_var(false, 20),
        final_var(false, 40),
        final_var(false, 80),
    );
    assert!(
        h10 / h20 > 3.0 && h20 / h40 > 3.0,
        "Heun errors {h10} {h20} {h40}"
    );
    assert!(
        e20 / e40 < 2.5 && e40 / e80 < 2.5,
        "Euler-Maruyama errors {e20} {e40} {e80}"
    );
    assert!(
        h20 < e40 && h40 < e80,
        "at equal evaluations Heun is the more accurate"
    );
    // And the samplers agree with those recursions at 20 Heun / 40 Euler–Maruyama steps (5 s.e.).
    let n = 100_000;
    for (heun, steps) in [(true, 20), (false, 40)] {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let x0 = Points::standard_normal(n, 1, &mut rng);
        let grid = TimeGrid::uniform(0.0, 1.0, steps).unwrap();
        let x = if heun {
            let s = StochasticHeun::constant(eps).unwrap();
            integrate(&s, &f, x0, &grid, &mut rng, &mut []).unwrap()
        } else {
            let s = EulerMaruyama::constant(eps).unwrap();
            integrate(&s, &f, x0, &grid, &mut rng, &mut []).unwrap()
        };
        let (_, sv) = sample_moments(&x);
        let exact = recursion(heun, steps);
        let z = (sv - exact) / (exact * (2.0 / (n as f64 - 1.0)).sqrt());
        assert!(
            z.abs() < 5.0,
            "heun = {heun}: variance {sv} vs {exact} (z = {z})"
        );
    }
    let name = Stepper::<Points>::name(&StochasticHeun::constant(0.5).unwrap());
    assert!(name.contains("stochastic Heun"));
    assert!(StochasticHeun::constant(-1.0).is_err());
}

#[test]
fn stochastic_heun_without_noise_is_heun() {
    // ε = 0: the same states as Heun's method on the ODE (to rounding), whatever the generator.
    let f = gaussian_field();
    let grid = TimeGrid::uniform(0.0, 1.0, 20).unwrap();
    let x0 = Points::standard_normal(100, 1, &mut ChaCha8Rng::seed_from_u64(3));
    let a = integrate(
        &StochasticHeun::constant(0.0).unwrap(),
        &f,
        x0.clone(),
        &grid,
        &mut ChaCha8Rng::seed_from_u64(4),
        &mut [],
    )
    .unwrap();
    let b = integrate(
        &si_integrate::Heun,
        &f,
        x0,
        &grid,
        &mut ChaCha8Rng::seed_from_u64(5),
        &mut [],
    )
    .unwrap();
    for (u, v) in a.as_slice().iter().zip(b.as_slice()) {
        assert!((u - v).abs() < 1e-12, "{u} vs {v}");
    }
}
