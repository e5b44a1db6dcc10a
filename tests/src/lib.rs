//! Workspace-level integration tests live in `tests/tests/`. With the `readme` feature the README's code
//! examples are compiled and run as doc tests of this crate (`cargo xtask test` does that last, once
//! libtorch is installed, since one example uses si-nn).
#![cfg_attr(feature = "readme", doc = include_str!("../../README.md"))]
