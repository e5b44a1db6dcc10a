//! Reading and writing the f64 and i64 tensors of this crate's safetensors files (demonstrations and
//! expert-labelled states), with every malformed input a [`PushTError::Demonstrations`], never a panic.

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::PushTError;

pub(crate) fn bad(msg: impl Into<String>) -> PushTError {
    PushTError::Demonstrations(msg.into())
}

/// Refuses a safetensors header holding a number (a shape or an offset: the numbers outside strings) larger
/// than the whole file. Such a number never fits the file; and safetensors 0.4 adds offsets unchecked
/// (`buffer_end + 8 + n`), which overflows — a panic with overflow checks — on an offset near `usize::MAX`.
pub(crate) fn check_header_numbers(bytes: &[u8]) -> Result<(), PushTError> {
    let Some((len, rest)) = bytes.split_first_chunk::<8>() else {
        return Ok(()); // too short: safetensors reports it
    };
    let Some(header) = usize::try_from(u64::from_le_bytes(*len))
        .ok()
        .and_then(|n| rest.get(..n))
    else {
        return Ok(()); // a bad header length: safetensors reports it
    };
    let limit = bytes.len() as u128;
    let (mut in_string, mut escaped) = (false, false);
    let mut number: Option<u128> = None;
    for &c in header.iter().chain(std::iter::once(&b' ')) {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_ascii_digit() {
            let v = number
                .unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(u128::from(c - b'0'));
            number = Some(v);
            continue;
        }
        if number.take().is_some_and(|v| v > limit) {
            return Err(bad(format!(
                "the header holds a number larger than the file ({} bytes)",
                bytes.len()
            )));
        }
        in_string = c == b'"';
    }
    Ok(())
}

/// The bytes of the file at `path`; a failed read is [`PushTError::Io`].
pub(crate) fn read(path: &std::path::Path) -> Result<Vec<u8>, PushTError> {
    std::fs::read(path).map_err(|source| PushTError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses a file's bytes (after [`check_header_numbers`]).
pub(crate) fn parse(bytes: &[u8]) -> Result<SafeTensors<'_>, PushTError> {
    check_header_numbers(bytes)?;
    SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))
}

/// The `format` entry of a file's metadata, if it has one.
pub(crate) fn format_tag(bytes: &[u8]) -> Result<Option<String>, PushTError> {
    check_header_numbers(bytes)?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    Ok(meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("format").cloned()))
}

/// The 8-byte words of tensor `name`, which must have dtype `dtype` and shape `[rows, tail…]`; returns the
/// words and `rows`.
fn words(
    st: &SafeTensors<'_>,
    name: &str,
    dtype: Dtype,
    tail: &[usize],
) -> Result<(Vec<[u8; 8]>, usize), PushTError> {
    let t = st.tensor(name).map_err(|e| bad(format!("{name}: {e}")))?;
    if t.dtype() != dtype {
        return Err(bad(format!("{name}: dtype {:?}", t.dtype())));
    }
    let shape = t.shape();
    if shape.len() != tail.len() + 1 || shape[1..] != *tail {
        return Err(bad(format!("{name}: shape {shape:?}")));
    }
    let rows = shape[0];
    let expected = tail
        .iter()
        .try_fold(rows, |n, &k| n.checked_mul(k))
        .and_then(|v| v.checked_mul(8));
    if expected != Some(t.data().len()) {
        return Err(bad(format!(
            "{name}: {} data bytes for shape {shape:?}",
            t.data().len()
        )));
    }
    let w = t
        .data()
        .chunks_exact(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            w
        })
        .collect();
    Ok((w, rows))
}

/// The values of the f64 tensor `name` of shape `[rows, tail…]` (row-major) and `rows`.
pub(crate) fn f64s(
    st: &SafeTensors<'_>,
    name: &str,
    tail: &[usize],
) -> Result<(Vec<f64>, usize), PushTError> {
    let (w, rows) = words(st, name, Dtype::F64, tail)?;
    Ok((w.into_iter().map(f64::from_le_bytes).collect(), rows))
}

/// The values of the i64 tensor `name` of shape `[rows]`.
pub(crate) fn i64s(st: &SafeTensors<'_>, name: &str) -> Result<Vec<i64>, PushTError> {
    let (w, _) = words(st, name, Dtype::I64, &[])?;
    Ok(w.into_iter().map(i64::from_le_bytes).collect())
}

/// Little-endian bytes of f64 values.
pub(crate) fn f64_bytes(v: impl Iterator<Item = f64>) -> Vec<u8> {
    v.flat_map(f64::to_le_bytes).collect()
}

/// Little-endian bytes of i64 values.
pub(crate) fn i64_bytes(v: impl Iterator<Item = i64>) -> Vec<u8> {
    v.flat_map(i64::to_le_bytes).collect()
}

/// Serialises named tensors `(name, dtype, shape, bytes)` with metadata `format = tag`.
pub(crate) fn serialize(
    tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)],
    tag: &str,
) -> Result<Vec<u8>, PushTError> {
    let err = |x: safetensors::SafeTensorError| bad(x.to_string());
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes).map(|v| (*name, v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let meta = Some(std::collections::HashMap::from([(
        "format".to_string(),
        tag.to_string(),
    )]));
    safetensors::tensor::serialize(views, &meta).map_err(err)
}
