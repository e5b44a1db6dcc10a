//! Atomic file writes.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::{NnError, Result};

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so that a reader (or
/// a run killed half-way) never sees a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        NnError::io(format!("writing {}", path.display()), e)
    })
}
