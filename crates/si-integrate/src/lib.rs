//! si-integrate
