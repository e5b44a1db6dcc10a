//! Figures 5–10 (figures.md part B): learned fields.

mod checker;
mod mixture;
mod sweep;

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

/// One figure for the index (the xtask's `FigureEntry`, as JSON).
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub number: u32,
    pub title: String,
    pub files: Vec<String>,
    pub caption: String,
    pub settings: String,
    pub numbers: Vec<(String, String)>,
}

/// Sizes of a run: `--quick` for CI, full for readers.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub quick: bool,
    pub width: usize,
    pub depth: usize,
    pub batch: usize,
    pub samples: usize,
    pub nll_points: usize,
    pub nll_steps: usize,
}

impl Sizes {
    pub fn new(quick: bool) -> Self {
        if quick {
            Self { quick, width: 64, depth: 3, batch: 256, samples: 1500, nll_points: 300, nll_steps: 20 }
        } else {
            Self { quick, width: 256, depth: 4, batch: 1000, samples: 5000, nll_points: 5000, nll_steps: 100 }
        }
    }
    /// `full` steps, or a small number in quick mode.
    pub fn steps(&self, full: usize) -> usize {
        if self.quick {
            400
        } else {
            full
        }
    }
}

/// Makes every figure into `out`.
pub fn all(out: &Path, quick: bool) -> Result<Vec<Entry>> {
    let sizes = Sizes::new(quick);
    let mut entries = Vec::new();
    let t0 = std::time::Instant::now();
    let (e5, fig5_model) = checker::figure5(out, &sizes)?;
    entries.push(e5);
    tracing::info!(elapsed_s = t0.elapsed().as_secs(), "figure 5 done");
    entries.push(sweep::figure10(out, &sizes, &fig5_model)?);
    tracing::info!(elapsed_s = t0.elapsed().as_secs(), "figure 10 done");
    entries.push(checker::figure6(out, &sizes)?);
    tracing::info!(elapsed_s = t0.elapsed().as_secs(), "figure 6 done");
    entries.push(checker::figure7(out, &sizes)?);
    tracing::info!(elapsed_s = t0.elapsed().as_secs(), "figure 7 done");
    entries.push(checker::figure8(out, &sizes)?);
    tracing::info!(elapsed_s = t0.elapsed().as_secs(), "figure 8 done");
    entries.push(mixture::figure9(out, &sizes)?);
    tracing::info!(elapsed_s = t0.elapsed().as_secs(), "figure 9 done");
    Ok(entries)
}

pub fn f3(v: f64) -> String {
    format!("{v:.3}")
}
