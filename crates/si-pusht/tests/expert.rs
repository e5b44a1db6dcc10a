//! The expert, the evaluator, demonstrations and rendering.

use si_pusht::eval::summarise;
use si_pusht::expert::{keypoint_error, training_seeds};
use si_pusht::render::{episode_frames, episode_gif, frame_png, strip_png};
use si_pusht::{
    evaluate, run_episode, Action, Demonstrations, Expert, Obs, Policy, PushT, PushTError, GOAL,
    TEST_SEEDS,
};

/// Holds the pusher where it is.
struct Stay;
impl Policy for Stay {
    fn reset(&mut self, _seed: u64) {}
    fn act(&mut self, history: &[Obs]) -> Result<Vec<Action>, PushTError> {
        let o = history
            .last()
            .ok_or_else(|| PushTError::Policy("no observation".into()))?;
        Ok(vec![[o[0], o[1]]; 4])
    }
}

/// Returns nothing.
struct Mute;
impl Policy for Mute {
    fn reset(&mut self, _seed: u64) {}
    fn act(&mut self, _history: &[Obs]) -> Result<Vec<Action>, PushTError> {
        Ok(Vec::new())
    }
}

/// A fresh temporary folder, removed when dropped.
fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("si-robot-test-")
        .tempdir()
        .unwrap()
}

#[test]
fn expert_solves_test_seeds() {
    let mut expert = Expert::default();
    let r = evaluate(&mut expert, TEST_SEEDS.start..TEST_SEEDS.start + 6).unwrap();
    assert!(
        r.success_rate >= 5.0 / 6.0,
        "success rate {}",
        r.success_rate
    );
    for e in &r.episodes {
        assert_eq!(e.observations.len(), e.steps + 1);
        let p = si_pusht::block_pose(e.observations.last().unwrap());
        if e.success {
            assert!(si_pusht::coverage(&p) > 0.95);
            assert!(keypoint_error(&p) < 5.0);
        }
    }
}

#[test]
fn expert_is_reproducible_and_its_choices_are_random() {
    let a = run_episode(&mut Expert::default(), 7, 60).unwrap();
    let b = run_episode(&mut Expert::default(), 7, 60).unwrap();
    assert_eq!(a.actions, b.actions);
    // same start state, different expert seeds: different demonstrations
    let paths = paths_by_expert_seed(&si_pusht::ExpertConfig::default(), 7, 40);
    assert!(paths.windows(2).any(|w| w[0] != w[1]));
}

/// The first `steps` actions of experts with settings `cfg` and seeds 1, 2, 3, 4, each from the start state
/// of environment seed `start`.
fn paths_by_expert_seed(
    cfg: &si_pusht::ExpertConfig,
    start: u64,
    steps: usize,
) -> Vec<Vec<Action>> {
    let mut env = PushT::new();
    let obs = env.reset(start);
    let mut paths = Vec::new();
    for s in [1u64, 2, 3, 4] {
        let mut e = Expert::new(cfg.clone()).unwrap();
        e.reset(s);
        let mut env = env.clone();
        let mut history = vec![obs];
        let mut acts = Vec::new();
        for _ in 0..steps {
            let a = e.act(&history).unwrap()[0];
            acts.push(a);
            history.push(env.step(a).unwrap().obs);
        }
        paths.push(acts);
    }
    paths
}

#[test]
fn evaluator_scores_a_passive_policy_and_rejects_empty_chunks() {
    let r = evaluate(&mut Stay, [1u64, 2]).unwrap();
    assert_eq!(r.episodes.len(), 2);
    assert!(r.episodes.iter().all(|e| e.steps == 300 && !e.success));
    assert!(r.mean_score >= 0.0 && r.mean_score < 1.0);
    assert!(matches!(
        run_episode(&mut Mute, 1, 10),
        Err(PushTError::Policy(_))
    ));
    let s = summarise(Vec::new());
    assert!(s.success_rate == 0.0 && s.episodes.is_empty());
}

#[test]
fn training_seeds_skip_the_test_seeds() {
    let seeds: Vec<u64> = training_seeds(99_990).take(30).collect();
    assert!(seeds.iter().all(|s| !TEST_SEEDS.contains(s)));
    assert_eq!(seeds[10], 100_050);
}

#[test]
fn demonstrations_round_trip_through_a_file() {
    let mut d = Demonstrations::default();
    let a = run_episode(&mut Stay, 5, 7).unwrap();
    let b = run_episode(&mut Stay, 6, 4).unwrap();
    d.push_episode(&a).unwrap();
    d.push_episode(&b).unwrap();
    assert_eq!(d.episode_ends, vec![7, 11]);
    let dir = tmp();
    let path = dir.path().join("demos.safetensors");
    d.write(&path).unwrap();
    let back = Demonstrations::read(&path).unwrap();
    assert_eq!(back, d);
    assert!(Demonstrations::from_bytes(b"not a safetensors file").is_err());
    let mut broken = a.clone();
    broken.actions.pop();
    assert!(matches!(
        d.push_episode(&broken),
        Err(PushTError::Demonstrations(_))
    ));
}

#[test]
fn frames_strips_and_gifs_are_written() {
    let ep = run_episode(&mut Stay, 9, 3).unwrap();
    let frames = episode_frames(&ep.observations, &ep.actions);
    assert_eq!(frames.len(), 4);
    assert!(frames[3].1.is_none());
    let dir = tmp();
    let png = dir.path().join("frame.png");
    frame_png(&frames[0], &png, 128).unwrap();
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let strip = dir.path().join("strip.png");
    strip_png(&frames, &strip, 2, 96).unwrap();
    assert!(std::fs::metadata(&strip).unwrap().len() > 100);
    let gif = dir.path().join("ep.gif");
    episode_gif(&frames, &gif, 96, 100).unwrap();
    assert_eq!(&std::fs::read(&gif).unwrap()[..3], b"GIF");
    assert!(strip_png(&[], &strip, 2, 96).is_err());
    let _ = GOAL;
}

/// The decisive expert of `cargo xtask demos --top-k 1 --travel-noise 0 --push-noise 0`: it takes its best
/// push every time and adds no noise, so from one state its actions do not depend on its seed (the default
/// expert's do, above). Start seed 7 never draws the detour side, the one coin left.
#[test]
fn decisive_expert_acts_the_same_whatever_its_seed() {
    let cfg = si_pusht::ExpertConfig {
        top_k: 1,
        travel_noise: 0.0,
        push_noise: 0.0,
        ..si_pusht::ExpertConfig::default()
    };
    let paths = paths_by_expert_seed(&cfg, 7, 60);
    assert!(paths.windows(2).all(|w| w[0] == w[1]));
}
