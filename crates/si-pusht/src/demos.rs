//! Demonstration sets and their file format.
//!
//! A safetensors file with
//! * `obs` — `[N, 5]` f64: `[agent_x, agent_y, block_x, block_y, block_angle mod 2π]` before each action;
//! * `action` — `[N, 2]` f64: the pusher target taken from that observation;
//! * `episode_ends` — `[E]` i64: exclusive end index of each episode in the rows above (episode `e` is rows
//!   `episode_ends[e−1] .. episode_ends[e]`, the convention of Diffusion Policy's replay buffer);
//! * `seeds` — `[E]` i64: the environment seed of each episode;
//!
//! and metadata `format = "pusht-demos-v1"`.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::env::{Action, Obs, MAX_STEPS};
use crate::error::PushTError;
use crate::eval::{run_episode, Episode, Policy};
use crate::expert::training_seeds;

/// Format tag stored in the file's metadata.
pub const FORMAT: &str = "pusht-demos-v1";

/// Observation–action pairs of whole episodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Demonstrations {
    /// Observation before each action.
    pub obs: Vec<Obs>,
    /// Actions.
    pub actions: Vec<Action>,
    /// Exclusive end row of each episode.
    pub episode_ends: Vec<usize>,
    /// Environment seed of each episode.
    pub seeds: Vec<u64>,
}

fn bad(msg: impl Into<String>) -> PushTError {
    PushTError::Demonstrations(msg.into())
}

/// Refuses a safetensors header holding a number (a shape or an offset: the numbers outside strings) larger
/// than the whole file. Such a number never fits the file; and safetensors 0.4 adds offsets unchecked
/// (`buffer_end + 8 + n`), which overflows — a panic with overflow checks — on an offset near `usize::MAX`.
fn check_header_numbers(bytes: &[u8]) -> Result<(), PushTError> {
    let Some((len, rest)) = bytes.split_first_chunk::<8>() else {
        return Ok(()); // too short: safetensors reports it
    };
    let Some(header) = usize::try_from(u64::from_le_bytes(*len))
        .ok()
        .and_then(|n| rest.get(..n))
    else {
        return Ok(()); // a bad header length: safetensors reports it
    };
    let limit = bytes.len() as u128;
    let (mut in_string, mut escaped) = (false, false);
    let mut number: Option<u128> = None;
    for &c in header.iter().chain(std::iter::once(&b' ')) {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_ascii_digit() {
            let v = number
                .unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(u128::from(c - b'0'));
            number = Some(v);
            continue;
        }
        if number.take().is_some_and(|v| v > limit) {
            return Err(bad(format!(
                "the header holds a number larger than the file ({} bytes)",
                bytes.len()
            )));
        }
        in_string = c == b'"';
    }
    Ok(())
}

impl Demonstrations {
    /// Appends an episode: its observations before each action and the actions.
    pub fn push_episode(&mut self, ep: &Episode) -> Result<(), PushTError> {
        if ep.observations.len() != ep.actions.len() + 1 {
            return Err(bad(format!(
                "episode {} has {} observations for {} actions",
                ep.seed,
                ep.observations.len(),
                ep.actions.len()
            )));
        }
        self.obs
            .extend_from_slice(&ep.observations[..ep.actions.len()]);
        self.actions.extend_from_slice(&ep.actions);
        self.episode_ends.push(self.obs.len());
        self.seeds.push(ep.seed);
        Ok(())
    }

    /// Number of episodes.
    pub fn episodes(&self) -> usize {
        self.episode_ends.len()
    }

    /// The file's bytes (after [`Demonstrations::validate`], so that what is written reads back).
    pub fn to_bytes(&self) -> Result<Vec<u8>, PushTError> {
        self.validate()?;
        let n = self.obs.len();
        if self.episode_ends.iter().any(|&e| i64::try_from(e).is_err()) {
            return Err(bad("an episode end does not fit in i64"));
        }
        let f64s =
            |v: &mut dyn Iterator<Item = f64>| v.flat_map(f64::to_le_bytes).collect::<Vec<u8>>();
        let obs = f64s(&mut self.obs.iter().flatten().copied());
        let act = f64s(&mut self.actions.iter().flatten().copied());
        let ends: Vec<u8> = self
            .episode_ends
            .iter()
            .flat_map(|&e| (e as i64).to_le_bytes())
            .collect();
        let seeds: Vec<u8> = self
            .seeds
            .iter()
            .flat_map(|&s| (s as i64).to_le_bytes())
            .collect();
        let e = self.episode_ends.len();
        let err = |x: safetensors::SafeTensorError| bad(x.to_string());
        let tensors = vec![
            (
                "obs",
                TensorView::new(Dtype::F64, vec![n, 5], &obs).map_err(err)?,
            ),
            (
                "action",
                TensorView::new(Dtype::F64, vec![n, 2], &act).map_err(err)?,
            ),
            (
                "episode_ends",
                TensorView::new(Dtype::I64, vec![e], &ends).map_err(err)?,
            ),
            (
                "seeds",
                TensorView::new(Dtype::I64, vec![e], &seeds).map_err(err)?,
            ),
        ];
        let meta = Some(HashMap::from([("format".to_string(), FORMAT.to_string())]));
        safetensors::tensor::serialize(tensors, &meta).map_err(err)
    }

    /// Checks the structure: as many actions as observations, as many seeds as episodes, `episode_ends`
    /// non-decreasing up to the number of rows (every row in an episode), every value finite.
    pub fn validate(&self) -> Result<(), PushTError> {
        let n = self.obs.len();
        if self.actions.len() != n || self.seeds.len() != self.episode_ends.len() {
            return Err(bad("obs/action or seeds/episode_ends lengths differ"));
        }
        if self.episode_ends.windows(2).any(|w| w[0] > w[1])
            || self.episode_ends.last().copied().unwrap_or(0) != n
        {
            return Err(bad(format!(
                "episode_ends must be non-decreasing and end at the number of rows ({n})"
            )));
        }
        if let Some(row) = self
            .obs
            .iter()
            .position(|o| o.iter().any(|v| !v.is_finite()))
        {
            return Err(bad(format!("obs row {row} is not finite")));
        }
        if let Some(row) = self
            .actions
            .iter()
            .position(|a| a.iter().any(|v| !v.is_finite()))
        {
            return Err(bad(format!("action row {row} is not finite")));
        }
        Ok(())
    }

    /// Parses a file's bytes; anything malformed is [`PushTError::Demonstrations`], never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PushTError> {
        check_header_numbers(bytes)?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        // the data of tensor `name`, which must have dtype `dtype` and shape [rows] (`cols` None) or
        // [rows, cols]; returns the rows
        let get =
            |name: &str, dtype: Dtype, cols: Option<usize>| -> Result<(&[u8], usize), PushTError> {
                let t = st.tensor(name).map_err(|e| bad(format!("{name}: {e}")))?;
                if t.dtype() != dtype {
                    return Err(bad(format!("{name}: dtype {:?}", t.dtype())));
                }
                let rows = match (cols, t.shape()) {
                    (Some(c), &[rows, k]) if k == c => rows,
                    (None, &[rows]) => rows,
                    (_, shape) => return Err(bad(format!("{name}: shape {shape:?}"))),
                };
                let expected = rows
                    .checked_mul(cols.unwrap_or(1))
                    .and_then(|v| v.checked_mul(8));
                if expected != Some(t.data().len()) {
                    return Err(bad(format!(
                        "{name}: {} data bytes for {rows} rows",
                        t.data().len()
                    )));
                }
                Ok((t.data(), rows))
            };
        let words = |b: &[u8]| -> Vec<[u8; 8]> {
            b.chunks_exact(8)
                .map(|c| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(c);
                    w
                })
                .collect()
        };
        let (obs, n) = get("obs", Dtype::F64, Some(5))?;
        let (act, m) = get("action", Dtype::F64, Some(2))?;
        let (ends, e) = get("episode_ends", Dtype::I64, None)?;
        let (seeds, e2) = get("seeds", Dtype::I64, None)?;
        if n != m || e != e2 {
            return Err(bad("obs/action or seeds/episode_ends lengths differ"));
        }
        let f: Vec<f64> = words(obs).into_iter().map(f64::from_le_bytes).collect();
        let obs = f
            .chunks_exact(5)
            .map(|c| [c[0], c[1], c[2], c[3], c[4]])
            .collect();
        let f: Vec<f64> = words(act).into_iter().map(f64::from_le_bytes).collect();
        let actions = f.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
        let episode_ends = words(ends)
            .into_iter()
            .map(|w| {
                let x = i64::from_le_bytes(w);
                usize::try_from(x).map_err(|_| bad(format!("episode end {x} is negative")))
            })
            .collect::<Result<Vec<usize>, _>>()?;
        let seeds = words(seeds)
            .into_iter()
            .map(|w| i64::from_le_bytes(w) as u64)
            .collect();
        let d = Self {
            obs,
            actions,
            episode_ends,
            seeds,
        };
        d.validate()?;
        Ok(d)
    }

    /// Writes the file atomically (a temporary file in the same folder, then a rename).
    pub fn write(&self, path: &Path) -> Result<(), PushTError> {
        Ok(si_data::write_atomic(path, &self.to_bytes()?)?)
    }

    /// Reads a file.
    pub fn read(path: &Path) -> Result<Self, PushTError> {
        let bytes = std::fs::read(path).map_err(|source| PushTError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }
}

/// Settings of a demonstration collection ([`collect`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Collection {
    /// Successful episodes wanted.
    pub episodes: usize,
    /// The first training seed ([`training_seeds`]: the test seeds are always skipped).
    pub first_seed: u64,
    /// Give up after this many episodes per wanted episode (0 counts as 1).
    pub max_attempts_per_demo: usize,
}

/// Where a collection stands, after each episode it ran ([`collect`]'s callback).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CollectionProgress {
    /// Episodes run so far.
    pub attempts: usize,
    /// Successful episodes kept so far.
    pub collected: usize,
    /// Steps (observation–action rows) kept so far.
    pub steps: usize,
    /// Whether the episode just run succeeded (and was kept).
    pub success: bool,
}

/// Demonstrations: the successful episodes of `policy` (usually the [`Expert`](crate::Expert)) on the
/// training seeds from `settings.first_seed` on, each at most [`MAX_STEPS`] steps, until
/// `settings.episodes` succeeded; `progress` is told after every episode. Returns the demonstrations and the
/// number of episodes run. Running out of attempts is [`PushTError::TooFewSuccesses`].
pub fn collect<P: Policy + ?Sized>(
    policy: &mut P,
    settings: Collection,
    mut progress: impl FnMut(CollectionProgress),
) -> Result<(Demonstrations, usize), PushTError> {
    let mut demos = Demonstrations::default();
    let mut attempts = 0usize;
    let limit = settings
        .episodes
        .saturating_mul(settings.max_attempts_per_demo.max(1));
    for seed in training_seeds(settings.first_seed) {
        if demos.episodes() >= settings.episodes {
            break;
        }
        if attempts >= limit {
            return Err(PushTError::TooFewSuccesses {
                successes: demos.episodes(),
                attempts,
            });
        }
        attempts += 1;
        let ep = run_episode(policy, seed, MAX_STEPS)?;
        if ep.success {
            demos.push_episode(&ep)?;
        }
        progress(CollectionProgress {
            attempts,
            collected: demos.episodes(),
            steps: demos.obs.len(),
            success: ep.success,
        });
    }
    if demos.episodes() < settings.episodes {
        // the training seeds ran out
        return Err(PushTError::TooFewSuccesses {
            successes: demos.episodes(),
            attempts,
        });
    }
    Ok((demos, attempts))
}
