//! Data files that are points (N × d) or images ((N, H, W) or (N, C, H, W)), and the image shape a model
//! was trained for.

use std::path::Path;

use anyhow::{bail, Result};
use si_core::Points;
use si_data::npy::ImageShape;
use si_nn::ModelConfig;

/// The rows of a `.npy` file as points, with their image shape when the array is (N, H, W) or
/// (N, C, H, W) (each image flattened channel-major).
pub fn read_data(path: &Path) -> Result<(Points, Option<ImageShape>)> {
    Ok(si_data::npy::read_points_or_images(path)?)
}

/// The image shape of a U-Net model (`None` for an MLP).
pub fn model_image(model: &ModelConfig) -> Option<ImageShape> {
    model.unet.as_ref().map(|u| ImageShape {
        channels: u.channels,
        height: u.height,
        width: u.width,
    })
}

/// Checks that data read by [`read_data`] fits a model: the same dimension, and for an image model
/// images of its shape; the error names the expected shape.
pub fn check_fits(
    path: &Path,
    model: &ModelConfig,
    points: &Points,
    shape: Option<ImageShape>,
) -> Result<()> {
    use si_core::Batch;
    match (model_image(model), shape) {
        (Some(want), Some(got)) if want == got => Ok(()),
        (Some(want), got) => bail!(
            "{} holds {}; the model is a U-Net on images of {want}: expected an array (N, {}, {}, {}){}",
            path.display(),
            got.map_or(format!("points of dimension {}", points.dim()), |g| format!("images of {g}")),
            want.channels,
            want.height,
            want.width,
            if want.channels == 1 {
                format!(" or (N, {}, {})", want.height, want.width)
            } else {
                String::new()
            }
        ),
        (None, _) if points.dim() != model.dim => bail!(
            "{} holds points of dimension {}, the model's is {}",
            path.display(),
            points.dim(),
            model.dim
        ),
        (None, _) => Ok(()),
    }
}
