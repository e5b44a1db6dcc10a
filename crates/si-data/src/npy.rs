//! Reading and writing `.npy` files of shape N × d (little-endian f32 or f64, C order).
//! Anything else (another dtype, Fortran order, other ranks, NaN or infinite values) is a clear error.

use std::path::Path;

use si_core::Points;

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

/// Parses the bytes of a `.npy` file (`path` only names it in errors).
pub fn parse_points(path: &Path, bytes: &[u8]) -> Result<Points> {
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
    let [n, d] = dims[..] else {
        return Err(bad(
            path,
            format!("shape {shape}: expected a 2-D array N x d"),
        ));
    };
    if n == 0 || d == 0 {
        return Err(bad(path, format!("shape {shape}: the array is empty")));
    }
    // checked: the shape comes from the file; compared with the bytes present before anything is allocated
    let Some(expected) = n.checked_mul(d).and_then(|nd| nd.checked_mul(size)) else {
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
        return Err(bad(
            path,
            format!(
                "non-finite value {} at row {}, column {}",
                values[i],
                i / d,
                i % d
            ),
        ));
    }
    Ok(Points::from_row_major(n, d, &values)?)
}

/// The bytes of a `.npy` file holding `points` as an N × d array.
pub fn to_bytes(points: &Points, dtype: NpyDtype) -> Vec<u8> {
    use si_core::Batch;
    let (n, d) = (points.len(), points.dim());
    let descr = match dtype {
        NpyDtype::F32 => "<f4",
        NpyDtype::F64 => "<f8",
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({n}, {d}), }}");
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
