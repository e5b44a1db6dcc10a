//! The streaming policy on Push-T: what it sends is the integration path, one step per call, re-anchored
//! every T_chunk actions; bad input is a typed error.

use std::cell::Cell;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, ConditionalField, CoreError, Field, Points};
use si_integrate::{integrate, TimeGrid, Trajectory};
use si_pusht::{run_episode, Policy, PushTError};
use si_robot::{
    decode_action, encode_action, encode_context, DemoOracle, TubeExponential, TubeMixture,
    CONTEXT_DIM,
};
use si_robot::{Readout, RobotError, StreamingConfig, StreamingPolicy, TubeStep};

mod common;
use common::{oracle, tube};

#[test]
fn the_actions_sent_are_the_integration_path() {
    let o = oracle();
    let chunk = 8;
    let step = TubeExponential::new(tube(), 1.0).unwrap();
    let config = StreamingConfig {
        reanchor_every: chunk,
        noisy_start: true,
        readout: Readout::State,
        ..Default::default()
    };
    let mut policy = StreamingPolicy::new(&o, step, config.check(tube()).unwrap()).unwrap();
    let seed = 7;
    let ep = run_episode(&mut policy, seed, 37).unwrap();
    assert_eq!(ep.actions.len(), 37);
    // what the robot executed is what the policy integrated, bit for bit
    assert_eq!(policy.sent().len(), 37);
    for (a, u) in ep.actions.iter().zip(policy.sent()) {
        assert_eq!(*a, decode_action(*u));
    }
    assert_eq!(policy.anchors(), &[0, 8, 16, 24, 32]);
    // an independent reproduction through the integration driver: from each anchor, the measured pusher
    // position plus σ0 noise (the same seeded stream), integrated over t = 0, 1/16, ..., T_chunk/16
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let times: Vec<f64> = (0..=chunk).map(|j| j as f64 / 16.0).collect();
    for &s in policy.anchors() {
        let history = &ep.observations[..=s];
        let c = encode_context(history).unwrap();
        let field = o
            .given(&Points::from_row_major(1, CONTEXT_DIM, &c).unwrap())
            .unwrap();
        let obs = ep.observations[s];
        let mut x = Points::from_row_major(1, 2, &encode_action([obs[0], obs[1]])).unwrap();
        x.add_noise(tube().sigma0(), &mut rng).unwrap();
        let mut path = Trajectory::every(1);
        let steps = chunk.min(37 - s);
        let grid = TimeGrid::from_times(times[..=steps].to_vec()).unwrap();
        integrate(&step, &field, x, &grid, &mut rng, &mut [&mut path]).unwrap();
        for j in 1..=steps {
            let p = path.states[j].as_slice();
            assert_eq!(
                [p[0], p[1]],
                policy.sent()[s + j - 1],
                "anchor {s}, step {j}"
            );
        }
    }
    // reset forgets the record and the state; the same seed replays the same episode
    let again = run_episode(&mut policy, seed, 37).unwrap();
    assert_eq!(again.actions, ep.actions);
}

#[test]
fn the_mean_readout_sends_each_steps_mean_of_the_same_path() {
    let o = oracle();
    let (chunk, seed, h) = (8, 7, 1.0 / 16.0);
    let run = |lambda: f64, readout| {
        let step = TubeExponential::new(tube(), lambda).unwrap();
        let config = StreamingConfig {
            reanchor_every: chunk,
            noisy_start: true,
            readout,
            ..Default::default()
        };
        let mut p = StreamingPolicy::new(&o, step, config.check(tube()).unwrap()).unwrap();
        let ep = run_episode(&mut p, seed, 37).unwrap();
        (ep, p.sent().to_vec())
    };
    // the ODE: both readouts send the same actions over the whole episode, bit for bit
    assert_eq!(run(0.0, Readout::State).1, run(0.0, Readout::Mean).1);
    // the SDE: over the first chunk (one context, the same random numbers) the state readout sends the
    // states X_1..X_8 and the mean readout, at each step, E[X_(j+1) | X_j] of the step from the same X_j
    let lambda = 4.0;
    let (ep, states) = run(lambda, Readout::State);
    let (_, means) = run(lambda, Readout::Mean);
    let step = TubeExponential::new(tube(), lambda).unwrap();
    let c = encode_context(&ep.observations[..1]).unwrap();
    let field = o
        .given(&Points::from_row_major(1, CONTEXT_DIM, &c).unwrap())
        .unwrap();
    let obs = ep.observations[0];
    let mut x = Points::from_row_major(1, 2, &encode_action([obs[0], obs[1]])).unwrap();
    x.add_noise(tube().sigma0(), &mut ChaCha8Rng::seed_from_u64(seed))
        .unwrap();
    for j in 0..chunk {
        let t = j as f64 * h;
        let mut m = x.clone();
        step.step_mean(&field, t, h, &mut m).unwrap();
        assert_eq!([m.as_slice()[0], m.as_slice()[1]], means[j], "step {j}");
        // the state departs from the mean by the increment, σ_(t+h) √(1 − e^(−2λh)) ζ
        let sd = step.noise_sd(t, h).unwrap();
        let dev =
            ((states[j][0] - means[j][0]).powi(2) + (states[j][1] - means[j][1]).powi(2)).sqrt();
        assert!(
            dev > 0.0 && dev < 6.0 * sd,
            "step {j}: {dev} against sd {sd}"
        );
        x = Points::from_row_major(1, 2, &states[j]).unwrap();
    }
    assert_ne!(states[chunk..], means[chunk..]);
}

/// Counts the conditioned fields made and the field evaluations.
struct Counting<'a> {
    inner: &'a DemoOracle,
    given: &'a Cell<usize>,
    evals: &'a Cell<usize>,
}

struct CountingField<'a> {
    inner: TubeMixture,
    evals: &'a Cell<usize>,
}

impl Field<Points> for CountingField<'_> {
    fn dim(&self) -> usize {
        2
    }
    fn velocity(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        self.evals.set(self.evals.get() + 1);
        self.inner.velocity(t, x)
    }
    fn denoiser(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        self.evals.set(self.evals.get() + 1);
        self.inner.denoiser(t, x)
    }
}

impl ConditionalField<Points> for Counting<'_> {
    type Given<'b>
        = CountingField<'b>
    where
        Self: 'b;
    fn dim(&self) -> usize {
        2
    }
    fn context_dim(&self) -> usize {
        CONTEXT_DIM
    }
    fn given<'b>(&'b self, context: &Points) -> Result<CountingField<'b>, CoreError> {
        self.given.set(self.given.get() + 1);
        Ok(CountingField {
            inner: self.inner.given(context)?,
            evals: self.evals,
        })
    }
}

/// Each call integrates exactly one step (two evaluations for the exponential step: b and η) and returns
/// one action: the policy never integrates ahead of what it sends.
#[test]
fn each_call_takes_one_step_and_returns_one_action() {
    let o = oracle();
    let (given, evals) = (Cell::new(0), Cell::new(0));
    let f = Counting {
        inner: &o,
        given: &given,
        evals: &evals,
    };
    let step = TubeExponential::new(tube(), 0.0).unwrap();
    let mut p =
        StreamingPolicy::new(f, step, StreamingConfig::default().check(tube()).unwrap()).unwrap();
    p.reset(3);
    let mut env = si_pusht::PushT::new();
    let mut history = vec![env.reset(3)];
    for call in 1..=20 {
        let a = p.act(&history).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!((given.get(), evals.get()), (call, 2 * call));
        history.push(env.step(a[0]).unwrap().obs);
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let o = oracle();
    let step = TubeExponential::new(tube(), 0.5).unwrap();
    for chunk in [0, 17] {
        let c = StreamingConfig {
            reanchor_every: chunk,
            noisy_start: false,
            readout: Readout::State,
            ..Default::default()
        };
        assert!(matches!(
            c.check(tube())
                .and_then(|params| StreamingPolicy::new(&o, step, params)),
            Err(RobotError::InvalidParameter { .. })
        ));
    }
    let mut p =
        StreamingPolicy::new(&o, step, StreamingConfig::default().check(tube()).unwrap()).unwrap();
    p.reset(0);
    assert!(p.act(&[]).is_err());
    let bad = [100.0, f64::NAN, 200.0, 200.0, 0.0];
    assert!(matches!(
        p.act(&[bad]),
        Err(PushTError::NonFiniteState { index: 1, .. })
    ));
    // a state so far out that the oracle's weights overflow: a typed error, not a NaN action
    let far = [1e308, 1e308, 200.0, 200.0, 0.0];
    assert!(p.act(&[far]).is_err());
    // a field of the wrong dimension
    struct Wrong;
    impl ConditionalField<Points> for Wrong {
        type Given<'a> = TubeMixture;
        fn dim(&self) -> usize {
            3
        }
        fn context_dim(&self) -> usize {
            CONTEXT_DIM
        }
        fn given(&self, _: &Points) -> Result<TubeMixture, CoreError> {
            Err(CoreError::Backend("unused".into()))
        }
    }
    assert!(StreamingPolicy::new(
        Wrong,
        step,
        StreamingConfig::default().check(tube()).unwrap()
    )
    .is_err());
}

/// A field that drives every state away from the centre of the arena, faster the farther it is.
struct Outward;

impl Field<Points> for Outward {
    fn dim(&self) -> usize {
        2
    }
    fn velocity(&self, _t: f64, x: &Points) -> Result<Points, CoreError> {
        let v: Vec<f64> = x.as_slice().iter().map(|u| 40.0 * u + 1.0).collect();
        Points::from_row_major(x.len(), 2, &v)
    }
    fn denoiser(&self, _t: f64, x: &Points) -> Result<Points, CoreError> {
        Ok(x.clone())
    }
}

impl ConditionalField<Points> for Outward {
    type Given<'b> = Outward;
    fn dim(&self) -> usize {
        2
    }
    fn context_dim(&self) -> usize {
        CONTEXT_DIM
    }
    fn given(&self, _context: &Points) -> Result<Outward, CoreError> {
        Ok(Outward)
    }
}

/// A field that sends the state away (u grows 3.5× a step here) cannot send the pusher off the table: the state
/// stays in the box |u_i| ≤ 2, whole episodes run, and inside the box the step is the field's own.
#[test]
fn a_runaway_field_stays_in_the_box() {
    let step = si_robot::TubeEulerMaruyama::new(tube(), 0.0).unwrap();
    let mut p = StreamingPolicy::new(
        Outward,
        step,
        StreamingConfig::default().check(tube()).unwrap(),
    )
    .unwrap();
    let e = run_episode(&mut p, 5, 120).unwrap();
    assert_eq!(e.steps, 120);
    let bound = si_robot::streaming::STATE_BOUND;
    assert!(p
        .sent()
        .iter()
        .flatten()
        .all(|u| u.is_finite() && u.abs() <= bound));
    assert!(
        p.sent().iter().flatten().any(|u| u.abs() == bound),
        "the field reached the bound"
    );
    for a in &e.actions {
        assert!(a.iter().all(|v| (-256.0..=768.0).contains(v)), "{a:?}");
    }
    // the first step from the anchor: Euler's x + dt (40 x + 1), projected onto the box coordinate by coordinate
    let first = e.observations[0];
    let u0 = encode_action([first[0], first[1]]);
    let dt = tube().dt();
    for (sent, u) in p.sent()[0].iter().zip(u0) {
        let euler = u + dt * (40.0 * u + 1.0);
        assert_eq!(*sent, euler.clamp(-bound, bound));
    }
}
