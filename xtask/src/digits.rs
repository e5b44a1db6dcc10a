//! `cargo xtask digits`: the 8×8 handwritten digits (UCI optdigits) from scikit-learn's bundled copy, split
//! once and written as `.npy` into the cache folder (si-data's `digits` module says what each file holds).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The scikit-learn release whose wheel carries the copy (downloaded, never installed).
const SKLEARN: &str = "scikit-learn==1.9.1";
/// The copy inside the wheel.
const MEMBER: &str = "sklearn/datasets/data/digits.csv.gz";
/// Images in the data set.
const IMAGES: usize = 1797;

/// The folder holding the split (`{train,validation,test}.npy` and their labels), made on first use: the
/// scikit-learn wheel is downloaded with the libtorch install's pip (the package is not installed), the
/// gzipped CSV read out of it with Python's standard library, parsed, split and written by si-data.
pub fn ensure() -> Result<PathBuf> {
    let dir = crate::nn::cache_root()?.join("digits");
    let ready = si_data::digits::PARTS.iter().all(|p| {
        dir.join(format!("{p}.npy")).is_file() && dir.join(format!("{p}-labels.npy")).is_file()
    });
    if ready {
        return Ok(dir);
    }
    let python = crate::nn::torch_python()?;
    let download = dir.join("download");
    eprintln!(
        "==> the 8x8 digits: downloading the {SKLEARN} wheel into {} for its bundled copy of UCI optdigits",
        download.display()
    );
    let st = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--dest",
        ])
        .arg(&download)
        .arg(SKLEARN)
        .status()
        .context("running pip download")?;
    if !st.success() {
        bail!("could not download {SKLEARN} (needed for the digits data set)");
    }
    let csv = dir.join("digits.csv");
    eprintln!(
        "==> reading {MEMBER} out of the wheel into {}",
        csv.display()
    );
    let script = "import glob, gzip, sys, zipfile\n\
                  wheel = sorted(glob.glob(sys.argv[1] + '/scikit_learn-*.whl'))[-1]\n\
                  data = gzip.decompress(zipfile.ZipFile(wheel).read(sys.argv[2]))\n\
                  open(sys.argv[3] + '.part', 'wb').write(data)\n";
    let st = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&download)
        .arg(MEMBER)
        .arg(&csv)
        .status()
        .context("running Python to unpack the wheel")?;
    let part = csv.with_extension("csv.part");
    if !st.success() {
        bail!("could not read {MEMBER} from the downloaded wheel");
    }
    std::fs::rename(&part, &csv).with_context(|| format!("renaming {}", part.display()))?;
    let text = std::fs::read_to_string(&csv)?;
    let (images, labels) = si_data::digits::parse_csv(&text)?;
    if labels.len() != IMAGES {
        bail!(
            "{}: {} images, expected {IMAGES}",
            csv.display(),
            labels.len()
        );
    }
    si_data::digits::write_split(&dir, &images, &labels)?;
    let _ = std::fs::remove_dir_all(&download);
    eprintln!(
        "==> wrote the digits split (train {}, validation {}, test {}) into {}",
        IMAGES - 2 * si_data::digits::HELD_OUT,
        si_data::digits::HELD_OUT,
        si_data::digits::HELD_OUT,
        dir.display()
    );
    Ok(dir)
}
