//! `cargo xtask bench`: throughput beside the Python references. The xtask installs the Python anchors
//! into the cache folder; `si-experiments bench` measures.

use anyhow::{bail, Result};

/// The parts, in the order they run.
const PARTS: [&str; 5] = ["fields", "ode", "ot", "robot", "nn"];

/// Runs the benchmarks in `only` (every one when empty): fields, ode, ot, robot, nn.
pub fn run(quick: bool, only: &[String]) -> Result<()> {
    if let Some(bad) = only.iter().find(|o| !PARTS.contains(&o.as_str())) {
        bail!("unknown bench part `{bad}`; expected one of {}", PARTS.join(", "));
    }
    let want = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    if want("ot") {
        crate::ot_bench::run(quick)?;
    }
    let forwarded: Vec<&str> = ["fields", "ode", "robot", "nn"]
        .into_iter()
        .filter(|p| want(p))
        .collect();
    if !forwarded.is_empty() {
        crate::nn::bench(quick, &forwarded)?;
    }
    Ok(())
}

/// torchdiffeq 0.2.5 with scipy and numpy, for the ode part.
const ODE_PACKAGES: [&str; 3] = ["torchdiffeq==0.2.5", "scipy==1.17.1", "numpy==2.4.6"];

/// The libtorch install's Python and the folder holding torchdiffeq (installed on first use into its own
/// folder of the cache with `pip install --target`, so the libtorch environment is left as it is).
pub fn ode_anchor() -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    use crate::nn::{cache_root, pip_install_once, torch_python};
    let python = torch_python()?;
    let dir = cache_root()?.join("ode-reference");
    let site = dir.join("site");
    let mut args: Vec<String> = vec![
        "--no-deps".into(),
        "--target".into(),
        site.display().to_string(),
    ];
    args.extend(ODE_PACKAGES.iter().map(|p| p.to_string()));
    pip_install_once(&python, &dir.join("install-ok"), "the ODE anchor", &args)?;
    Ok((python, site))
}
