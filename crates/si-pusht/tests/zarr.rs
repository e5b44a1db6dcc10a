//! Reading Diffusion Policy's zarr replay buffer into `Demonstrations`.
//!
//! The fixture `tests/data/pusht_small_replay.zarr` was written by Python's zarr 2.18.3
//! (`tools/pusht/make_zarr_fixture.py`): 50 rows in 3 episodes, every array in several Blosc-compressed
//! chunks (zstd with bit shuffle, lz4 with byte shuffle, lz4 without shuffle), the last ones partial. Its
//! values are recomputed here. The bad inputs are broken copies of it in a temporary folder; arrays with
//! chosen values are rewritten uncompressed (`"compressor": null`, raw little-endian chunks), which is
//! still a zarr v2 array.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use si_pusht::zarr::{read_replay_buffer, UNKNOWN_SEED};
use si_pusht::{Demonstrations, PushTError};

const N: usize = 50;
const ENDS: [usize; 3] = [12, 31, 50];

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pusht_small_replay.zarr")
}

/// Row `i` of `data/state` as the script computes it (float32 arithmetic), widened.
fn state(i: usize) -> [f64; 5] {
    let x = i as f32;
    [
        100.0 + x,
        200.0 + 2.0 * x,
        300.0 + 0.5 * x,
        400.0 - 0.25 * x,
        0.1f32 * x,
    ]
    .map(f64::from)
}

/// Row `i` of `data/action`.
fn action(i: usize) -> [f64; 2] {
    let x = i as f32;
    [1000.0 + 3.0 * x, 2000.0 - 2.0 * x].map(f64::from)
}

/// A fresh temporary folder, removed when dropped.
fn tmp(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("si-robot-zarr-{tag}-"))
        .tempdir()
        .unwrap()
}

/// A copy of the fixture in a fresh temporary folder, removed on drop.
struct Copy(tempfile::TempDir);

impl Copy {
    fn new(tag: &str) -> Self {
        let dir = tmp(tag);
        copy_dir(&fixture(), dir.path());
        Self(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    /// Edits an array's `.zarray` as JSON.
    fn edit_meta(&self, array: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let p = self.file(&format!("{array}/.zarray"));
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        edit(&mut v);
        std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
    }

    /// Replaces `array` by an uncompressed one of `shape` (one chunk, of shape `shape` with zeros raised to 1)
    /// holding `bytes` (little-endian elements of `dtype`).
    fn write_raw(&self, array: &str, dtype: &str, shape: &[usize], bytes: Vec<u8>) {
        let dir = self.file(array);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let chunks: Vec<usize> = shape.iter().map(|&d| d.max(1)).collect();
        let meta = serde_json::json!({
            "zarr_format": 2, "shape": shape, "chunks": chunks, "dtype": dtype, "compressor": null,
            "fill_value": 0, "order": "C", "filters": null,
        });
        std::fs::write(dir.join(".zarray"), meta.to_string()).unwrap();
        if shape.iter().all(|&d| d > 0) {
            let key = vec!["0"; shape.len()].join(".");
            std::fs::write(dir.join(key), bytes).unwrap();
        }
    }

    fn write_state(&self, rows: &[[f32; 5]]) {
        let bytes = rows
            .iter()
            .flatten()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        self.write_raw("data/state", "<f4", &[rows.len(), 5], bytes);
    }

    fn write_action(&self, rows: &[[f32; 2]]) {
        let bytes = rows
            .iter()
            .flatten()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        self.write_raw("data/action", "<f4", &[rows.len(), 2], bytes);
    }

    fn write_ends(&self, ends: &[i64]) {
        let bytes = ends.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.write_raw("meta/episode_ends", "<i8", &[ends.len()], bytes);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn f32_rows<const K: usize>(f: impl Fn(usize) -> [f64; K]) -> Vec<[f32; K]> {
    (0..N).map(|i| f(i).map(|v| v as f32)).collect()
}

/// The message of a `PushTError::Zarr`, or a failure naming what came instead.
fn zarr_error(r: Result<Demonstrations, PushTError>) -> String {
    match r {
        Err(PushTError::Zarr(msg)) => msg,
        other => panic!("expected PushTError::Zarr, got {other:?}"),
    }
}

fn demos_error(r: Result<Demonstrations, PushTError>) -> String {
    match r {
        Err(PushTError::Demonstrations(msg)) => msg,
        other => panic!("expected PushTError::Demonstrations, got {other:?}"),
    }
}

#[test]
fn the_fixture_spans_several_blosc_chunks() {
    // guards the premise of the next test: several chunks per array, partial last ones, Blosc codecs
    let count = |a: &str| {
        std::fs::read_dir(fixture().join(a))
            .unwrap()
            .filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count()
    };
    assert_eq!(count("data/state"), 4); // 16-row chunks, the last one 2 rows
    assert_eq!(count("data/action"), 4); // 40 × 1 chunks: two bands of two columns
    assert_eq!(count("meta/episode_ends"), 2);
    for (array, cname) in [
        ("data/state", "zstd"),
        ("data/action", "lz4"),
        ("meta/episode_ends", "lz4"),
    ] {
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture().join(array).join(".zarray")).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["zarr_format"], 2);
        assert_eq!(meta["compressor"]["id"], "blosc", "{array}");
        assert_eq!(meta["compressor"]["cname"], cname, "{array}");
    }
}

#[test]
fn reads_every_value_the_script_wrote() {
    let d = read_replay_buffer(&fixture()).unwrap();
    assert_eq!(d.obs.len(), N);
    assert_eq!(d.actions.len(), N);
    for i in 0..N {
        assert_eq!(d.obs[i], state(i), "state row {i}");
        assert_eq!(d.actions[i], action(i), "action row {i}");
    }
    // the angle is widened from float32, not re-rounded: float32(0.1)·7 is not 0.7
    assert_eq!(d.obs[7][4], f64::from(0.1f32 * 7.0));
    assert_ne!(d.obs[7][4], 0.7);
    assert_eq!(d.episode_ends, ENDS);
    assert_eq!(d.seeds, vec![UNKNOWN_SEED; 3]);
    assert_eq!(d.episodes(), 3);
    assert_eq!(Demonstrations::from_zarr(&fixture()).unwrap(), d);
}

#[test]
fn what_is_read_survives_the_demonstrations_file() {
    let d = read_replay_buffer(&fixture()).unwrap();
    let again = Demonstrations::from_bytes(&d.to_bytes().unwrap()).unwrap();
    assert_eq!(again, d);
    assert_eq!(again.seeds, vec![UNKNOWN_SEED; 3]);
}

#[test]
fn arrays_rewritten_uncompressed_read_the_same() {
    let c = Copy::new("raw");
    c.write_state(&f32_rows(state));
    c.write_action(&f32_rows(action));
    c.write_ends(&[12, 31, 50]);
    assert_eq!(
        read_replay_buffer(c.path()).unwrap(),
        read_replay_buffer(&fixture()).unwrap()
    );
}

#[test]
fn an_empty_buffer_reads_as_no_episodes() {
    let c = Copy::new("empty-arrays");
    c.write_state(&[]);
    c.write_action(&[]);
    c.write_ends(&[]);
    assert_eq!(
        read_replay_buffer(c.path()).unwrap(),
        Demonstrations::default()
    );
}

#[test]
fn a_missing_path_is_an_io_error() {
    let dir = tmp("nowhere");
    let p = dir.path().join("nowhere");
    match read_replay_buffer(&p) {
        Err(PushTError::Io { path, source }) => {
            assert_eq!(path, p);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected PushTError::Io, got {other:?}"),
    }
}

#[test]
fn a_file_is_not_a_store() {
    let c = Copy::new("file");
    let msg = zarr_error(read_replay_buffer(&c.file("data/state/.zarray")));
    assert!(msg.contains("not a directory"), "{msg}");
}

#[test]
fn an_empty_directory_is_refused() {
    let dir = tmp("emptydir");
    let msg = zarr_error(read_replay_buffer(dir.path()));
    assert!(msg.contains("data/state"), "{msg}");
}

#[test]
fn a_missing_array_is_refused() {
    for array in ["data/state", "data/action", "meta/episode_ends"] {
        let c = Copy::new("missing-array");
        std::fs::remove_dir_all(c.file(array)).unwrap();
        let msg = zarr_error(read_replay_buffer(c.path()));
        assert!(msg.contains(array), "{msg}");
    }
    // only the metadata gone: the chunks alone are not an array
    let c = Copy::new("missing-zarray");
    std::fs::remove_file(c.file("data/action/.zarray")).unwrap();
    let msg = zarr_error(read_replay_buffer(c.path()));
    assert!(msg.contains("data/action"), "{msg}");
}

#[test]
fn a_wrong_data_type_is_refused() {
    for (array, dtype) in [
        ("data/state", "<i4"),
        ("data/state", "<f8"),
        ("data/action", "<u4"),
        ("meta/episode_ends", "<f8"),
        ("meta/episode_ends", "<i4"),
    ] {
        let c = Copy::new("dtype");
        c.edit_meta(array, |m| m["dtype"] = dtype.into());
        let msg = zarr_error(read_replay_buffer(c.path()));
        assert!(msg.contains(array) && msg.contains("data type"), "{msg}");
    }
}

#[test]
fn a_wrong_shape_is_refused() {
    let cases: [(&str, serde_json::Value, serde_json::Value); 5] = [
        ("data/state", [50, 4].into(), [16, 4].into()),
        ("data/state", [50].into(), [16].into()),
        ("data/action", [50, 2, 1].into(), [40, 1, 1].into()),
        ("data/action", [50, 3].into(), [40, 1].into()),
        ("meta/episode_ends", [3, 1].into(), [2, 1].into()),
    ];
    for (array, shape, chunks) in cases {
        let c = Copy::new("shape");
        c.edit_meta(array, |m| {
            m["shape"] = shape.clone();
            m["chunks"] = chunks.clone();
        });
        let msg = zarr_error(read_replay_buffer(c.path()));
        assert!(msg.contains(array) && msg.contains("shape"), "{msg}");
    }
}

#[test]
fn episode_ends_that_do_not_fit_the_rows_are_refused() {
    for ends in [
        &[12, 31, 49][..],
        &[12, 31, 51],
        &[31, 12, 50],
        &[],
        &[12, 31],
    ] {
        let c = Copy::new("ends");
        c.write_ends(ends);
        let msg = demos_error(read_replay_buffer(c.path()));
        assert!(msg.contains("episode_ends"), "{ends:?}: {msg}");
    }
    let c = Copy::new("ends-negative");
    c.write_ends(&[-1, 31, 50]);
    let msg = zarr_error(read_replay_buffer(c.path()));
    assert!(msg.contains("negative"), "{msg}");
}

#[test]
fn rows_that_disagree_are_refused() {
    let c = Copy::new("rows");
    c.write_action(&f32_rows(action)[..N - 1]);
    let msg = demos_error(read_replay_buffer(c.path()));
    assert!(msg.contains("lengths differ"), "{msg}");
}

#[test]
fn a_non_finite_value_is_refused() {
    let c = Copy::new("nan-state");
    let mut rows = f32_rows(state);
    rows[20][4] = f32::NAN;
    c.write_state(&rows);
    let msg = demos_error(read_replay_buffer(c.path()));
    assert!(msg.contains("obs row 20"), "{msg}");

    let c = Copy::new("inf-action");
    let mut rows = f32_rows(action);
    rows[49][0] = f32::INFINITY;
    c.write_action(&rows);
    let msg = demos_error(read_replay_buffer(c.path()));
    assert!(msg.contains("action row 49"), "{msg}");
}

#[test]
fn a_missing_chunk_is_refused_not_filled() {
    for (array, chunk) in [
        ("data/state", "2.0"),
        ("data/state", "3.0"),
        ("data/action", "1.1"),
        ("meta/episode_ends", "0"),
    ] {
        let c = Copy::new("missing-chunk");
        std::fs::remove_file(c.file(&format!("{array}/{chunk}"))).unwrap();
        let msg = zarr_error(read_replay_buffer(c.path()));
        assert!(
            msg.contains(array)
                && msg.contains(&format!("chunk {chunk}"))
                && msg.contains("missing"),
            "{msg}"
        );
    }
}

#[test]
fn a_corrupt_chunk_is_refused() {
    let c = Copy::new("garbage");
    std::fs::write(c.file("data/action/1.1"), b"not a blosc frame at all").unwrap();
    let msg = zarr_error(read_replay_buffer(c.path()));
    assert!(
        msg.contains("data/action") && msg.contains("chunk 1.1"),
        "{msg}"
    );

    let c = Copy::new("truncated");
    let p = c.file("data/state/0.0");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let msg = zarr_error(read_replay_buffer(c.path()));
    assert!(
        msg.contains("data/state") && msg.contains("chunk 0.0"),
        "{msg}"
    );

    let c = Copy::new("empty-chunk");
    std::fs::write(c.file("meta/episode_ends/1"), b"").unwrap();
    let msg = zarr_error(read_replay_buffer(c.path()));
    assert!(msg.contains("meta/episode_ends"), "{msg}");
}

#[test]
fn malformed_metadata_is_refused() {
    let c = Copy::new("json");
    std::fs::write(c.file("data/state/.zarray"), b"{ not json").unwrap();
    let msg = zarr_error(read_replay_buffer(c.path()));
    assert!(msg.contains("data/state"), "{msg}");

    let c = Copy::new("codec");
    c.edit_meta("data/action", |m| {
        m["compressor"]["id"] = "no-such-codec".into()
    });
    let msg = zarr_error(read_replay_buffer(c.path()));
    assert!(msg.contains("data/action"), "{msg}");

    let c = Copy::new("zero-chunk");
    c.edit_meta("data/state", |m| m["chunks"] = [0, 5].into());
    let msg = zarr_error(read_replay_buffer(c.path()));
    assert!(msg.contains("data/state"), "{msg}");

    let c = Copy::new("fortran");
    c.edit_meta("data/state", |m| m["order"] = "F".into());
    let msg = zarr_error(read_replay_buffer(c.path()));
    assert!(msg.contains("data/state"), "{msg}");
}

#[test]
fn a_forged_huge_shape_is_refused_without_allocating() {
    // rows far beyond the chunks on disk: the first absent chunk stops the read
    let c = Copy::new("huge-rows");
    c.edit_meta("data/state", |m| m["shape"] = [1u64 << 62, 5].into());
    let msg = zarr_error(read_replay_buffer(c.path()));
    assert!(
        msg.contains("chunk 4.0") && msg.contains("missing"),
        "{msg}"
    );

    // a chunk shape no Blosc frame can hold
    let c = Copy::new("huge-chunk");
    c.edit_meta("data/state", |m| {
        m["shape"] = [1u64 << 40, 5].into();
        m["chunks"] = [1u64 << 40, 5].into();
    });
    let msg = zarr_error(read_replay_buffer(c.path()));
    assert!(msg.contains("larger than"), "{msg}");

    let c = Copy::new("overflow-chunk");
    c.edit_meta("data/state", |m| {
        m["shape"] = [u64::MAX, 5].into();
        m["chunks"] = [u64::MAX, 5].into();
    });
    zarr_error(read_replay_buffer(c.path()));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any damage to a compressed chunk is an error or a read of other values, never a panic.
    #[test]
    fn a_damaged_chunk_never_panics(
        chunk in prop::sample::select(vec!["data/state/1.0", "data/action/0.1", "meta/episode_ends/0"]),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let c = Copy::new("fuzz");
        let p = c.file(chunk);
        let mut bytes = std::fs::read(&p).unwrap();
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        if let Some(at) = cut {
            bytes.truncate(at.index(bytes.len()));
        }
        std::fs::write(&p, bytes).unwrap();
        match read_replay_buffer(c.path()) {
            Ok(d) => prop_assert!(d.validate().is_ok()),
            Err(PushTError::Zarr(_) | PushTError::Demonstrations(_)) => {}
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }

    /// Forged array metadata (any shape, chunk shape, data type and order over the same chunk files) is an
    /// error or a read, never a panic nor an allocation ahead of the data.
    #[test]
    fn forged_metadata_never_panics(
        rows in prop_oneof![Just(0u64), 1u64..200, Just(u64::MAX), Just(1u64 << 63), any::<u64>()],
        cols in 0u64..8,
        chunk_rows in prop_oneof![0u64..64, Just(u64::MAX), any::<u64>()],
        chunk_cols in prop_oneof![0u64..8, any::<u64>()],
        extra_dim in prop::option::of(0u64..4),
        dtype in prop::sample::select(vec!["<f4", ">f4", "<f8", "<i8", "<i4", "|u1", "<f2", "|b1", "<U4", "|O"]),
        order in prop::sample::select(vec!["C", "F"]),
        array in prop::sample::select(vec!["data/state", "data/action", "meta/episode_ends"]),
    ) {
        let c = Copy::new("fuzz-meta");
        c.edit_meta(array, |m| {
            let mut shape = vec![rows, cols];
            let mut chunks = vec![chunk_rows, chunk_cols];
            if let Some(d) = extra_dim {
                shape.push(d);
                chunks.push(d.max(1));
            }
            if array == "meta/episode_ends" {
                shape.truncate(1);
                chunks.truncate(1);
            }
            m["shape"] = shape.into();
            m["chunks"] = chunks.into();
            m["dtype"] = dtype.into();
            m["order"] = order.into();
        });
        match read_replay_buffer(c.path()) {
            Ok(d) => prop_assert!(d.validate().is_ok()),
            Err(PushTError::Zarr(_) | PushTError::Demonstrations(_)) => {}
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }
}
