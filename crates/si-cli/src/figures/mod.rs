//! Figures 5–10 (docs/figures.md part B: learned fields), 11–12 (part C: couplings and reflow), 13 (part D), 14 and 15 (part E: the streaming policy's wine
//! glass, and the policy on Push-T).

mod checker;
mod guidance;
mod mixture;
mod pusht;
mod reflow;
mod scsi;
mod sweep;
mod wine;

use std::path::Path;

use anyhow::Result;
pub use scsi::toy as scsi_toy;
/// One figure for the index (written as JSON for the xtask, which merges it into `index.html`).
pub use si_report::FigureEntry as Entry;

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
            Self {
                quick,
                width: 64,
                depth: 3,
                batch: 256,
                samples: 1500,
                nll_points: 300,
                nll_steps: 20,
            }
        } else {
            Self {
                quick,
                width: 256,
                depth: 4,
                batch: 1000,
                samples: 5000,
                nll_points: 5000,
                nll_steps: 100,
            }
        }
    }
    /// `full` steps, or a small number in quick mode.
    pub fn steps(&self, full: usize) -> usize {
        if self.quick {
            1000
        } else {
            full
        }
    }
}

/// Makes the figures in `only` (all of 5–15 when empty) into `out`.
pub fn all(out: &Path, quick: bool, only: &[u32]) -> Result<Vec<Entry>> {
    let sizes = Sizes::new(quick);
    let want = |n: u32| only.is_empty() || only.contains(&n);
    let mut entries = Vec::new();
    let t0 = std::time::Instant::now();
    let done = |n: u32| tracing::info!(elapsed_s = t0.elapsed().as_secs(), "figure {n} done");
    if want(5) || want(10) {
        let (e5, fig5_model) = checker::figure5(out, &sizes)?;
        entries.push(e5);
        done(5);
        entries.push(sweep::figure10(out, &sizes, &fig5_model)?);
        done(10);
    }
    if want(6) {
        entries.push(checker::figure6(out, &sizes)?);
        done(6);
    }
    if want(7) {
        entries.push(checker::figure7(out, &sizes)?);
        done(7);
    }
    if want(8) {
        entries.push(checker::figure8(out, &sizes)?);
        done(8);
    }
    if want(9) {
        let mut e9 = mixture::figure9(out, &sizes)?;
        let (file, numbers) = guidance::panel(out, &sizes)?;
        e9.files.push(file);
        e9.title
            .push_str("; conditioning with classifier-free guidance");
        e9.numbers.extend(numbers);
        e9.caption.push_str(
            " Second image: conditioning. A model b(t, x | c) of a four-component 2-D mixture, c the one-hot \
             component label, trained with the context dropped 20% of the time; samples for class 0 with \
             classifier-free guidance b_w = b(x | none) + w (b(x | c) - b(x | none)) for w = 0 (unconditional), \
             1 (conditional) and 3 (guided), coloured by nearest component.",
        );
        entries.push(e9);
        done(9);
    }
    if want(11) {
        entries.push(reflow::figure11(out, &sizes)?);
        done(11);
    }
    if want(12) {
        entries.push(reflow::figure12(out, &sizes)?);
        done(12);
    }
    if want(13) {
        entries.push(scsi::figure13(out, &sizes)?);
        done(13);
    }
    if want(14) {
        entries.push(wine::figure14(out, &sizes)?);
        done(14);
    }
    if want(15) {
        entries.push(pusht::figure15(out, &sizes)?);
        done(15);
    }
    Ok(entries)
}

pub fn f3(v: f64) -> String {
    format!("{v:.3}")
}
