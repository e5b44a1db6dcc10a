//! Windows of expert-labelled states (DART, DAgger): noise-free DART gives the demonstrations' windows bit for
//! bit; labelled windows take the state's two observations and its label; DAgger's rollouts are labelled on
//! training seeds only.

use si_pusht::demos::{collect, Collection};
use si_pusht::labels::labeller_seed;
use si_pusht::{
    collect_dart, expert_path, Action, Dart, Expert, ExpertParams, LabelledStates, Obs, Policy,
    PushT, PushTError, TrainingData,
};
use si_robot::{
    dagger_labels, data_windows, encode_action, encode_context, labelled_windows, windows,
    Labeller, RobotError,
};

#[test]
fn noise_free_dart_windows_are_the_demonstrations_windows() {
    let (demos, _) = collect(
        &mut Expert::default(),
        Collection {
            episodes: 2,
            first_seed: 0,
            max_attempts_per_demo: 1,
        },
        |_| {},
    )
    .unwrap();
    let (labels, _) = collect_dart(
        &Expert::default(),
        Dart {
            episodes: 2,
            first_seed: 0,
            noise: 0.0,
            horizon: 16,
        },
        |_, _| {},
    )
    .unwrap();
    for horizon in [1, 8, 16] {
        let from_demos = windows(&demos, horizon).unwrap();
        let from_labels = labelled_windows(&labels, horizon).unwrap();
        assert_eq!(from_demos, from_labels, "horizon {horizon}");
        assert_eq!(
            data_windows(&TrainingData::Labelled(labels.clone()), horizon).unwrap(),
            from_demos
        );
        assert_eq!(
            data_windows(&TrainingData::Demos(demos.clone()), horizon).unwrap(),
            from_demos
        );
    }
}

#[test]
fn a_labelled_window_is_the_states_context_and_its_label() {
    // a hand-made state: previous and current observation, a label of three targets
    let prev: Obs = [100.0, 120.0, 250.0, 260.0, 0.7];
    let cur: Obs = [103.0, 118.0, 250.0, 260.0, 0.7];
    let label: Vec<Action> = vec![[110.0, 115.0], [120.0, 110.0], [130.0, 105.0]];
    let s = LabelledStates {
        horizon: 3,
        history: vec![[prev, cur]],
        targets: label.clone(),
        seeds: vec![7],
        steps: vec![4],
    };
    let w = &labelled_windows(&s, 2).unwrap()[0];
    assert_eq!(w.context, encode_context(&[prev, cur]).unwrap());
    let knots = w.path.knots();
    assert_eq!(knots.len(), 3);
    assert_eq!(knots[0], encode_action([cur[0], cur[1]]));
    assert_eq!(knots[1], encode_action(label[0]));
    assert_eq!(knots[2], encode_action(label[1]));
    // longer than the labels, zero, or an empty set: typed errors
    assert!(matches!(
        labelled_windows(&s, 4),
        Err(RobotError::InvalidParameter {
            name: "horizon",
            ..
        })
    ));
    assert!(labelled_windows(&s, 0).is_err());
    assert!(labelled_windows(&LabelledStates::new(3), 2).is_err());
}

/// Heads for a point beside the block.
struct Drift;
impl Policy for Drift {
    fn reset(&mut self, _seed: u64) {}
    fn act(&mut self, history: &[Obs]) -> Result<Vec<Action>, PushTError> {
        let o = history.last().unwrap();
        Ok(vec![[o[2] + 40.0, o[3] - 30.0]])
    }
}

#[test]
fn dagger_labels_every_state_of_each_rollout_on_training_seeds_only() {
    let params = ExpertParams::default();
    let mut seen = 0;
    let (labels, outcomes) =
        dagger_labels(&mut Drift, &[11, 12], &params, Labeller::Fresh, 4, |_| {
            seen += 1
        })
        .unwrap();
    assert_eq!(seen, 2);
    assert_eq!(outcomes.episodes, 2);
    assert_eq!(labels.len(), 600, "two failed 300-step episodes");
    assert_eq!(labels.seeds.iter().filter(|&&s| s == 12).count(), 300);
    // state 0 of seed 11: a fresh expert's path from the reset state
    let mut env = PushT::new();
    let obs = env.reset(11);
    let mut fresh = Expert::with_params(params.clone());
    fresh.reset(labeller_seed(11, 0));
    assert_eq!(
        labels.label(0),
        &expert_path(&env, &fresh, &[obs], 4).unwrap()[..]
    );
    assert_eq!(labels.history[0], [obs, obs]);
    // the tracking labeller: the same expert at the first state, then one plan kept along the episode
    let (tracked, _) =
        dagger_labels(&mut Drift, &[11], &params, Labeller::Tracking, 4, |_| {}).unwrap();
    assert_eq!(tracked.len(), 300);
    assert_eq!(tracked.label(0), labels.label(0));
    assert_eq!(tracked.history, labels.history[..300]);
    assert!((0..300).any(|k| tracked.label(k) != labels.label(k)));
    for bad in [100_000u64, 200_000, 400_000] {
        assert!(matches!(
            dagger_labels(&mut Drift, &[bad], &params, Labeller::Fresh, 4, |_| {}),
            Err(RobotError::InvalidParameter { name: "seeds", .. })
        ));
    }
}
