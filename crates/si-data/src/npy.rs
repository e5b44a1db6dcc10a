//! Reading and writing `.npy` files of shape N × d (little-endian f32 or f64, C order), and of images,
//! (N, H, W) or (N, C, H, W), read as N points of dimension C·H·W (each image flattened channel-major, the
//! array's own row layout) with their [`ImageShape`].
//! Anything else (another dtype, Fortran order, other ranks, NaN or infinite values) is a clear error.

use std::path::Path;

use si_core::{Batch, Points};

use crate::atomic::write_atomic;
use crate::error::{DataError, Result};

/// Element type of a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NpyDtype {
    /// `<f4`.
    F32,
    /// `<f8`.
    F64,
}

fn bad(path: &Path, reason: impl Into<String>) -> DataError {
    DataError::BadData {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The value of `'key': value` in a header dict (up to the next `,` outside parentheses).
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("'{key}':");
    let start = header.find(&pat)? + pat.len();
    let rest = header[start..].trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

/// Reads an N × d array as points (N points of dimension d).
pub fn read_points(path: &Path) -> Result<Points> {
    let bytes =
        std::fs::read(path).map_err(|e| DataError::io(format!("reading {}", path.display()), e))?;
    parse_points(path, &bytes)
}

/// Parses the bytes of a `.npy` file of any rank ≥ 1 with no empty side into its shape and its values in C
/// order (`path` only names it in errors).
pub fn parse_array(path: &Path, bytes: &[u8]) -> Result<(Vec<usize>, Vec<f64>)> {
    let Some((magic, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(bad(path, "not a .npy file (shorter than its magic)"));
    };
    if &magic[..6] != b"\x93NUMPY" {
        return Err(bad(path, "not a .npy file (no \\x93NUMPY magic)"));
    }
    // header length: u16 after version 1.0, u32 after 2.0 and 3.0; then the header, then the data
    let (hlen, rest) = match (magic[6], rest) {
        (1, [a, b, rest @ ..]) => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        (2 | 3, [a, b, c, d, rest @ ..]) => (
            usize::try_from(u32::from_le_bytes([*a, *b, *c, *d])).unwrap_or(usize::MAX),
            rest,
        ),
        (1..=3, _) => return Err(bad(path, "truncated header length")),
        (v, _) => return Err(bad(path, format!("unsupported .npy version {v}"))),
    };
    let (header, data) = match (rest.get(..hlen), rest.get(hlen..)) {
        (Some(h), Some(d)) => (h, d),
        _ => {
            return Err(bad(
                path,
                format!(
                    "truncated header ({hlen} bytes announced, {} present)",
                    rest.len()
                ),
            ))
        }
    };
    let header =
        std::str::from_utf8(header).map_err(|_| bad(path, "the header is not UTF-8 text"))?;
    let descr = field(header, "descr").ok_or_else(|| bad(path, "header has no descr"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let size = match descr {
        "<f4" => 4,
        "<f8" => 8,
        other => {
            return Err(bad(
                path,
                format!(
                "dtype {other} is not supported: save the array as float32 (<f4) or float64 (<f8)"
            ),
            ))
        }
    };
    if field(header, "fortran_order") != Some("False") {
        return Err(bad(
            path,
            "Fortran-ordered arrays are not supported (use np.ascontiguousarray)",
        ));
    }
    let shape = field(header, "shape").ok_or_else(|| bad(path, "header has no shape"))?;
    let dims: Vec<usize> = shape
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(path, format!("bad shape {shape}")))
        })
        .collect::<Result<_>>()?;
    if dims.is_empty() || dims.contains(&0) {
        return Err(bad(path, format!("shape {shape}: the array is empty")));
    }
    // checked: the shape comes from the file; compared with the bytes present before anything is allocated
    let Some(expected) = dims
        .iter()
        .try_fold(size, |acc: usize, &k| acc.checked_mul(k))
    else {
        return Err(bad(
            path,
            format!("shape {shape}: more bytes than can be addressed"),
        ));
    };
    if data.len() != expected {
        return Err(bad(
            path,
            format!(
                "expected {expected} data bytes for shape {shape}, found {}",
                data.len()
            ),
        ));
    }
    let values: Vec<f64> = if size == 4 {
        data.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect()
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let row: usize = dims[1..].iter().product();
        return Err(bad(
            path,
            format!(
                "non-finite value {} at row {}, column {}",
                values[i],
                i / row,
                i % row
            ),
        ));
    }
    Ok((dims, values))
}

fn shape_text(dims: &[usize]) -> String {
    let inner: Vec<String> = dims.iter().map(|k| k.to_string()).collect();
    format!("({})", inner.join(", "))
}

/// Parses the bytes of an N × d `.npy` file (`path` only names it in errors).
pub fn parse_points(path: &Path, bytes: &[u8]) -> Result<Points> {
    let (dims, values) = parse_array(path, bytes)?;
    let [n, d] = dims[..] else {
        return Err(bad(
            path,
            format!(
                "shape {}: expected a 2-D array N x d (images, (N, H, W) or (N, C, H, W), are read as images)",
                shape_text(&dims)
            ),
        ));
    };
    Ok(Points::from_row_major(n, d, &values)?)
}

/// The shape C × H × W of one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageShape {
    /// Channels C.
    pub channels: usize,
    /// Height H.
    pub height: usize,
    /// Width W.
    pub width: usize,
}

impl ImageShape {
    /// C·H·W, the dimension of an image as a point.
    pub fn dim(&self) -> usize {
        self.channels * self.height * self.width
    }
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.channels, self.height, self.width)
    }
}

/// The number of images and their shape for an array of shape `dims`: (N, H, W) (one channel) or
/// (N, C, H, W); `None` for another rank.
fn images_of(dims: &[usize]) -> Option<(usize, ImageShape)> {
    match *dims {
        [n, height, width] => Some((
            n,
            ImageShape {
                channels: 1,
                height,
                width,
            },
        )),
        [n, channels, height, width] => Some((
            n,
            ImageShape {
                channels,
                height,
                width,
            },
        )),
        _ => None,
    }
}

/// Parses the bytes of a `.npy` file of images, (N, H, W) (one channel) or (N, C, H, W), into N points of
/// dimension C·H·W (each image flattened channel-major) and their shape.
pub fn parse_images(path: &Path, bytes: &[u8]) -> Result<(Points, ImageShape)> {
    let (dims, values) = parse_array(path, bytes)?;
    let Some((n, shape)) = images_of(&dims) else {
        return Err(bad(
            path,
            format!(
                "shape {}: expected images, (N, H, W) or (N, C, H, W)",
                shape_text(&dims)
            ),
        ));
    };
    Ok((Points::from_row_major(n, shape.dim(), &values)?, shape))
}

/// Reads a `.npy` file of points (N × d) or of images ((N, H, W) or (N, C, H, W), as [`parse_images`]
/// reads them, with their shape).
pub fn read_points_or_images(path: &Path) -> Result<(Points, Option<ImageShape>)> {
    let bytes =
        std::fs::read(path).map_err(|e| DataError::io(format!("reading {}", path.display()), e))?;
    let (dims, values) = parse_array(path, &bytes)?;
    if let [n, d] = dims[..] {
        return Ok((Points::from_row_major(n, d, &values)?, None));
    }
    let Some((n, shape)) = images_of(&dims) else {
        return Err(bad(
            path,
            format!(
                "shape {}: expected points N x d or images (N, H, W) or (N, C, H, W)",
                shape_text(&dims)
            ),
        ));
    };
    Ok((
        Points::from_row_major(n, shape.dim(), &values)?,
        Some(shape),
    ))
}

/// Reads a `.npy` file of images ([`parse_images`]).
pub fn read_images(path: &Path) -> Result<(Points, ImageShape)> {
    let bytes =
        std::fs::read(path).map_err(|e| DataError::io(format!("reading {}", path.display()), e))?;
    parse_images(path, &bytes)
}

/// The bytes of a `.npy` file holding `points` as an N × d array.
pub fn to_bytes(points: &Points, dtype: NpyDtype) -> Vec<u8> {
    shaped_bytes(points, &[points.len(), points.dim()], dtype)
}

/// The bytes of a `.npy` file of shape `dims` (whose product is the points' count times their dimension)
/// holding the points' coordinates in order.
fn shaped_bytes(points: &Points, dims: &[usize], dtype: NpyDtype) -> Vec<u8> {
    let descr = match dtype {
        NpyDtype::F32 => "<f4",
        NpyDtype::F64 => "<f8",
    };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}",
        shape_text(dims)
    );
    // Pad so that the data starts at a multiple of 64 bytes; the header ends with a newline.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + points.as_slice().len() * 8);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in points.as_slice() {
        match dtype {
            NpyDtype::F32 => out.extend_from_slice(&(*v as f32).to_le_bytes()),
            NpyDtype::F64 => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    out
}

/// Writes `points` as an N × d `.npy` file, atomically.
pub fn write_points(path: &Path, points: &Points, dtype: NpyDtype) -> Result<()> {
    write_atomic(path, &to_bytes(points, dtype))
}

/// Writes points that are images of `shape` as an (N, C, H, W) `.npy` file, atomically; points of another
/// dimension are an error naming the expected one.
pub fn write_images(
    path: &Path,
    points: &Points,
    shape: ImageShape,
    dtype: NpyDtype,
) -> Result<()> {
    if points.dim() != shape.dim() {
        return Err(bad(
            path,
            format!(
                "points of dimension {} are not images of {shape} ({} numbers)",
                points.dim(),
                shape.dim()
            ),
        ));
    }
    let dims = [points.len(), shape.channels, shape.height, shape.width];
    write_atomic(path, &shaped_bytes(points, &dims, dtype))
}
