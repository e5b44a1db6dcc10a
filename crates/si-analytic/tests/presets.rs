//! The presets (EDM, VE, VP, flow matching, rectified flow, cosine, linear-VP) against the original
//! methods' own probability-flow ODEs, written here from each paper's formulas with an independent
//! Gaussian-mixture posterior (docs/math.md §8): our exact field under the preset, with the time change
//! applied, must equal the original's at random points to 1e-10. Then the schedule transfer: the field of
//! preset A presented as preset B equals B's exact field to 1e-12 for every pair (docs/math.md §8.2).

use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Batch, CoreError, Field, Interpolant, Points, ScheduleTransfer};

/// The data: the 2-D four-component mixture of the reference pair (full covariances).
fn data() -> GaussianMixture {
    si_analytic::reference::pair_2d().unwrap().1
}

/// The exact fields of `name` from N(0, I) to the data.
fn fields(name: &str) -> MixtureFields {
    let it: Interpolant = name.parse().unwrap();
    MixtureFields::new(GaussianMixture::standard_normal(2).unwrap(), data(), it).unwrap()
}

/// The law of x = c·x1 + a·x0 with x1 ~ data, x0 ~ N(0, I), written out from the mixture's parameters:
/// each component is N(c μ_k, c² Σ_k + a² I); the posterior mean E[x1 | x] and the score ∇ log p(x).
struct Posterior {
    x1_hat: DVector<f64>,
    score: DVector<f64>,
}

fn posterior(rho: &GaussianMixture, c: f64, a: f64, x: &DVector<f64>) -> Posterior {
    let d = x.len();
    let mut logw = Vec::new();
    let mut parts = Vec::new();
    for ((w, mu), sigma) in rho.weights().iter().zip(rho.means()).zip(rho.covariances()) {
        let cov = sigma * (c * c) + DMatrix::identity(d, d) * (a * a);
        let inv = cov.clone().try_inverse().unwrap();
        let r = x - mu * c;
        let quad = (r.transpose() * &inv * &r)[(0, 0)];
        let logdet = cov.determinant().ln();
        logw.push(w.ln() - 0.5 * quad - 0.5 * logdet);
        let mean = mu + sigma * (&inv * &r) * c;
        parts.push((mean, -(&inv * &r)));
    }
    let m = logw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = logw.iter().map(|l| (l - m).exp()).sum();
    let mut x1_hat = DVector::zeros(d);
    let mut score = DVector::zeros(d);
    for (l, (mean, s)) in logw.iter().zip(parts) {
        let w = (l - m).exp() / z;
        x1_hat += mean * w;
        score += s * w;
    }
    Posterior { x1_hat, score }
}

/// A point of the marginal at (c, a): c x1 + a z with x1 from the data, z ~ N(0, I).
fn marginal_point(c: f64, a: f64, rng: &mut ChaCha8Rng) -> DVector<f64> {
    let x1 = data().sample(1, rng);
    let z = Points::standard_normal(1, 2, rng);
    DVector::from_iterator(
        2,
        (0..2).map(|k| c * x1.as_slice()[k] + a * z.as_slice()[k]),
    )
}

fn as_points(x: &DVector<f64>) -> Points {
    Points::from_row_major(1, x.len(), x.as_slice()).unwrap()
}

/// |got − want| ≤ tol (1 + |want|) coordinate by coordinate.
fn assert_close(got: &Points, want: &DVector<f64>, tol: f64, what: &str) {
    for (g, w) in got.as_slice().iter().zip(want.iter()) {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: got {g}, want {w} (difference {})",
            g - w
        );
    }
}

/// The original's velocity dx/dt (in our time), score and posterior scales (c, a) at our t, from the
/// paper's formulas.
struct Original {
    c: f64,
    a: f64,
    velocity: VelocityFn,
}

/// x ↦ dx/dt.
type VelocityFn = Box<dyn Fn(&DVector<f64>) -> DVector<f64>>;

/// EDM (Karras et al. 2022): x = y + σ n, PF-ODE dx/dσ = (x − D(x; σ))/σ (their eq. 3 with s = 1,
/// σ(t) = t), D the ideal denoiser E[y | x]; the ρ-schedule (their eq. 5) maps our t ∈ [0, 1] to σ.
fn edm(t: f64, sigma_min: f64, sigma_max: f64, rho: f64) -> Original {
    let (a, b) = (sigma_max.powf(1.0 / rho), sigma_min.powf(1.0 / rho));
    let sigma = (a + t * (b - a)).powf(rho);
    let dsigma_dt = rho * (a + t * (b - a)).powf(rho - 1.0) * (b - a);
    Original {
        c: 1.0,
        a: sigma,
        velocity: Box::new(move |x| {
            let d = posterior(&data(), 1.0, sigma, x).x1_hat;
            (x - d) / sigma * dsigma_dt
        }),
    }
}

/// VE SDE (Song et al. 2021, eq. 9 and appendix C): σ(s) = σ_min (σ_max/σ_min)^s, dx = √(dσ²/ds) dw,
/// PF-ODE dx/ds = −½ dσ²/ds ∇ log p_s(x); our t = 1 − s.
fn ve(t: f64, sigma_min: f64, sigma_max: f64) -> Original {
    let s = 1.0 - t;
    let sigma = sigma_min * (sigma_max / sigma_min).powf(s);
    let dvar_ds = 2.0 * sigma * sigma * (sigma_max / sigma_min).ln();
    Original {
        c: 1.0,
        a: sigma,
        velocity: Box::new(move |x| {
            let score = posterior(&data(), 1.0, sigma, x).score;
            // dx/dt = −dx/ds
            score * (0.5 * dvar_ds)
        }),
    }
}

/// VP SDE (Song et al. 2021, eq. 11 and eq. 29): dx = −½ β(s) x ds + √β(s) dw with
/// β(s) = β_min + s (β_max − β_min); marginal mean coefficient e^{−¼ s² (β_max − β_min) − ½ s β_min};
/// PF-ODE dx/ds = −½ β(s) x − ½ β(s) ∇ log p_s(x); our t = 1 − s.
fn vp(t: f64, beta_min: f64, beta_max: f64) -> Original {
    let s = 1.0 - t;
    let beta_s = beta_min + s * (beta_max - beta_min);
    let log_mean = -0.25 * s * s * (beta_max - beta_min) - 0.5 * s * beta_min;
    let c = log_mean.exp();
    let a = (1.0 - (2.0 * log_mean).exp()).sqrt();
    Original {
        c,
        a,
        velocity: Box::new(move |x| {
            let score = posterior(&data(), c, a, x).score;
            (x + score) * (0.5 * beta_s)
        }),
    }
}

/// Flow matching (Lipman et al. 2023, eq. 20–23): ψ_t(x0) = (1 − (1 − σ_min) t) x0 + t x1,
/// u_t(x | x1) = (x1 − (1 − σ_min) x)/(1 − (1 − σ_min) t), marginalised over the posterior of x1.
fn fm(t: f64, sigma_min: f64) -> Original {
    let a = 1.0 - (1.0 - sigma_min) * t;
    Original {
        c: t,
        a,
        velocity: Box::new(move |x| {
            let x1 = posterior(&data(), t, a, x).x1_hat;
            (x1 - x * (1.0 - sigma_min)) / a
        }),
    }
}

/// Meta's flow_matching affine paths x_t = α_t x1 + σ_t x0 (its α multiplies the data): the velocity is
/// α̇ x̂1 + σ̇ x̂0 with x̂0 = (x − α x̂1)/σ. Cosine: α = sin(πt/2), σ = cos(πt/2); linear-VP: α = t,
/// σ = √(1 − t²).
fn affine(t: f64, alpha: f64, dalpha: f64, sigma: f64, dsigma: f64) -> Original {
    Original {
        c: alpha,
        a: sigma,
        velocity: Box::new(move |x| {
            let x1 = posterior(&data(), alpha, sigma, x).x1_hat;
            let x0 = (x - &x1 * alpha) / sigma;
            let _ = t;
            x1 * dalpha + x0 * dsigma
        }),
    }
}

/// Rectified flow (Liu et al. 2022): X_t = t X1 + (1 − t) X0, v = E[X1 − X0 | X_t = x] = (x̂1 − x)/(1 − t).
fn rectified(t: f64) -> Original {
    Original {
        c: t,
        a: 1.0 - t,
        velocity: Box::new(move |x| {
            let x1 = posterior(&data(), t, 1.0 - t, x).x1_hat;
            (x1 - x) / (1.0 - t)
        }),
    }
}

fn original(name: &str, t: f64) -> Original {
    use std::f64::consts::FRAC_PI_2;
    match name {
        "edm" => edm(t, 0.002, 80.0, 7.0),
        "edm:sigma_min=0,sigma_max=20,rho=3" => edm(t, 0.0, 20.0, 3.0),
        "ve" => ve(t, 0.01, 50.0),
        "ve:sigma_min=0.1,sigma_max=5" => ve(t, 0.1, 5.0),
        "vp" => vp(t, 0.1, 20.0),
        "vp:beta_min=0.5,beta_max=8" => vp(t, 0.5, 8.0),
        "fm" => fm(t, 0.0),
        "fm:sigma_min=0.05" => fm(t, 0.05),
        "rectified-flow" => rectified(t),
        "cosine" => {
            let (s, c) = (FRAC_PI_2 * t).sin_cos();
            affine(t, s, FRAC_PI_2 * c, c, -FRAC_PI_2 * s)
        }
        "linear-vp" => {
            let r = (1.0 - t * t).sqrt();
            affine(t, t, 1.0, r, -t / r)
        }
        _ => unreachable!("{name}"),
    }
}

const NAMES: [&str; 11] = [
    "edm",
    "edm:sigma_min=0,sigma_max=20,rho=3",
    "ve",
    "ve:sigma_min=0.1,sigma_max=5",
    "vp",
    "vp:beta_min=0.5,beta_max=8",
    "fm",
    "fm:sigma_min=0.05",
    "rectified-flow",
    "cosine",
    "linear-vp",
];

/// b, s and η of each preset equal the original's PF-ODE velocity, ∇ log p and E[x0 | x] to 1e-10.
#[test]
fn presets_equal_their_original_formulations() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for name in NAMES {
        let f = if name == "rectified-flow" {
            // two-sided linear, γ = 0, with ρ0 = N(0, I)
            MixtureFields::new(
                GaussianMixture::standard_normal(2).unwrap(),
                data(),
                name.parse().unwrap(),
            )
            .unwrap()
        } else {
            fields(name)
        };
        for _ in 0..40 {
            let t: f64 = rng.random_range(0.01..0.99);
            let o = original(name, t);
            let x = marginal_point(o.c, o.a, &mut rng);
            let p = as_points(&x);
            let want_b = (o.velocity)(&x);
            assert_close(&f.velocity(t, &p).unwrap(), &want_b, 1e-10, name);
            let post = posterior(&data(), o.c, o.a, &x);
            assert_close(&f.score(t, &p).unwrap(), &post.score, 1e-10, name);
            if name != "rectified-flow" {
                // η = E[x0 | x] = (x − c x̂1)/a for one-sided interpolants
                let eta = (&x - &post.x1_hat * o.c) / o.a;
                assert_close(&f.denoiser(t, &p).unwrap(), &eta, 1e-10, name);
            }
        }
    }
}

/// The preset's boundary coefficients: where each original starts and ends (docs/math.md §8).
#[test]
fn preset_ends_are_the_originals() {
    let it = |n: &str| n.parse::<Interpolant>().unwrap();
    let s = |n: &str, t: f64| it(n).schedule(t).unwrap();
    assert!((it("edm").base_scale() - 80.0).abs() < 1e-12);
    assert!((s("edm", 1.0).alpha - 0.002).abs() < 1e-15);
    assert!((it("ve").base_scale() - 50.0).abs() < 1e-12);
    assert!((s("ve", 1.0).alpha - 0.01).abs() < 1e-15);
    // VP: m(1) = e^{−(β_min + β_max)/4}
    let m1 = (-(0.1f64 + 20.0) / 4.0).exp();
    assert!((s("vp", 0.0).beta - m1).abs() < 1e-15);
    assert!((it("vp").base_scale() - (1.0 - m1 * m1).sqrt()).abs() < 1e-15);
    assert_eq!(s("vp", 1.0).alpha, 0.0);
    assert!((s("fm:sigma_min=0.05", 1.0).alpha - 0.05).abs() < 1e-15);
    // native times
    let edm = it("edm").as_preset().unwrap();
    assert!((edm.native_time(0.0) - 80.0).abs() < 1e-12);
    assert!((it("vp").as_preset().unwrap().native_time(0.25) - 0.75).abs() < 1e-15);
}

/// Every preset and built-in one-sided path, for the transfer test.
const PATHS: [&str; 9] = [
    "edm",
    "ve:sigma_min=0.1,sigma_max=5",
    "vp",
    "vp:beta_min=0.5,beta_max=8",
    "fm",
    "fm:sigma_min=0.05",
    "one-sided-linear",
    "cosine",
    "linear-vp",
];

/// The field of A transferred to B equals B's exact field (b, s, η, ∇·b, ∇·s) to 1e-12 wherever B's
/// signal-to-noise ratio lies in A's range, and is a typed error elsewhere; A → A is the identity.
#[test]
fn transfer_equals_the_exact_field_of_the_target() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for a_name in PATHS {
        let fa = fields(a_name);
        let ia: Interpolant = a_name.parse().unwrap();
        for b_name in PATHS {
            let fb = fields(b_name);
            let ib: Interpolant = b_name.parse().unwrap();
            let tr = ScheduleTransfer::new(&fa, ia.clone(), ib.clone()).unwrap();
            let (la0, la1) = (ia.log_snr(0.0), ia.log_snr(1.0));
            let mut mapped = 0;
            for k in 0..60 {
                let t = if k == 0 {
                    0.0
                } else if k == 1 {
                    1.0
                } else {
                    rng.random_range(0.0..1.0)
                };
                let lb = ib.log_snr(t);
                // (an infinite λ at an end maps when the source reaches the same end with finite limits:
                // transfer_at_the_ends_takes_the_limits)
                let reachable = (lb.is_finite() && lb >= la0 && lb <= la1)
                    || (lb.is_infinite() && lb == ia.log_snr(t));
                match tr.map(t) {
                    Err(CoreError::TransferRange { .. }) => {
                        assert!(
                            !reachable || lb.is_infinite(),
                            "{a_name} -> {b_name} at t = {t}: lambda {lb} in [{la0}, {la1}]"
                        );
                        continue;
                    }
                    Err(e) => panic!("{e}"),
                    Ok(m) => {
                        assert!(
                            reachable || lb.is_infinite(),
                            "{a_name} -> {b_name} at t = {t}"
                        );
                        if a_name == b_name {
                            assert!((m.tau - t).abs() < 1e-14 && (m.scale - 1.0).abs() < 1e-12);
                        }
                    }
                }
                if !(1e-3..=1.0 - 1e-3).contains(&t) {
                    // the ends: only whether they map (cos(π/2) = 6e-17, not 0, leaves a finite but
                    // meaningless ratio there)
                    continue;
                }
                mapped += 1;
                let c = ib.schedule(t).unwrap();
                let x = marginal_point(c.beta, c.alpha, &mut rng);
                let p = as_points(&x);
                let what = format!("{a_name} -> {b_name} at t = {t}");
                let close = |got: Points, want: Points, q: &str| {
                    for (g, w) in got.as_slice().iter().zip(want.as_slice()) {
                        assert!(
                            (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                            "{what} {q}: {g} vs {w}"
                        );
                    }
                };
                close(
                    tr.velocity(t, &p).unwrap(),
                    fb.velocity(t, &p).unwrap(),
                    "b",
                );
                close(tr.score(t, &p).unwrap(), fb.score(t, &p).unwrap(), "s");
                close(
                    tr.denoiser(t, &p).unwrap(),
                    fb.denoiser(t, &p).unwrap(),
                    "eta",
                );
                let (dt, db) = (tr.divergence(t, &p).unwrap(), fb.divergence(t, &p).unwrap());
                assert!(
                    (dt[0] - db[0]).abs() <= 1e-11 * (1.0 + db[0].abs()),
                    "{what} div: {} vs {}",
                    dt[0],
                    db[0]
                );
                let (st, sb) = (
                    tr.score_divergence(t, &p).unwrap(),
                    fb.score_divergence(t, &p).unwrap(),
                );
                assert!(
                    (st[0] - sb[0]).abs() <= 1e-11 * (1.0 + sb[0].abs()),
                    "{what} div s: {} vs {}",
                    st[0],
                    sb[0]
                );
                let _ = p.len();
            }
            assert!(
                mapped >= 5,
                "{a_name} -> {b_name}: only {mapped} times mapped"
            );
        }
    }
}

/// At the ends (t = 0 pure noise, t = 1 clean data) of paths whose coefficients have finite derivatives
/// there, the transfer takes the limits of τ̇ and ṡ/s: it still equals the target's exact b and η.
#[test]
fn transfer_at_the_ends_takes_the_limits() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let paths = ["fm", "one-sided-linear", "cosine"];
    for a_name in paths {
        let fa = fields(a_name);
        for b_name in paths {
            let fb = fields(b_name);
            let (ia, ib): (Interpolant, Interpolant) =
                (a_name.parse().unwrap(), b_name.parse().unwrap());
            let tr = ScheduleTransfer::new(&fa, ia, ib.clone()).unwrap();
            for t in [0.0, 1.0] {
                let c = ib.schedule(t).unwrap();
                let x = as_points(&marginal_point(c.beta, c.alpha, &mut rng));
                let m = tr
                    .map(t)
                    .unwrap_or_else(|e| panic!("{a_name} -> {b_name} at {t}: {e}"));
                assert_eq!(m.tau, t);
                let what = format!("{a_name} -> {b_name} at t = {t}");
                let (g, w) = (tr.velocity(t, &x).unwrap(), fb.velocity(t, &x).unwrap());
                for (g, w) in g.as_slice().iter().zip(w.as_slice()) {
                    assert!(
                        (g - w).abs() <= 1e-9 * (1.0 + w.abs()),
                        "{what}: b {g} vs {w}"
                    );
                }
                if t == 0.0 {
                    let (g, w) = (tr.denoiser(t, &x).unwrap(), fb.denoiser(t, &x).unwrap());
                    for (g, w) in g.as_slice().iter().zip(w.as_slice()) {
                        assert!(
                            (g - w).abs() <= 1e-9 * (1.0 + w.abs()),
                            "{what}: eta {g} vs {w}"
                        );
                    }
                }
            }
        }
    }
    // VP never reaches pure noise (β(0) > 0): that end is refused, not guessed
    let f = fields("vp");
    let tr = ScheduleTransfer::new(&f, "vp".parse().unwrap(), "cosine".parse().unwrap()).unwrap();
    assert!(tr.map(0.0).is_err());
}

/// Transfer needs one-sided paths: a two-sided interpolant is refused.
#[test]
fn transfer_refuses_two_sided_interpolants() {
    let f = fields("fm");
    let two: Interpolant = "linear".parse().unwrap();
    assert!(ScheduleTransfer::new(&f, "fm".parse().unwrap(), two).is_err());
}
