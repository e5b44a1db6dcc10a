//! Plotting helpers: plotters with the bundled font (no system fonts needed), atomic PNG output, colour
//! maps, scatter and line charts.

use std::path::Path;
use std::sync::Once;

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::error::{DrawError, ReportError};

static FONT: Once = Once::new();

/// Registers the bundled DejaVu Sans as plotters' "sans-serif" (once per process).
pub fn init_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        if register_font("sans-serif", FontStyle::Normal, bytes).is_err() {
            tracing::warn!("could not register the bundled font; figure text may be missing");
        }
    });
}

/// A plotting area.
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Draws a `w × h` PNG at `out/name` through `draw`, writing a temporary file first and renaming it, so no
/// reader sees half a figure. Returns the file name. `draw` may fail with any error (`?` converts
/// `anyhow::Error` and [`ReportError`] alike).
pub fn png(
    out: &Path,
    name: &str,
    (w, h): (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<(), DrawError>,
) -> Result<String, ReportError> {
    init_font();
    let path = out.join(name);
    si_data::write_atomic_with(&path, |tmp| {
        let root = BitMapBackend::new(tmp, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        draw(&root).map_err(ReportError::Draw)?;
        root.present().map_err(plot_error)
    })?;
    Ok(name.to_string())
}

/// Any plotters error as a [`ReportError`].
pub fn plot_error<T: std::fmt::Debug>(e: T) -> ReportError {
    ReportError::Plot(format!("{e:?}"))
}

/// Viridis colour for v ∈ [0, 1] (piecewise-linear through 9 anchors of matplotlib's map).
pub fn viridis(v: f64) -> RGBColor {
    const A: [(f64, f64, f64); 9] = [
        (68.0, 1.0, 84.0),
        (71.0, 44.0, 122.0),
        (59.0, 81.0, 139.0),
        (44.0, 113.0, 142.0),
        (33.0, 144.0, 141.0),
        (39.0, 173.0, 129.0),
        (92.0, 200.0, 99.0),
        (170.0, 220.0, 50.0),
        (253.0, 231.0, 37.0),
    ];
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = v * (A.len() - 1) as f64;
    let i = (x.floor() as usize).min(A.len() - 2);
    let f = x - i as f64;
    let lerp = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    RGBColor(
        lerp(A[i].0, A[i + 1].0),
        lerp(A[i].1, A[i + 1].1),
        lerp(A[i].2, A[i + 1].2),
    )
}

/// A line series: its label and its points.
pub type Series = (String, Vec<(f64, f64)>);

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
) -> Result<(), ReportError> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(28)
        .build_cartesian_2d(-r..r, -r..r)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(5)
        .y_labels(5)
        .draw()
        .map_err(plot_error)?;
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
        .map_err(plot_error)?;
    Ok(())
}

/// Line series `(label, points)` with axis labels and an optional labelled horizontal line.
pub fn lines(
    area: &Area<'_>,
    title: &str,
    (xl, yl): (&str, &str),
    series: &[Series],
    hline: Option<(f64, &str)>,
) -> Result<(), ReportError> {
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
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc(xl)
        .y_desc(yl)
        .x_labels(6)
        .y_labels(6)
        .draw()
        .map_err(plot_error)?;
    for (k, (label, p)) in series.iter().enumerate() {
        let c = color(k);
        chart
            .draw_series(LineSeries::new(
                p.iter().copied().filter(|q| q.1.is_finite()),
                c.stroke_width(2),
            ))
            .map_err(plot_error)?
            .label(label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
        if p.len() <= 12 {
            chart
                .draw_series(
                    p.iter()
                        .filter(|q| q.1.is_finite())
                        .map(|&q| Circle::new(q, 3, c.filled())),
                )
                .map_err(plot_error)?;
        }
    }
    if let Some((h, label)) = hline {
        let label = label.to_string();
        chart
            .draw_series(LineSeries::new(
                vec![(x0, h), (x1, h)],
                BLACK.stroke_width(1),
            ))
            .map_err(plot_error)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(1)));
    }
    legend(&mut chart, 12)
}

/// Draws the legend of a chart's labelled series as the figures do: a white, slightly transparent box
/// with a black border, labels in the bundled sans-serif at `font_size` px.
pub fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    font_size: u32,
) -> Result<(), ReportError>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", f64::from(font_size)))
        .draw()
        .map_err(plot_error)
}
