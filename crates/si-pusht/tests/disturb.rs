//! The robustness protocol's displacement: geometry against hand-computed distances, the draw's promises, and
//! an episode in which the block really jumps by the drawn distance at the drawn step.

use proptest::prelude::*;
use si_pusht::disturb::{distance_to_t, MARGIN};
use si_pusht::{run_episode_displaced, Action, Displacement, Obs, Policy, Pose, PushTError, V2};

/// Holds the pusher where it is, so that the block only moves when it is displaced.
struct Hold;
impl Policy for Hold {
    fn reset(&mut self, _seed: u64) {}
    fn act(&mut self, history: &[Obs]) -> Result<Vec<Action>, PushTError> {
        let o = history.last().expect("an observation");
        Ok(vec![[o[0], o[1]]])
    }
}

fn upright(x: f64, y: f64) -> Pose {
    Pose {
        position: V2::new(x, y),
        angle: 0.0,
    }
}

#[test]
fn distance_to_the_t_by_hand() {
    let t = upright(200.0, 200.0);
    // inside the bar and inside the stem
    assert_eq!(distance_to_t(V2::new(200.0, 210.0), &t), 0.0);
    assert_eq!(distance_to_t(V2::new(205.0, 300.0), &t), 0.0);
    // 10 px above the bar's top edge (y = 200), 7 px right of its end (x = 260), 5 px left of the stem
    assert!((distance_to_t(V2::new(230.0, 190.0), &t) - 10.0).abs() < 1e-12);
    assert!((distance_to_t(V2::new(267.0, 215.0), &t) - 7.0).abs() < 1e-12);
    assert!((distance_to_t(V2::new(180.0, 280.0), &t) - 5.0).abs() < 1e-12);
    // a corner: 3-4-5 from (260, 230)
    assert!((distance_to_t(V2::new(263.0, 234.0), &t) - 5.0).abs() < 1e-12);
    // turned by π: the bar is [140, 260] × [170, 200], the stem goes up to y = 80
    let turned = Pose {
        position: V2::new(200.0, 200.0),
        angle: std::f64::consts::PI,
    };
    assert_eq!(distance_to_t(V2::new(200.0, 100.0), &turned), 0.0);
    assert!((distance_to_t(V2::new(200.0, 210.0), &turned) - 10.0).abs() < 1e-9);
}

#[test]
fn bad_settings_are_typed_errors() {
    for d in [
        Displacement {
            at_step: 0,
            ..Displacement::default()
        },
        Displacement {
            distance: f64::NAN,
            ..Displacement::default()
        },
        Displacement {
            max_turn: -1.0,
            ..Displacement::default()
        },
    ] {
        assert!(matches!(
            run_episode_displaced(&mut Hold, 1, 10, &d),
            Err(PushTError::InvalidParameter { .. })
        ));
    }
}

#[test]
fn the_block_jumps_by_the_drawn_distance_at_the_drawn_step() {
    let d = Displacement {
        at_step: 7,
        distance: 60.0,
        max_turn: 0.5,
    };
    let mut displaced = 0;
    for seed in 0..20 {
        let e = run_episode_displaced(&mut Hold, seed, 12, &d).unwrap();
        let Some(at) = e.displaced_at else { continue };
        displaced += 1;
        assert_eq!(at, 7);
        let (before, after) = (e.observations[at - 1], e.observations[at]);
        let moved = V2::new(after[2] - before[2], after[3] - before[3]).norm();
        assert!((moved - 60.0).abs() < 1e-9, "seed {seed}: moved {moved}");
        let turn = (after[4] - before[4] + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU)
            - std::f64::consts::PI;
        assert!(turn.abs() <= 0.5 + 1e-12, "seed {seed}: turn {turn}");
        // the pusher did not move with it, and the block is at rest before and after
        assert_eq!((after[0], after[1]), (before[0], before[1]));
        assert_eq!(e.observations[at + 1][2..], after[2..], "seed {seed}");
        assert_eq!(e.observations[at - 2][2..], before[2..], "seed {seed}");
    }
    // the pusher is clear of most start poses, so most episodes are displaced
    assert!(displaced >= 15, "{displaced} of 20 displaced");
}

proptest! {
    #[test]
    fn a_draw_keeps_its_promises(seed in 0u64..1_000_000, x in 0.0..512.0f64, y in 0.0..512.0f64,
                                 bx in 100.0..412.0f64, by in 100.0..412.0f64, a in 0.0..std::f64::consts::TAU,
                                 distance in 0.0..150.0f64, max_turn in 0.0..3.0f64) {
        let d = Displacement { at_step: 1, distance, max_turn }.check().unwrap();
        let obs = [x, y, bx, by, a];
        if let Some(p) = d.draw(seed, &obs) {
            let moved = V2::new(p.position.x - bx, p.position.y - by).norm();
            prop_assert!((moved - distance).abs() < 1e-9);
            prop_assert!((p.angle - a).abs() <= max_turn + 1e-12);
            prop_assert!((MARGIN..=512.0 - MARGIN).contains(&p.position.x));
            prop_assert!((MARGIN..=512.0 - MARGIN).contains(&p.position.y));
            prop_assert!(distance_to_t(V2::new(x, y), &p) > 15.0);
            prop_assert_eq!(d.draw(seed, &obs), Some(p));
        }
    }
}
