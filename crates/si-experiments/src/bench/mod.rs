//! The benchmarks beside the Python references: exact fields ([`fields`]), the Push-T simulator
//! ([`robot`]) and, with the feature `nn`, si-nn's training step and sampling ([`nn`]). Ratios are taken
//! against anchors measured in the same run where the anchor can run here, else against fixed figures
//! labelled with their source.

pub mod fields;
#[cfg(feature = "nn")]
pub mod nn;
pub mod robot;

use std::path::PathBuf;

use anyhow::{bail, Result};

/// The parts of the benchmark, by name.
pub const PARTS: [&str; 3] = ["fields", "robot", "nn"];

/// The Python interpreters and scripts of the anchors (installed by `cargo xtask bench`); an anchor
/// without its interpreter is skipped with a note.
#[derive(Clone, Debug, Default)]
pub struct Anchors {
    /// The Python of the torch install, for the plain PyTorch loop of [`nn`].
    pub torch_python: Option<PathBuf>,
    /// That loop's script.
    pub torch_script: Option<PathBuf>,
}

/// Runs the parts in `only` (every one when empty).
pub fn run(quick: bool, only: &[String], anchors: &Anchors) -> Result<()> {
    if let Some(bad) = only.iter().find(|o| !PARTS.contains(&o.as_str())) {
        bail!("unknown bench part `{bad}`; expected one of {}", PARTS.join(", "));
    }
    let want = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    if want("fields") {
        fields::run(quick)?;
    }
    if want("robot") {
        robot::run(quick)?;
    }
    if want("nn") {
        #[cfg(feature = "nn")]
        nn::run(
            quick,
            anchors.torch_python.clone(),
            anchors.torch_script.clone(),
        )?;
        #[cfg(not(feature = "nn"))]
        {
            let _ = anchors;
            bail!("the nn bench needs libtorch: build si-experiments with the feature `nn`");
        }
    }
    Ok(())
}
