//! The tube's ODE and SDE against exact laws (docs/math.md §7). For one path the law of X_t is Gaussian:
//! from N(ξ(0), σ0² I) it stays N(ξ(t), σ_t² I) for every λ; from exactly ξ(0) its variance is
//! σ_t²(1 − e^{−2λt}); Euler–Maruyama with step h follows the exact recursion
//! v ← (1 − (k+λ)h)² v + 2λh σ_t² of its own variance. Sample means and variances are checked within 5
//! standard errors (s.e. of a variance v from m draws: v √(2/(m − 1)); false-alarm rate about 6e-7 each).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Points};
use si_integrate::{integrate, Stepper, TimeGrid};
use si_robot::{ActionPath, Tube, TubeConfig, TubeEulerMaruyama, TubeExponential, TubeMixture};

fn tube(sigma0: f64, k: f64) -> Tube {
    TubeConfig {
        sigma0,
        k,
        horizon: 16,
    }
    .check()
    .unwrap()
}

/// Four segments: knots at multiples of ¼, on every grid used here (as a window's knots are on the
/// policy's grid of one step per action).
fn line() -> ActionPath {
    ActionPath::new(vec![
        [0.0, 0.0],
        [0.3, 1.0],
        [1.0, 0.5],
        [0.2, -0.5],
        [0.4, 0.1],
    ])
    .unwrap()
}

/// n points at ξ(0) (+ σ0 N(0, I) when `noisy`).
fn start(n: usize, t: &Tube, noisy: bool, rng: &mut ChaCha8Rng) -> Points {
    let mut x = Points::zeros(n, 2);
    if noisy {
        x.add_noise(t.sigma0(), rng).unwrap();
    }
    x
}

/// Integrates to t = 1 with `steps` steps; checks the mean against ξ(1) and returns the sample variance
/// (both coordinates pooled) and its standard error.
fn run<S: Stepper<Points>>(
    stepper: &S,
    f: &TubeMixture,
    x: Points,
    steps: usize,
    rng: &mut ChaCha8Rng,
) -> (f64, f64) {
    let grid = TimeGrid::uniform(0.0, 1.0, steps).unwrap();
    let y = integrate(stepper, f, x, &grid, rng, &mut []).unwrap();
    let xi = f.paths()[0].at(1.0);
    let n = y.len();
    let (mut s2, mut s1) = (0.0, [0.0; 2]);
    for i in 0..n {
        for r in 0..2 {
            let u = y.point(i)[r] - xi[r];
            s1[r] += u;
            s2 += u * u;
        }
    }
    let m = 2.0 * n as f64;
    let var = s2 / m;
    for (r, s) in s1.iter().enumerate() {
        let mean = s / n as f64;
        assert!(
            mean.abs() < 5.0 * (var / n as f64).sqrt(),
            "{}: mean offset {mean} in coordinate {r}",
            stepper.name()
        );
    }
    (var, var * (2.0 / (m - 1.0)).sqrt())
}

/// The variance of Euler–Maruyama's X_1 − ξ(1) for one path, by its exact recursion.
fn em_recursion(t: &Tube, lambda: f64, v0: f64, steps: usize) -> f64 {
    let h = 1.0 / steps as f64;
    (0..steps).fold(v0, |v, j| {
        let s = t.sigma(j as f64 * h);
        (1.0 - (t.k() + lambda) * h).powi(2) * v + 2.0 * lambda * h * s * s
    })
}

#[test]
fn the_exponential_step_is_exact_for_one_path_at_one_step_per_action() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n = 20_000;
    for (k, lambda) in [(2.0, 0.0), (2.0, 1.0), (4.0, 4.0), (0.5, 8.0)] {
        let t = tube(0.3, k);
        let f = TubeMixture::new(vec![line()], &[1.0], t).unwrap();
        let step = TubeExponential::new(t, lambda).unwrap();
        let s1 = t.sigma(1.0).powi(2);
        // noisy start: N(ξ(1), σ1²)
        let (v, se) = run(&step, &f, start(n, &t, true, &mut rng), 16, &mut rng);
        assert!(
            (v - s1).abs() < 5.0 * se,
            "k = {k}, lambda = {lambda}, noisy start: {v} vs {s1}"
        );
        // exact start: σ1² (1 − e^{−2λ})
        if lambda > 0.0 {
            let want = s1 * (1.0 - (-2.0 * lambda).exp());
            let (v, se) = run(&step, &f, start(n, &t, false, &mut rng), 16, &mut rng);
            assert!(
                (v - want).abs() < 5.0 * se,
                "k = {k}, lambda = {lambda}, exact start: {v} vs {want}"
            );
        } else {
            // the ODE from an exact start stays on the path
            let y = integrate(
                &step,
                &f,
                start(4, &t, false, &mut rng),
                &TimeGrid::uniform(0.0, 1.0, 16).unwrap(),
                &mut rng,
                &mut [],
            )
            .unwrap();
            let xi = line().at(1.0);
            assert!(y
                .as_slice()
                .chunks(2)
                .all(|p| (p[0] - xi[0]).abs() < 1e-12 && (p[1] - xi[1]).abs() < 1e-12));
        }
    }
}

#[test]
fn euler_maruyama_follows_its_own_variance_recursion_and_converges_to_the_sde() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let n = 20_000;
    // 16 steps (one per action): the recursion's spread error, computed: ODE k = 2 → 0.761 (= (7/8)^32 e^4);
    // k = 2, λ = 1 → 1.05; k = 4, λ = 4 → 1.40 (variance at t = 1 over σ1², noisy start)
    let ratio = |k: f64, l: f64| {
        let t = tube(0.3, k);
        em_recursion(&t, l, 0.09, 16) / t.sigma(1.0).powi(2)
    };
    assert!((ratio(2.0, 0.0) - 0.875f64.powi(32) * 4f64.exp()).abs() < 1e-12);
    assert!((ratio(2.0, 1.0) - 1.05).abs() < 0.01, "{}", ratio(2.0, 1.0));
    assert!((ratio(4.0, 4.0) - 1.40).abs() < 0.01, "{}", ratio(4.0, 4.0));
    for (k, lambda, noisy) in [
        (2.0, 1.0, true),
        (4.0, 4.0, true),
        (2.0, 1.0, false),
        (1.0, 3.0, false),
    ] {
        let t = tube(0.3, k);
        let f = TubeMixture::new(vec![line()], &[1.0], t).unwrap();
        let step = TubeEulerMaruyama::new(t, lambda).unwrap();
        let v0 = if noisy { 0.09 } else { 0.0 };
        // one step per action: the sample follows the recursion
        let want = em_recursion(&t, lambda, v0, 16);
        let (v, se) = run(&step, &f, start(n, &t, noisy, &mut rng), 16, &mut rng);
        assert!(
            (v - want).abs() < 5.0 * se,
            "EM k = {k} lambda = {lambda} noisy = {noisy}: {v} vs {want}"
        );
        // fine steps: the SDE's exact law (the recursion's own bias is below 1 % at 1024 steps, against
        // a tolerance of 5 s.e. ≈ 5 % at 2 × 10⁴ values)
        let exact = t.sigma(1.0).powi(2)
            * if noisy {
                1.0
            } else {
                1.0 - (-2.0 * lambda).exp()
            };
        assert!((em_recursion(&t, lambda, v0, 1024) / exact - 1.0).abs() < 0.01);
        let (v, se) = run(&step, &f, start(n / 2, &t, noisy, &mut rng), 1024, &mut rng);
        assert!(
            (v - exact).abs() < 5.0 * se,
            "EM 1024 steps k = {k} lambda = {lambda}: {v} vs {exact}"
        );
    }
}

/// Two paths with weights 0.3 / 0.7 that split after t = ½. From the noisy start the ODE and the SDE
/// keep the mixture's marginals, so the fraction that ends on each branch is its weight (binomial s.e.).
#[test]
fn branches_are_taken_in_proportion_to_their_weights() {
    let a = ActionPath::new(vec![[0.0, 0.0], [0.5, 0.0], [1.0, 1.0]]).unwrap();
    let b = ActionPath::new(vec![[0.0, 0.0], [0.5, 0.0], [1.0, -1.0]]).unwrap();
    let t = tube(0.2, 2.0);
    let f = TubeMixture::new(vec![a, b], &[0.3, 0.7], t).unwrap();
    let n = 4000;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let se = (0.3f64 * 0.7 / n as f64).sqrt();
    for lambda in [0.0, 1.0, 4.0] {
        let step = TubeExponential::new(t, lambda).unwrap();
        let x = start(n, &t, true, &mut rng);
        let y = integrate(
            &step,
            &f,
            x,
            &TimeGrid::uniform(0.0, 1.0, 256).unwrap(),
            &mut rng,
            &mut [],
        )
        .unwrap();
        let up = (0..n).filter(|&i| y.point(i)[1] > 0.0).count() as f64 / n as f64;
        assert!(
            (up - 0.3).abs() < 5.0 * se,
            "lambda = {lambda}: {up} on the upper branch"
        );
    }
}

#[test]
fn bad_settings_are_typed_errors() {
    let t = tube(0.3, 1.0);
    // captions name the step and its noise level
    let em = <TubeEulerMaruyama as Stepper<Points>>::name(&TubeEulerMaruyama::new(t, 0.5).unwrap());
    let ex = <TubeExponential as Stepper<Points>>::name(&TubeExponential::new(t, 0.5).unwrap());
    assert!(
        em.contains("Euler-Maruyama") && em.contains("0.5") && ex.contains("exponential"),
        "{em} {ex}"
    );
    assert!(TubeEulerMaruyama::new(t, -1.0).is_err());
    assert!(TubeExponential::new(t, f64::NAN).is_err());
    let f = TubeMixture::new(vec![line()], &[1.0], t).unwrap();
    let mut x = Points::zeros(2, 2);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let step = TubeExponential::new(t, 1.0).unwrap();
    // the flow runs forward only
    assert!(step.step(&f, 0.5, -0.1, &mut x, &mut rng).is_err());
    assert!(TubeEulerMaruyama::new(t, 0.0)
        .unwrap()
        .step(&f, 0.5, 0.0, &mut x, &mut rng)
        .is_err());
    // points of the wrong dimension
    let mut x3 = Points::zeros(2, 3);
    assert!(step.step(&f, 0.5, 0.1, &mut x3, &mut rng).is_err());
}

/// The step's conditional mean against its closed form for one path (knots on the grid), and the whole step
/// as that mean plus the increment of the stated standard deviation, drawn from the same stream:
/// exponential, E[X_{t+h} | x] = ξ(t+h) + e^{−(k+λ)h} (x − ξ(t)), increment σ_{t+h} √(1 − e^{−2λh});
/// Euler–Maruyama, x + h (ξ̇(t) − (k+λ)(x − ξ(t))), increment σ_t √(2λh).
#[test]
fn each_step_is_its_conditional_mean_plus_its_increment() {
    use si_robot::TubeStep;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let h = 1.0 / 16.0;
    for (k, lambda) in [(2.0, 0.0), (2.0, 1.0), (4.0, 4.0), (0.5, 64.0)] {
        let t = tube(0.3, k);
        let f = TubeMixture::new(vec![line()], &[1.0], t).unwrap();
        let exp = TubeExponential::new(t, lambda).unwrap();
        let em = TubeEulerMaruyama::new(t, lambda).unwrap();
        for j in 0..16 {
            let s = j as f64 * h;
            let x = start(3, &t, true, &mut rng);
            let (xi, xi1, v) = (line().at(s), line().at(s + h), line().velocity(s));
            let pull = (-(k + lambda) * h).exp();
            let mut m_exp = x.clone();
            exp.step_mean(&f, s, h, &mut m_exp).unwrap();
            let mut m_em = x.clone();
            em.step_mean(&f, s, h, &mut m_em).unwrap();
            for i in 0..3 {
                for r in 0..2 {
                    let off = x.point(i)[r] - xi[r];
                    let want = xi1[r] + pull * off;
                    assert!(
                        (m_exp.point(i)[r] - want).abs() < 1e-12,
                        "exp {k} {lambda} {j}"
                    );
                    let want = x.point(i)[r] + h * (v[r] - (k + lambda) * off);
                    assert!(
                        (m_em.point(i)[r] - want).abs() < 1e-12,
                        "em {k} {lambda} {j}"
                    );
                }
            }
            let sd_exp = t.sigma(s + h) * (1.0 - (-2.0 * lambda * h).exp()).sqrt();
            let sd_em = t.sigma(s) * (2.0 * lambda * h).sqrt();
            for (sd, want) in [
                (exp.noise_sd(s, h), sd_exp),
                (TubeStep::noise_sd(&em, s, h), sd_em),
            ] {
                match sd {
                    None => assert_eq!(lambda, 0.0),
                    Some(sd) => assert!(lambda > 0.0 && (sd - want).abs() < 1e-15 * (1.0 + want)),
                }
            }
            // the whole step: the mean, then sd · ζ drawn from the same stream
            let whole = |step: &dyn Fn(&mut Points, &mut ChaCha8Rng)| {
                let mut y = x.clone();
                step(&mut y, &mut ChaCha8Rng::seed_from_u64(j as u64));
                y
            };
            let split = |mean: &Points, sd: Option<f64>| {
                let mut y = mean.clone();
                if let Some(sd) = sd {
                    y.add_noise(sd, &mut ChaCha8Rng::seed_from_u64(j as u64))
                        .unwrap();
                }
                y
            };
            assert_eq!(
                whole(&|y, r| exp.step(&f, s, h, y, r).unwrap()).as_slice(),
                split(&m_exp, exp.noise_sd(s, h)).as_slice()
            );
            assert_eq!(
                whole(&|y, r| em.step(&f, s, h, y, r).unwrap()).as_slice(),
                split(&m_em, TubeStep::noise_sd(&em, s, h)).as_slice()
            );
        }
    }
}
