//! Euler–Maruyama against its own exact discrete law (no time-step bias in the tolerance).
//!
//! For Gaussian ρ0 = N(μ0, v0), ρ1 = N(μ1, v1) and a spatially linear interpolant, ρ(t) = N(m_t, C_t) and
//! the exact fields are affine in x (docs/math.md §4 with one component):
//! b = ṁ + ½ Ċ/C (x − m), s = −(x − m)/C. Writing the drift of one step (stepper.rs) as
//! (b + sign(dt) ε s)(t_k, x) = A_k x + c_k, with a = 1 + dt A_k and σ² = 2 ε(t_k) |dt|, one step maps
//! a Gaussian law N(m, v) to a Gaussian law exactly:
//!
//! ```text
//! drift first (EulerMaruyama::new):  x' = x + dt(A x + c) + σ ξ          m' = a m + dt c,  v' = a² v + σ²
//! noise first (.noise_first()):      x̂ = x + σ ξ,  x' = x̂ + dt(A x̂ + c)   m' = a m + dt c,  v' = a² (v + σ²)
//! ```
//!
//! A_k and c_k are read off the field itself (its values at x = 0 and x = 1; affinity is checked at a
//! third point). After K steps the N paths are exactly N(m_K, v_K)-distributed, so
//!
//! - the mean statistic z = (x̄ − m_K)/√(v_K/N) is exactly standard normal;
//! - (N − 1) S²/v_K is exactly χ²(N − 1); its Wilson–Hilferty cube-root transform is standard normal to
//!   well beyond 5 standard deviations at N = 10⁵ (sd of S² ≈ v_K √(2/(N − 1)), 0.45 %).
//!
//! Threshold: |z| < 5, a two-sided false-alarm rate of 5.7e-7 per statistic. The correct steppers and the
//! unmutated copies are held to it on 40 statistics in this file (5 cases × 2 orders × {mean, variance} ×
//! {stepper, copy}), so by Bonferroni the whole file raises a false alarm with probability ≤ 2.3e-5; the
//! seeds are fixed, so the outcome is deterministic anyway.
//!
//! Power: the file keeps a copy of the stepper with knobs to break it ([`Mutant`]) and asserts that the same
//! statistics reject each mutation (noise amplitude √(2.88 ε dt), score coefficient 0.8 ε, swapped
//! noise/drift order, score sign not flipped backward, ε taken at the end of the step). Observed variance
//! z-scores: noise 75–88, 0.8 ε s 38–89 (and the mean, 72–77, off the marginal), swapped order 14–259,
//! backward score sign 900–1900, ε at the step end 9–12; expected |z| at least ≈ 9 everywhere, so a
//! missed rejection has probability < 1e-4 even for the weakest.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Batch, Field, Gamma, Interpolant, Points};
use si_integrate::{integrate, Diffusion, EulerMaruyama, Stepper, TimeGrid};

/// Paths per run.
const N: usize = 100_000;
/// Steps per run: coarse on purpose, the reference is the discrete law itself (and coarse steps make the
/// two orders of noise and drift distinguishable).
const K: usize = 10;
/// 5 standard errors: two-sided false-alarm rate 5.7e-7 per statistic.
const Z_MAX: f64 = 5.0;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Order {
    DriftFirst,
    NoiseFirst,
}

impl Order {
    fn swapped(self) -> Self {
        match self {
            Order::DriftFirst => Order::NoiseFirst,
            Order::NoiseFirst => Order::DriftFirst,
        }
    }
}

struct Case {
    name: &'static str,
    fields: MixtureFields,
    eps: Diffusion,
    backward: bool,
    /// Mean and variance of the Gaussian starting law.
    start: (f64, f64),
    /// Whether the start is the marginal ρ(t_start) (then the continuous SDE ends exactly at the other
    /// end's law).
    on_marginal: bool,
    /// Whether ε depends on t (so evaluating it at the wrong end of the step is a different scheme).
    eps_varies: bool,
}

const RHO0: (f64, f64) = (-1.0, 0.25);
const RHO1: (f64, f64) = (2.0, 2.25);

fn gaussian_fields(it: Interpolant) -> MixtureFields {
    MixtureFields::new(
        GaussianMixture::univariate(&[(1.0, RHO0.0, RHO0.1)]).unwrap(),
        GaussianMixture::univariate(&[(1.0, RHO1.0, RHO1.1)]).unwrap(),
        it,
    )
    .unwrap()
}

fn cases() -> Vec<Case> {
    let linear = || gaussian_fields(Interpolant::linear(Gamma::brownian()).unwrap());
    let constant = || Diffusion::constant(1.0).unwrap();
    vec![
        Case {
            name: "forward, eps = 1",
            fields: linear(),
            eps: constant(),
            backward: false,
            start: RHO0,
            on_marginal: true,
            eps_varies: false,
        },
        Case {
            name: "backward, eps = 1",
            fields: linear(),
            eps: constant(),
            backward: true,
            start: RHO1,
            on_marginal: true,
            eps_varies: false,
        },
        Case {
            name: "forward, eps(t) = 2(1-t)",
            fields: linear(),
            eps: Diffusion::function("2(1-t)", |t| 2.0 * (1.0 - t)),
            backward: false,
            start: RHO0,
            on_marginal: true,
            eps_varies: true,
        },
        Case {
            name: "backward, eps(t) = 2t",
            fields: linear(),
            eps: Diffusion::function("2t", |t| 2.0 * t),
            backward: true,
            start: RHO1,
            on_marginal: true,
            eps_varies: true,
        },
        Case {
            // Off the marginal the score term also moves the mean, so the mean statistic has power too.
            name: "forward from N(0.5, 1), trigonometric gamma = 0, eps = 1",
            fields: gaussian_fields(Interpolant::trigonometric(Gamma::Zero).unwrap()),
            eps: constant(),
            backward: false,
            start: (0.5, 1.0),
            on_marginal: false,
            eps_varies: false,
        },
    ]
}

fn grid(case: &Case, steps: usize) -> TimeGrid {
    if case.backward {
        TimeGrid::uniform(1.0, 0.0, steps).unwrap()
    } else {
        TimeGrid::uniform(0.0, 1.0, steps).unwrap()
    }
}

/// (A, c) with (b + sign(dt) ε s)(t, x) = A x + c, read off the exact field.
fn affine_drift(f: &MixtureFields, t: f64, dt: f64, eps: f64) -> (f64, f64) {
    let x = Points::from_row_major(3, 1, &[0.0, 1.0, -2.5]).unwrap();
    let (b, s) = f.velocity_and_score(t, &x).unwrap();
    let g: Vec<f64> = (0..3)
        .map(|i| b.as_slice()[i] + dt.signum() * eps * s.as_slice()[i])
        .collect();
    let (a, c) = (g[1] - g[0], g[0]);
    assert!(
        (g[2] - (c - 2.5 * a)).abs() < 1e-9 * (1.0 + g[2].abs()),
        "the drift is not affine at t = {t}"
    );
    (a, c)
}

/// The exact Gaussian law (mean, variance) after Euler–Maruyama with the given order over `grid`.
fn discrete_law(case: &Case, grid: &TimeGrid, order: Order) -> (f64, f64) {
    let (mut m, mut v) = case.start;
    for w in grid.times().windows(2) {
        let (t, dt) = (w[0], w[1] - w[0]);
        let eps = case.eps.at(t).unwrap();
        let (a_k, c_k) = affine_drift(&case.fields, t, dt, eps);
        let a = 1.0 + dt * a_k;
        let noise = 2.0 * eps * dt.abs();
        m = a * m + dt * c_k;
        v = match order {
            Order::DriftFirst => a * a * v + noise,
            Order::NoiseFirst => a * a * (v + noise),
        };
    }
    (m, v)
}

/// (z of the sample mean, z of the sample variance) of 1-D samples against the Gaussian law N(m, v).
fn z_scores(x: &Points, (m, v): (f64, f64)) -> (f64, f64) {
    let xs = x.as_slice();
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let s2 = xs.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let z_mean = (mean - m) / (v / n).sqrt();
    // Wilson–Hilferty: (χ²_k / k)^(1/3) ≈ N(1 − 2/(9k), 2/(9k)).
    let k = n - 1.0;
    let h = 2.0 / (9.0 * k);
    let z_var = ((s2 / v).cbrt() - (1.0 - h)) / h.sqrt();
    (z_mean, z_var)
}

fn rejects((zm, zv): (f64, f64)) -> bool {
    zm.abs() >= Z_MAX || zv.abs() >= Z_MAX
}

/// N paths from the case's starting law through `stepper`, with a fixed seed.
fn simulate<S: Stepper<Points>>(case: &Case, stepper: &S, seed: u64) -> Points {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x0 = Points::standard_normal(N, 1, &mut rng);
    for v in x0.as_mut_slice() {
        *v = case.start.0 + case.start.1.sqrt() * *v;
    }
    integrate(stepper, &case.fields, x0, &grid(case, K), &mut rng, &mut []).unwrap()
}

fn real_stepper(case: &Case, order: Order) -> EulerMaruyama {
    let em = EulerMaruyama::new(case.eps.clone());
    match order {
        Order::DriftFirst => em,
        Order::NoiseFirst => em.noise_first(),
    }
}

const ORDERS: [Order; 2] = [Order::DriftFirst, Order::NoiseFirst];

/// A copy of Euler–Maruyama's formula (stepper.rs) with knobs to break it; [`Mutant::faithful`] is the
/// unbroken copy.
#[derive(Clone, Debug)]
struct Mutant {
    eps: Diffusion,
    order: Order,
    /// Factor on the noise amplitude √(2ε|dt|).
    noise: f64,
    /// Factor on the ε s drift term.
    score: f64,
    /// Take ε at t + dt instead of t.
    eps_at_step_end: bool,
    /// Use b + ε s also backward (instead of b − ε s).
    score_sign_ignored: bool,
}

impl Mutant {
    fn faithful(case: &Case, order: Order) -> Self {
        Self {
            eps: case.eps.clone(),
            order,
            noise: 1.0,
            score: 1.0,
            eps_at_step_end: false,
            score_sign_ignored: false,
        }
    }
}

impl Stepper<Points> for Mutant {
    fn step<F: Field<Points> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut Points,
        rng: &mut dyn RngCore,
    ) -> si_integrate::Result<()> {
        let t_eps = if self.eps_at_step_end {
            (t + dt).clamp(0.0, 1.0)
        } else {
            t
        };
        let eps = self.eps.at(t_eps)?;
        let sign = if self.score_sign_ignored {
            1.0
        } else {
            dt.signum()
        };
        let sigma = self.noise * (2.0 * eps * dt.abs()).sqrt();
        let drift = |x: &mut Points| -> si_integrate::Result<()> {
            let (b, s) = field.velocity_and_score(t, x)?;
            x.axpy(dt, &b)?;
            x.axpy(sign * self.score * eps * dt, &s)?;
            Ok(())
        };
        match self.order {
            Order::DriftFirst => {
                drift(x)?;
                x.add_noise(sigma, rng)?;
            }
            Order::NoiseFirst => {
                x.add_noise(sigma, rng)?;
                drift(x)?;
            }
        }
        Ok(())
    }
    fn name(&self) -> String {
        format!("{self:?}")
    }
}

/// Runs `stepper` on the case and returns its z-scores against the discrete law of `order`.
fn z_of<S: Stepper<Points>>(case: &Case, stepper: &S, order: Order, seed: u64) -> (f64, f64) {
    let x = simulate(case, stepper, seed);
    z_scores(&x, discrete_law(case, &grid(case, K), order))
}

#[test]
fn discrete_law_tends_to_the_exact_endpoint_at_first_order() {
    // Checks the recursion itself (and so what the steppers are held to) against the continuous SDE: from
    // the marginal at one end, the law as dt → 0 is the other end's, with an O(dt) error.
    for case in cases().iter().filter(|c| c.on_marginal) {
        let target = if case.backward { RHO0 } else { RHO1 };
        for order in ORDERS {
            let err = |steps: usize| {
                let (m, v) = discrete_law(case, &grid(case, steps), order);
                assert!(
                    (m - target.0).abs() < 1e-10,
                    "{}: mean {m} vs {}",
                    case.name,
                    target.0
                );
                (v / target.1 - 1.0).abs()
            };
            let (e1, e4) = (err(1000), err(4000));
            assert!(
                e4 < 2e-3 && (3.0..5.0).contains(&(e1 / e4)),
                "{} {order:?}: relative variance errors {e1:e} (K = 1000), {e4:e} (K = 4000)",
                case.name
            );
        }
    }
}

#[test]
fn euler_maruyama_matches_its_exact_discrete_law() {
    // Every case runs (and prints its z-scores) before the assertion, so a failure lists all of them.
    let mut failures = vec![];
    for (c, case) in cases().iter().enumerate() {
        for (o, order) in ORDERS.into_iter().enumerate() {
            let seed = 10 * c as u64 + o as u64;
            let z = z_of(case, &real_stepper(case, order), order, 100 + seed);
            // The unmutated copy passes too (with another seed), so the mutants below differ only by
            // their mutation.
            let zc = z_of(case, &Mutant::faithful(case, order), order, 200 + seed);
            eprintln!(
                "EulerMaruyama {order:?}, {}: z = {z:.2?}; faithful copy: z = {zc:.2?}",
                case.name
            );
            if rejects(z) {
                failures.push(format!("{} {order:?}: z = {z:.2?}", case.name));
            }
            if rejects(zc) {
                failures.push(format!("{} {order:?} copy: z = {zc:.2?}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "rejected: {failures:#?}");
}

/// Asserts that the mutation rejects on every case where `applies` holds, for both orders.
fn assert_mutant_rejected(
    what: &str,
    applies: impl Fn(&Case) -> bool,
    mutate: impl Fn(&mut Mutant),
) {
    let mut missed = vec![];
    for (c, case) in cases().iter().enumerate() {
        if !applies(case) {
            continue;
        }
        for (o, order) in ORDERS.into_iter().enumerate() {
            let mut mutant = Mutant::faithful(case, order);
            mutate(&mut mutant);
            let z = z_of(case, &mutant, order, 300 + 10 * c as u64 + o as u64);
            eprintln!("{what}, {order:?}, {}: z = {z:.1?}", case.name);
            if !rejects(z) {
                missed.push(format!("{} {order:?}: z = {z:.2?}", case.name));
            }
        }
    }
    assert!(missed.is_empty(), "{what} not rejected: {missed:#?}");
}

#[test]
fn noise_amplitude_mutant_is_rejected() {
    // √(2.88 ε dt) = 1.2 √(2 ε dt).
    assert_mutant_rejected("noise x1.2", |_| true, |m| m.noise = 1.2);
}

#[test]
fn score_coefficient_mutant_is_rejected() {
    assert_mutant_rejected("0.8 eps s", |_| true, |m| m.score = 0.8);
}

#[test]
fn swapped_order_is_rejected() {
    // The real noise-first stepper is this mutant of the drift-first one and vice versa.
    assert_mutant_rejected("swapped order", |_| true, |m| m.order = m.order.swapped());
}

#[test]
fn backward_score_sign_mutant_is_rejected() {
    assert_mutant_rejected(
        "b + eps s backward",
        |c| c.backward,
        |m| m.score_sign_ignored = true,
    );
}

#[test]
fn diffusion_time_mutant_is_rejected() {
    // ε(t + dt) instead of ε(t): powered where ε changes fast relative to the step and the noise matters
    // (the backward ε(t) = 2t case: expected |z| ≈ 9 and 13).
    assert_mutant_rejected(
        "eps at step end",
        |c| c.eps_varies && c.backward,
        |m| m.eps_at_step_end = true,
    );
}
