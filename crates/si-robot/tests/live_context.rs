//! The live context (docs/math.md §7, "A live context"): the successor links along episodes, the training
//! source that conditions a draw at flow time t on the state ⌊tT⌋ links on, the policy that reads the latest
//! observations at every step, and the sidecar that keeps the mode. Each against a hand-worked truth.

use std::cell::RefCell;
use std::path::PathBuf;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{ConditionalField, CoreError, Points, TargetSource};
use si_pusht::{Demonstrations, LabelledStates, Obs, Policy, TrainingData};
use si_robot::{
    encode_context, encode_obs, histories, mixed_context, successors, ActionPath, ContextMode,
    DemoOracle, PolicyKind, PolicyMeta, RobotError, StreamingConfig, StreamingPolicy, TubeConfig,
    TubeExponential, TubeMixture, TubeSource, Window, CONTEXT_DIM, OBS_DIM,
};

mod common;

#[test]
fn successors_link_the_next_state_of_the_same_episode() {
    // demonstrations: episodes of rows 0..3 and 3..5
    let obs: Vec<Obs> = (0..5).map(|r| [r as f64; 5]).collect();
    let demos = TrainingData::Demos(Demonstrations {
        obs: obs.clone(),
        actions: vec![[0.0; 2]; 5],
        episode_ends: vec![3, 5],
        seeds: vec![1, 2],
    });
    assert_eq!(
        successors(&demos),
        vec![Some(1), Some(2), None, Some(4), None]
    );
    // each row's two observations; an episode's first row has its own twice
    assert_eq!(
        histories(&demos),
        vec![
            [obs[0], obs[0]],
            [obs[0], obs[1]],
            [obs[1], obs[2]],
            [obs[3], obs[3]],
            [obs[3], obs[4]]
        ]
    );
    // labelled states: (seed, step) = (7, 0), (7, 1), (7, 3) [a gap], (8, 4) [another episode], (8, 5)
    let mut s = LabelledStates::new(1);
    for (seed, step) in [(7, 0), (7, 1), (7, 3), (8, 4), (8, 5)] {
        s.history.push([[0.0; 5]; 2]);
        s.targets.push([0.0; 2]);
        s.seeds.push(seed);
        s.steps.push(step);
    }
    assert_eq!(
        successors(&TrainingData::Labelled(s)),
        vec![Some(1), None, None, Some(4), None]
    );
}

/// A tube of horizon T = 4: one link per quarter of flow time.
fn short_tube() -> si_robot::Tube {
    TubeConfig {
        sigma0: 0.1,
        k: 2.0,
        horizon: 4,
    }
    .check()
    .unwrap()
}

/// Window w: context (w, 0, …), a constant path at (w, 0), so that a draw names its window by its mean.
fn marked(w: usize) -> Window {
    let mut context = [0.0; CONTEXT_DIM];
    context[0] = w as f64;
    Window {
        context,
        path: ActionPath::new(vec![[w as f64, 0.0]; 5]).unwrap(),
    }
}

#[test]
fn a_live_draw_is_conditioned_on_the_state_floor_t_t_links_on() {
    let tube = short_tube();
    let ws: Vec<Window> = (0..5).map(marked).collect();
    // 0 → 1 → 2 (then the links end), 3 alone, 4 → 3
    let next = vec![Some(1), Some(2), None, None, Some(3)];
    let plain = TubeSource::new(ws.clone(), tube).unwrap();
    let live = TubeSource::new(ws, tube)
        .unwrap()
        .with_successors(next.clone())
        .unwrap();
    let n = 4000;
    let a = plain.draw(n, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
    let b = live.draw(n, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
    // the same random numbers: t, the path and the noise agree bit for bit
    assert_eq!(a.t, b.t);
    assert_eq!(a.m.as_slice(), b.m.as_slice());
    assert_eq!(a.zeta.as_slice(), b.zeta.as_slice());
    let (ca, cb) = (a.context.unwrap(), b.context.unwrap());
    let mut seen = [[false; 4]; 5];
    for i in 0..n {
        let w = a.m.point(i)[0] as usize;
        let j = (4.0 * a.t[i]) as usize; // t < 1, so j ≤ 3
        let mut want = w;
        for _ in 0..j {
            if let Some(k) = next[want] {
                want = k;
            }
        }
        assert_eq!(
            ca.point(i)[0] as usize,
            w,
            "without links: the window's own"
        );
        assert_eq!(
            cb.point(i)[0] as usize,
            want,
            "window {w} at t = {}",
            a.t[i]
        );
        assert_eq!(live.context_window(w, a.t[i]), want);
        seen[w][j] = true;
    }
    assert!(
        seen.iter().flatten().all(|&s| s),
        "every window and step drawn"
    );
    // the links' boundaries by hand: t = 1/4 is one link on, just below it none
    assert_eq!(live.context_window(0, 0.25), 1);
    assert_eq!(live.context_window(0, 0.2499), 0);
    assert_eq!(live.context_window(0, 0.75), 2);
    assert_eq!(live.context_window(4, 0.99), 3);
    // t = 1 (and past it) is capped at T − 1 = 3 links: a chain of six windows shows the cap
    let chain = TubeSource::new((0..6).map(marked).collect(), tube)
        .unwrap()
        .with_successors(vec![Some(1), Some(2), Some(3), Some(4), Some(5), None])
        .unwrap();
    assert_eq!(chain.context_window(0, 0.99), 3);
    assert_eq!(chain.context_window(0, 1.0), 3);
    assert_eq!(chain.context_window(0, 7.0), 3);
    assert_eq!(chain.context_window(1, 0.5), 3);
    // bad links are typed errors
    let ws: Vec<Window> = (0..2).map(marked).collect();
    assert!(matches!(
        TubeSource::new(ws.clone(), tube)
            .unwrap()
            .with_successors(vec![None]),
        Err(RobotError::Demonstrations(_))
    ));
    assert!(matches!(
        TubeSource::new(ws, tube)
            .unwrap()
            .with_successors(vec![Some(2), None]),
        Err(RobotError::Demonstrations(_))
    ));
}

/// The exact oracle over two expert demonstrations, with every context it is given recorded.
struct Recording<'a> {
    inner: &'a DemoOracle,
    contexts: &'a RefCell<Vec<Vec<f64>>>,
}

impl ConditionalField<Points> for Recording<'_> {
    type Given<'b>
        = TubeMixture
    where
        Self: 'b;
    fn dim(&self) -> usize {
        2
    }
    fn context_dim(&self) -> usize {
        CONTEXT_DIM
    }
    fn given(&self, context: &Points) -> Result<TubeMixture, CoreError> {
        self.contexts.borrow_mut().push(context.as_slice().to_vec());
        self.inner.given(context)
    }
}

/// What conditions each of 20 calls, T_chunk = 8: the latest two observations under the live mode, the
/// anchor's (calls 0, 8, 16) under the anchor mode, the anchor's pusher with the latest block under the
/// block-only mode.
#[test]
fn the_live_policy_reads_the_latest_observations_at_every_step() {
    let tube = common::tube();
    let oracle = common::oracle();
    for mode in ContextMode::ALL {
        let contexts = RefCell::new(Vec::new());
        let field = Recording {
            inner: &oracle,
            contexts: &contexts,
        };
        let config = StreamingConfig {
            context: mode,
            ..Default::default()
        };
        let params = config.check(tube).unwrap();
        assert_eq!(params.context(), mode);
        let step = TubeExponential::new(tube, 1.0).unwrap();
        let mut p = StreamingPolicy::new(field, step, params).unwrap();
        p.reset(3);
        let mut env = si_pusht::PushT::new();
        let mut history: Vec<Obs> = vec![env.reset(3)];
        let mut expected = Vec::new();
        for call in 0..20 {
            let anchor = call - call % 8;
            expected.push(
                match mode {
                    ContextMode::Live => encode_context(&history[..=call]),
                    ContextMode::Anchor => encode_context(&history[..=anchor]),
                    ContextMode::LiveBlock => mixed_context(&history[..=anchor], &history[..=call]),
                }
                .unwrap()
                .to_vec(),
            );
            let a = p.act(&history).unwrap();
            history.push(env.step(a[0]).unwrap().obs);
        }
        let got = contexts.into_inner();
        assert_eq!(got, expected, "{mode}");
        // the two modes differ within a chunk (the pusher moved), not at its anchor
        if mode == ContextMode::Live {
            assert_ne!(got[1], encode_context(&history[..=0]).unwrap().to_vec());
        }
    }
}

#[test]
fn the_sidecar_keeps_the_context_and_an_old_one_reads_as_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let tube = TubeConfig::default().check().unwrap();
    let ckpt = |name: &str| dir.path().join(name);
    let data = [PathBuf::from("demos.safetensors")];
    let mut live = PolicyMeta::new(PolicyKind::StreamingSde, tube, &data);
    live.context = ContextMode::Live;
    live.write(&ckpt("live")).unwrap();
    assert_eq!(PolicyMeta::read(&ckpt("live")).unwrap(), live);
    let anchor = PolicyMeta::new(PolicyKind::StreamingSde, tube, &data);
    anchor.write(&ckpt("anchor")).unwrap();
    // the anchor mode writes no field: sidecars from before the live context are the same text
    let text = std::fs::read_to_string(si_robot::recipe::meta_path(&ckpt("anchor"))).unwrap();
    assert!(!text.contains("context"), "{text}");
    assert_eq!(
        PolicyMeta::read(&ckpt("anchor")).unwrap().context,
        ContextMode::Anchor
    );
    // an ensemble's members share one mode
    live.write(&ckpt("live2")).unwrap();
    assert_eq!(
        PolicyMeta::ensemble_of(&[ckpt("live"), ckpt("live2")], &ckpt("ens"))
            .unwrap()
            .context,
        ContextMode::Live
    );
    assert!(matches!(
        PolicyMeta::ensemble_of(&[ckpt("live"), ckpt("anchor")], &ckpt("ens")),
        Err(RobotError::InvalidParameter {
            name: "members",
            ..
        })
    ));
    // the mode's names
    for m in ContextMode::ALL {
        assert_eq!(m.name().parse::<ContextMode>().unwrap(), m);
        assert_eq!(m.to_string(), m.name());
    }
    assert!("closed".parse::<ContextMode>().is_err());
}

/// The block-only context by hand: the pusher entries of one pair of observations, the block entries of
/// the other, each encoded as an observation.
#[test]
fn a_mixed_context_takes_the_pusher_of_one_and_the_block_of_the_other() {
    let p: [Obs; 2] = [[100.0, 110.0, 1.0, 2.0, 0.1], [120.0, 130.0, 3.0, 4.0, 0.2]];
    let b: [Obs; 2] = [[5.0, 6.0, 250.0, 260.0, 0.7], [7.0, 8.0, 255.0, 262.0, 0.8]];
    let c = mixed_context(&p, &b).unwrap();
    let want_prev = encode_obs(&[100.0, 110.0, 250.0, 260.0, 0.7]).unwrap();
    let want_cur = encode_obs(&[120.0, 130.0, 255.0, 262.0, 0.8]).unwrap();
    assert_eq!(&c[..OBS_DIM], &want_prev[..]);
    assert_eq!(&c[OBS_DIM..], &want_cur[..]);
    // the same history for both is the ordinary context; one observation counts twice
    assert_eq!(mixed_context(&p, &p).unwrap(), encode_context(&p).unwrap());
    assert_eq!(
        mixed_context(&p[1..], &b[1..]).unwrap()[..OBS_DIM],
        want_cur[..]
    );
    assert!(mixed_context(&[], &b).is_err());
}

#[test]
fn a_live_block_draw_mixes_the_windows_pusher_with_the_later_block() {
    let tube = short_tube();
    let ws: Vec<Window> = (0..3).map(marked).collect();
    let next = vec![Some(1), Some(2), None];
    let hist: Vec<[Obs; 2]> = (0..3)
        .map(|w| {
            let v = 200.0 + 10.0 * w as f64;
            [[v, v + 1.0, v + 2.0, v + 3.0, 0.1 * w as f64]; 2]
        })
        .collect();
    let src = TubeSource::new(ws.clone(), tube)
        .unwrap()
        .with_live_block(next.clone(), hist.clone())
        .unwrap();
    let n = 2000;
    let d = src.draw(n, &mut ChaCha8Rng::seed_from_u64(8)).unwrap();
    let ctx = d.context.unwrap();
    for i in 0..n {
        let w = d.m.point(i)[0] as usize;
        let k = src.context_window(w, d.t[i]);
        assert_eq!(
            ctx.point(i).iter().copied().collect::<Vec<f64>>(),
            mixed_context(&hist[w], &hist[k]).unwrap().to_vec()
        );
    }
    assert!(matches!(
        TubeSource::new(ws, tube)
            .unwrap()
            .with_live_block(next, hist[..2].to_vec()),
        Err(RobotError::Demonstrations(_))
    ));
}
