//! Atomic file writes.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::{DataError, Result};

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so that a reader (or
/// a run killed half-way) never sees a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |tmp| {
        let written = (|| -> std::io::Result<()> {
            let mut f = fs::File::create(tmp)?;
            f.write_all(bytes)?;
            f.sync_all()
        })();
        written.map_err(|e| DataError::io(format!("writing {}", path.display()), e))
    })
}

/// Writes `path` through `write`, which writes the file it is handed: a temporary sibling
/// ([`temporary_sibling`]) that is renamed to `path` when `write` succeeds and removed when it (or the
/// rename) fails, so that no reader sees a partial file. For writers that take a file name rather than
/// bytes (plotters' PNG and GIF encoders).
pub fn write_atomic_with<E: From<DataError>>(
    path: &Path,
    write: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let tmp = temporary_sibling(path);
    let res = write(&tmp).and_then(|()| {
        fs::rename(&tmp, path)
            .map_err(|e| E::from(DataError::io(format!("writing {}", path.display()), e)))
    });
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// `dir/.stem.PID.tmp.ext` for `dir/stem.ext`: a temporary name in the same folder (so the rename is atomic)
/// that keeps the extension, for writers that choose a format by it (plotters' PNG and GIF encoders).
pub fn temporary_sibling(path: &Path) -> std::path::PathBuf {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("out");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("tmp");
    path.with_file_name(format!(".{stem}.{}.tmp.{ext}", std::process::id()))
}
