//! libtorch set-up and the learned-field commands.
//!
//! The xtask itself never links libtorch (it would need libtorch to build itself). It installs the
//! PyPI wheel `torch==2.11.0` (the version tch 0.24 expects) into a virtual environment in a cache folder
//! outside the clone, then builds and runs the binaries that link it (`si` of si-cli, `si-experiments` with its feature `nn`)
//! and their tests with `LIBTORCH` pointing at the wheel's `torch/` folder. The si-nn build script writes that folder's `lib` as an rpath, so the
//! binaries need no `LD_LIBRARY_PATH`.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::workspace_root;
use si_report::write_atomic;

/// The PyTorch version that tch 0.24 is built against. The wheel carries no version file, so the pin
/// lives here, where it is installed, and the import check below enforces it.
const TORCH_VERSION: &str = "2.11.0";
/// Extra Python packages: `safetensors` lets tests check that PyTorch loads our checkpoints, `numpy`
/// lets them cross-check `.npy` files.
const EXTRA_PACKAGES: [&str; 2] = ["safetensors", "numpy"];
/// Name of the file that marks a complete, verified install.
const MARKER: &str = "install-ok.json";
/// Glibc malloc settings that remove the page-fault swings of large-batch loops (both are needed).
const MALLOC_ENV: [(&str, &str); 2] = [
    ("MALLOC_MMAP_THRESHOLD_", "33554432"),
    ("MALLOC_TRIM_THRESHOLD_", "1073741824"),
];

/// Where the torch environment lives: `torch-<version>` in [`cache_root`].
fn cache_dir() -> Result<PathBuf> {
    Ok(cache_root()?.join(format!("torch-{TORCH_VERSION}")))
}

/// The cache folder of every environment the xtask installs: `$SI_RS_CACHE`, else `$XDG_CACHE_HOME/si-rs`,
/// else `~/.cache/si-rs`.
pub(crate) fn cache_root() -> Result<PathBuf> {
    let base = if let Some(p) = std::env::var_os("SI_RS_CACHE") {
        PathBuf::from(p)
    } else if let Some(p) = std::env::var_os("XDG_CACHE_HOME").filter(|p| !p.is_empty()) {
        PathBuf::from(p).join("si-rs")
    } else if let Some(home) = std::env::var_os("HOME") {
        PathBuf::from(home).join(".cache").join("si-rs")
    } else {
        bail!("cannot find a cache folder: set SI_RS_CACHE, XDG_CACHE_HOME or HOME");
    };
    Ok(base)
}

/// A verified install: the `LIBTORCH` folder and the venv's Python.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Install {
    libtorch: PathBuf,
    python: PathBuf,
    torch_version: String,
}

impl Install {
    fn is_complete(&self) -> bool {
        self.torch_version.starts_with(TORCH_VERSION)
            && self.python.is_file()
            && self.libtorch.join("lib").join("libtorch_cpu.so").is_file()
    }
}

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// The Python of the virtual environment `venv`, created from the system's Python when missing.
pub(crate) fn ensure_venv(venv: &Path) -> Result<PathBuf> {
    let python = venv_python(venv);
    if !python.is_file() {
        let base = find_python()?;
        eprintln!(
            "==> creating a Python virtual environment in {}",
            venv.display()
        );
        let status = Command::new(&base)
            .arg("-m")
            .arg("venv")
            .arg(venv)
            .status()
            .context("running python -m venv")?;
        if !status.success() {
            bail!("`python -m venv {}` failed", venv.display());
        }
    }
    Ok(python)
}

/// `pip install packages` into the environment of `python`, without keeping pip's wheel cache.
pub(crate) fn pip_install(python: &Path, packages: &[String]) -> Result<std::process::ExitStatus> {
    Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-cache-dir",
        ])
        .args(packages)
        .status()
        .context("running pip")
}

/// `pip install args` into the environment of `python` once: skipped when `marker` exists, which is
/// written (atomically, listing `args`) after a successful install. `what` names the packages' purpose in
/// the progress line and the error.
pub(crate) fn pip_install_once(
    python: &Path,
    marker: &Path,
    what: &str,
    args: &[String],
) -> Result<()> {
    if marker.is_file() {
        return Ok(());
    }
    eprintln!("==> {what}: pip install {}", args.join(" "));
    if !pip_install(python, args)?.success() {
        bail!("could not install {what} ({})", args.join(" "));
    }
    si_report::write_atomic(marker, args.join("\n").as_bytes())?;
    Ok(())
}

fn find_python() -> Result<OsString> {
    let candidates: Vec<OsString> = match std::env::var_os("SI_RS_PYTHON") {
        Some(p) => vec![p],
        None => vec!["python3".into(), "python".into()],
    };
    for c in candidates {
        let ok = Command::new(&c)
            .args([
                "-c",
                "import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)",
            ])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return Ok(c);
        }
    }
    bail!(
        "libtorch set-up needs Python >= 3.10 with the venv module (torch=={TORCH_VERSION} comes from the \
         Python package registry); install it or point SI_RS_PYTHON at one"
    )
}

/// Asks the venv's Python where torch lives and which version it is.
fn probe(python: &Path) -> Result<Install> {
    let out = Command::new(python)
        .args([
            "-c",
            "import os, torch; print(torch.__version__); print(os.path.dirname(torch.__file__))",
        ])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "`import torch` failed in {}:\n{}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let version = lines.next().unwrap_or_default().trim().to_string();
    let dir = lines.next().unwrap_or_default().trim().to_string();
    let install = Install {
        libtorch: PathBuf::from(dir),
        python: python.to_path_buf(),
        torch_version: version.clone(),
    };
    if !version.starts_with(TORCH_VERSION) {
        bail!("the torch environment has torch {version}, but tch 0.24 needs {TORCH_VERSION}");
    }
    if !install.is_complete() {
        bail!(
            "torch {version} in {} has no lib/libtorch_cpu.so",
            install.libtorch.display()
        );
    }
    Ok(install)
}

/// The verified install in the cache, if there is one (never installs).
fn existing_install() -> Option<Install> {
    let text = fs::read_to_string(cache_dir().ok()?.join(MARKER)).ok()?;
    serde_json::from_str::<Install>(&text)
        .ok()
        .filter(Install::is_complete)
}

fn ensure_install() -> Result<Install> {
    let dir = cache_dir()?;
    let marker = dir.join(MARKER);
    if let Ok(text) = fs::read_to_string(&marker) {
        if let Ok(install) = serde_json::from_str::<Install>(&text) {
            if install.is_complete() {
                return Ok(install);
            }
        }
        eprintln!(
            "==> libtorch: the install in {} is incomplete; repairing it",
            dir.display()
        );
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let venv = dir.join("venv");
    let python = ensure_venv(&venv)?;
    eprintln!(
        "==> libtorch: installing torch=={TORCH_VERSION} (with its CUDA runtime packages, about 4.5 GB; it \
         also runs without a GPU) from the Python package registry into {}",
        venv.display()
    );
    let mut packages = vec![format!("torch=={TORCH_VERSION}")];
    packages.extend(EXTRA_PACKAGES.iter().map(|p| p.to_string()));
    let status = pip_install(&python, &packages)?;
    if !status.success() {
        bail!(
            "pip could not install torch=={TORCH_VERSION} into {} (network or disk space?); fix the cause and \
             rerun `cargo xtask setup`",
            venv.display()
        );
    }
    let install = probe(&python)?;
    write_atomic(&marker, serde_json::to_string_pretty(&install)?.as_bytes())?;
    eprintln!(
        "==> libtorch: torch {} ready at {}",
        install.torch_version,
        install.libtorch.display()
    );
    Ok(install)
}

/// Installs libtorch into the cache folder when missing and returns the LIBTORCH path.
///
/// An existing `LIBTORCH` in the environment is respected when it holds `lib/libtorch_cpu.so`.
pub fn ensure_libtorch() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("LIBTORCH").map(PathBuf::from) {
        if p.join("lib").join("libtorch_cpu.so").is_file() {
            return Ok(p);
        }
        eprintln!(
            "==> libtorch: LIBTORCH={} has no lib/libtorch_cpu.so; using the cache",
            p.display()
        );
    }
    Ok(ensure_install()?.libtorch)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A cargo command with LIBTORCH (and the malloc settings) in its environment.
fn cargo_with_libtorch(libtorch: &Path) -> Command {
    let mut cmd = Command::new(cargo());
    cmd.env("LIBTORCH", libtorch);
    for (k, v) in MALLOC_ENV {
        if std::env::var_os(k).is_none() {
            cmd.env(k, v);
        }
    }
    cmd
}

/// `cargo run --release -p PACKAGE --bin BIN [--features F] -- ARGS` with libtorch in the environment.
fn run_binary(
    libtorch: &Path,
    package: &str,
    bin: &str,
    features: Option<&str>,
    args: &[OsString],
) -> Result<()> {
    run_binary_env(libtorch, package, bin, features, args, &[])
}

/// [`run_binary`] with environment variables set for the binary.
fn run_binary_env(
    libtorch: &Path,
    package: &str,
    bin: &str,
    features: Option<&str>,
    args: &[OsString],
    env: &[(&str, &Path)],
) -> Result<()> {
    let mut cmd = cargo_with_libtorch(libtorch);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(["run", "--quiet", "--release", "--manifest-path"]);
    cmd.arg(workspace_root().join("Cargo.toml"));
    cmd.args(["-p", package, "--bin", bin]);
    if let Some(f) = features {
        cmd.args(["--features", f]);
    }
    cmd.arg("--");
    cmd.args(args);
    let status = cmd
        .status()
        .with_context(|| format!("running {bin} (crate {package}) through cargo"))?;
    if !status.success() {
        bail!("{bin} {:?} failed ({status})", args);
    }
    Ok(())
}

/// The `si` binary (crate si-cli), which links libtorch.
fn run_si_nn(libtorch: &Path, args: &[OsString]) -> Result<()> {
    run_binary(libtorch, "si-cli", "si", None, args)
}

/// The `si-experiments` binary with its learned-field figures and benchmarks (feature `nn`).
fn run_experiments(libtorch: &Path, args: &[OsString]) -> Result<()> {
    run_binary(
        libtorch,
        "si-experiments",
        "si-experiments",
        Some("nn"),
        args,
    )
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(p))
    }
}

/// Runs the tests of the crates that link libtorch (si-nn, the si-cli binary, si-experiments with `nn`), including the ignored
/// ones that need the torch environment's Python (PyTorch reading our checkpoints). The tests are
/// independent of each other (no process-wide generator is used, so they pass in parallel too); they run
/// one at a time because each already uses every core through libtorch's OpenMP threads, and
/// oversubscribed OpenMP spin-waits make a parallel run slower, not faster.
pub fn test() -> Result<()> {
    let libtorch = ensure_libtorch()?;
    eprintln!(
        "==> cargo test -p si-nn -p si-cli -p si-experiments --features si-experiments/nn -- --include-ignored --test-threads=1 (LIBTORCH={})",
        libtorch.display()
    );
    let mut cmd = cargo_with_libtorch(&libtorch);
    // Lets the checkpoint test check that PyTorch's safetensors loader reads our files.
    if let Some(install) = existing_install() {
        cmd.env("SI_NN_TORCH_PYTHON", &install.python);
    }
    let status = cmd
        .args(["test", "--manifest-path"])
        .arg(workspace_root().join("Cargo.toml"))
        .args([
            "-p",
            "si-nn",
            "-p",
            "si-cli",
            "-p",
            "si-experiments",
            "--features",
            "si-experiments/nn",
            "--",
            "--include-ignored",
            "--test-threads=1",
        ])
        .status()
        .context("running the tests of the crates that link libtorch")?;
    if !status.success() {
        bail!("si-nn tests failed");
    }
    Ok(())
}

/// `cargo xtask reproduce-figures`: every figure (those in `only` when it is not empty) and the index. Figures
/// that need no libtorch (1–4 alone, say) are made in this process; otherwise `si-experiments figures`
/// makes them all in its own process, with libtorch.
pub fn figures(out: &Path, quick: bool, only: &[u32]) -> Result<()> {
    let command = format!(
        "cargo xtask reproduce-figures{}",
        if quick { " --quick" } else { "" }
    );
    if !si_experiments::figures::registry::needs_libtorch(only) {
        eprintln!("==> figures {only:?} (no libtorch needed)");
        return si_experiments::figures::write_all(out, quick, only, None, &command);
    }
    let libtorch = ensure_libtorch()?;
    let out = absolute(out)?;
    let mut args: Vec<OsString> = vec!["figures".into(), "--out".into(), out.into()];
    if quick {
        args.push("--quick".into());
    }
    if !only.is_empty() {
        let list: Vec<String> = only.iter().map(u32::to_string).collect();
        args.extend(["--only".into(), list.join(",").into()]);
    }
    args.extend(["--command".into(), command.into()]);
    // figure 18 reads the digits, fetched into the cache folder on first use
    let digits = if only.is_empty() || only.contains(&18) {
        Some(crate::digits::ensure()?)
    } else {
        None
    };
    let env: Vec<(&str, &Path)> = digits
        .iter()
        .map(|d| (si_experiments::figures::DIGITS_ENV, d.as_path()))
        .collect();
    eprintln!("==> figures (si-experiments, with libtorch for the learned fields)");
    run_binary_env(
        &libtorch,
        "si-experiments",
        "si-experiments",
        Some("nn"),
        &args,
        &env,
    )
}

/// The Python of the libtorch install (installed when missing), for anchors that need torch.
pub(crate) fn torch_python() -> Result<PathBuf> {
    Ok(ensure_install()?.python)
}

/// The benchmarks of `si-experiments bench` in `only` (all when empty: fields, ode, ot, robot, nn) with
/// their Python anchors: the torch install's Python for the plain PyTorch loop beside si-nn, torchdiffeq
/// for the ODE solver, POT and scipy for exact OT. Parts that need no torch install run in this process.
pub fn bench(quick: bool, only: &[String]) -> Result<()> {
    let want = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    if !si_experiments::bench::needs_torch(only) {
        // fields, ot, robot: no torch install needed, run here
        let ot = if want("ot") {
            Some(si_experiments::bench::PythonAnchor {
                python: crate::bench::ot_anchor()?,
                pythonpath: None,
            })
        } else {
            None
        };
        let anchors = si_experiments::bench::Anchors {
            ot,
            ..Default::default()
        };
        return si_experiments::bench::run(quick, only, &anchors);
    }
    let libtorch = ensure_libtorch()?;
    let mut args: Vec<OsString> = vec!["bench".into()];
    if !only.is_empty() {
        args.extend(["--only".into(), only.join(",").into()]);
    }
    if quick {
        args.push("--quick".into());
    }
    if let Some(i) = existing_install() {
        args.extend(["--torch-python".into(), i.python.into_os_string()]);
    }
    if want("ode") {
        let (python, site) = crate::bench::ode_anchor()?;
        args.extend(["--ode-python".into(), python.into_os_string()]);
        args.extend(["--ode-pythonpath".into(), site.into_os_string()]);
    }
    if want("ot") {
        let python = crate::bench::ot_anchor()?;
        args.extend(["--ot-python".into(), python.into_os_string()]);
    }
    run_experiments(&libtorch, &args)
}

/// `cargo xtask COMMAND ARGS` (train, sample, policy) run as `si COMMAND ARGS`.
pub fn passthrough(command: &str, args: &[String]) -> Result<()> {
    let libtorch = ensure_libtorch()?;
    let mut a: Vec<OsString> = vec![command.into()];
    a.extend(args.iter().map(OsString::from));
    run_si_nn(&libtorch, &a)
}
