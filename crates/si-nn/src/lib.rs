//! Learned fields with libtorch (in progress).
