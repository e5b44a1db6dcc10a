//! Training methods built on the trainer: reflow (rectified flow, [`reflow`]) and self-consistent
//! stochastic interpolants ([`scsi`]).

pub mod reflow;
pub mod scsi;
