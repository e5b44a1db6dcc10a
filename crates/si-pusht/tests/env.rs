//! Public behaviour of the environment: reset, errors, limits, quasi-static block, constants.

use si_pusht::physics::{collision_bias, collision_slop};
use si_pusht::{coverage, Pose, PushT, PushTError, GOAL, MAX_STEPS, V2};

#[test]
fn reset_is_deterministic_and_in_range() {
    let mut a = PushT::new();
    let mut b = PushT::new();
    assert_eq!(a.reset(42), b.reset(42));
    assert_ne!(a.reset(42), a.reset(43));
    for seed in 0..200 {
        let s = PushT::initial_state(seed);
        assert!((50.0..450.0).contains(&s[0]) && (50.0..450.0).contains(&s[1]));
        assert!((100.0..400.0).contains(&s[2]) && (100.0..400.0).contains(&s[3]));
        assert!(s[..4].iter().all(|v| v.fract() == 0.0));
        assert!(s[4] > -std::f64::consts::PI && s[4] < std::f64::consts::PI);
    }
}

#[test]
fn reset_to_turns_the_block_about_its_centre_of_gravity() {
    let mut env = PushT::new();
    let theta = 0.7f64;
    let obs = env.reset_to([40.0, 40.0, 250.0, 260.0, theta]).unwrap();
    assert!((obs[2] - (250.0 + 45.0 * theta.sin())).abs() < 1e-12);
    assert!((obs[3] - (260.0 + 45.0 - 45.0 * theta.cos())).abs() < 1e-12);
    assert!((obs[4] - theta).abs() < 1e-12);
    let neg = env.reset_to([40.0, 40.0, 250.0, 260.0, -0.5]).unwrap();
    assert!(
        (neg[4] - (std::f64::consts::TAU - 0.5)).abs() < 1e-12,
        "angle is reported mod 2π"
    );
}

#[test]
fn bad_actions_are_refused_and_leave_the_state_alone() {
    let mut env = PushT::new();
    env.reset(3);
    env.step([200.0, 200.0]).unwrap();
    let before = env.clone();
    for bad in [
        [f64::NAN, 1.0],
        [1.0, f64::INFINITY],
        [f64::NEG_INFINITY, f64::NAN],
    ] {
        match env.step(bad) {
            Err(PushTError::NonFiniteAction { .. }) => {}
            other => panic!("expected NonFiniteAction, got {other:?}"),
        }
    }
    assert_eq!(env.obs(), before.obs());
    assert_eq!(env.steps(), before.steps());
    let mut twin = before.clone();
    assert_eq!(
        env.step([300.0, 250.0]).unwrap(),
        twin.step([300.0, 250.0]).unwrap()
    );
}

#[test]
fn bad_states_are_refused() {
    let mut env = PushT::new();
    match env.reset_to([1.0, 2.0, f64::NAN, 4.0, 0.0]) {
        Err(PushTError::NonFiniteState { index: 2, .. }) => {}
        other => panic!("expected NonFiniteState, got {other:?}"),
    }
}

#[test]
fn episodes_end_at_the_step_limit() {
    let mut env = PushT::new();
    let obs = env.reset_to([60.0, 60.0, 300.0, 300.0, 0.0]).unwrap();
    let mut last = None;
    for _ in 0..MAX_STEPS {
        last = Some(env.step([obs[0], obs[1]]).unwrap());
    }
    assert!(last.unwrap().done);
    assert!(matches!(
        env.step([0.0, 0.0]),
        Err(PushTError::EpisodeOver { .. })
    ));
}

#[test]
fn block_is_quasi_static_without_contact() {
    let mut env = PushT::new();
    let obs = env.reset_to([60.0, 450.0, 300.0, 200.0, 1.0]).unwrap();
    for k in 0..20 {
        let s = env.step([60.0 + 5.0 * k as f64, 450.0]).unwrap();
        assert_eq!(&s.obs[2..], &obs[2..]);
        assert!(!s.done);
    }
}

#[test]
fn pushing_moves_the_block_and_it_stops_after_separation() {
    let mut env = PushT::new();
    // pusher below the stem end, pushing up (towards the bar) along the stem's axis
    let obs = env.reset_to([256.0, 470.0, 256.0, 300.0, 0.0]).unwrap();
    for _ in 0..8 {
        env.step([256.0, 380.0]).unwrap();
    }
    let pushed = env.obs();
    assert!(
        pushed[3] < obs[3] - 5.0,
        "block moved up: {} → {}",
        obs[3],
        pushed[3]
    );
    assert!(
        (pushed[2] - obs[2]).abs() < 1e-6,
        "a push through the centre of gravity does not turn or shift it sideways"
    );
    // retreat: after the separation step the block is still
    env.step([256.0, 500.0]).unwrap();
    env.step([256.0, 500.0]).unwrap();
    let a = env.step([256.0, 500.0]).unwrap().obs;
    let b = env.step([256.0, 500.0]).unwrap().obs;
    assert_eq!(&a[2..], &b[2..]);
}

#[test]
fn coverage_is_one_at_the_goal_and_success_is_reported() {
    assert!((coverage(&GOAL) - 1.0).abs() < 1e-12);
    let off = Pose {
        position: GOAL.position + V2::new(3.0, 0.0),
        angle: GOAL.angle,
    };
    assert!(coverage(&off) < 0.95);
    let mut env = PushT::new();
    // place the block exactly at the goal pose: state origin before turning about the centre of gravity
    let t = GOAL.angle;
    let bx = GOAL.position.x - 45.0 * t.sin();
    let by = GOAL.position.y - 45.0 + 45.0 * t.cos();
    env.reset_to([40.0, 40.0, bx, by, t]).unwrap();
    let s = env.step([40.0, 40.0]).unwrap();
    assert!(s.info.success && s.done);
    assert!((s.reward - 1.0).abs() < 1e-12);
}

#[test]
fn solver_constants_are_chipmunks_single_precision_values() {
    assert!((collision_bias() - 0.001_797_007_4).abs() < 1e-10);
    assert!((collision_slop() - 0.1).abs() < 1e-8 && collision_slop() != 0.1);
}
