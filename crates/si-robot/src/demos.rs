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

use crate::env::{Action, Obs};
use crate::error::RobotError;
use crate::policy::Episode;

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

fn bad(msg: impl Into<String>) -> RobotError {
    RobotError::Demonstrations(msg.into())
}

impl Demonstrations {
    /// Appends an episode: its observations before each action and the actions.
    pub fn push_episode(&mut self, ep: &Episode) -> Result<(), RobotError> {
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

    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RobotError> {
        let n = self.obs.len();
        if self.actions.len() != n || self.seeds.len() != self.episode_ends.len() {
            return Err(bad("obs/action or seeds/episode_ends lengths differ"));
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

    /// Parses a file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RobotError> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let get = |name: &str,
                   dtype: Dtype,
                   cols: Option<usize>|
         -> Result<(Vec<u8>, usize), RobotError> {
            let t = st.tensor(name).map_err(|e| bad(format!("{name}: {e}")))?;
            if t.dtype() != dtype {
                return Err(bad(format!("{name}: dtype {:?}", t.dtype())));
            }
            let shape = t.shape();
            match cols {
                Some(c) if shape.len() != 2 || shape[1] != c => {
                    return Err(bad(format!("{name}: shape {shape:?}")))
                }
                None if shape.len() != 1 => return Err(bad(format!("{name}: shape {shape:?}"))),
                _ => {}
            }
            Ok((t.data().to_vec(), shape[0]))
        };
        let f = |b: &[u8]| -> Vec<f64> {
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect()
        };
        let i = |b: &[u8]| -> Vec<i64> {
            b.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect()
        };
        let (obs, n) = get("obs", Dtype::F64, Some(5))?;
        let (act, m) = get("action", Dtype::F64, Some(2))?;
        let (ends, e) = get("episode_ends", Dtype::I64, None)?;
        let (seeds, e2) = get("seeds", Dtype::I64, None)?;
        if n != m || e != e2 {
            return Err(bad("obs/action or seeds/episode_ends lengths differ"));
        }
        let obs = f(&obs)
            .chunks_exact(5)
            .map(|c| [c[0], c[1], c[2], c[3], c[4]])
            .collect();
        let actions = f(&act).chunks_exact(2).map(|c| [c[0], c[1]]).collect();
        let episode_ends: Vec<usize> = i(&ends).into_iter().map(|x| x.max(0) as usize).collect();
        if episode_ends.windows(2).any(|w| w[0] > w[1])
            || episode_ends.last().is_some_and(|&l| l != n)
        {
            return Err(bad("episode_ends must increase to the number of rows"));
        }
        let seeds = i(&seeds).into_iter().map(|x| x as u64).collect();
        Ok(Self {
            obs,
            actions,
            episode_ends,
            seeds,
        })
    }

    /// Writes the file atomically (a temporary file in the same folder, then a rename).
    pub fn write(&self, path: &Path) -> Result<(), RobotError> {
        Ok(si_data::write_atomic(path, &self.to_bytes()?)?)
    }

    /// Reads a file.
    pub fn read(path: &Path) -> Result<Self, RobotError> {
        let bytes = std::fs::read(path).map_err(|source| RobotError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }
}
