//! Plotting helpers (plotters with an embedded font).
