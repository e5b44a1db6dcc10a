//! The benchmarks beside the Python references: exact fields ([`fields`]), the adaptive ODE solver
//! ([`ode`]), exact minibatch OT ([`ot`]), the Push-T simulator ([`robot`]) and, with the feature `nn`, si-nn's training step and sampling (`nn`). Ratios are taken
//! against anchors measured in the same run where the anchor can run here, else against fixed figures
//! labelled with their source.

pub mod fields;
#[cfg(feature = "nn")]
pub mod nn;
pub mod ode;
pub mod ot;
pub mod robot;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Result};

/// The parts of the benchmark, by name.
pub const PARTS: [&str; 5] = ["fields", "ode", "ot", "robot", "nn"];

/// A Python interpreter that runs an anchor, with the folder of its packages when they are not installed
/// in its own environment.
#[derive(Clone, Debug)]
pub struct PythonAnchor {
    /// The interpreter.
    pub python: PathBuf,
    /// Put on `PYTHONPATH` (packages installed with `pip install --target`).
    pub pythonpath: Option<PathBuf>,
}

impl PythonAnchor {
    /// A command running the interpreter with its packages on the path.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.python);
        if let Some(p) = &self.pythonpath {
            c.env("PYTHONPATH", p);
        }
        c
    }
}

/// The Python anchors (installed by `cargo xtask bench`); a part whose anchor is missing is an error
/// naming it, except the PyTorch loop of `nn`, which is skipped with a note.
#[derive(Clone, Debug, Default)]
pub struct Anchors {
    /// The Python of the torch install, for the plain PyTorch loop of `nn`.
    pub torch: Option<PythonAnchor>,
    /// torchdiffeq, for [`ode`].
    pub ode: Option<PythonAnchor>,
    /// POT, scipy and torchcfm's sampler, for [`ot`].
    pub ot: Option<PythonAnchor>,
}

/// The path of one of this crate's Python scripts (`python/`).
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}

/// The best of `reps` timings of `f`, in milliseconds; the first error stops the timing and is returned.
pub fn best_ms(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(1e3 * best)
}

/// Whether the parts in `only` (every part when empty) include one that needs the torch install: `nn`
/// (libtorch) or `ode` (torchdiffeq runs on the torch install's Python).
pub fn needs_torch(only: &[String]) -> bool {
    only.is_empty() || only.iter().any(|p| p == "nn" || p == "ode")
}

/// Runs the parts in `only` (every one when empty).
pub fn run(quick: bool, only: &[String], anchors: &Anchors) -> Result<()> {
    if let Some(bad) = only.iter().find(|o| !PARTS.contains(&o.as_str())) {
        bail!(
            "unknown bench part `{bad}`; expected one of {}",
            PARTS.join(", ")
        );
    }
    let want = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    if want("fields") {
        fields::run(quick)?;
    }
    if want("ode") {
        match &anchors.ode {
            Some(a) => ode::run(quick, a)?,
            None => bail!(
                "the ode bench needs its anchor: --ode-python (cargo xtask bench installs it)"
            ),
        }
    }
    if want("ot") {
        match &anchors.ot {
            Some(a) => ot::run(quick, a)?,
            None => {
                bail!("the ot bench needs its anchor: --ot-python (cargo xtask bench installs it)")
            }
        }
    }
    if want("robot") {
        robot::run(quick)?;
    }
    if want("nn") {
        #[cfg(feature = "nn")]
        nn::run(quick, anchors.torch.as_ref())?;
        #[cfg(not(feature = "nn"))]
        {
            let _ = anchors;
            bail!("the nn bench needs libtorch: build si-experiments with the feature `nn`");
        }
    }
    Ok(())
}
