//! The chunked baseline: its training pairs are the windows' commanded targets, and with the exact field of
//! one chunk it returns exactly that chunk's first actions, whatever K.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, ConditionalField, CoreError, Field, PairSource, Points};
use si_integrate::Euler;
use si_pusht::{Demonstrations, Policy};
use si_robot::RobotError;
use si_robot::{
    decode_action, encode_context, windows, ChunkPairs, ChunkedConfig, ChunkedPolicy, CONTEXT_DIM,
};

fn demos() -> Demonstrations {
    Demonstrations {
        obs: (0..6)
            .map(|i| [100.0 + i as f64, 200.0, 300.0, 310.0, 0.2])
            .collect(),
        actions: (0..6)
            .map(|i| [120.0 + 7.0 * i as f64, 220.0 - 3.0 * i as f64])
            .collect(),
        episode_ends: vec![6],
        seeds: vec![1],
    }
}

#[test]
fn chunk_pairs_are_the_commanded_targets() {
    let w = windows(&demos(), 4).unwrap();
    let p = ChunkPairs::new(w.clone(), 4).unwrap();
    assert_eq!((p.dim(), p.context_dim()), (8, CONTEXT_DIM));
    let pairs = p.draw_pairs(50, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    let c = pairs.context.unwrap();
    for i in 0..50 {
        // find the window by its context and compare every action
        let k = w
            .iter()
            .position(|w| w.context.iter().zip(c.point(i).iter()).all(|(a, b)| a == b))
            .unwrap();
        for j in 0..4 {
            let knot = w[k].path.knots()[j + 1];
            assert_eq!(
                [pairs.x1.point(i)[2 * j], pairs.x1.point(i)[2 * j + 1]],
                knot
            );
        }
    }
    assert!(ChunkPairs::new(w, 3).is_err());
    assert!(ChunkPairs::new(vec![], 4).is_err());
}

/// The exact velocity of the one-sided linear interpolant from N(0, I) to the point mass at `c`:
/// b(t, x) = (c − x)/(1 − t). One Euler step from t = 1 − h lands exactly on c, for every K.
struct PointMass(Vec<f64>);
struct ToChunk<'a>(&'a [f64]);

impl Field<Points> for ToChunk<'_> {
    fn dim(&self) -> usize {
        self.0.len()
    }
    fn velocity(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        let v: Vec<f64> = x
            .as_slice()
            .iter()
            .zip(self.0.iter().cycle())
            .map(|(x, c)| (c - x) / (1.0 - t))
            .collect();
        Points::from_row_major(x.len(), self.0.len(), &v)
    }
}

impl ConditionalField<Points> for PointMass {
    type Given<'a> = ToChunk<'a>;
    fn dim(&self) -> usize {
        self.0.len()
    }
    fn context_dim(&self) -> usize {
        CONTEXT_DIM
    }
    fn given(&self, c: &Points) -> Result<ToChunk<'_>, CoreError> {
        si_core::check_context(c, CONTEXT_DIM)?;
        Ok(ToChunk(&self.0))
    }
}

#[test]
fn with_the_exact_field_the_policy_returns_the_chunk() {
    let w = windows(&demos(), 16).unwrap();
    let chunk: Vec<f64> = w[0].path.knots()[1..].iter().flatten().copied().collect();
    for k in [1, 10, 100] {
        let config = ChunkedConfig {
            horizon: 16,
            execute: 8,
            integration_steps: k,
        };
        let mut p =
            ChunkedPolicy::new(PointMass(chunk.clone()), Euler, config.check().unwrap()).unwrap();
        p.reset(3);
        let a = p.act(&demos().obs[..1]).unwrap();
        assert_eq!(a.len(), 8);
        for (j, action) in a.iter().enumerate() {
            let want = decode_action(w[0].path.knots()[j + 1]);
            assert!(
                (action[0] - want[0]).abs() < 1e-9 && (action[1] - want[1]).abs() < 1e-9,
                "K = {k}"
            );
        }
    }
    assert_eq!(encode_context(&demos().obs[..1]).unwrap(), w[0].context);
}

#[test]
fn bad_settings_are_typed_errors() {
    let f = || PointMass(vec![0.0; 32]);
    let c = |horizon, execute, steps| ChunkedConfig {
        horizon,
        execute,
        integration_steps: steps,
    };
    for cfg in [c(16, 0, 10), c(16, 17, 10), c(16, 8, 0), c(8, 4, 10)] {
        assert!(matches!(
            cfg.check()
                .and_then(|params| ChunkedPolicy::new(f(), Euler, params)),
            Err(RobotError::InvalidParameter { .. })
        ));
    }
    let mut p = ChunkedPolicy::new(f(), Euler, ChunkedConfig::default().check().unwrap()).unwrap();
    assert!(p.act(&[]).is_err());
    assert!(p.act(&[[f64::NAN, 0.0, 0.0, 0.0, 0.0]]).is_err());
}

/// b = 0: the chunk is the starting noise itself, so what the policy sends shows its generator.
struct Still;
struct StillGiven;

impl Field<Points> for StillGiven {
    fn dim(&self) -> usize {
        32
    }
    fn velocity(&self, _t: f64, x: &Points) -> Result<Points, CoreError> {
        Ok(Points::zeros(x.len(), x.dim()))
    }
}

impl ConditionalField<Points> for Still {
    type Given<'a> = StillGiven;
    fn dim(&self) -> usize {
        32
    }
    fn context_dim(&self) -> usize {
        CONTEXT_DIM
    }
    fn given(&self, c: &Points) -> Result<StillGiven, CoreError> {
        si_core::check_context(c, CONTEXT_DIM)?;
        Ok(StillGiven)
    }
}

#[test]
fn reset_reseeds_the_chunks_noise() {
    let params = ChunkedConfig::default().check().unwrap();
    let obs = &demos().obs[..1];
    let mut p = ChunkedPolicy::new(Still, Euler, params).unwrap();
    p.reset(5);
    let first = p.act(obs).unwrap();
    let second = p.act(obs).unwrap();
    // a new chunk draws new noise; resetting to the same seed draws the first chunk's again
    assert_ne!(first, second);
    p.reset(5);
    assert_eq!(p.act(obs).unwrap(), first);
    p.reset(6);
    assert_ne!(p.act(obs).unwrap(), first);
}

#[test]
fn checked_settings_keep_their_values_and_the_step_limit_is_inclusive() {
    let p = ChunkedConfig {
        horizon: 12,
        execute: 5,
        integration_steps: 7,
    }
    .check()
    .unwrap();
    assert_eq!(
        (p.horizon(), p.execute(), p.integration_steps()),
        (12, 5, 7)
    );
    let k = |steps| ChunkedConfig {
        horizon: 16,
        execute: 8,
        integration_steps: steps,
    };
    assert!(k(100_000).check().is_ok());
    assert!(k(100_001).check().is_err());
}
