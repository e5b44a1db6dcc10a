//! `cargo xtask test`: the whole suite. Crates without libtorch first (fast), then si-nn with libtorch.

use std::process::Command;

use anyhow::{bail, Result};

use crate::workspace_root;

/// Runs every test of the workspace.
pub fn run() -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("==> cargo test --workspace --exclude si-nn (crates without libtorch)");
    let status = Command::new(&cargo)
        .current_dir(workspace_root())
        .args(["test", "--workspace", "--exclude", "si-nn"])
        .status()?;
    if !status.success() {
        bail!("tests failed (crates without libtorch)");
    }
    crate::nn::test()
}
