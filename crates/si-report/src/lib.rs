//! # si-report
//!
//! Figures and reports, without libtorch: plotters helpers that draw with the bundled DejaVu Sans (no system
//! font needed) into PNGs written through a temporary file and a rename ([`png`]), colour maps, scatter and
//! line charts, and the figure index ([`FigureEntry`], [`write_index`]: `index.html` and `figures.json`).
//! The figure driver and the learned-field binary both use it, so a figure made in either process looks
//! the same and lands in one index.
#![warn(missing_docs)]

mod error;
mod index;
mod plot;

pub use error::{DrawError, ReportError, Result};
pub use index::{write_index, FigureEntry};
pub use plot::{color, init_font, lines, pe, png, scatter, viridis, Area, Series};
pub use si_data::write_atomic;
