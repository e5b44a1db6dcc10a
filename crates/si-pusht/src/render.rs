//! Rendering: a frame as PNG, an episode as a PNG strip or an animated GIF (plotters, no text).
//!
//! Colours follow the reference's look: goal T light green, block slate grey, pusher royal blue, walls light
//! grey, the action (target) a small red cross. Image coordinates are the arena's pixels scaled by
//! `size / 512` (y down in both).
//!
//! Sizes are checked before anything is drawn or allocated: a frame (or GIF) side is `1..=`[`MAX_SIDE`], a strip
//! cell `MIN_CELL..=MAX_SIDE`, a whole strip at most [`MAX_STRIP_SIDE`] pixels a side and [`MAX_PIXELS`] in all,
//! a GIF frame delay at most [`MAX_GIF_DELAY_MS`]; anything else is [`PushTError::InvalidParameter`].

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::env::{block_pose, Action, Obs};
use crate::error::PushTError;
use crate::geometry::{t_world, Pose, AGENT_RADIUS, ARENA, GOAL, V2, WALLS};
use si_data::write_atomic_with;

const GOAL_COLOUR: RGBColor = RGBColor(144, 238, 144);
const BLOCK_COLOUR: RGBColor = RGBColor(119, 136, 153);
const AGENT_COLOUR: RGBColor = RGBColor(65, 105, 225);
const WALL_COLOUR: RGBColor = RGBColor(190, 190, 190);

/// Largest side of a frame or GIF (px).
pub const MAX_SIDE: u32 = 4096;
/// Smallest strip cell (px): a 2 px margin on each side leaves at least 1 px to draw in.
pub const MIN_CELL: u32 = 5;
/// Largest side of a whole strip (px).
pub const MAX_STRIP_SIDE: u32 = 16_384;
/// Most pixels of a whole strip (64 Mpx, 192 MB as RGB).
pub const MAX_PIXELS: u64 = 1 << 26;
/// Longest GIF frame delay (ms): the format stores it as a 16-bit count of centiseconds.
pub const MAX_GIF_DELAY_MS: u32 = 655_340;
/// Pixel coordinates are clamped to ±this, far outside any image, so that plotters' integer arithmetic
/// cannot overflow on a far-off or non-finite position.
const COORD_LIMIT: f64 = 1_048_576.0;

fn render_err<E: std::fmt::Display>(e: E) -> PushTError {
    PushTError::Render(e.to_string())
}

fn bad_size(name: &'static str, value: impl std::fmt::Display, reason: &'static str) -> PushTError {
    PushTError::InvalidParameter {
        name,
        value: value.to_string(),
        reason,
    }
}

fn check_side(name: &'static str, size: u32) -> Result<(), PushTError> {
    if (1..=MAX_SIDE).contains(&size) {
        Ok(())
    } else {
        Err(bad_size(name, size, "must be in 1..=4096 px"))
    }
}

/// One frame: the observation and, if given, the action taken from it.
pub type Frame = (Obs, Option<Action>);

/// Arena coordinates → pixels at `k` pixels per unit. NaN becomes 0, anything else is clamped: `as`
/// saturates, but plotters adds to the coordinates.
fn pixel(k: f64) -> impl Fn(V2) -> (i32, i32) {
    let c = move |v: f64| (v * k).round().clamp(-COORD_LIMIT, COORD_LIMIT) as i32;
    move |p: V2| (c(p.x), c(p.y))
}

/// A white table with its walls, at `k` pixels per unit.
fn draw_table<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, k: f64) -> Result<(), PushTError> {
    let px = pixel(k);
    area.fill(&WHITE).map_err(render_err)?;
    for (a, b) in WALLS {
        area.draw(&PathElement::new(
            vec![px(a), px(b)],
            WALL_COLOUR.stroke_width((4.0 * k).max(1.0) as u32),
        ))
        .map_err(render_err)?;
    }
    Ok(())
}

/// The T at `pose`, both boxes filled with `style`.
fn fill_t<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pose: &Pose,
    style: ShapeStyle,
    k: f64,
) -> Result<(), PushTError> {
    let px = pixel(k);
    for bx in t_world(pose) {
        area.draw(&Polygon::new(
            bx.iter().map(|&p| px(p)).collect::<Vec<_>>(),
            style,
        ))
        .map_err(render_err)?;
    }
    Ok(())
}

/// Draws a frame onto `area` (a square of `size` pixels).
pub fn draw_frame<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    frame: &Frame,
    size: u32,
) -> Result<(), PushTError> {
    if !(1..=MAX_STRIP_SIDE).contains(&size) {
        return Err(bad_size("size", size, "must be in 1..=16384 px"));
    }
    let k = f64::from(size) / ARENA;
    let px = pixel(k);
    draw_table(area, k)?;
    let (obs, action) = frame;
    for (pose, colour) in [(GOAL, GOAL_COLOUR), (block_pose(obs), BLOCK_COLOUR)] {
        fill_t(area, &pose, colour.filled(), k)?;
    }
    let agent = V2::new(obs[0], obs[1]);
    area.draw(&Circle::new(
        px(agent),
        (AGENT_RADIUS * k).round() as i32,
        AGENT_COLOUR.filled(),
    ))
    .map_err(render_err)?;
    if let Some(a) = action {
        let c = px(V2::new(a[0], a[1]));
        let h = (5.0 * k).max(2.0) as i32;
        let style = RED.stroke_width(2);
        area.draw(&PathElement::new(
            vec![(c.0 - h, c.1 - h), (c.0 + h, c.1 + h)],
            style,
        ))
        .map_err(render_err)?;
        area.draw(&PathElement::new(
            vec![(c.0 - h, c.1 + h), (c.0 + h, c.1 - h)],
            style,
        ))
        .map_err(render_err)?;
    }
    Ok(())
}

/// Draws an episode's course onto `area` (a square of `size` pixels): the goal T, the block's outline every
/// `every` steps from light (reset) to dark, the last pose filled, the pusher's path (blue line, an open circle
/// at the start, a filled one at the end) and, when `mark` is given, a red ring round the block at that step
/// (a displacement).
pub fn draw_trace<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    observations: &[Obs],
    every: usize,
    mark: Option<usize>,
    size: u32,
) -> Result<(), PushTError> {
    if !(1..=MAX_STRIP_SIDE).contains(&size) {
        return Err(bad_size("size", size, "must be in 1..=16384 px"));
    }
    let (Some(last), false) = (observations.last(), every == 0) else {
        return Err(PushTError::Render("no observations, or every = 0".into()));
    };
    let k = f64::from(size) / ARENA;
    let px = pixel(k);
    let outline = |pose: &Pose| -> Vec<Vec<(i32, i32)>> {
        t_world(pose)
            .iter()
            .map(|b| b.iter().chain(&b[..1]).map(|&p| px(p)).collect())
            .collect()
    };
    draw_table(area, k)?;
    fill_t(area, &GOAL, GOAL_COLOUR.filled(), k)?;
    fill_t(area, &block_pose(last), BLOCK_COLOUR.mix(0.5).filled(), k)?;
    let n = observations.len();
    for (i, o) in observations.iter().enumerate().step_by(every) {
        let f = i as f64 / (n.max(2) - 1) as f64;
        let g = (210.0 - 170.0 * f) as u8;
        for line in outline(&block_pose(o)) {
            area.draw(&PathElement::new(
                line,
                RGBColor(g, g, g.saturating_add(20)),
            ))
            .map_err(render_err)?;
        }
    }
    if let Some(o) = mark.and_then(|m| observations.get(m)) {
        area.draw(&Circle::new(
            px(V2::new(o[2], o[3])),
            (70.0 * k).round() as i32,
            RED.stroke_width(2),
        ))
        .map_err(render_err)?;
    }
    let path: Vec<_> = observations
        .iter()
        .map(|o| px(V2::new(o[0], o[1])))
        .collect();
    area.draw(&PathElement::new(path, AGENT_COLOUR.stroke_width(2)))
        .map_err(render_err)?;
    let r = ((AGENT_RADIUS * k).round() as i32).max(2);
    area.draw(&Circle::new(
        px(V2::new(observations[0][0], observations[0][1])),
        r,
        AGENT_COLOUR.stroke_width(2),
    ))
    .map_err(render_err)?;
    area.draw(&Circle::new(
        px(V2::new(last[0], last[1])),
        r,
        AGENT_COLOUR.filled(),
    ))
    .map_err(render_err)?;
    Ok(())
}

/// Writes one frame as a `size × size` PNG (atomically); `size` in `1..=`[`MAX_SIDE`].
pub fn frame_png(frame: &Frame, path: &Path, size: u32) -> Result<(), PushTError> {
    check_side("size", size)?;
    write_atomic_with(path, |tmp| {
        let root = BitMapBackend::new(tmp, (size, size)).into_drawing_area();
        draw_frame(&root, frame, size)?;
        root.present().map_err(render_err)
    })
}

/// Writes `frames` side by side in rows of `cols`, each `cell × cell`, as a PNG (atomically).
///
/// `cell` is in [`MIN_CELL`]`..=`[`MAX_SIDE`]; the strip is at most [`MAX_STRIP_SIDE`] pixels a side and
/// [`MAX_PIXELS`] in all.
pub fn strip_png(frames: &[Frame], path: &Path, cols: usize, cell: u32) -> Result<(), PushTError> {
    if frames.is_empty() || cols == 0 {
        return Err(PushTError::Render("no frames to draw".into()));
    }
    if !(MIN_CELL..=MAX_SIDE).contains(&cell) {
        return Err(bad_size("cell", cell, "must be in 5..=4096 px"));
    }
    let cols = cols.min(frames.len());
    let rows = frames.len().div_ceil(cols);
    let side = |n: usize| {
        u32::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(cell))
            .filter(|&s| s <= MAX_STRIP_SIDE)
    };
    let (Some(w), Some(h)) = (side(cols), side(rows)) else {
        return Err(bad_size(
            "strip size",
            format!("{cols} x {rows} cells of {cell} px"),
            "each side must be at most 16384 px",
        ));
    };
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(bad_size(
            "strip size",
            format!("{w} x {h} px"),
            "must be at most 2^26 pixels",
        ));
    }
    write_atomic_with(path, |tmp| {
        let root = BitMapBackend::new(tmp, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(render_err)?;
        let cells = root.split_evenly((rows, cols));
        for (area, frame) in cells.iter().zip(frames) {
            let inner = area.margin(2, 2, 2, 2);
            draw_frame(&inner, frame, cell - 4)?;
        }
        root.present().map_err(render_err)
    })
}

/// Writes `frames` as an animated GIF, `size × size`, `delay_ms` per frame (atomically); `size` in
/// `1..=`[`MAX_SIDE`], `delay_ms` at most [`MAX_GIF_DELAY_MS`].
pub fn episode_gif(
    frames: &[Frame],
    path: &Path,
    size: u32,
    delay_ms: u32,
) -> Result<(), PushTError> {
    if frames.is_empty() {
        return Err(PushTError::Render("no frames to draw".into()));
    }
    check_side("size", size)?;
    if delay_ms > MAX_GIF_DELAY_MS {
        return Err(bad_size(
            "delay_ms",
            delay_ms,
            "must be at most 655340 ms (65534 cs)",
        ));
    }
    write_atomic_with(path, |tmp| {
        let root = BitMapBackend::gif(tmp, (size, size), delay_ms)
            .map_err(render_err)?
            .into_drawing_area();
        for frame in frames {
            draw_frame(&root, frame, size)?;
            root.present().map_err(render_err)?;
        }
        Ok(())
    })
}

/// Frames of an episode: each observation with the action taken from it (the last has none).
pub fn episode_frames(observations: &[Obs], actions: &[Action]) -> Vec<Frame> {
    observations
        .iter()
        .enumerate()
        .map(|(t, o)| (*o, actions.get(t).copied()))
        .collect()
}
