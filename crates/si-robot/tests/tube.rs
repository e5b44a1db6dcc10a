//! The tube, its windows, its regression source and its exact oracle, each against an independent truth:
//! knots worked by hand, sample moments within 5 standard errors (false-alarm rate about 6e-7 per
//! statistic), finite differences of log ρ, and the regression's normal equations by Monte Carlo.

#![allow(clippy::needless_range_loop)] // index loops over points read as the formulas do

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{CoreError, Field, Points, TargetSource};
use si_pusht::{Demonstrations, PushTError};
use si_robot::RobotError;
use si_robot::{
    decode_action, encode_action, encode_context, encode_obs, windows, ActionPath, DemoOracle,
    TubeConfig, TubeMixture, TubeSource, Window, CONTEXT_DIM, OBS_DIM,
};

fn tube(sigma0: f64, k: f64, horizon: usize) -> si_robot::Tube {
    TubeConfig { sigma0, k, horizon }.check().unwrap()
}

fn path(knots: &[[f64; 2]]) -> ActionPath {
    ActionPath::new(knots.to_vec()).unwrap()
}

#[test]
fn tube_settings_are_checked() {
    for (s, k, h) in [
        (-0.1, 1.0, 16),
        (f64::NAN, 1.0, 16),
        (0.1, -1.0, 16),
        (0.1, f64::INFINITY, 16),
        (0.1, 1.0, 0),
        (0.1, 1.0, 5000),
    ] {
        let r = TubeConfig {
            sigma0: s,
            k,
            horizon: h,
        }
        .check();
        assert!(
            matches!(r, Err(RobotError::InvalidParameter { .. })),
            "{s} {k} {h}"
        );
    }
    let t = tube(0.2, 3.0, 16);
    assert!((t.sigma(0.5) - 0.2 * (-1.5f64).exp()).abs() < 1e-15);
    assert!((t.dsigma(0.5) + 3.0 * 0.2 * (-1.5f64).exp()).abs() < 1e-15);
    assert!((t.dt() - 1.0 / 16.0).abs() < 1e-15);
}

#[test]
fn paths_interpolate_their_knots() {
    let p = path(&[[0.0, 0.0], [1.0, 2.0], [1.0, -1.0], [3.0, 0.0]]);
    assert_eq!(p.segments(), 3);
    for (j, k) in p.knots().iter().enumerate() {
        let x = p.at(j as f64 / 3.0);
        assert!((x[0] - k[0]).abs() < 1e-12 && (x[1] - k[1]).abs() < 1e-12);
    }
    // halfway along the second segment, velocity 3 × (0, −3)
    let x = p.at(0.5);
    assert!(
        (x[0] - 1.0).abs() < 1e-12 && (x[1] - 0.5).abs() < 1e-12,
        "{x:?}"
    );
    assert_eq!(p.velocity(0.5), [0.0, -9.0]);
    // a knot belongs to the segment that starts there; t = 1 to the last; outside [0, 1] clamps
    assert_eq!(p.velocity(1.0 / 3.0), [0.0, -9.0]);
    assert_eq!(p.velocity(1.0), [6.0, 3.0]);
    assert_eq!(p.at(1.5), [3.0, 0.0]);
    // velocity = central difference of the position inside a segment
    for t in [0.1, 0.45, 0.8] {
        let h = 1e-6;
        let (a, b) = (p.at(t + h), p.at(t - h));
        let v = p.velocity(t);
        for r in 0..2 {
            assert!(((a[r] - b[r]) / (2.0 * h) - v[r]).abs() < 1e-6);
        }
    }
    assert!(ActionPath::new(vec![[0.0, 0.0]]).is_err());
    assert!(ActionPath::new(vec![[0.0, 0.0], [f64::NAN, 0.0]]).is_err());
}

/// Two short episodes by hand: 3 rows and 2 rows.
fn demos() -> Demonstrations {
    let obs = |i: usize| {
        [
            100.0 + i as f64,
            200.0,
            300.0,
            310.0 + i as f64,
            0.1 * i as f64,
        ]
    };
    Demonstrations {
        obs: (0..5).map(obs).collect(),
        actions: (0..5).map(|i| [120.0 + 10.0 * i as f64, 220.0]).collect(),
        episode_ends: vec![3, 5],
        seeds: vec![1, 2],
    }
}

#[test]
fn windows_are_anchored_at_the_pusher_and_follow_the_commanded_targets() {
    let d = demos();
    let w = windows(&d, 4).unwrap();
    assert_eq!(w.len(), 5);
    // row 1 of episode 0: ξ(0) = pusher of obs[1], then actions 1, 2, 2, 2 (padded at the episode's end)
    let k = w[1].path.knots();
    assert_eq!(k[0], encode_action([101.0, 200.0]));
    assert_eq!(k[1], encode_action([130.0, 220.0]));
    assert_eq!(k[2], encode_action([140.0, 220.0]));
    assert_eq!(k[3], k[2]);
    assert_eq!(k[4], k[2]);
    // the first row of episode 1 does not see episode 0's rows: its context repeats its own observation
    let c = w[3].context;
    assert_eq!(c[..OBS_DIM], c[OBS_DIM..]);
    assert_eq!(c, encode_context(&d.obs[3..4]).unwrap());
    assert_eq!(w[4].context, encode_context(&d.obs[3..5]).unwrap());
    assert_eq!(w[3].path.knots()[4], encode_action([160.0, 220.0]));
    // encodings: the arena centre is 0, the corner (0, 0) is −1; angles as cos/sin
    assert_eq!(encode_action([256.0, 0.0]), [0.0, -1.0]);
    assert_eq!(decode_action([0.5, -0.25]), [384.0, 192.0]);
    let e = encode_context(&[[0.0, 512.0, 256.0, 256.0, std::f64::consts::FRAC_PI_2]]).unwrap();
    assert!((e[4]).abs() < 1e-15 && (e[5] - 1.0).abs() < 1e-15 && e[0] == -1.0 && e[1] == 1.0);
    assert_eq!((OBS_DIM, CONTEXT_DIM), (11, 22));
}

/// The goal offsets vanish at the goal (256, 256, π/4), whatever multiple of 2π the angle carries, are
/// odd and saturate far away; the pusher in the block's frame, worked by hand.
#[test]
fn observations_carry_goal_offsets_and_the_pusher_in_the_blocks_frame() {
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
    let at_goal = encode_obs(&[300.0, 256.0, 256.0, 256.0, FRAC_PI_4]).unwrap();
    assert_eq!(at_goal[6..9], [0.0, 0.0, 0.0]);
    for turns in [-2.0, 1.0, 3.0] {
        let e = encode_obs(&[300.0, 256.0, 256.0, 256.0, FRAC_PI_4 + turns * 2.0 * PI]).unwrap();
        assert!(e[8].abs() < 1e-12, "{turns} turns: {}", e[8]);
    }
    // 12 px right of the goal: tanh(1); 12 px above: −tanh(1); 3/32 rad: tanh(128 · (3/32) / 12) = tanh(1)
    let e = encode_obs(&[0.0, 0.0, 268.0, 244.0, FRAC_PI_4 + 3.0 / 32.0]).unwrap();
    let t1 = 1f64.tanh();
    assert!((e[6] - t1).abs() < 1e-15 && (e[7] + t1).abs() < 1e-15 && (e[8] - t1).abs() < 1e-15);
    let e = encode_obs(&[0.0, 0.0, 256.0, 256.0, FRAC_PI_4 - 3.0 / 32.0]).unwrap();
    assert!((e[8] + t1).abs() < 1e-15);
    // the turn is wrapped: π/4 + π − 0.01 is 0.01 short of half a turn the other way
    let e = encode_obs(&[0.0, 0.0, 256.0, 256.0, FRAC_PI_4 + PI + 0.01]).unwrap();
    assert!((e[8] - (-(PI - 0.01) * 128.0 / 12.0).tanh()).abs() < 1e-12);
    let far = encode_obs(&[0.0, 0.0, 500.0, 12.0, 0.0]).unwrap();
    assert!(far[6] > 0.999 && far[7] < -0.999);
    // block at (100, 200) turned by π/2: the body's x axis points down the screen (+y), its y axis to −x;
    // a pusher 64 px below the block is at body (1, 0), 32 px to its left at body (0, 0.5)
    let b = encode_obs(&[100.0, 264.0, 100.0, 200.0, FRAC_PI_2]).unwrap();
    assert!(
        (b[9] - 1.0).abs() < 1e-12 && b[10].abs() < 1e-12,
        "{:?}",
        &b[9..]
    );
    let b = encode_obs(&[68.0, 200.0, 100.0, 200.0, FRAC_PI_2]).unwrap();
    assert!(
        b[9].abs() < 1e-12 && (b[10] - 0.5).abs() < 1e-12,
        "{:?}",
        &b[9..]
    );
}

#[test]
fn bad_demonstrations_are_typed_errors() {
    assert!(windows(&Demonstrations::default(), 4).is_err());
    let mut d = demos();
    assert!(windows(&d, 0).is_err());
    d.obs[2][4] = f64::NAN;
    assert!(matches!(
        windows(&d, 4),
        Err(RobotError::PushT(PushTError::Demonstrations(_)))
    ));
    let mut d = demos();
    d.episode_ends = vec![3, 3, 5];
    d.seeds = vec![1, 2, 3];
    assert!(windows(&d, 4).is_err());
    assert!(encode_context(&[]).is_err());
    assert!(encode_context(&[[1.0, f64::INFINITY, 0.0, 0.0, 0.0]]).is_err());
    let t = tube(0.1, 1.0, 4);
    assert!(TubeSource::new(vec![], t).is_err());
    assert!(
        TubeSource::new(windows(&demos(), 3).unwrap(), t).is_err(),
        "horizon mismatch"
    );
}

#[test]
fn tube_draws_have_the_tube_law() {
    let t = tube(0.3, 2.0, 4);
    let p = path(&[[0.0, 0.0], [0.5, 1.0], [0.5, -1.0], [2.0, 0.0], [1.0, 1.0]]);
    let w = Window {
        context: [0.25; CONTEXT_DIM],
        path: p.clone(),
    };
    let src = TubeSource::new(vec![w], t).unwrap();
    let n = 40_000;
    let draw = src.draw(n, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
    let tg = draw.targets().unwrap();
    let (mut s1, mut s2, mut tmean) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let ti = draw.t[i];
        tmean += ti;
        let (xi, v) = (p.at(ti), p.velocity(ti));
        for r in 0..2 {
            let x = tg.xt.point(i)[r];
            // standardised residual (x_t − ξ(t))/σ_t ~ N(0, 1)
            let u = (x - xi[r]) / (0.3 * (-2.0 * ti).exp());
            s1 += u;
            s2 += u * u;
            // the target of b is ξ̇ − k (x_t − ξ)
            assert!((tg.b.point(i)[r] - (v[r] - 2.0 * (x - xi[r]))).abs() < 1e-12);
        }
        assert_eq!(draw.context.as_ref().unwrap().point(i)[3], 0.25);
    }
    let m = 2.0 * n as f64;
    let (mean, var) = (s1 / m, s2 / m - (s1 / m).powi(2));
    assert!(mean.abs() < 5.0 / m.sqrt(), "mean {mean}");
    assert!((var - 1.0).abs() < 5.0 * (2.0 / m).sqrt(), "var {var}");
    // t ~ U[0, 1]: mean ½, s.e. 1/√(12 n)
    assert!((tmean / n as f64 - 0.5).abs() < 5.0 / (12.0 * n as f64).sqrt());
}

/// Two paths with weights 0.3 / 0.7 that split after t = ½ (a 2-D wine glass).
fn split(t: si_robot::Tube) -> TubeMixture {
    let a = path(&[[0.0, 0.0], [0.5, 0.0], [1.0, 1.0]]);
    let b = path(&[[0.0, 0.0], [0.5, 0.0], [1.0, -1.0]]);
    TubeMixture::new(vec![a, b], &[0.3, 0.7], t).unwrap()
}

#[test]
fn oracle_score_and_velocity_satisfy_their_defining_identities() {
    let t = tube(0.4, 1.5, 2);
    let f = split(t);
    let pts = Points::from_row_major(4, 2, &[0.1, 0.2, 0.7, 0.4, 0.9, -0.6, -0.3, 0.05]).unwrap();
    let h = 1e-5;
    let lr = |tt: f64, x: &Points| f.log_density(tt, x).unwrap();
    let shift = |x: &Points, i: usize, r: usize, e: f64| {
        let mut y = x.clone();
        y.as_mut_slice()[2 * i + r] += e;
        y
    };
    for tt in [0.2, 0.6, 0.85] {
        let (b, s) = (f.velocity(tt, &pts).unwrap(), f.score(tt, &pts).unwrap());
        let eta = f.denoiser(tt, &pts).unwrap();
        let dt_lr: Vec<f64> = (0..4)
            .map(|i| (lr(tt + h, &pts)[i] - lr(tt - h, &pts)[i]) / (2.0 * h))
            .collect();
        for i in 0..4 {
            let mut div = 0.0;
            for r in 0..2 {
                // s = ∇ log ρ
                let g = (lr(tt, &shift(&pts, i, r, h))[i] - lr(tt, &shift(&pts, i, r, -h))[i])
                    / (2.0 * h);
                assert!(
                    (s.point(i)[r] - g).abs() < 1e-6 * (1.0 + g.abs()),
                    "s at t = {tt}"
                );
                // η = E[z | x] and s are the same information: η = −σ_t s, checked through log ρ
                assert!((eta.point(i)[r] + t.sigma(tt) * g).abs() < 1e-6 * (1.0 + g.abs()));
                let bp = f.velocity(tt, &shift(&pts, i, r, h)).unwrap().point(i)[r];
                let bm = f.velocity(tt, &shift(&pts, i, r, -h)).unwrap().point(i)[r];
                div += (bp - bm) / (2.0 * h);
            }
            // continuity equation: ∂t log ρ + ∇·b + b·∇log ρ = 0
            let bs = b.point(i)[0] * s.point(i)[0] + b.point(i)[1] * s.point(i)[1];
            let res = dt_lr[i] + div + bs;
            assert!(
                res.abs() < 1e-5,
                "continuity residual {res} at t = {tt}, point {i}"
            );
        }
    }
}

/// The oracle is the regression's minimiser: for draws of its own tube, E[(target − field(t, x_t)) φ] = 0
/// for test functions φ (1, x, t x). Checked by Monte Carlo within 5 standard errors, for b and η; a field
/// with the wrong k, or the wrong weights, fails.
#[test]
fn oracle_solves_the_normal_equations_of_the_regression() {
    let t = tube(0.3, 2.0, 2);
    let ctx = [0.0; CONTEXT_DIM];
    let (a, b) = (
        path(&[[0.0, 0.0], [0.5, 0.0], [1.0, 1.0]]),
        path(&[[0.0, 0.0], [0.5, 0.0], [1.0, -1.0]]),
    );
    // windows are drawn uniformly: one copy of a and two of b give the weights 1/3, 2/3
    let ws = vec![
        Window {
            context: ctx,
            path: a.clone(),
        },
        Window {
            context: ctx,
            path: b.clone(),
        },
        Window {
            context: ctx,
            path: b.clone(),
        },
    ];
    let src = TubeSource::new(ws, t).unwrap();
    let n = 60_000;
    let draw = src.draw(n, &mut ChaCha8Rng::seed_from_u64(9)).unwrap();
    let tg = draw.targets().unwrap();
    let moments = |f: &TubeMixture| -> Vec<(f64, f64)> {
        // (mean, standard error) of residual × φ for each (head, coordinate, φ)
        let mut acc: Vec<Vec<f64>> = (0..12).map(|_| Vec::with_capacity(n)).collect();
        for i in 0..n {
            let ti = draw.t[i];
            let x = Points::from_row_major(1, 2, &[tg.xt.point(i)[0], tg.xt.point(i)[1]]).unwrap();
            let (bv, ev) = (f.velocity(ti, &x).unwrap(), f.denoiser(ti, &x).unwrap());
            for r in 0..2 {
                let rb = tg.b.point(i)[r] - bv.as_slice()[r];
                let re = tg.eta.point(i)[r] - ev.as_slice()[r];
                let phis = [1.0, x.as_slice()[r], ti * x.as_slice()[1 - r]];
                for (p, phi) in phis.iter().enumerate() {
                    acc[r * 3 + p].push(rb * phi);
                    acc[6 + r * 3 + p].push(re * phi);
                }
            }
        }
        acc.iter()
            .map(|v| {
                let m = v.iter().sum::<f64>() / n as f64;
                let var = v.iter().map(|u| (u - m).powi(2)).sum::<f64>() / (n - 1) as f64;
                (m, (var / n as f64).sqrt())
            })
            .collect()
    };
    let exact = TubeMixture::new(vec![a.clone(), b.clone()], &[1.0, 2.0], t).unwrap();
    for (j, (m, se)) in moments(&exact).into_iter().enumerate() {
        // (the b residual of the first coordinate is 0 up to round-off: both paths share it)
        assert!(
            m.abs() < 5.0 * se + 1e-12,
            "normal equation {j}: {m} ± {se}"
        );
    }
    // the wrong weights (½, ½) or the wrong pull k = 2.5 violate some normal equation by far more
    let wrong_w = TubeMixture::new(vec![a.clone(), b.clone()], &[1.0, 1.0], t).unwrap();
    let wrong_k = TubeMixture::new(vec![a, b], &[1.0, 2.0], tube(0.3, 2.5, 2)).unwrap();
    for f in [wrong_w, wrong_k] {
        let worst = moments(&f)
            .into_iter()
            .map(|(m, se)| m.abs() / (se + 1e-12))
            .fold(0.0, f64::max);
        assert!(
            worst > 8.0,
            "a wrong field passes: worst |mean|/se = {worst}"
        );
    }
}

#[test]
fn demo_oracle_weights_windows_by_context() {
    let t = tube(0.2, 1.0, 2);
    let p = |y: f64| path(&[[0.0, 0.0], [0.5, y], [1.0, y]]);
    let mut c1 = [0.0; CONTEXT_DIM];
    c1[0] = 1.0;
    let ws = vec![
        Window {
            context: [0.0; CONTEXT_DIM],
            path: p(1.0),
        },
        Window {
            context: c1,
            path: p(-1.0),
        },
    ];
    let o = DemoOracle::new(ws, t, 0.1).unwrap();
    use si_core::ConditionalField;
    let ctx = |v: f64| {
        let mut c = [0.0; CONTEXT_DIM];
        c[0] = v;
        Points::from_row_major(1, CONTEXT_DIM, &c).unwrap()
    };
    // context of window 0: its path alone (window 1 weighs e^{−50}); halfway: both equally
    let x = Points::from_row_major(1, 2, &[0.1, 0.0]).unwrap();
    let only0 = TubeMixture::new(vec![p(1.0)], &[1.0], t).unwrap();
    let both = TubeMixture::new(vec![p(1.0), p(-1.0)], &[1.0, 1.0], t).unwrap();
    for (c, want) in [(0.0, &only0), (0.5, &both)] {
        let got = o.given(&ctx(c)).unwrap().velocity(0.3, &x).unwrap();
        let w = want.velocity(0.3, &x).unwrap();
        assert!(
            (got.as_slice()[1] - w.as_slice()[1]).abs() < 1e-12,
            "context {c}"
        );
    }
    // bad contexts: wrong size, two points, NaN
    assert!(o
        .given(&Points::from_row_major(1, 3, &[0.0; 3]).unwrap())
        .is_err());
    assert!(o
        .given(&Points::from_row_major(2, CONTEXT_DIM, &[0.0; 2 * CONTEXT_DIM]).unwrap())
        .is_err());
    let mut nan = ctx(0.0);
    nan.as_mut_slice()[0] = f64::NAN;
    assert!(o.given(&nan).is_err());
    assert!(DemoOracle::new(vec![], t, 0.1).is_err());
    assert!(TubeMixture::new(vec![p(1.0)], &[1.0], tube(0.0, 1.0, 2)).is_err());
    assert!(TubeMixture::new(vec![p(1.0)], &[-1.0], t).is_err());
    assert!(TubeMixture::new(vec![p(1.0)], &[1.0, 2.0], t).is_err());
}

/// One path: ρ(t) = N(ξ(t), σ_t² I), so log ρ(t, ξ(t)) = −log(2π σ_t²) and one σ off the path it is
/// ½ lower; the source reports its sizes and windows.
#[test]
fn one_path_log_density_is_the_normal_density() {
    let t = tube(0.3, 1.0, 2);
    let p = path(&[[0.0, 0.0], [0.5, 1.0], [1.0, 0.0]]);
    let f = TubeMixture::new(vec![p.clone()], &[1.0], t).unwrap();
    for tt in [0.0, 0.3, 0.9] {
        let (m, s) = (p.at(tt), t.sigma(tt));
        let x = Points::from_row_major(2, 2, &[m[0], m[1], m[0] + s, m[1]]).unwrap();
        let lr = f.log_density(tt, &x).unwrap();
        let want = -(2.0 * std::f64::consts::PI * s * s).ln();
        assert!(
            (lr[0] - want).abs() < 1e-12 && (lr[1] - (want - 0.5)).abs() < 1e-12,
            "{lr:?} vs {want}"
        );
    }
    let w = Window {
        context: [0.0; CONTEXT_DIM],
        path: p,
    };
    let src = TubeSource::new(vec![w.clone(), w], t).unwrap();
    assert_eq!(
        (src.dim(), src.context_dim(), src.windows().len()),
        (2, CONTEXT_DIM, 2)
    );
}

#[test]
fn log_density_refuses_points_of_another_dimension() {
    let f = split(tube(0.4, 1.5, 2));
    for dim in [1, 3] {
        let x = Points::from_row_major(2, dim, &vec![0.1; 2 * dim]).unwrap();
        assert!(matches!(
            f.log_density(0.5, &x),
            Err(CoreError::ShapeMismatch { .. })
        ));
    }
    // a 2-D point still has its density: one path through the origin at t = 0 with σ0 = 0.4
    let one = TubeMixture::new(
        vec![path(&[[0.0, 0.0], [0.5, 0.0], [1.0, 1.0]])],
        &[1.0],
        tube(0.4, 1.5, 2),
    )
    .unwrap();
    let x = Points::from_row_major(1, 2, &[0.0, 0.0]).unwrap();
    let want = -(2.0 * std::f64::consts::PI * 0.16).ln();
    assert!((one.log_density(0.0, &x).unwrap()[0] - want).abs() < 1e-12);
}
