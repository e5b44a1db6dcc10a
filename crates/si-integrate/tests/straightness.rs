//! The straightness observer against exact truth: paths of known shape (constant velocity, circular arcs),
//! and the 1-rectified flow between N(0, 1) and N(m, s²), whose straightness is (2 − π/2)s (docs/math.md §5),
//! with the identity E|X1 − X0|² − E|Z1 − Z0|² = ∫ E|X1 − X0 − b(t, X_t)|² dt + S(Z) term by term.
//!
//! Monte Carlo tolerances are 5 standard errors (two-sided false-alarm rate 5.7e-7 per check) plus the
//! stated discretisation allowance.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Batch, CoreError, Field, Gamma, Interpolant, Points};
use si_integrate::{integrate, Euler, Heun, Observer, Straightness, TimeGrid};

/// b(t, x) = c: straight paths.
struct Constant;
impl Field<Points> for Constant {
    fn dim(&self) -> usize {
        2
    }
    fn velocity(&self, _t: f64, x: &Points) -> Result<Points, CoreError> {
        let mut v = x.clone();
        for i in 0..v.len() {
            v.matrix_mut()[(0, i)] = 1.5;
            v.matrix_mut()[(1, i)] = -0.5;
        }
        Ok(v)
    }
}

/// b(t, x) = (−x2, x1): arcs of one radian at constant speed r.
struct Rotation;
impl Field<Points> for Rotation {
    fn dim(&self) -> usize {
        2
    }
    fn velocity(&self, _t: f64, x: &Points) -> Result<Points, CoreError> {
        let mut v = x.clone();
        for i in 0..v.len() {
            let (a, b) = (x.matrix()[(0, i)], x.matrix()[(1, i)]);
            v.matrix_mut()[(0, i)] = -b;
            v.matrix_mut()[(1, i)] = a;
        }
        Ok(v)
    }
}

fn straightness_of<F: Field<Points>>(field: &F, x: Points, steps: usize) -> Straightness {
    let mut s = Straightness::new();
    let grid = TimeGrid::uniform(0.0, 1.0, steps).unwrap();
    integrate(
        &Heun,
        field,
        x,
        &grid,
        &mut ChaCha8Rng::seed_from_u64(0),
        &mut [&mut s],
    )
    .unwrap();
    s
}

#[test]
fn known_paths() {
    let x = Points::from_row_major(3, 2, &[0.0, 0.0, 1.0, 2.0, -3.0, 0.5]).unwrap();
    // Straight lines at constant speed: S = 0, |Z1 − Z0|² = 1.5² + 0.5².
    let s = straightness_of(&Constant, x.clone(), 7);
    for (p, d) in s.per_path().iter().zip(s.displacements()) {
        assert!(p.abs() < 1e-12, "{p}");
        assert!((d - 2.5).abs() < 1e-12);
    }
    // Arcs of angle 1 at radius r: ∫|Ż|² = r², |Z1 − Z0|² = (2r sin ½)², S = r²(2 cos 1 − 1).
    let s = straightness_of(&Rotation, x.clone(), 2000);
    for (i, p) in s.per_path().iter().enumerate() {
        let r2 = x.point(i).norm_squared();
        let want = r2 * (2.0 * 1f64.cos() - 1.0);
        assert!((p - want).abs() < 1e-6 * (1.0 + r2), "{p} against {want}");
    }
    // Chunks append: two integrations give both sets of paths.
    let mut s = Straightness::new();
    let grid = TimeGrid::uniform(0.0, 1.0, 50).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    integrate(&Heun, &Rotation, x.clone(), &grid, &mut rng, &mut [&mut s]).unwrap();
    integrate(&Heun, &Constant, x, &grid, &mut rng, &mut [&mut s]).unwrap();
    assert_eq!(s.per_path().len(), 6);
    assert!(s.per_path()[3..].iter().all(|p| p.abs() < 1e-12));
}

/// The exact fields of the linear interpolant (γ = 0) from N(0, 1) to N(m, s²), independent coupling.
fn gaussian_flow(m: f64, s: f64) -> MixtureFields {
    let g = GaussianMixture::univariate(&[(1.0, 0.0, 1.0)]).unwrap();
    let h = GaussianMixture::univariate(&[(1.0, m, s * s)]).unwrap();
    MixtureFields::new(g, h, Interpolant::linear(Gamma::Zero).unwrap()).unwrap()
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[test]
fn rectified_gaussian_flow_and_the_straightness_identity() {
    let (m, s) = (3.0, 2.0);
    let field = gaussian_flow(m, s);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = 20_000;
    let z0 = Points::standard_normal(n, 1, &mut rng);
    let obs = straightness_of(&field, z0.clone(), 200);
    // S(Z) = (2 − π/2)s. Discretisation (200 Heun steps, chord velocities) is O(h²) ≈ 1e-5 here.
    let (straightness, se) = mean_se(obs.per_path());
    let want = (2.0 - std::f64::consts::FRAC_PI_2) * s;
    assert!(
        (straightness - want).abs() < 5.0 * se + 1e-3,
        "S = {straightness} ± {se}, exact {want}"
    );
    // The flow map is the monotone rearrangement z ↦ m + s z, so E|Z1 − Z0|² = m² + (s − 1)².
    let (disp, se_disp) = mean_se(obs.displacements());
    assert!(
        (disp - (m * m + (s - 1.0).powi(2))).abs() < 5.0 * se_disp + 1e-3,
        "{disp} ± {se_disp}"
    );
    // The mean-square loss of the exact b, ∫ E|X1 − X0 − b(t, X_t)|² dt = πs/2, by the midpoint rule in t
    // (K strata, bias O(1/K²)) with independent pairs in each stratum.
    let (strata, per) = (100, 2000);
    let mut per_stratum = Vec::with_capacity(strata);
    let mut var_sum = 0.0;
    let mut gap = Vec::new();
    for k in 0..strata {
        let t = (k as f64 + 0.5) / strata as f64;
        let x0 = Points::standard_normal(per, 1, &mut rng);
        let mut x1 = Points::standard_normal(per, 1, &mut rng);
        x1.matrix_mut().iter_mut().for_each(|z| *z = m + s * *z);
        let xt = Points::from_matrix_unchecked(x0.matrix() * (1.0 - t) + x1.matrix() * t);
        let b = field.velocity(t, &xt).unwrap();
        let r: Vec<f64> = (0..per)
            .map(|i| (x1.as_slice()[i] - x0.as_slice()[i] - b.as_slice()[i]).powi(2))
            .collect();
        let (mean, se) = mean_se(&r);
        per_stratum.push(mean);
        var_sum += se * se;
        gap.extend((0..per).map(|i| (x1.as_slice()[i] - x0.as_slice()[i]).powi(2)));
    }
    let loss = per_stratum.iter().sum::<f64>() / strata as f64;
    let se_loss = var_sum.sqrt() / strata as f64;
    let exact_loss = std::f64::consts::FRAC_PI_2 * s;
    assert!(
        (loss - exact_loss).abs() < 5.0 * se_loss + 2e-3,
        "loss {loss} ± {se_loss}, exact {exact_loss}"
    );
    // E|X1 − X0|² = 1 + m² + s²; the identity's left side is 2s.
    let (independent, se_ind) = mean_se(&gap);
    assert!((independent - (1.0 + m * m + s * s)).abs() < 5.0 * se_ind);
    let lhs = independent - disp;
    let rhs = loss + straightness;
    let tol = 5.0 * (se_ind.powi(2) + se_disp.powi(2) + se_loss.powi(2) + se.powi(2)).sqrt() + 3e-3;
    assert!(
        (lhs - rhs).abs() < tol,
        "identity: {lhs} against {rhs} (tolerance {tol})"
    );
    assert!((lhs - 2.0 * s).abs() < tol);
    eprintln!(
        "S = {straightness:.4} ± {se:.4} (exact {want:.4}); loss {loss:.4} ± {se_loss:.4} (exact {exact_loss:.4}); \
         E|Z1 − Z0|² {disp:.4}; identity {lhs:.4} = {rhs:.4}"
    );
}

#[test]
fn euler_paths_are_measured_on_their_own_grid() {
    // One Euler step is a straight chord: S = 0 for any field.
    let field = gaussian_flow(1.0, 3.0);
    let z0 = Points::standard_normal(100, 1, &mut ChaCha8Rng::seed_from_u64(1));
    let mut s = Straightness::new();
    let grid = TimeGrid::uniform(0.0, 1.0, 1).unwrap();
    integrate(
        &Euler,
        &field,
        z0,
        &grid,
        &mut ChaCha8Rng::seed_from_u64(0),
        &mut [&mut s],
    )
    .unwrap();
    assert!(s.value().abs() < 1e-12);
    assert!(s.mean_displacement() > 0.0);
}

/// Drives the observer by hand through 1-D states on a grid (no integrator), so every number is computed here.
fn observe(s: &mut Straightness, times: &[f64], states: &[&[f64]]) {
    let grid = TimeGrid::from_times(times.to_vec()).unwrap();
    let pts = |v: &[f64]| Points::from_row_major(v.len(), 1, v).unwrap();
    Observer::<Points>::start(s, &grid, &pts(states[0])).unwrap();
    for (k, (&t, x)) in times.iter().zip(states).enumerate().skip(1) {
        Observer::<Points>::step(s, k, t, &pts(x)).unwrap();
    }
    Observer::<Points>::finish(s, &pts(states[states.len() - 1])).unwrap();
}

#[test]
fn hand_computed_piecewise_linear_paths() {
    // Grid 0.2 → 0.4 → 0.7 (span T = 0.5, steps 0.2 and 0.3). Path 0: 0 → 1 → 1, chord speeds 5 and 0:
    // ∫|Ż|² = 25 · 0.2 = 5, |Z1 − Z0|² = 1, S = 5 − 1/0.5 = 3. Path 1: 2 → 2.4 → 3.0, speed 2 throughout:
    // a straight line, ∫|Ż|² = 4 · 0.5 = 2, |Z1 − Z0|² = 1, S = 2 − 2 = 0. Path 2: 1 → 0 → 1.6, speeds −5 and 16/3:
    // ∫|Ż|² = 25 · 0.2 + (256/9) · 0.3 = 5 + 25.6/3, |Z1 − Z0|² = 0.36, S = 5 + 25.6/3 − 0.72.
    let times = [0.2, 0.4, 0.7];
    let states: [&[f64]; 3] = [&[0.0, 2.0, 1.0], &[1.0, 2.4, 0.0], &[1.0, 3.0, 1.6]];
    let mut s = Straightness::new();
    assert!(s.value().is_nan() && s.mean_displacement().is_nan());
    observe(&mut s, &times, &states);
    let want_s = [3.0, 0.0, 5.0 + 25.6 / 3.0 - 0.72];
    let want_d = [1.0, 1.0, 0.36];
    assert_eq!(s.per_path().len(), 3);
    assert_eq!(s.displacements().len(), 3);
    for i in 0..3 {
        assert!(
            (s.per_path()[i] - want_s[i]).abs() < 1e-12,
            "path {i}: {} against {}",
            s.per_path()[i],
            want_s[i]
        );
        assert!((s.displacements()[i] - want_d[i]).abs() < 1e-12);
    }
    let mean_s = want_s.iter().sum::<f64>() / 3.0;
    assert!((s.value() - mean_s).abs() < 1e-12, "{}", s.value());
    assert!((s.mean_displacement() - 2.36 / 3.0).abs() < 1e-12);

    // The same paths run backward in time (0.7 → 0.4 → 0.2, states reversed): the same steps and span.
    let mut b = Straightness::new();
    observe(&mut b, &[0.7, 0.4, 0.2], &[states[2], states[1], states[0]]);
    for i in 0..3 {
        assert!((b.per_path()[i] - want_s[i]).abs() < 1e-12);
        assert!((b.displacements()[i] - want_d[i]).abs() < 1e-12);
    }

    // A second batch appends: four paths, the mean over all of them.
    observe(&mut s, &[0.5, 1.0], &[&[0.0], &[2.0]]);
    // one step of 0.5 from 0 to 2: speed 4, ∫ = 8, |Z1 − Z0|² = 4, S = 8 − 4/0.5 = 0
    assert_eq!(s.per_path().len(), 4);
    assert!(s.per_path()[3].abs() < 1e-12);
    assert!((s.value() - (mean_s * 3.0) / 4.0).abs() < 1e-12);
    assert!((s.mean_displacement() - 6.36 / 4.0).abs() < 1e-12);
}

#[test]
fn arcs_on_a_grid_that_does_not_start_at_zero() {
    // Over [0.25, 0.75] the rotation turns by T = 0.5 rad at speed r: ∫|Ż|² = r² T, |Z1 − Z0|² = (2r sin(T/2))²,
    // S = r² T − 4r² sin²(T/2)/T.
    let x = Points::from_row_major(3, 2, &[0.0, 1.0, 1.0, 2.0, -3.0, 0.5]).unwrap();
    let mut s = Straightness::new();
    let grid = TimeGrid::uniform(0.25, 0.75, 1000).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    integrate(&Heun, &Rotation, x.clone(), &grid, &mut rng, &mut [&mut s]).unwrap();
    let t = 0.5_f64;
    let (mut sum_s, mut sum_d) = (0.0, 0.0);
    for i in 0..3 {
        let r2 = x.point(i).norm_squared();
        let d2 = 4.0 * r2 * (t / 2.0).sin().powi(2);
        let want = r2 * t - d2 / t;
        let (p, d) = (s.per_path()[i], s.displacements()[i]);
        assert!((p - want).abs() < 1e-6 * (1.0 + r2), "{p} against {want}");
        assert!((d - d2).abs() < 1e-6 * (1.0 + r2), "{d} against {d2}");
        sum_s += want;
        sum_d += d2;
    }
    assert!((s.value() - sum_s / 3.0).abs() < 1e-6 * 10.0);
    assert!((s.mean_displacement() - sum_d / 3.0).abs() < 1e-6 * 10.0);
}
