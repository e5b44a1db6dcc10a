//! `cargo xtask test`: the whole suite. Crates without libtorch first (fast), then si-nn and si-cli with libtorch
//! (installed into the cache folder when missing), then the README's examples as doc tests.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::workspace_root;

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

fn run(what: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("==> {what}");
    let status = cmd.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Runs every test of the workspace.
pub fn run_all() -> Result<()> {
    run(
        "cargo test --workspace --exclude si-nn --exclude si-cli (crates without libtorch)",
        cargo().args([
            "test",
            "--workspace",
            "--exclude",
            "si-nn",
            "--exclude",
            "si-cli",
        ]),
    )?;
    crate::nn::test()?;
    let libtorch = crate::nn::ensure_libtorch()?;
    run(
        "README examples (cargo test -p si-tests --features readme --doc)",
        readme_command(&libtorch).args(["test", "-p", "si-tests", "--features", "readme", "--doc"]),
    )?;
    eprintln!("==> all tests passed");
    Ok(())
}

/// A cargo command whose doc-test binaries can load libtorch: doc tests get no rpath from a build script.
fn readme_command(libtorch: &Path) -> Command {
    let mut c = cargo();
    let lib = libtorch.join("lib");
    let path = match std::env::var_os("LD_LIBRARY_PATH") {
        Some(old) if !old.is_empty() => {
            let mut p = lib.into_os_string();
            p.push(":");
            p.push(old);
            p
        }
        _ => lib.into_os_string(),
    };
    c.env("LIBTORCH", libtorch).env("LD_LIBRARY_PATH", path);
    c
}
