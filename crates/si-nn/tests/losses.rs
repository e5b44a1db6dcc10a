//! The quadratic losses of `si_nn::loss` are minimised by the exact fields (docs/math.md §2, §4), checked
//! without any training.
//!
//! Every loss is quadratic in the model output f: per row L(f) = ½|f|² − f·T with T the regression target
//! (antithetic pairs average the rows x⁺ and x⁻). For the exact conditional expectation f* = E[T | t, x_t]
//! and any direction g(t, x_t),
//!
//! ```text
//! L(f* + δg) − L(f*) = δ E[(f* − T)·g] + ½ δ² E|g|²,   with E[(f* − T)·g] = 0,
//! ```
//!
//! so on a large batch the linear coefficient D = [L(f*+δg) − L(f*−δg)]/(2δ) (the directional derivative
//! at the minimiser) must vanish within its sampling error, and the curvature
//! [L(f*+δg) + L(f*−δg) − 2L(f*)]/δ² must equal the batch mean of |g|² (exactly, up to f32 rounding).
//! A wrong target T' (a wrong loss formula) leaves D = E[(T − T')·g] ≠ 0.
//!
//! Statistics. The standard error of D comes from the per-pair terms (f* − T)·g, which are read off the
//! loss itself: ∂L/∂f at f* is (f* − T)/n per row (½(f* − T^±)/n per antithetic row). With |z| < 5 as the
//! acceptance bound, one correct check falsely fails with probability ≈ 5.7e-7 (two-sided normal tail),
//! and the 144 checks of `exact_fields_minimise_every_loss` together with ≈ 1e-4 at most (the seeds are
//! fixed, so the outcome is reproducible). A wrong target must give |z| > 20 in at least one direction.
//!
//! Mirror: ṁ = 0, so the target of v and the exact v are both 0 and that check is trivially satisfied
//! (its z prints as 0: the standard error is floored at f32 resolution).
//!
//! `LossBatch` casts every draw to f32. Because the loss is exactly quadratic, the symmetric differences
//! cancel the quadratic (resp. linear) part for any δ; δ = 1 keeps f32 rounding of the loss values far
//! below the sampling error.

use std::fmt::Write as _;
use std::sync::Mutex;

use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{
    CouplingPairs, Independent, Interpolant, InterpolantSource, Points, Sidedness, TargetSource,
    TimeRange,
};
use si_nn::loss::{BatchSpec, LossBatch};
use si_nn::{Head, Uploaded};
use tch::{Device, Kind, Tensor};

/// Pairs per draw.
const PAIRS: usize = 100_000;
/// Times are drawn from U[T_MIN, 1 − T_MIN].
const T_MIN: f64 = 0.05;
const DELTA: f64 = 1.0;
/// Acceptance bound on |z| for the exact fields.
const Z_OK: f64 = 5.0;
/// Rejection bound on max |z| for a wrong target.
const Z_WRONG: f64 = 20.0;
/// Dimension of the points.
const DIM: usize = 2;

const HEADS: [Head; 4] = [Head::B, Head::S, Head::Eta, Head::V];

/// The interpolants under test (names of `INTERPOLANT_NAMES`).
const FAMILIES: [&str; 6] = [
    "linear",          // two-sided, γ = √(t(1−t))
    "trigonometric",   // γ = √(t(1−t)), α, β depend on γ
    "encoder-decoder", // γ = sin²(πt)
    "mirror",          // γ = √(t(1−t))
    "one-sided-linear",
    "one-sided-vp",
];

fn mixture(w: &[f64], means: &[[f64; 2]], covs: &[[f64; 3]]) -> GaussianMixture {
    GaussianMixture::new(
        w.to_vec(),
        means
            .iter()
            .map(|m| DVector::from_column_slice(m))
            .collect(),
        covs.iter()
            .map(|c| DMatrix::from_row_slice(2, 2, &[c[0], c[1], c[1], c[2]]))
            .collect(),
    )
    .unwrap()
}

/// ρ0, ρ1 in d = 2 (ρ0 = N(0, I) for one-sided interpolants; the mirror interpolant uses ρ1 only).
fn endpoints(it: &Interpolant) -> (GaussianMixture, GaussianMixture) {
    let rho1 = mixture(
        &[0.3, 0.3, 0.4],
        &[[2.0, 1.5], [-2.0, 1.0], [0.5, -2.0]],
        &[[0.3, 0.1, 0.2], [0.2, -0.05, 0.4], [0.5, 0.2, 0.3]],
    );
    let rho0 = match it.sidedness() {
        Sidedness::OneSided => GaussianMixture::standard_normal(DIM).unwrap(),
        Sidedness::Mirror => rho1.clone(),
        _ => mixture(
            &[0.45, 0.55],
            &[[-1.0, 0.5], [1.5, -1.0]],
            &[[0.4, 0.0, 0.6], [0.7, 0.3, 0.5]],
        ),
    };
    (rho0, rho1)
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).contiguous().reshape([-1])).unwrap()
}

fn to_tensor(v: &[f64]) -> Tensor {
    Tensor::from_slice(v)
        .reshape([-1, DIM as i64])
        .to_kind(Kind::Float)
}

/// One batch with its host copy and the exact fields at its rows.
struct Case {
    spec: String,
    antithetic: bool,
    name: String,
    it: Interpolant,
    batch: LossBatch,
    /// Times per row (f32-rounded, as the loss sees them).
    t: Vec<f64>,
    /// x_t per row, row-major rows × d.
    x: Vec<f64>,
    b: Vec<f64>,
    s: Vec<f64>,
    eta: Vec<f64>,
    v: Vec<f64>,
}

impl Case {
    fn new(spec: &str, antithetic: bool, seed: u64) -> Self {
        let it: Interpolant = spec.parse().unwrap();
        let (rho0, rho1) = endpoints(&it);
        let fields = MixtureFields::new(rho0.clone(), rho1.clone(), it.clone()).unwrap();
        let pairs = CouplingPairs(Independent::new(rho0, rho1).unwrap());
        let source = Uploaded::new(
            InterpolantSource::new(it.clone(), pairs, TimeRange::new(T_MIN).unwrap()),
            Device::Cpu,
        );
        let draw = source
            .draw(PAIRS, &mut ChaCha8Rng::seed_from_u64(seed))
            .unwrap();
        let spec_b = BatchSpec {
            antithetic,
            context_dropout: 0.0,
        };
        let batch = LossBatch::new(&draw, &spec_b, 0).unwrap();
        let t = to_vec(&batch.t);
        let x = to_vec(&batch.xt);
        let rows = t.len();
        assert_eq!(rows, if antithetic { 2 * PAIRS } else { PAIRS });
        let pts = Points::from_row_major(rows, DIM, &x).unwrap();
        let fv = fields.evaluate_per_point(&t, &pts, false).unwrap();
        let (b, s) = (fv.b.to_row_major(), fv.s.to_row_major());
        // η = −σ s (σ = γ two-sided and mirror, α one-sided), v = b + γγ̇ s (= b one-sided)
        let mut eta = vec![0.0; rows * DIM];
        let mut v = vec![0.0; rows * DIM];
        for (i, &ti) in t.iter().enumerate().take(rows) {
            let sc = it.schedule(ti).unwrap();
            for k in 0..DIM {
                let j = i * DIM + k;
                eta[j] = -sc.noise_scale * s[j];
                v[j] = b[j] + sc.gamma_dgamma * s[j];
            }
        }
        Self {
            spec: spec.to_owned(),
            antithetic,
            name: format!("{spec}{}", if antithetic { " (antithetic)" } else { "" }),
            it,
            batch,
            t,
            x,
            b,
            s,
            eta,
            v,
        }
    }

    fn rows(&self) -> usize {
        self.t.len()
    }

    fn exact(&self, head: Head) -> &[f64] {
        match head {
            Head::B => &self.b,
            Head::S => &self.s,
            Head::Eta => &self.eta,
            Head::V => &self.v,
        }
    }

    /// Fixed smooth directions g(t, x), row-major.
    fn directions(&self) -> Vec<(&'static str, Vec<f64>)> {
        let n = self.rows();
        let mut c = Vec::with_capacity(n * DIM);
        let mut x = Vec::with_capacity(n * DIM);
        let mut tx = Vec::with_capacity(n * DIM);
        for i in 0..n {
            let (t, x0, x1) = (self.t[i], self.x[i * DIM], self.x[i * DIM + 1]);
            c.extend_from_slice(&[1.0, -0.5]);
            x.extend_from_slice(&[x0, x1]);
            tx.extend_from_slice(&[(1.0 - 2.0 * t) * x0, (1.0 - 2.0 * t) * x1]);
        }
        vec![("1", c), ("x", x), ("(1-2t)x", tx)]
    }
}

/// Every case is drawn once per process and shared by the tests (≈ 10–20 MB each).
static CASES: Mutex<Vec<Case>> = Mutex::new(Vec::new());

/// Runs `f` on the case of interpolant `spec` (one of [`FAMILIES`]), drawing it on first use.
fn with_case<R>(spec: &str, antithetic: bool, f: impl FnOnce(&Case) -> R) -> R {
    let mut cases = CASES.lock().unwrap_or_else(|e| e.into_inner());
    let found = cases
        .iter()
        .position(|c| c.spec == spec && c.antithetic == antithetic);
    let i = match found {
        Some(i) => i,
        None => {
            let family = FAMILIES.iter().position(|&f| f == spec).unwrap() as u64;
            cases.push(Case::new(
                spec,
                antithetic,
                100 + 2 * family + antithetic as u64,
            ));
            cases.len() - 1
        }
    };
    f(&cases[i])
}

/// The directional statistics of one loss at one output along one direction.
#[derive(Debug)]
struct Probe {
    /// [L(f+δg) − L(f−δg)]/(2δ).
    d_fd: f64,
    /// The same from the per-pair terms (f − T)·g (read off ∂L/∂f).
    d_pairs: f64,
    /// Standard error of D from the per-pair terms.
    se: f64,
    /// D_fd / se (se floored at 1e-6 rms|g|: f32 resolution).
    z: f64,
    /// [L(f+δg) + L(f−δg) − 2L(f)]/δ².
    curv: f64,
    /// Batch mean of |g|² per row.
    g2: f64,
    /// |L(f)| + |L(f±δg)|, for the f32 rounding allowance.
    l_abs: f64,
}

/// n ∂L/∂f at `f` per row: f − T (½(f − T^±) for antithetic rows).
fn scaled_gradient(batch: &LossBatch, head: Head, f: &Tensor) -> Vec<f64> {
    let o = f.detach().set_requires_grad(true);
    batch.loss(head, &o).backward();
    to_vec(&(o.grad() * batch.n as f64))
}

/// L(f) as f64.
fn loss(batch: &LossBatch, head: Head, f: &Tensor) -> f64 {
    batch.loss(head, f).double_value(&[])
}

/// The statistics along `g` at `f`, given L(f) = `l0` and the scaled gradient at `f`.
fn probe(batch: &LossBatch, head: Head, f: &Tensor, l0: f64, grad: &[f64], g: &[f64]) -> Probe {
    let gt = to_tensor(g);
    let (lp, lm) = (
        loss(batch, head, &(f + &gt * DELTA)),
        loss(batch, head, &(f - &gt * DELTA)),
    );
    let rows = g.len() / DIM;
    let n = batch.n as usize;
    let row_term = |i: usize| -> f64 { (0..DIM).map(|k| grad[i * DIM + k] * g[i * DIM + k]).sum() };
    // per-pair terms q_i (iid over pairs), D = mean q
    let q: Vec<f64> = (0..n)
        .map(|i| {
            if batch.antithetic {
                row_term(i) + row_term(n + i)
            } else {
                row_term(i)
            }
        })
        .collect();
    let mean = q.iter().sum::<f64>() / n as f64;
    let var = q.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    let g2 = g.iter().map(|v| v * v).sum::<f64>() / rows as f64;
    let d_fd = (lp - lm) / (2.0 * DELTA);
    Probe {
        d_fd,
        d_pairs: mean,
        se,
        z: d_fd / se.max(1e-6 * g2.sqrt()),
        curv: (lp + lm - 2.0 * l0) / (DELTA * DELTA),
        g2,
        l_abs: l0.abs() + lp.abs() + lm.abs(),
    }
}

/// Max |z| over the directions for the output `f` under `batch`'s loss of `head`; writes a report line.
fn max_z(
    case: &Case,
    batch: &LossBatch,
    head: Head,
    f: &[f64],
    what: &str,
    log: &mut String,
) -> f64 {
    let ft = to_tensor(f);
    let grad = scaled_gradient(batch, head, &ft);
    let l0 = loss(batch, head, &ft);
    let mut zmax: f64 = 0.0;
    let _ = write!(
        log,
        "{:<34} {:<4} {:<28}",
        case.name,
        format!("{head:?}"),
        what
    );
    for (_, g) in case.directions() {
        let p = probe(batch, head, &ft, l0, &grad, &g);
        let _ = write!(log, " {:>9.1}", p.z);
        zmax = zmax.max(p.z.abs());
    }
    let _ = writeln!(log);
    zmax
}

#[test]
fn exact_fields_minimise_every_loss() {
    // Every interpolant family × {plain, antithetic} × head × direction: D ≈ 0 within Z_OK standard
    // errors, curvature = mean|g|², and the difference quotient agrees with the per-pair mean.
    // one intra-op thread: the tensor work is light, and extra threads thrash on a shared machine
    tch::set_num_threads(1);
    let mut log = String::from("case / head / direction z-scores (g = 1, x, (1-2t)x):\n");
    let mut failures = Vec::new();
    let (mut worst_curv, mut worst_fd) = (0.0f64, 0.0f64);
    for spec in FAMILIES {
        for antithetic in [false, true] {
            with_case(spec, antithetic, |case| {
                let dirs = case.directions();
                for head in HEADS {
                    let ft = to_tensor(case.exact(head));
                    let grad = scaled_gradient(&case.batch, head, &ft);
                    let l0 = loss(&case.batch, head, &ft);
                    let _ = write!(log, "{:<34} {:<4}", case.name, format!("{head:?}"));
                    for (dname, g) in &dirs {
                        let p = probe(&case.batch, head, &ft, l0, &grad, g);
                        let _ = write!(log, " {:>7.2}", p.z);
                        let tag = format!("{} head {head:?} direction {dname}: {p:?}", case.name);
                        let stationary = p.z.abs() < Z_OK; // false for NaN too
                        if !stationary {
                            failures.push(format!("not stationary: {tag}"));
                        }
                        // f32 rounding of the three loss values (means of ≤ 4e5 f32 terms)
                        let round = 1e-5 * (p.l_abs + p.g2);
                        let quadratic =
                            (p.curv - p.g2).abs() <= 1e-4 * p.g2 + round / (DELTA * DELTA);
                        if !quadratic {
                            failures.push(format!("curvature ≠ mean|g|²: {tag}"));
                        }
                        worst_curv = worst_curv.max((p.curv - p.g2).abs() / p.g2);
                        worst_fd =
                            worst_fd.max((p.d_fd - p.d_pairs).abs() / p.se.max(1e-6 * p.g2.sqrt()));
                        let consistent = (p.d_fd - p.d_pairs).abs() <= 0.05 * p.se + round / DELTA;
                        if !consistent {
                            failures.push(format!("difference quotient ≠ per-pair mean: {tag}"));
                        }
                    }
                    let _ = writeln!(log);
                }
            });
        }
    }
    let _ = writeln!(
        log,
        "max |curvature − mean|g|²| / mean|g|² = {worst_curv:.1e}, \
         max |D_fd − D_pairs| / se = {worst_fd:.1e}"
    );
    println!("{log}");
    assert!(failures.is_empty(), "{}\n{log}", failures.join("\n"));
}

/// The schedule of `it` at each row's time.
fn per_row(case: &Case, f: impl Fn(&si_core::Schedule) -> f64) -> Vec<f64> {
    case.t
        .iter()
        .map(|&t| f(&case.it.schedule(t).unwrap()))
        .collect()
}

#[test]
fn loss_with_swapped_derivatives_is_rejected() {
    // A loss whose target of b uses α̇ in place of σ̇ (two-sided: ṁ + α̇ζ; one-sided, where σ̇ = α̇, the
    // analogous slip β̇ in place of α̇) is built by overwriting the batch's σ̇ column. The exact b must
    // then fail the stationarity test by far (|z| > Z_WRONG in some direction), while it passes with the
    // correct batch. One-sided interpolants also check v (v_is_b).
    tch::set_num_threads(1);
    let mut log = String::from("swapped σ̇ in the loss: case / head / z per direction:\n");
    let mut failures = Vec::new();
    for spec in ["linear", "trigonometric", "encoder-decoder", "one-sided-vp"] {
        for antithetic in [false, true] {
            with_case(spec, antithetic, |case| {
                let n = case.batch.n as usize;
                let one_sided = case.it.sidedness() == Sidedness::OneSided;
                let wrong_dsigma: Vec<f64> =
                    per_row(case, |s| if one_sided { s.dbeta } else { s.dalpha })[..n].to_vec();
                let wrong = LossBatch {
                    t: case.batch.t.shallow_clone(),
                    xt: case.batch.xt.shallow_clone(),
                    zeta: case.batch.zeta.shallow_clone(),
                    mdot: case.batch.mdot.shallow_clone(),
                    sigma: case.batch.sigma.shallow_clone(),
                    dsigma: Tensor::from_slice(&wrong_dsigma)
                        .to_kind(Kind::Float)
                        .reshape([-1, 1]),
                    context: None,
                    antithetic,
                    v_is_b: case.batch.v_is_b,
                    n: case.batch.n,
                };
                let heads: &[Head] = if one_sided {
                    &[Head::B, Head::V]
                } else {
                    &[Head::B]
                };
                for &head in heads {
                    let f = case.exact(head);
                    let ok = max_z(case, &case.batch, head, f, "exact, correct loss", &mut log);
                    let bad = max_z(case, &wrong, head, f, "exact, swapped-σ̇ loss", &mut log);
                    if ok >= Z_OK {
                        failures.push(format!("{} {head:?}: correct loss max|z| {ok}", case.name));
                    }
                    if bad <= Z_WRONG {
                        failures.push(format!("{} {head:?}: swapped loss max|z| {bad}", case.name));
                    }
                }
            });
        }
    }
    println!("{log}");
    assert!(failures.is_empty(), "{}\n{log}", failures.join("\n"));
}

#[test]
fn wrong_fields_are_rejected() {
    // The correct losses reject outputs that are the exact field of another head, or the minimiser of a
    // loss with a plausible slip:
    // * b̃ = v + α̇η = E[ṁ + α̇ζ | x_t] (α̇ for σ̇ in the velocity target), two-sided;
    // * v for b and b for v (b − v = −γγ̇s: only the t-odd direction (1−2t)x sees it for γ = √(t(1−t)));
    // * η for s, and s for η;
    // * one-sided: v = b + αα̇s (the two-sided formula with σ = α) where the loss wants v = b, and
    //   s̃ = −η (the division by σ = α dropped).
    tch::set_num_threads(1);
    let mut log = String::from("wrong fields: case / head / field / z per direction:\n");
    let mut failures = Vec::new();
    let mut check = |case: &Case, head: Head, f: &[f64], what: &str, log: &mut String| {
        let z = max_z(case, &case.batch, head, f, what, log);
        if z <= Z_WRONG {
            failures.push(format!("{} {head:?} with {what}: max|z| {z}", case.name));
        }
    };
    for spec in ["linear", "encoder-decoder", "mirror", "one-sided-linear"] {
        for antithetic in [false, true] {
            with_case(spec, antithetic, |case| {
                let add = |a: &[f64], w: &[f64], b: &[f64]| -> Vec<f64> {
                    (0..a.len()).map(|j| a[j] + w[j / DIM] * b[j]).collect()
                };
                let neg = |a: &[f64]| -> Vec<f64> { a.iter().map(|v| -v).collect() };
                match case.it.sidedness() {
                    Sidedness::OneSided => {
                        let aad = per_row(case, |s| s.alpha * s.dalpha);
                        let v_wrong = add(&case.b, &aad, &case.s);
                        check(case, Head::V, &v_wrong, "b + αα̇s", &mut log);
                        check(case, Head::S, &neg(&case.eta), "−η (no 1/α)", &mut log);
                        check(case, Head::Eta, &case.s, "s", &mut log);
                    }
                    _ => {
                        if spec != "mirror" {
                            let da = per_row(case, |s| s.dalpha);
                            let b_wrong = add(&case.v, &da, &case.eta);
                            check(case, Head::B, &b_wrong, "v + α̇η (α̇ for σ̇)", &mut log);
                        }
                        check(case, Head::B, &case.v, "v", &mut log);
                        check(case, Head::V, &case.b, "b", &mut log);
                        check(case, Head::S, &case.eta, "η", &mut log);
                        check(case, Head::Eta, &case.s, "s", &mut log);
                    }
                }
            });
        }
    }
    println!("{log}");
    assert!(failures.is_empty(), "{}\n{log}", failures.join("\n"));
}
