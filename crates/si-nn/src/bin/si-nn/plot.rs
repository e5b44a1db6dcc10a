//! Plotting helpers: plotters with the workspace's bundled font, atomic PNG output.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

static FONT: Once = Once::new();

fn init_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../../../../xtask/assets/DejaVuSans.ttf");
        if register_font("sans-serif", FontStyle::Normal, bytes).is_err() {
            tracing::warn!("could not register the bundled font; figure text may be missing");
        }
    });
}

/// A plotting area.
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Draws a `w × h` PNG at `out/name` (temporary file, then rename). Returns the file name.
pub fn png(
    out: &Path,
    name: &str,
    (w, h): (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<()>,
) -> Result<String> {
    init_font();
    let tmp = out.join(format!(".{name}.tmp.png"));
    {
        let root = BitMapBackend::new(&tmp, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        draw(&root)?;
        root.present().map_err(pe)?;
    }
    std::fs::rename(&tmp, out.join(name)).with_context(|| format!("writing {name}"))?;
    Ok(name.to_string())
}

/// Any plotters error as anyhow.
pub fn pe<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e:?}")
}

/// Distinguishable line colours.
pub fn color(k: usize) -> RGBColor {
    const C: [RGBColor; 6] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    C[k % C.len()]
}

/// A scatter plot of 2-D points (`xy` pairs) in the square [−r, r]², coloured by `colors` (or blue).
pub fn scatter(
    area: &Area<'_>,
    title: &str,
    xy: &[(f64, f64)],
    r: f64,
    colors: Option<&[RGBColor]>,
) -> Result<()> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(28)
        .build_cartesian_2d(-r..r, -r..r)
        .map_err(pe)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(5)
        .y_labels(5)
        .draw()
        .map_err(pe)?;
    let n = xy.len().max(1);
    let size = if n > 4000 { 1 } else { 2 };
    chart
        .draw_series(
            xy.iter()
                .enumerate()
                .filter(|(_, p)| p.0.abs() < r && p.1.abs() < r)
                .map(|(i, &(x, y))| {
                    let c = colors
                        .and_then(|c| c.get(i).copied())
                        .unwrap_or(RGBColor(31, 119, 180));
                    Circle::new((x, y), size, c.mix(0.5).filled())
                }),
        )
        .map_err(pe)?;
    Ok(())
}

/// Line series `(label, points)` with axis labels; `logy` plots log10 of y.
pub fn lines(
    area: &Area<'_>,
    title: &str,
    (xl, yl): (&str, &str),
    series: &[(String, Vec<(f64, f64)>)],
    hline: Option<(f64, &str)>,
) -> Result<()> {
    let pts = series
        .iter()
        .flat_map(|s| s.1.iter())
        .filter(|p| p.0.is_finite() && p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if let Some((h, _)) = hline {
        y0 = y0.min(h);
        y1 = y1.max(h);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(32)
        .y_label_area_size(52)
        .build_cartesian_2d(x0..x1.max(x0 + 1e-9), (y0 - pad)..(y1 + pad))
        .map_err(pe)?;
    chart
        .configure_mesh()
        .x_desc(xl)
        .y_desc(yl)
        .x_labels(6)
        .y_labels(6)
        .draw()
        .map_err(pe)?;
    for (k, (label, p)) in series.iter().enumerate() {
        let c = color(k);
        chart
            .draw_series(LineSeries::new(
                p.iter().copied().filter(|q| q.1.is_finite()),
                c.stroke_width(2),
            ))
            .map_err(pe)?
            .label(label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
        if p.len() <= 12 {
            chart
                .draw_series(
                    p.iter()
                        .filter(|q| q.1.is_finite())
                        .map(|&q| Circle::new(q, 3, c.filled())),
                )
                .map_err(pe)?;
        }
    }
    if let Some((h, label)) = hline {
        let label = label.to_string();
        chart
            .draw_series(LineSeries::new(
                vec![(x0, h), (x1, h)],
                BLACK.stroke_width(1),
            ))
            .map_err(pe)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(1)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(pe)?;
    Ok(())
}
