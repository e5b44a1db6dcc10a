//! Reading Diffusion Policy's Push-T replay buffer (`pusht_cchi_v7_replay.zarr`) into [`Demonstrations`].
//!
//! The published data set is a zarr v2 directory store written by Python's `zarr` 2.x:
//! * `data/state` — `[N, 5]` float32: `[agent_x, agent_y, block_x, block_y, block_angle]` before each action;
//! * `data/action` — `[N, 2]` float32: the pusher target taken from that state;
//! * `meta/episode_ends` — `[E]` int64: exclusive end row of each episode;
//!
//! with chunks compressed by Blosc (the published file: zstd with bit shuffle; numcodecs' default: lz4 with byte
//! shuffle). Other arrays of the store (`data/img`, `data/keypoint`, `data/n_contacts`, …) are not read. The
//! reader is [`zarrs`] with its Blosc codec (the C library c-blosc, built from source by `blosc-src`); it sits
//! behind the `zarr` cargo feature of this crate, on by default.

use std::path::Path;
use std::sync::Arc;

use zarrs::array::data_type::{Float32DataType, Int64DataType};
use zarrs::array::{Array, ElementOwned};
use zarrs::filesystem::FilesystemStore;

use crate::demos::Demonstrations;
use crate::error::PushTError;

/// The seed given to every episode read from a replay buffer: Diffusion Policy's buffers do not record the
/// environment seed of their episodes, so there is none to give. `u64::MAX` is not a seed any code of this
/// workspace draws episodes from; a demonstration file written from such a set stores it as `-1`.
pub const UNKNOWN_SEED: u64 = u64::MAX;

/// The largest chunk accepted, in decoded bytes: c-blosc's largest buffer (`BLOSC_MAX_BUFFERSIZE` is a little
/// under 2³¹ bytes). The published file's chunks are 3 KB; the bound keeps a forged `.zarray` from making the
/// decoder allocate an absurd buffer.
const MAX_CHUNK_BYTES: u64 = i32::MAX as u64;

/// The element types read here.
trait Element: ElementOwned + Copy + Default {
    /// The zarr data type it is read from, as Python names it.
    const NAME: &'static str;
    /// Whether the array's data type is that one.
    fn matches(array: &Array<FilesystemStore>) -> bool;
}

impl Element for f32 {
    const NAME: &'static str = "float32";
    fn matches(array: &Array<FilesystemStore>) -> bool {
        array.data_type().is::<Float32DataType>()
    }
}

impl Element for i64 {
    const NAME: &'static str = "int64";
    fn matches(array: &Array<FilesystemStore>) -> bool {
        array.data_type().is::<Int64DataType>()
    }
}

/// Reads a Push-T replay buffer in Diffusion Policy's layout (a zarr directory store such as
/// `pusht_cchi_v7_replay.zarr`) into [`Demonstrations`]:
/// * `obs` — the rows of `data/state`, each float32 widened to f64 exactly; the block angle is kept as stored
///   (Diffusion Policy's environment stores it reduced mod 2π, as [`Demonstrations`] expects);
/// * `actions` — the rows of `data/action`, widened the same way;
/// * `episode_ends` — `meta/episode_ends`;
/// * `seeds` — [`UNKNOWN_SEED`] for every episode: the buffer does not record seeds.
///
/// `data/state` and `data/action` must be float32 of shapes `[N, 5]` and `[N, 2]`, `meta/episode_ends` int64 of
/// shape `[E]`; any compressor that zarrs reads with the codecs built in (Blosc with any of its compressors, or
/// none) and either zarr format (v2 `.zarray` or v3 `zarr.json`) is accepted, in C order. Every chunk of the
/// three arrays must be present: zarr would read a missing chunk as the fill value, but a replay buffer written
/// by zarr 2.x stores every chunk, so a missing one means a damaged copy. The result passes
/// [`Demonstrations::validate`] (rows agree, episode ends non-decreasing and ending at `N`, every value finite).
///
/// # Errors
/// [`PushTError::Io`] when `path` cannot be read (it does not exist, or permission is denied);
/// [`PushTError::Zarr`] when it is not a directory, an array is missing or has another data type or shape, its
/// metadata is malformed, a chunk is missing, too large or fails to decode, or an episode end is negative;
/// [`PushTError::Demonstrations`] when the arrays are well-formed but disagree or hold a non-finite value.
/// Nothing here panics on a malformed store.
pub fn read_replay_buffer(path: &Path) -> Result<Demonstrations, PushTError> {
    let meta = std::fs::metadata(path).map_err(|source| PushTError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let fail = |what: String| PushTError::Zarr(format!("{}: {what}", path.display()));
    if !meta.is_dir() {
        return Err(fail("not a directory (a zarr directory store)".into()));
    }
    let store = Arc::new(FilesystemStore::new(path).map_err(|e| fail(e.to_string()))?);
    let state = read_table::<f32>(&store, "data/state", Some(5)).map_err(&fail)?;
    let action = read_table::<f32>(&store, "data/action", Some(2)).map_err(&fail)?;
    let ends = read_table::<i64>(&store, "meta/episode_ends", None).map_err(&fail)?;
    let widen = |v: &[f32]| -> Vec<f64> { v.iter().map(|&x| f64::from(x)).collect() };
    let obs = widen(&state)
        .chunks_exact(5)
        .map(|c| [c[0], c[1], c[2], c[3], c[4]])
        .collect();
    let actions = widen(&action)
        .chunks_exact(2)
        .map(|c| [c[0], c[1]])
        .collect();
    let episode_ends = ends
        .iter()
        .map(|&x| {
            usize::try_from(x)
                .map_err(|_| fail(format!("meta/episode_ends: episode end {x} is negative")))
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let d = Demonstrations {
        obs,
        actions,
        episode_ends,
        seeds: vec![UNKNOWN_SEED; ends.len()],
    };
    d.validate()?;
    Ok(d)
}

impl Demonstrations {
    /// Reads Diffusion Policy's zarr replay buffer: [`read_replay_buffer`].
    pub fn from_zarr(path: &Path) -> Result<Self, PushTError> {
        read_replay_buffer(path)
    }
}

/// Reads the whole array `name` of `store`, of element type `T` and shape `[rows]` (`cols` None) or
/// `[rows, cols]`, chunk by chunk; returns its elements in row-major order.
fn read_table<T: Element>(
    store: &Arc<FilesystemStore>,
    name: &str,
    cols: Option<usize>,
) -> Result<Vec<T>, String> {
    let array = Array::open(store.clone(), &format!("/{name}"))
        .map_err(|e| format!("{name}: cannot open the array: {e}"))?;
    if !T::matches(&array) {
        return Err(format!(
            "{name}: data type {}, expected {}",
            array.data_type(),
            T::NAME
        ));
    }
    let shape = array.shape().to_vec();
    let rows = match (cols, shape.as_slice()) {
        (Some(c), &[rows, k]) if k == c as u64 => rows,
        (None, &[rows]) => rows,
        (_, s) => {
            let want = cols.map_or("[E]".to_string(), |c| format!("[N, {c}]"));
            return Err(format!("{name}: shape {s:?}, expected {want}"));
        }
    };
    let rows =
        usize::try_from(rows).map_err(|_| format!("{name}: {rows} rows do not fit in memory"))?;
    let width = cols.unwrap_or(1);
    let grid = array.chunk_grid_shape().to_vec();
    let row_chunks = grid.first().copied().unwrap_or(0);
    let col_chunks = grid.get(1).copied().unwrap_or(1);
    let mut out: Vec<T> = Vec::new();
    for r in 0..row_chunks {
        // one band of chunks covering the same rows, filled column chunk by column chunk; the output grows
        // only by what was decoded, so a forged shape cannot make it allocate ahead of the data
        let mut band: Vec<T> = Vec::new();
        let mut band_rows = 0;
        for c in 0..col_chunks {
            let index: Vec<u64> = if cols.is_some() { vec![r, c] } else { vec![r] };
            let key = index
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(".");
            let at = |e: &dyn std::fmt::Display| format!("{name}: chunk {key}: {e}");
            let origin = array.chunk_origin(&index).map_err(|e| at(&e))?;
            let chunk_shape: Vec<u64> = array
                .chunk_shape(&index)
                .map_err(|e| at(&e))?
                .iter()
                .map(|d| d.get())
                .collect();
            let bytes = chunk_shape
                .iter()
                .try_fold(std::mem::size_of::<T>() as u64, |acc, &d| {
                    acc.checked_mul(d)
                })
                .filter(|&b| b <= MAX_CHUNK_BYTES)
                .ok_or_else(|| {
                    at(&format!(
                        "chunk shape {chunk_shape:?} is larger than {MAX_CHUNK_BYTES} bytes"
                    ))
                })?;
            let values: Vec<T> = array
                .retrieve_chunk_if_exists::<Vec<T>>(&index)
                .map_err(|e| at(&e))?
                .ok_or_else(|| at(&"missing"))?;
            let elements = bytes as usize / std::mem::size_of::<T>();
            if values.len() != elements {
                return Err(at(&format!(
                    "{} elements decoded for a chunk of {elements}",
                    values.len()
                )));
            }
            // the chunk's rows and columns inside the array (edge chunks extend past it)
            let (r0, c0) = (origin[0], origin.get(1).copied().unwrap_or(0));
            let (cr, cc) = (chunk_shape[0], chunk_shape.get(1).copied().unwrap_or(1));
            let in_rows = cr.min((rows as u64).saturating_sub(r0)) as usize;
            let in_cols = cc.min((width as u64).saturating_sub(c0)) as usize;
            if c == 0 {
                band_rows = in_rows;
                band = vec![T::default(); band_rows * width];
            }
            let (c0, cc) = (c0 as usize, cc as usize);
            for i in 0..band_rows.min(in_rows) {
                band[i * width + c0..i * width + c0 + in_cols]
                    .copy_from_slice(&values[i * cc..i * cc + in_cols]);
            }
        }
        out.extend_from_slice(&band);
    }
    if out.len() != rows * width {
        return Err(format!(
            "{name}: the chunks cover {} of {} elements",
            out.len(),
            rows * width
        ));
    }
    Ok(out)
}
