//! `cargo xtask bench`: throughput beside the Python references. The xtask installs the Python anchors
//! into the cache folder; `si-experiments bench` measures.

use anyhow::Result;

/// Runs the benchmarks in `only` (every one when empty: fields, ode, ot, robot, nn) with `si-experiments
/// bench`, after installing the anchors they need.
pub fn run(quick: bool, only: &[String]) -> Result<()> {
    crate::nn::bench(quick, only)
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

/// POT 0.9.7 with numpy and scipy, for the ot part.
const OT_PACKAGES: [&str; 3] = ["pot==0.9.7", "numpy", "scipy"];

/// The Python of the OT anchors' own environment in the cache folder (installed on first use).
pub fn ot_anchor() -> Result<std::path::PathBuf> {
    use crate::nn::{cache_root, ensure_venv, pip_install_once};
    let dir = cache_root()?.join("ot-reference");
    let python = ensure_venv(&dir.join("venv"))?;
    let packages: Vec<String> = OT_PACKAGES.iter().map(|p| p.to_string()).collect();
    pip_install_once(
        &python,
        &dir.join("install-ok"),
        "the OT anchors",
        &packages,
    )?;
    Ok(python)
}
