//! Expert-labelled states (DART, DAgger): the labels are the expert's commanded targets from the cloned state.

use proptest::prelude::*;
use si_pusht::demos::{collect, Collection};
use si_pusht::labels::{dart_noise_seed, labeller_seed, FORMAT};
use si_pusht::{
    collect_dart, expert_path, label_episode, label_episode_tracking, run_episode, Action, Dart,
    Demonstrations, Expert, ExpertParams, LabelledStates, Obs, Policy, PushT, PushTError,
    TrainingData, MAX_STEPS,
};

const T: usize = 16;

/// The targets `expert` commands when it is run forward from `env` by hand, `n` steps, as an episode does.
fn commanded(env: &PushT, expert: &Expert, history: &[Obs], n: usize) -> Vec<Action> {
    let (mut env, mut expert) = (env.clone(), expert.clone());
    let mut h = history.to_vec();
    let mut out = Vec::new();
    for _ in 0..n {
        let a = expert.act(&h).unwrap()[0];
        out.push(a);
        let s = env.step(a).unwrap();
        h.push(s.obs);
        if s.done {
            break;
        }
    }
    out
}

#[test]
fn dart_without_noise_labels_are_the_demonstrations_actions_bit_for_bit() {
    // the same episodes: collect keeps successes only, so take seeds whose expert episodes succeed
    let (demos, attempts) = collect(
        &mut Expert::default(),
        Collection {
            episodes: 3,
            first_seed: 0,
            max_attempts_per_demo: 1,
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(attempts, 3, "the first three expert episodes succeed");
    let (labels, summary) = collect_dart(
        &Expert::default(),
        Dart {
            episodes: 3,
            first_seed: 0,
            noise: 0.0,
            horizon: T,
        },
        |_, _| {},
    )
    .unwrap();
    assert_eq!(summary.successes, 3);
    assert_eq!(labels.len(), demos.obs.len());
    let mut start = 0;
    for &end in &demos.episode_ends {
        for r in start..end {
            assert_eq!(labels.history[r][1], demos.obs[r], "row {r}");
            assert_eq!(
                labels.history[r][0],
                demos.obs[r.saturating_sub(1).max(start)]
            );
            for j in 0..T {
                // the windows' ξ(j + 1) = action r + j, repeated past the episode's end
                assert_eq!(
                    labels.label(r)[j],
                    demos.actions[(r + j).min(end - 1)],
                    "row {r} step {j}"
                );
            }
            assert_eq!(labels.steps[r], r - start);
        }
        start = end;
    }
}

#[test]
fn dart_noise_moves_the_states_and_labels_stay_the_experts_clean_targets() {
    let (labels, summary) = collect_dart(
        &Expert::default(),
        Dart {
            episodes: 1,
            first_seed: 5,
            noise: 20.0,
            horizon: T,
        },
        |_, _| {},
    )
    .unwrap();
    assert_eq!(summary.episodes, 1);
    // replay the noisy episode: the executed targets are the next observations' causes; rebuild the states
    // by running the expert and the noise exactly as collect_dart documents, then compare labels by hand
    let mut env = PushT::new();
    let mut history = vec![env.reset(5)];
    let mut expert = Expert::default();
    expert.reset(5);
    let clean = {
        let (plain, _) = collect_dart(
            &Expert::default(),
            Dart {
                episodes: 1,
                first_seed: 5,
                noise: 0.0,
                horizon: T,
            },
            |_, _| {},
        )
        .unwrap();
        plain
    };
    assert_ne!(
        labels.history, clean.history,
        "noise of 20 px changes the states visited"
    );
    // every label is what a clone of the expert commands from that state
    let first = commanded(&env, &expert, &history, T);
    assert_eq!(&labels.label(0)[..first.len()], &first[..]);
    // and the executed first action is the label's first target plus noise: the second state differs from
    // the clean run's only through the noise
    let a = expert.act(&history).unwrap()[0];
    assert_eq!(a, labels.label(0)[0]);
    history.push(env.step(a).unwrap().obs);
    assert_eq!(clean.history[1][1], history[1]);
}

#[test]
fn expert_path_pads_after_success_and_leaves_its_inputs_alone() {
    // an expert episode that succeeds: label the state three steps before its end
    let mut expert = Expert::default();
    let ep = run_episode(&mut expert, 0, MAX_STEPS).unwrap();
    assert!(ep.success);
    let mut env = PushT::new();
    let mut history = vec![env.reset(0)];
    let mut e = Expert::default();
    e.reset(0);
    let stop = ep.steps - 3;
    for k in 0..stop {
        let a = e.act(&history).unwrap()[0];
        assert_eq!(a, ep.actions[k]);
        history.push(env.step(a).unwrap().obs);
    }
    let (env_before, e_before) = (env.clone(), e.clone());
    let path = expert_path(&env, &e, &history, T).unwrap();
    assert_eq!(&path[..3], &ep.actions[stop..]);
    assert!(path[3..].iter().all(|a| *a == ep.actions[ep.steps - 1]));
    // unchanged inputs: the next action of the original expert is still the episode's
    assert_eq!(env.obs(), env_before.obs());
    assert_eq!(
        e.act(&history).unwrap(),
        e_before.clone().act(&history).unwrap()
    );
}

/// A policy that drifts: heads for a point beside the block.
struct Drift;
impl Policy for Drift {
    fn reset(&mut self, _seed: u64) {}
    fn act(&mut self, history: &[Obs]) -> Result<Vec<Action>, PushTError> {
        let o = history.last().unwrap();
        Ok(vec![[o[2] + 40.0, o[3] - 30.0]])
    }
}

#[test]
fn dagger_labels_are_a_fresh_experts_targets_from_the_replayed_state() {
    let ep = run_episode(&mut Drift, 17, 40).unwrap();
    let params = ExpertParams::default();
    let labels = label_episode(&ep, &params, T).unwrap();
    assert_eq!(labels.len(), ep.steps);
    let mut env = PushT::new();
    let mut history = vec![env.reset(17)];
    for (step, &a) in ep.actions.iter().enumerate() {
        assert_eq!(labels.history[step][1], ep.observations[step]);
        let mut fresh = Expert::with_params(params.clone());
        fresh.reset(labeller_seed(17, step));
        let want = commanded(&env, &fresh, &history, T);
        assert_eq!(&labels.label(step)[..want.len()], &want[..], "step {step}");
        history.push(env.step(a).unwrap().obs);
    }
}

/// The tracking labeller keeps one plan along the episode: on the expert's own episode (run with seed 5),
/// an expert reset with the same seed labels every state with a path that starts with the action the
/// episode executed, and each label is its action path from the cloned state. The fresh labellers of
/// `label_episode` draw other pushes: their first actions differ from the episode's somewhere.
#[test]
fn the_tracking_labeller_follows_the_experts_own_plan() {
    let params = ExpertParams::default();
    let mut expert = Expert::with_params(params.clone());
    let ep = run_episode(&mut expert, 5, 60).unwrap();
    let tracked = label_episode_tracking(&ep, &params, T, 5).unwrap();
    assert_eq!(tracked.len(), ep.steps);
    let mut shadow = Expert::with_params(params.clone());
    shadow.reset(5);
    let mut env = PushT::new();
    let mut history = vec![env.reset(5)];
    for (step, &a) in ep.actions.iter().enumerate() {
        assert_eq!(tracked.label(step)[0], a, "step {step}");
        let want = commanded(&env, &shadow, &history, T);
        assert_eq!(&tracked.label(step)[..want.len()], &want[..], "step {step}");
        shadow.act(&history).unwrap();
        history.push(env.step(a).unwrap().obs);
    }
    let fresh = label_episode(&ep, &params, T).unwrap();
    assert!(
        (0..ep.steps).any(|k| fresh.label(k)[0] != ep.actions[k]),
        "fresh experts replan: some first action differs"
    );
    // its replay is checked like the fresh labeller's
    let mut bad = ep.clone();
    bad.observations[3][1] += 1e-9;
    assert!(matches!(
        label_episode_tracking(&bad, &params, T, 5),
        Err(PushTError::Demonstrations(_))
    ));
}

#[test]
fn dagger_refuses_an_episode_that_does_not_replay() {
    let mut ep = run_episode(&mut Drift, 3, 10).unwrap();
    ep.observations[4][0] += 1e-9;
    assert!(matches!(
        label_episode(&ep, &ExpertParams::default(), T),
        Err(PushTError::Demonstrations(_))
    ));
    assert!(label_episode(&ep, &ExpertParams::default(), 0).is_err());
}

#[test]
fn bad_dart_settings_are_typed_errors() {
    for noise in [-1.0, f64::NAN, f64::INFINITY] {
        let r = collect_dart(
            &Expert::default(),
            Dart {
                episodes: 1,
                first_seed: 0,
                noise,
                horizon: T,
            },
            |_, _| {},
        );
        assert!(matches!(
            r,
            Err(PushTError::InvalidParameter { name: "noise", .. })
        ));
    }
    let r = collect_dart(
        &Expert::default(),
        Dart {
            episodes: 1,
            first_seed: 0,
            noise: 1.0,
            horizon: 0,
        },
        |_, _| {},
    );
    assert!(matches!(
        r,
        Err(PushTError::InvalidParameter {
            name: "horizon",
            ..
        })
    ));
}

fn small_set() -> LabelledStates {
    let ep = run_episode(&mut Drift, 9, 6).unwrap();
    label_episode(&ep, &ExpertParams::default(), 4).unwrap()
}

#[test]
fn labelled_states_round_trip_and_are_told_from_demonstrations() {
    let s = small_set();
    let bytes = s.to_bytes().unwrap();
    assert_eq!(LabelledStates::from_bytes(&bytes).unwrap(), s);
    assert_eq!(
        TrainingData::from_bytes(&bytes).unwrap(),
        TrainingData::Labelled(s.clone())
    );
    let mut d = Demonstrations::default();
    d.push_episode(&run_episode(&mut Drift, 2, 5).unwrap())
        .unwrap();
    let db = d.to_bytes().unwrap();
    assert_eq!(
        TrainingData::from_bytes(&db).unwrap(),
        TrainingData::Demos(d)
    );
    assert!(LabelledStates::from_bytes(&db).is_err());
    assert!(Demonstrations::from_bytes(&bytes).is_err());
    assert!(FORMAT.contains("labelled"));
}

#[test]
fn a_subset_holds_the_rows_asked_for_in_their_order() {
    let s = small_set();
    assert!(s.len() >= 3);
    let sub = s.subset(&[2, 0]).unwrap();
    assert_eq!(sub.horizon, s.horizon);
    assert_eq!(sub.history, vec![s.history[2], s.history[0]]);
    assert_eq!(sub.label(0), s.label(2));
    assert_eq!(sub.label(1), s.label(0));
    assert_eq!(sub.seeds, vec![s.seeds[2], s.seeds[0]]);
    assert_eq!(sub.steps, vec![s.steps[2], s.steps[0]]);
    sub.validate().unwrap();
    let all: Vec<usize> = (0..s.len()).collect();
    assert_eq!(s.subset(&all).unwrap(), s);
    assert!(s.subset(&[]).unwrap().is_empty());
    assert!(s.subset(&[s.len()]).is_err());
}

#[test]
fn the_near_goal_part_holds_the_states_whose_block_covers_the_goal() {
    let mut s = small_set();
    assert!(s.len() >= 3);
    // every block far from the goal (no overlap: coverage 0) except state 1, on the goal exactly (coverage
    // 1), and state 2, whose *previous* observation is on the goal: only the current observation counts
    for h in &mut s.history {
        for o in h.iter_mut() {
            o[2..].copy_from_slice(&[60.0, 60.0, 0.0]);
        }
    }
    let goal = [
        si_pusht::GOAL.position.x,
        si_pusht::GOAL.position.y,
        si_pusht::GOAL.angle,
    ];
    s.history[1][1][2..].copy_from_slice(&goal);
    s.history[2][0][2..].copy_from_slice(&goal);
    assert_eq!(s.near_goal(0.8), s.subset(&[1]).unwrap());
    assert_eq!(s.near_goal(0.999), s.subset(&[1]).unwrap());
    // strictly above: the far blocks' coverage is exactly 0 (no overlap), and a threshold of 0 leaves them out
    assert_eq!(s.near_goal(0.0), s.subset(&[1]).unwrap());
    // a threshold above 1 keeps nothing (the coverage of the goal is at most 1, up to rounding); below 0
    // keeps every state
    assert!(s.near_goal(1.0 + 1e-9).is_empty());
    assert_eq!(s.near_goal(-0.1), s);
}

#[test]
fn bad_labelled_sets_are_refused() {
    let s = small_set();
    let mut short = s.clone();
    short.targets.pop();
    assert!(short.to_bytes().is_err());
    let mut nan = s.clone();
    nan.targets[3][1] = f64::NAN;
    assert!(nan.to_bytes().is_err());
    let mut other = LabelledStates::new(5);
    assert!(other.extend(&s).is_err());
    let mut same = LabelledStates::new(4);
    same.extend(&s).unwrap();
    same.extend(&s).unwrap();
    assert_eq!(same.len(), 2 * s.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn labelled_sets_from_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = LabelledStates::from_bytes(&bytes);
        let _ = TrainingData::from_bytes(&bytes);
    }

    #[test]
    fn mutated_labelled_files_never_panic(at in 0usize..2000, byte in any::<u8>()) {
        let mut b = small_set().to_bytes().unwrap();
        let i = at % b.len();
        b[i] = byte;
        if let Ok(s) = LabelledStates::from_bytes(&b) {
            prop_assert_eq!(LabelledStates::from_bytes(&s.to_bytes().unwrap()).unwrap(), s);
        }
    }
}

#[test]
fn labellers_and_noise_streams_never_share_a_seed() {
    // every (seed, step) of a few training episodes of 300 steps gets its own labeller
    let mut seen = std::collections::HashSet::new();
    for seed in [0u64, 1, 17, 150_000, 150_001, 199_999] {
        for step in 0..300 {
            assert!(
                seen.insert(labeller_seed(seed, step)),
                "seed {seed} step {step}"
            );
        }
    }
    // and every training episode its own noise stream, none equal to an episode seed's own
    let mut noise = std::collections::HashSet::new();
    for seed in (0u64..200_000).step_by(7) {
        let s = dart_noise_seed(seed);
        assert!(noise.insert(s) && s != seed, "seed {seed}");
    }
}

#[test]
fn tiny_dart_noise_barely_moves_the_states() {
    // σ = 1e-3 px: the executed targets are the expert's plus a thousandth of a pixel, so the first states stay
    // within a small fraction of a pixel of the noise-free episode's
    let run = |noise| {
        collect_dart(
            &Expert::default(),
            Dart {
                episodes: 1,
                first_seed: 4,
                noise,
                horizon: 4,
            },
            |_, _| {},
        )
        .unwrap()
        .0
    };
    let (clean, tiny) = (run(0.0), run(1e-3));
    for i in 0..20 {
        for k in 0..5 {
            let d = (clean.history[i][1][k] - tiny.history[i][1][k]).abs();
            assert!(d < 0.05, "state {i} coordinate {k}: {d}");
        }
    }
    assert_ne!(clean.history[5], tiny.history[5], "the noise is applied");
}
