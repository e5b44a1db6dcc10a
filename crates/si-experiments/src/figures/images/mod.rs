//! Part G of docs/figures.md: images (figure 18, the 8×8 digits).

pub mod digits;
pub mod inpainting;
