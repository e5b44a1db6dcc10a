//! Atomic file writes.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::{DataError, Result};

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so that a reader (or
/// a run killed half-way) never sees a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_sibling(path);
    let res = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        DataError::io(format!("writing {}", path.display()), e)
    })
}

/// `dir/.stem.PID.tmp.ext` for `dir/stem.ext`: a temporary name in the same folder (so the rename is atomic)
/// that keeps the extension, for writers that choose a format by it (plotters' PNG and GIF encoders).
pub fn temporary_sibling(path: &Path) -> std::path::PathBuf {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("out");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("tmp");
    path.with_file_name(format!(".{stem}.{}.tmp.{ext}", std::process::id()))
}
