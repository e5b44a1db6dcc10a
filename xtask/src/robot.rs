//! Push-T: demonstrations, expert figures and the environment benchmark (si-robot).

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::index::FigureEntry;

/// Arguments of `cargo xtask demos`.
#[derive(clap::Args)]
pub struct DemosArgs {
    /// Number of successful episodes to write.
    #[arg(long, default_value_t = 100)]
    pub n: usize,
    /// Output file.
    #[arg(long, default_value = "pusht_demos.safetensors")]
    pub out: PathBuf,
    /// First training seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Writes demonstrations.
pub fn demos(_args: &DemosArgs) -> Result<()> {
    anyhow::bail!("Push-T demonstrations are not available yet")
}

/// Push-T figures for `reproduce-figures`.
pub fn figures(_out: &Path, _quick: bool) -> Result<Vec<FigureEntry>> {
    Ok(Vec::new())
}

/// Push-T benchmark lines for `xtask bench`.
pub fn bench(_quick: bool) -> Result<()> {
    Ok(())
}
