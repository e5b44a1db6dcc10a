//! `cargo xtask reproduce-figures`.

use std::path::Path;

use anyhow::Result;

/// Makes every figure under `out`.
pub fn reproduce(out: &Path, quick: bool) -> Result<()> {
    std::fs::create_dir_all(out)?;
    let mut entries = Vec::new();
    entries.extend(crate::robot::figures(out, quick)?);
    entries.extend(crate::nn::figures(out, quick)?);
    let cmd = format!("cargo xtask reproduce-figures{}", if quick { " --quick" } else { "" });
    crate::index::write(out, &entries, &cmd)
}
