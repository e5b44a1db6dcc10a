//! Figures 5–10 (docs/figures.md part B): learned fields on the checkerboard and on Gaussian mixtures.

pub mod checker;
pub mod guidance;
pub mod mixture;
pub mod presets;
pub mod sweep;

use std::path::Path;

use anyhow::Result;

use super::{Entry, Sizes};

/// Figures 5 and 10, which share figure 5's model.
pub fn figures_5_and_10(out: &Path, sizes: &Sizes) -> Result<Vec<Entry>> {
    let (e5, fig5_model) = checker::figure5(out, sizes)?;
    let e10 = sweep::figure10(out, sizes, &fig5_model)?;
    Ok(vec![e5, e10])
}

/// Figure 9 and its guidance panel.
pub fn figure9(out: &Path, sizes: &Sizes) -> Result<Entry> {
    let mut e9 = mixture::figure9(out, sizes)?;
    let (file, numbers) = guidance::panel(out, sizes)?;
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
    Ok(e9)
}
