//! `cargo xtask mutants`: mutation testing of the formula files (docs/mutation.md). Not part of the default
//! test run: it rebuilds and retests the crate once per mutant (tens of minutes on two cores).

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::workspace_root;

/// The formula files of each crate that the mutation run covers.
pub const SCOPE: [(&str, &[&str]); 5] = [
    (
        "si-core",
        &[
            "src/interpolant.rs",
            "src/coefficients.rs",
            "src/gamma.rs",
            "src/targets.rs",
            "src/source.rs",
            "src/metrics.rs",
            "src/presets.rs",
            "src/transfer.rs",
            "src/poly_schedule.rs",
        ],
    ),
    (
        "si-integrate",
        &[
            "src/stepper.rs",
            "src/likelihood.rs",
            "src/grid.rs",
            "src/diffusion.rs",
        ],
    ),
    (
        "si-analytic",
        &[
            "src/fields.rs",
            "src/components.rs",
            "src/small.rs",
            "src/mixture.rs",
            "src/linalg.rs",
            "src/bridge.rs",
            "src/interpolant_opt.rs",
        ],
    ),
    (
        "si-robot",
        &[
            "src/tube.rs",
            "src/encode.rs",
            "src/windows.rs",
            "src/source.rs",
            "src/oracle.rs",
            "src/step.rs",
            "src/streaming.rs",
            "src/chunked.rs",
            "src/dagger.rs",
        ],
    ),
    ("si-pusht", &["src/labels.rs", "src/diagnose.rs"]),
];

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

fn have_cargo_mutants() -> bool {
    cargo()
        .args(["mutants", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Installs cargo-mutants when missing, then runs it on each crate's formula files (only `crates` when
/// given), writing its reports under `target/mutants/<crate>`.
pub fn run(crates: &[String], list: bool) -> Result<()> {
    if !have_cargo_mutants() {
        eprintln!(
            "==> installing cargo-mutants from crates.io (cargo install cargo-mutants --locked)"
        );
        let st = cargo()
            .args(["install", "cargo-mutants", "--locked"])
            .status()
            .context("running cargo install")?;
        if !st.success() {
            bail!("installing cargo-mutants failed ({st})");
        }
    }
    for (krate, files) in SCOPE {
        if !crates.is_empty() && !crates.iter().any(|c| c == krate) {
            continue;
        }
        let mut cmd = cargo();
        cmd.args(["mutants", "-p", krate, "--timeout", "300", "--output"]);
        cmd.arg(workspace_root().join("target").join("mutants").join(krate));
        for f in files {
            cmd.args(["--file", &format!("crates/{krate}/{f}")]);
        }
        if list {
            cmd.arg("--list");
        }
        eprintln!("==> cargo mutants on {krate}: {}", files.join(", "));
        let st = cmd.status().context("running cargo mutants")?;
        // cargo-mutants exits 2 when mutants were missed and 3 on timeouts: report, keep going.
        if !st.success() {
            eprintln!("    {krate}: cargo mutants exited with {st} (see target/mutants/{krate}/mutants.out)");
        }
    }
    Ok(())
}
