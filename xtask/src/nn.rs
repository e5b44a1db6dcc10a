//! libtorch set-up and the learned-field commands (si-nn runs in its own process, built with LIBTORCH).

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::index::FigureEntry;

/// Installs libtorch into the cache folder when missing and returns the LIBTORCH path.
pub fn ensure_libtorch() -> Result<PathBuf> {
    anyhow::bail!("libtorch set-up is not available yet")
}

/// Runs the si-nn tests (with libtorch).
pub fn test() -> Result<()> {
    Ok(())
}

/// Learned-field figures (5–10) for `reproduce-figures`.
pub fn figures(_out: &Path, _quick: bool) -> Result<Vec<FigureEntry>> {
    Ok(Vec::new())
}

/// si-nn benchmark lines for `xtask bench`.
pub fn bench(_quick: bool) -> Result<()> {
    Ok(())
}

/// `cargo xtask train`.
pub fn train(_args: &[String]) -> Result<()> {
    anyhow::bail!("training is not available yet")
}

/// `cargo xtask sample`.
pub fn sample(_args: &[String]) -> Result<()> {
    anyhow::bail!("sampling is not available yet")
}
