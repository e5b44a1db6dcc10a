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
pub use plot::{color, init_font, legend, lines, plot_error, png, scatter, viridis, Area, Series};
pub use si_data::write_atomic;

/// Logs of the workspace's binaries (the xtask and `si`) on standard error, at `info` unless `RUST_LOG`
/// says otherwise.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
