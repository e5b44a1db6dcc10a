//! Rendering: a frame as PNG, an episode as a PNG strip or an animated GIF (plotters, no text).
//!
//! Colours follow the reference's look: goal T light green, block slate grey, pusher royal blue, walls light
//! grey, the action (target) a small red cross. Image coordinates are the arena's pixels scaled by
//! `size / 512` (y down in both).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::env::{Action, Obs};
use crate::error::RobotError;
use crate::geometry::{t_world, Pose, AGENT_RADIUS, ARENA, GOAL, V2, WALLS};
use si_data::temporary_sibling as tmp_sibling;

const GOAL_COLOUR: RGBColor = RGBColor(144, 238, 144);
const BLOCK_COLOUR: RGBColor = RGBColor(119, 136, 153);
const AGENT_COLOUR: RGBColor = RGBColor(65, 105, 225);
const WALL_COLOUR: RGBColor = RGBColor(190, 190, 190);

fn render_err<E: std::fmt::Display>(e: E) -> RobotError {
    RobotError::Render(e.to_string())
}

/// One frame: the observation and, if given, the action taken from it.
pub type Frame = (Obs, Option<Action>);

/// Draws a frame onto `area` (a square of `size` pixels).
pub fn draw_frame<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    frame: &Frame,
    size: u32,
) -> Result<(), RobotError> {
    let k = f64::from(size) / ARENA;
    let px = |p: V2| ((p.x * k).round() as i32, (p.y * k).round() as i32);
    area.fill(&WHITE).map_err(render_err)?;
    for (a, b) in WALLS {
        area.draw(&PathElement::new(
            vec![px(a), px(b)],
            WALL_COLOUR.stroke_width((4.0 * k).max(1.0) as u32),
        ))
        .map_err(render_err)?;
    }
    let (obs, action) = frame;
    let block = Pose {
        position: V2::new(obs[2], obs[3]),
        angle: obs[4],
    };
    for (pose, colour) in [(GOAL, GOAL_COLOUR), (block, BLOCK_COLOUR)] {
        for bx in t_world(&pose) {
            area.draw(&Polygon::new(
                bx.iter().map(|&p| px(p)).collect::<Vec<_>>(),
                colour.filled(),
            ))
            .map_err(render_err)?;
        }
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

fn finish(tmp: &Path, path: &Path) -> Result<(), RobotError> {
    std::fs::rename(tmp, path).map_err(|source| RobotError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes one frame as a `size × size` PNG (atomically).
pub fn frame_png(frame: &Frame, path: &Path, size: u32) -> Result<(), RobotError> {
    let tmp = tmp_sibling(path);
    {
        let root = BitMapBackend::new(&tmp, (size, size)).into_drawing_area();
        draw_frame(&root, frame, size)?;
        root.present().map_err(render_err)?;
    }
    finish(&tmp, path)
}

/// Writes `frames` side by side in rows of `cols`, each `cell × cell`, as a PNG (atomically).
pub fn strip_png(frames: &[Frame], path: &Path, cols: usize, cell: u32) -> Result<(), RobotError> {
    if frames.is_empty() || cols == 0 {
        return Err(RobotError::Render("no frames to draw".into()));
    }
    let cols = cols.min(frames.len());
    let rows = frames.len().div_ceil(cols);
    let tmp = tmp_sibling(path);
    {
        let root =
            BitMapBackend::new(&tmp, (cell * cols as u32, cell * rows as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(render_err)?;
        let cells = root.split_evenly((rows, cols));
        for (area, frame) in cells.iter().zip(frames) {
            let inner = area.margin(2, 2, 2, 2);
            draw_frame(&inner, frame, cell - 4)?;
        }
        root.present().map_err(render_err)?;
    }
    finish(&tmp, path)
}

/// Writes `frames` as an animated GIF, `size × size`, `delay_ms` per frame (atomically).
pub fn episode_gif(
    frames: &[Frame],
    path: &Path,
    size: u32,
    delay_ms: u32,
) -> Result<(), RobotError> {
    if frames.is_empty() {
        return Err(RobotError::Render("no frames to draw".into()));
    }
    let tmp = tmp_sibling(path);
    {
        let root = BitMapBackend::gif(&tmp, (size, size), delay_ms)
            .map_err(render_err)?
            .into_drawing_area();
        for frame in frames {
            draw_frame(&root, frame, size)?;
            root.present().map_err(render_err)?;
        }
    }
    finish(&tmp, path)
}

/// Frames of an episode: each observation with the action taken from it (the last has none).
pub fn episode_frames(observations: &[Obs], actions: &[Action]) -> Vec<Frame> {
    observations
        .iter()
        .enumerate()
        .map(|(t, o)| (*o, actions.get(t).copied()))
        .collect()
}
