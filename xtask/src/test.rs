//! `cargo xtask test`: the whole suite. Crates without libtorch first (fast), then the crates that link it
//! (installed into the cache folder when missing), then the README's examples as doc tests, the
//! documentation with warnings denied, and the packaging of each library crate.

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

/// The crates meant to be depended on one by one: each must package on its own.
const LIBRARIES: [&str; 9] = [
    "si-core",
    "si-analytic",
    "si-integrate",
    "si-data",
    "si-report",
    "si-pusht",
    "si-model",
    "si-robot",
    "si-nn",
];

/// Runs every test of the workspace, then checks that the documentation builds without warnings and that
/// each library crate packages on its own.
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
        libtorch_cargo(&libtorch).args(["test", "-p", "si-tests", "--features", "readme", "--doc"]),
    )?;
    run(
        "cargo doc --no-deps --workspace, every feature, warnings denied",
        libtorch_cargo(&libtorch)
            .env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--no-deps", "--workspace", "--features"])
            .arg("si-robot/nn,si-experiments/nn"),
    )?;
    for krate in LIBRARIES {
        run(
            &format!("cargo package --no-verify --exclude-lockfile -p {krate}"),
            cargo()
                .args([
                    "package",
                    "--no-verify",
                    "--exclude-lockfile",
                    "--allow-dirty",
                    "--quiet",
                ])
                .args(["-p", krate]),
        )?;
    }
    eprintln!("==> all tests passed");
    Ok(())
}

/// A cargo command with libtorch in its environment, whose doc-test binaries can load it (doc tests get no
/// rpath from a build script).
fn libtorch_cargo(libtorch: &Path) -> Command {
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
