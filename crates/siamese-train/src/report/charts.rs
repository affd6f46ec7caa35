//! PNG charts drawn with plotters into an RGB buffer and encoded with the `image` crate;
//! text uses the embedded DejaVu Sans, so no system font is needed.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::TrainError;

/// The font every chart uses, registered once.
const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// Chart size in pixels.
pub const SIZE: (u32, u32) = (900, 560);

/// A named series of `(x, y)` points with its colour.
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// Points in x order.
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub color: RGBColor,
}

/// Colours for classes and series (colour-blind-safe Okabe–Ito, then a few more).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
    RGBColor(128, 128, 128),
    RGBColor(153, 79, 0),
];

fn chart_error(path: &Path, error: impl std::fmt::Display) -> TrainError {
    TrainError::run(path, format!("cannot draw the chart: {error}"))
}

/// Draws with `draw` on a white canvas of [`SIZE`] and writes the PNG to `path`.
fn render(
    path: &Path,
    draw: impl FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<(), TrainError> {
    render_sized(path, SIZE, draw)
}

/// Draws with `draw` on a white canvas of `(width, height)` pixels and writes the PNG to
/// `path`.
fn render_sized(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<(), TrainError> {
    REGISTER.call_once(|| {
        // The font is compiled in; registering it cannot fail for a valid TTF.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
    let mut buffer = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|error| chart_error(path, error))?;
        draw(&root).map_err(|error| chart_error(path, error))?;
        root.present().map_err(|error| chart_error(path, error))?;
    }
    let image = image::RgbImage::from_raw(width, height, buffer)
        .ok_or_else(|| chart_error(path, "buffer size"))?;
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|error| chart_error(path, error))?;
    crate::run_dir::write_atomic(path, &bytes)
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values
        .filter(|value| value.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| {
            (low.min(value), high.max(value))
        });
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    if high - low < 1e-12 {
        return (low - 0.5, high + 0.5);
    }
    let pad = (high - low) * 0.05;
    (low - pad, high + pad)
}

/// Line charts stacked vertically, one panel per `(title, y label, series)`, sharing the
/// x axis label.
pub fn line_panels(
    path: &Path,
    x_label: &str,
    panels: &[(&str, &str, Vec<Series>)],
) -> Result<(), TrainError> {
    render(path, |root| {
        let areas = root.split_evenly((panels.len(), 1));
        for (area, (title, y_label, series)) in areas.iter().zip(panels) {
            let (x_low, x_high) = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
            let (y_low, y_high) = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
            let mut chart = ChartBuilder::on(area)
                .caption(*title, (FONT, 20))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x_low..x_high, y_low..y_high)
                .map_err(|error| error.to_string())?;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(*y_label)
                .label_style((FONT, 14))
                .axis_desc_style((FONT, 15))
                .draw()
                .map_err(|error| error.to_string())?;
            for line in series {
                let color = line.color;
                let finite: Vec<(f64, f64)> = line
                    .points
                    .iter()
                    .copied()
                    .filter(|p| p.1.is_finite())
                    .collect();
                // Dense, noisy series (per-step values): the raw values faint, a moving
                // average on top. Thin lines only: plotters' thick lines leave artefacts on
                // near-vertical segments.
                let window = finite.len() / 40;
                if window > 1 {
                    chart
                        .draw_series(LineSeries::new(finite.iter().copied(), color.mix(0.3)))
                        .map_err(|error| error.to_string())?;
                    let smooth = moving_average(&finite, window);
                    chart
                        .draw_series(LineSeries::new(smooth, color.stroke_width(1)))
                        .map_err(|error| error.to_string())?
                        .label(format!(
                            "{} (mean of {window} steps; raw values faint)",
                            line.label
                        ))
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                        });
                } else {
                    chart
                        .draw_series(LineSeries::new(
                            finite.iter().copied(),
                            color.stroke_width(1),
                        ))
                        .map_err(|error| error.to_string())?
                        .label(line.label)
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                        });
                    chart
                        .draw_series(
                            finite
                                .iter()
                                .map(|&point| Circle::new(point, 3, color.filled())),
                        )
                        .map_err(|error| error.to_string())?;
                }
            }
            if !series.is_empty() {
                legend(&mut chart, SeriesLabelPosition::LowerRight)?;
            }
        }
        Ok(())
    })
}

/// Draws the series legend of `chart` at `position`, in the style every chart shares.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(position)
        .draw()
        .map_err(|error| error.to_string())
}

/// Centred moving average over `window` points.
fn moving_average(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let half = window / 2;
    (0..points.len())
        .map(|i| {
            let (start, end) = (i.saturating_sub(half), (i + half + 1).min(points.len()));
            let mean = points[start..end].iter().map(|p| p.1).sum::<f64>() / (end - start) as f64;
            (points[i].0, mean)
        })
        .collect()
}

/// Fractions that add up to 1 at each x, drawn as stacked areas (bottom first).
pub fn stacked_fractions(
    path: &Path,
    title: &str,
    x_label: &str,
    layers: &[Series],
) -> Result<(), TrainError> {
    render(path, |root| {
        let (x_low, x_high) = range(layers.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(x_low..x_high, 0.0..1.0)
            .map_err(|error| error.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc("fraction of the batch's valid triplets")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(|error| error.to_string())?;
        // Cumulative tops, drawn from the top layer down so each covers the ones above.
        let window = layers
            .first()
            .map_or(0, |layer| layer.points.len() / 80)
            .max(1);
        let smoothed: Vec<Vec<(f64, f64)>> = layers
            .iter()
            .map(|layer| moving_average(&layer.points, window))
            .collect();
        let count = smoothed.first().map_or(0, Vec::len);
        let mut tops: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut running = vec![0.0; count];
        for layer in &smoothed {
            for (total, point) in running.iter_mut().zip(layer) {
                *total += point.1;
            }
            tops.push(
                layer
                    .iter()
                    .zip(&running)
                    .map(|(point, total)| (point.0, *total))
                    .collect(),
            );
        }
        for (layer, top) in layers.iter().zip(&tops).rev() {
            let color = layer.color;
            chart
                .draw_series(AreaSeries::new(
                    top.iter().copied(),
                    0.0,
                    color.mix(0.9).filled(),
                ))
                .map_err(|error| error.to_string())?
                .label(layer.label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.filled())
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// Density histograms of several samples on shared bins, with labelled vertical markers.
pub fn histograms(
    path: &Path,
    title: &str,
    x_label: &str,
    samples: &[(&str, &[f64], RGBColor)],
    markers: &[(String, f64, RGBColor)],
) -> Result<(), TrainError> {
    const BINS: usize = 60;
    render(path, |root| {
        let (low, high) = range(
            samples
                .iter()
                .flat_map(|(_, values, _)| values.iter().copied())
                .chain(markers.iter().map(|marker| marker.1)),
        );
        let width = (high - low) / BINS as f64;
        let densities: Vec<Vec<f64>> = samples
            .iter()
            .map(|(_, values, _)| {
                let mut counts = vec![0.0; BINS];
                for value in values.iter().filter(|v| v.is_finite()) {
                    let bin = (((value - low) / width) as usize).min(BINS - 1);
                    counts[bin] += 1.0;
                }
                let total = values.len().max(1) as f64 * width;
                counts.into_iter().map(|count| count / total).collect()
            })
            .collect();
        // Headroom above the tallest bar for the legend (upper right), so it never hides a
        // peak (it covered the different-class peak in a chromium screenshot of a report).
        let top = densities.iter().flatten().copied().fold(0.0, f64::max) * 1.45;
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(low..high, 0.0..top.max(1e-9))
            .map_err(|error| error.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc("density (area 1 per curve)")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(|error| error.to_string())?;
        for ((label, values, color), density) in samples.iter().zip(&densities) {
            let color = *color;
            chart
                .draw_series(density.iter().enumerate().map(|(bin, &value)| {
                    let left = low + bin as f64 * width;
                    Rectangle::new(
                        [(left, 0.0), (left + width, value)],
                        color.mix(0.45).filled(),
                    )
                }))
                .map_err(|error| error.to_string())?
                .label(format!("{label} ({} pairs)", values.len()))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.mix(0.45).filled())
                });
        }
        for (label, value, color) in markers {
            let color = *color;
            chart
                .draw_series(LineSeries::new(
                    vec![(*value, 0.0), (*value, top)],
                    color.stroke_width(2),
                ))
                .map_err(|error| error.to_string())?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// A ROC curve (FAR on a log x axis down to `min_far`, TAR on y) with the chance line and a
/// marked point. FAR values below `min_far` (no false accept) sit on the left edge.
pub fn roc(
    path: &Path,
    title: &str,
    curve: &[(f64, f64)],
    min_far: f64,
    marked: (&str, f64, f64),
) -> Result<(), TrainError> {
    render(path, |root| {
        let clamp = |far: f64| far.max(min_far);
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d((min_far..1.0).log_scale(), 0.0..1.0)
            .map_err(|error| error.to_string())?;
        chart
            .configure_mesh()
            .x_desc("false-accept rate, log scale (different pairs accepted)")
            .y_desc("true-accept rate (same pairs accepted)")
            .x_label_formatter(&|far| format!("{far:.0e}"))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(|error| error.to_string())?;
        let chance: Vec<(f64, f64)> = (0..=100)
            .map(|i| {
                let far = min_far * (1.0 / min_far).powf(f64::from(i) / 100.0);
                (far, far)
            })
            .collect();
        chart
            .draw_series(LineSeries::new(chance, PALETTE[8].stroke_width(1)))
            .map_err(|error| error.to_string())?
            .label("chance")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[8].stroke_width(1))
            });
        chart
            .draw_series(LineSeries::new(
                curve.iter().map(|&(far, tar)| (clamp(far), tar)),
                PALETTE[0].stroke_width(2),
            ))
            .map_err(|error| error.to_string())?
            .label("ROC")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[0].stroke_width(2))
            });
        let (label, far, tar) = marked;
        chart
            .draw_series(std::iter::once(Circle::new(
                (clamp(far), tar),
                6,
                PALETTE[5].filled(),
            )))
            .map_err(|error| error.to_string())?
            .label(label)
            .legend(|(x, y)| Circle::new((x + 10, y), 5, PALETTE[5].filled()));
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}

/// A scatter plot of labelled 2-D points, one colour per class, with a legend.
pub fn scatter(
    path: &Path,
    title: &str,
    axes: (&str, &str),
    points: &[(f64, f64, usize)],
    class_names: &[String],
) -> Result<(), TrainError> {
    render(path, |root| {
        let (x_low, x_high) = range(points.iter().map(|p| p.0));
        let (y_low, y_high) = range(points.iter().map(|p| p.1));
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .right_y_label_area_size(0)
            .build_cartesian_2d(x_low..x_high, y_low..y_high)
            .map_err(|error| error.to_string())?;
        chart
            .configure_mesh()
            .x_desc(axes.0)
            .y_desc(axes.1)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(|error| error.to_string())?;
        for (class, name) in class_names.iter().enumerate() {
            let color = PALETTE[class % PALETTE.len()];
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|point| point.2 == class)
                        .map(|point| Circle::new((point.0, point.1), 2, color.filled())),
                )
                .map_err(|error| error.to_string())?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, color.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// One bar: a value with its spread (the lowest and highest of repeated measurements).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// The bar's length (a median, say).
    pub value: f64,
    /// Lowest measurement, drawn as the whisker's left end.
    pub low: f64,
    /// Highest measurement, drawn as the whisker's right end.
    pub high: f64,
}

/// A group of bars, one per series, under one label (a benchmark configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    /// The group's label, drawn left of its bars.
    pub label: String,
    /// One entry per series; `Err(why)` where the series has no value (a failed run),
    /// drawn as that text in place of the bar.
    pub bars: Vec<Result<Bar, String>>,
}

/// Horizontal bars with min–max whiskers and the value written at each bar's end: one row
/// of bars per group, one bar per series (`(label, colour)`), top to bottom in `groups`
/// order; `reference` draws a labelled vertical line (a ratio of 1, say). The value axis is
/// logarithmic (bars from its left end): speed ratios of 1.2 and 60, or throughputs of 50
/// and 250,000 items per second, stay readable side by side; values must be positive. The
/// canvas grows with the number of bars.
pub fn horizontal_bars(
    path: &Path,
    title: &str,
    x_label: &str,
    series: &[(&str, RGBColor)],
    groups: &[BarGroup],
    reference: Option<(&str, f64)>,
) -> Result<(), TrainError> {
    /// Pixels per bar (one unit of the y axis).
    const BAR_PIXELS: f64 = 18.0;
    let per_group = series.len().max(1);
    let group_height = per_group as f64 + 0.6;
    let y_high = groups.len() as f64 * group_height;
    // Room under the last group for the legend.
    let y_low = -(series.len() as f64 + usize::from(reference.is_some()) as f64 + 1.0) * 1.4;
    let height = (((y_high - y_low) * BAR_PIXELS) as u32 + 120).max(SIZE.1);
    render_sized(path, (SIZE.0 + 100, height), |root| {
        let values = || {
            groups
                .iter()
                .flat_map(|group| group.bars.iter().flatten())
                .flat_map(|bar| [bar.low, bar.value, bar.high])
                .chain(reference.map(|(_, value)| value))
                .filter(|value| value.is_finite() && *value > 0.0)
        };
        let high = values().fold(f64::MIN_POSITIVE, f64::max);
        let low = values().fold(high, f64::min);
        // A margin left of the shortest bar, and room right of the longest for its value.
        let (x_low, x_high) = (low / 2.0, high * 2.5);
        let label_width = groups
            .iter()
            .map(|group| group.label.chars().count())
            .max()
            .unwrap_or(0) as u32
            * 8
            + 20;
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(label_width)
            .build_cartesian_2d((x_low..x_high).log_scale(), y_low..y_high)
            .map_err(|error| error.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .x_labels(6)
            .x_label_formatter(&|value| format_value(*value))
            .y_labels(0)
            .disable_y_mesh()
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(|error| error.to_string())?;
        // Group g's bar s spans [top - s - 0.9, top - s - 0.1], top = y_high - g · group_height - 0.3.
        let bar_span = |group: usize, bar: usize| {
            let top = y_high - group as f64 * group_height - 0.3 - bar as f64;
            (top - 0.9, top - 0.1)
        };
        let label_style = TextStyle::from((FONT, 14).into_font()).color(&BLACK);
        for (index, group) in groups.iter().enumerate() {
            let (bottom, _) = bar_span(index, per_group - 1);
            let (_, top) = bar_span(index, 0);
            let (x, y) = chart.backend_coord(&(x_low, (bottom + top) / 2.0));
            root.draw(&Text::new(
                group.label.clone(),
                (x - 8, y),
                label_style.pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(|error| error.to_string())?;
        }
        for (position, (label, color)) in series.iter().enumerate() {
            let color = *color;
            let rectangles = groups.iter().enumerate().filter_map(|(index, group)| {
                let bar = group.bars.get(position)?.as_ref().ok()?;
                let (bottom, top) = bar_span(index, position);
                Some(Rectangle::new(
                    [(x_low, bottom), (bar.value.max(x_low), top)],
                    color.mix(0.85).filled(),
                ))
            });
            chart
                .draw_series(rectangles)
                .map_err(|error| error.to_string())?
                .label(*label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.mix(0.85).filled())
                });
            for (index, group) in groups.iter().enumerate() {
                let Some(entry) = group.bars.get(position) else {
                    continue;
                };
                let (bottom, top) = bar_span(index, position);
                let middle = (bottom + top) / 2.0;
                let (text, end) = match entry {
                    Ok(bar) => {
                        chart
                            .draw_series(std::iter::once(PathElement::new(
                                vec![(bar.low, middle), (bar.high, middle)],
                                BLACK.stroke_width(1),
                            )))
                            .map_err(|error| error.to_string())?;
                        (format_value(bar.value), bar.value.max(bar.high))
                    }
                    Err(why) => (why.clone(), x_low),
                };
                let (x, y) = chart.backend_coord(&(end, middle));
                root.draw(&Text::new(
                    text,
                    (x + 4, y),
                    label_style.pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .map_err(|error| error.to_string())?;
            }
        }
        if let Some((label, value)) = reference {
            chart
                .draw_series(LineSeries::new(
                    vec![(value, y_low), (value, y_high)],
                    BLACK.stroke_width(1),
                ))
                .map_err(|error| error.to_string())?
                .label(label)
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(1))
                });
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}

/// A bar's value as text: three significant digits, no exponent for everyday magnitudes.
fn format_value(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}
