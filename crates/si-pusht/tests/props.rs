//! Invariants, checked on random inputs.

use proptest::prelude::*;
use si_pusht::coverage::{convex_intersection_area, coverage_against};
use si_pusht::geometry::{t_world, BAR};
use si_pusht::{coverage, reward, Pose, PushT, PushTError, GOAL, V2};

fn pose() -> impl Strategy<Value = Pose> {
    (150.0..360.0f64, 150.0..360.0f64, -7.0..7.0f64).prop_map(|(x, y, a)| Pose {
        position: V2::new(x, y),
        angle: a,
    })
}

fn near_goal() -> impl Strategy<Value = Pose> {
    (-20.0..20.0f64, -20.0..20.0f64, -0.5..0.5f64).prop_map(|(x, y, a)| Pose {
        position: GOAL.position + V2::new(x, y),
        angle: GOAL.angle + a,
    })
}

proptest! {
    #[test]
    fn coverage_is_a_fraction(p in pose()) {
        let c = coverage(&p);
        prop_assert!((0.0..=1.0 + 1e-12).contains(&c));
        prop_assert!((0.0..=1.0).contains(&reward(c)));
    }

    #[test]
    fn overlap_is_symmetric(p in near_goal(), q in near_goal()) {
        prop_assert!((coverage_against(&p, &q) - coverage_against(&q, &p)).abs() < 1e-9);
    }

    #[test]
    fn overlap_is_invariant_under_a_common_rigid_motion(p in near_goal(), q in near_goal(), dx in -50.0..50.0f64, dy in -50.0..50.0f64, da in -3.0..3.0f64) {
        // turn both about the origin by da, then shift by (dx, dy)
        let r = si_pusht::geometry::for_angle(da);
        let m = |s: &Pose| Pose { position: s.position.rotate(r) + V2::new(dx, dy), angle: s.angle + da };
        prop_assert!((coverage_against(&p, &q) - coverage_against(&m(&p), &m(&q))).abs() < 1e-9);
    }

    #[test]
    fn clipped_area_is_at_most_either_box(p in near_goal(), q in near_goal()) {
        let a = t_world(&p)[0];
        let b = t_world(&q)[0];
        let area = convex_intersection_area(&a, &b);
        prop_assert!((0.0..=3600.0 + 1e-9).contains(&area));
        let self_area = convex_intersection_area(&a, &a);
        prop_assert!((self_area - 3600.0).abs() < 1e-9);
        let _ = BAR;
    }

    #[test]
    fn steps_keep_the_observation_finite_and_the_reward_consistent(seed in 0u64..10_000, targets in prop::collection::vec((0.0..512.0f64, 0.0..512.0f64), 1..15)) {
        let mut env = PushT::new();
        env.reset(seed);
        for (x, y) in targets {
            let s = env.step([x, y]).unwrap();
            prop_assert!(s.obs.iter().all(|v| v.is_finite()));
            prop_assert!((0.0..std::f64::consts::TAU).contains(&s.obs[4]));
            prop_assert!((s.reward - reward(s.info.coverage)).abs() < 1e-15);
            prop_assert_eq!(s.info.success, s.info.coverage > 0.95);
        }
    }

    #[test]
    fn non_finite_actions_never_change_the_state(seed in 0u64..10_000, x in prop::num::f64::ANY, y in prop::num::f64::ANY, warm in 0usize..5) {
        let mut env = PushT::new();
        let obs = env.reset(seed);
        for _ in 0..warm {
            env.step([obs[2], obs[3]]).unwrap();
        }
        let before = env.clone();
        let r = env.step([x, y]);
        if x.is_finite() && y.is_finite() {
            prop_assert!(r.is_ok());
        } else {
            let refused = matches!(r, Err(PushTError::NonFiniteAction { .. }));
            prop_assert!(refused);
            prop_assert_eq!(env.obs(), before.obs());
            let mut twin = before.clone();
            prop_assert_eq!(env.step([256.0, 256.0]).unwrap(), twin.step([256.0, 256.0]).unwrap());
        }
    }

    #[test]
    fn the_pusher_is_kinematic(seed in 0u64..10_000, targets in prop::collection::vec((0.0..512.0f64, 0.0..512.0f64), 1..10)) {
        // the same actions from the same pusher state give the same pusher path whatever the block does
        let s = PushT::initial_state(seed);
        let mut with_block = PushT::new();
        with_block.reset_to(s).unwrap();
        let mut far = PushT::new();
        far.reset_to([s[0], s[1], 2000.0, 2000.0, 0.0]).unwrap();
        for (x, y) in targets {
            let a = with_block.step([x, y]).unwrap().obs;
            let b = far.step([x, y]).unwrap().obs;
            prop_assert_eq!(&a[..2], &b[..2]);
        }
    }
}
