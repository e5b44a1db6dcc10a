//! Optimal-transport couplings of two batches (docs/math.md §5): the exact assignment for minibatch OT and
//! log-domain Sinkhorn for the entropic (Schrödinger-bridge) coupling.

mod assignment;
mod couplings;
mod sinkhorn;

pub use assignment::{assignment, assignment_cold, squared_distances, Assignment};
pub use couplings::{pair_optimally, DataDependent, EntropicOt, MinibatchOt};
pub use sinkhorn::*;
