//! Training methods built on the trainer: reflow (rectified flow, [`reflow`]), self-consistent
//! stochastic interpolants ([`scsi`]) and the Schrödinger bridge by optimising over the interpolant
//! ([`interpolant_opt`]).

pub mod interpolant_opt;
pub mod reflow;
pub mod scsi;
