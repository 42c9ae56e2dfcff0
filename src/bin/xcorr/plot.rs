//! Pictures a person reads: 2-D maps as heatmaps with axes in the result's own coordinates,
//! a colour bar with its value range and the best peaks marked; 1-D results as a line plot
//! against the lag axis with the peak marked (PNG or SVG).
//!
//! Drawn with plotters; text uses the Go font bundled in `fonts/` (BSD licence), registered
//! with ab_glyph, so no system fonts or fontconfig are needed.

use crate::output::{file_error, write_atomic, write_rgb_png};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;
use xcorr::{Error, Result};

/// The bundled font's family name as plotters knows it.
pub const FONT: &str = "sans-serif";

/// Register the bundled font with plotters (once per process).
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("fonts/Go-Regular.ttf"),
        )
        .unwrap_or_else(|_| panic!("the bundled font is a valid TrueType file"));
    });
}

/// A perceptual colour map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Colormap {
    #[default]
    Turbo,
    Viridis,
    Magma,
    Grey,
}

impl Colormap {
    /// The colour of `t` in [0, 1] (clamped).
    pub fn rgb(self, t: f64) -> [u8; 3] {
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let c = match self {
            Colormap::Turbo => colorous::TURBO.eval_continuous(t),
            Colormap::Viridis => colorous::VIRIDIS.eval_continuous(t),
            Colormap::Magma => colorous::MAGMA.eval_continuous(t),
            Colormap::Grey => colorous::GREYS.eval_continuous(1.0 - t),
        };
        [c.r, c.g, c.b]
    }
}

/// What a heatmap shows: `values` (row-major, `rows × cols`), the coordinate of the first
/// row and column (lags for `correlate`, scene pixels for `match`), axis names, and the
/// peaks to mark as `(row, col)` indices into `values`, best first.
pub struct Heatmap<'a> {
    pub values: &'a [f64],
    pub rows: usize,
    pub cols: usize,
    pub first_row: i64,
    pub first_col: i64,
    pub row_label: &'a str,
    pub col_label: &'a str,
    pub value_label: &'a str,
    pub peaks: &'a [(usize, usize)],
    pub colormap: Colormap,
}

/// Side of the map's drawing at which small maps stop being enlarged.
const TARGET_SIDE: usize = 480;
/// Larger maps are shrunk (by whole factors) to at most about this side.
const MAX_SIDE: usize = 1000;
const LEFT: u32 = 70;
const BOTTOM: u32 = 50;
const TOP: u32 = 16;
/// The colour bar and its labels.
const RIGHT: u32 = 130;
const BAR_GAP: u32 = 14;
const BAR_WIDTH: u32 = 20;

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    file_error(path, format!("cannot draw ({e})"))
}

/// How many screen pixels per element (>= 1: enlarged nearest-neighbour) or elements per
/// screen pixel (shrunk), and the drawing's size.
fn scale(rows: usize, cols: usize) -> (f64, u32, u32) {
    let side = rows.max(cols).max(1);
    let s = if side < TARGET_SIDE {
        (TARGET_SIDE / side).max(1) as f64
    } else if side > MAX_SIDE {
        1.0 / side.div_ceil(MAX_SIDE) as f64
    } else {
        1.0
    };
    let w = ((cols as f64 * s).ceil() as u32).max(1);
    let h = ((rows as f64 * s).ceil() as u32).max(1);
    (s, w, h)
}

/// Value range of the finite values (a flat or empty map gets a unit range around it).
pub fn value_range(values: &[f64]) -> (f64, f64) {
    let (lo, hi) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

/// Render `map` into an RGB image: axes, the map, the colour bar, the peaks.
pub fn render_heatmap(map: &Heatmap<'_>, path: &Path) -> Result<image::RgbImage> {
    register_font();
    if map.rows == 0 || map.cols == 0 {
        return Err(file_error(path, "cannot draw an empty array"));
    }
    let (s, pw, ph) = scale(map.rows, map.cols);
    let (width, height) = (LEFT + pw + RIGHT, TOP + ph + BOTTOM);
    let mut buf = vec![255u8; (width * height * 3) as usize];
    let (lo, hi) = value_range(map.values);
    let x_range = map.first_col as f64 - 0.5..map.first_col as f64 + map.cols as f64 - 0.5;
    // Rows grow downwards as in an image: the axis runs over the negated row coordinate
    // and the labels negate it back.
    let y_range = -(map.first_row as f64 + map.rows as f64 - 0.5)..-(map.first_row as f64 - 0.5);
    let draw = |buf: &mut [u8], marks: bool| -> std::result::Result<(), String> {
        let root = BitMapBackend::with_buffer(buf, (width, height)).into_drawing_area();
        let (main, bar) = root.split_horizontally(LEFT + pw);
        let mut chart = ChartBuilder::on(&main)
            .margin_top(TOP)
            .x_label_area_size(BOTTOM)
            .y_label_area_size(LEFT)
            .build_cartesian_2d(x_range.clone(), y_range.clone())
            .map_err(|e| e.to_string())?;
        if !marks {
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(map.col_label)
                .y_desc(map.row_label)
                .label_style((FONT, 14))
                .axis_desc_style((FONT, 15))
                .x_label_formatter(&|v| integer_label(*v))
                .y_label_formatter(&|v| integer_label(-*v))
                .draw()
                .map_err(|e| e.to_string())?;
            draw_colour_bar(&bar, ph, lo, hi, map.value_label, map.colormap)?;
        } else {
            for (rank, &(r, c)) in map.peaks.iter().enumerate() {
                let x = map.first_col as f64 + c as f64;
                let y = -(map.first_row as f64 + r as f64);
                let ring = (8.0 + s / 2.0).min(16.0) as i32;
                // A white ring with a black edge reads on every colour of the map; the rank
                // sits at its upper right.
                let label = (FONT, 16).into_font().color(&WHITE);
                let mark = EmptyElement::at((x, y))
                    + Circle::new((0, 0), ring, WHITE.stroke_width(3))
                    + Circle::new((0, 0), ring + 2, BLACK.stroke_width(1))
                    + Text::new(format!("{}", rank + 1), (ring, -ring - 14), label);
                chart.draw_series([mark]).map_err(|e| e.to_string())?;
            }
        }
        root.present().map_err(|e| e.to_string())
    };
    draw(&mut buf, false).map_err(|e| plot_error(path, e))?;
    // The map's pixels, nearest-neighbour (enlarged) or the best of each block (shrunk, so
    // a one-element peak is not lost).
    let colour_of = |v: f64| map.colormap.rgb((v - lo) / (hi - lo));
    for py in 0..ph {
        for px in 0..pw {
            let v = if s >= 1.0 {
                let r = ((py as f64 / s) as usize).min(map.rows - 1);
                let c = ((px as f64 / s) as usize).min(map.cols - 1);
                map.values[r * map.cols + c]
            } else {
                let k = (1.0 / s).round() as usize;
                let (r0, c0) = (py as usize * k, px as usize * k);
                let mut best = f64::NEG_INFINITY;
                for r in r0..(r0 + k).min(map.rows) {
                    for c in c0..(c0 + k).min(map.cols) {
                        best = best.max(map.values[r * map.cols + c]);
                    }
                }
                best
            };
            put(&mut buf, width, LEFT + px, TOP + py, colour_of(v));
        }
    }
    draw(&mut buf, true).map_err(|e| plot_error(path, e))?;
    image::RgbImage::from_raw(width, height, buf).ok_or_else(|| plot_error(path, "buffer size"))
}

fn put(buf: &mut [u8], width: u32, x: u32, y: u32, rgb: [u8; 3]) {
    let i = ((y * width + x) * 3) as usize;
    if i + 3 <= buf.len() {
        buf[i..i + 3].copy_from_slice(&rgb);
    }
}

/// The colour bar: one band per pixel row from `lo` (bottom) to `hi` (top), with its
/// value axis.
fn draw_colour_bar(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    bar_height: u32,
    lo: f64,
    hi: f64,
    label: &str,
    colormap: Colormap,
) -> std::result::Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(TOP)
        .margin_left(BAR_GAP)
        .margin_bottom(BOTTOM)
        .right_y_label_area_size(RIGHT - BAR_GAP - BAR_WIDTH)
        // Tick marks as long as the labels' overhang, which otherwise sit on the bar.
        .set_label_area_size(LabelAreaPosition::Right, RIGHT - BAR_GAP - BAR_WIDTH)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(|e| e.to_string())?;
    let bands = bar_height.max(2) as usize;
    let step = (hi - lo) / bands as f64;
    chart
        .draw_series((0..bands).map(|i| {
            let v = lo + step * i as f64;
            let [r, g, b] = colormap.rgb((i as f64 + 0.5) / bands as f64);
            Rectangle::new([(0.0, v), (1.0, v + step)], RGBColor(r, g, b).filled())
        }))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(label)
        .set_tick_mark_size(LabelAreaPosition::Right, 8)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .y_label_formatter(&|v| value_label(*v))
        .y_labels(6)
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Axis labels of element coordinates: whole numbers only (a tick between two elements
/// of a small, enlarged map stays unlabelled).
fn integer_label(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{}", v.round() as i64)
    } else {
        String::new()
    }
}

/// Short labels for values of any size.
pub fn value_label(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Write a heatmap as PNG, atomically.
pub fn write_heatmap(map: &Heatmap<'_>, path: &Path) -> Result<()> {
    let image = render_heatmap(map, path)?;
    write_rgb_png(path, &image)
}

/// A 1-D result against its lag axis: `lags[i]` is the coordinate of `values[i]`.
pub struct LinePlot<'a> {
    pub lags: &'a [i64],
    pub values: &'a [f64],
    pub x_label: &'a str,
    pub y_label: &'a str,
}

const LINE_SIZE: (u32, u32) = (800, 400);

fn draw_line_plot<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    plot: &LinePlot<'_>,
) -> std::result::Result<(), String> {
    let (lo, hi) = value_range(plot.values);
    let pad = (hi - lo) * 0.08;
    let first = *plot.lags.first().unwrap_or(&0) as f64;
    let last = *plot.lags.last().unwrap_or(&0) as f64;
    let x_range = if last > first {
        first..last
    } else {
        first - 1.0..first + 1.0
    };
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .margin(16)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, lo - pad..hi + pad)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc(plot.x_label)
        .y_desc(plot.y_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .x_label_formatter(&|v| integer_label(*v))
        .y_label_formatter(&|v| value_label(*v))
        .draw()
        .map_err(|e| e.to_string())?;
    let blue = RGBColor(31, 119, 180);
    chart
        .draw_series(LineSeries::new(
            plot.lags
                .iter()
                .zip(plot.values)
                .map(|(&x, &y)| (x as f64, y)),
            blue.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
    if let Some((i, &v)) = plot
        .values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
    {
        let x = plot.lags[i] as f64;
        let red = RGBColor(214, 39, 40);
        // The label beside the marker, clear of the curve's peak.
        let mark = EmptyElement::at((x, v))
            + Circle::new((0, 0), 6, red.stroke_width(2))
            + Text::new(
                format!("peak: lag {}, {}", plot.lags[i], value_label(v)),
                (10, -4),
                (FONT, 15).into_font().color(&red),
            );
        chart.draw_series([mark]).map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Write a line plot as `.png` or `.svg` (by the extension), atomically.
pub fn write_line_plot(plot: &LinePlot<'_>, path: &Path, svg: bool) -> Result<()> {
    register_font();
    if plot.values.is_empty() {
        return Err(file_error(path, "cannot draw an empty array"));
    }
    if svg {
        let mut text = String::new();
        draw_line_plot(
            SVGBackend::with_string(&mut text, LINE_SIZE).into_drawing_area(),
            plot,
        )
        .map_err(|e| plot_error(path, e))?;
        write_atomic(path, |w| {
            std::io::Write::write_all(w, text.as_bytes())
                .map_err(|e| file_error(path, format!("cannot write: {e}")))
        })
    } else {
        let (w, h) = LINE_SIZE;
        let mut buf = vec![255u8; (w * h * 3) as usize];
        draw_line_plot(
            BitMapBackend::with_buffer(&mut buf, LINE_SIZE).into_drawing_area(),
            plot,
        )
        .map_err(|e| plot_error(path, e))?;
        let image =
            image::RgbImage::from_raw(w, h, buf).ok_or_else(|| plot_error(path, "buffer size"))?;
        write_rgb_png(path, &image)
    }
}

/// Where a result's elements sit: the coordinate of its first row and column (lags for
/// `correlate`, pixels for `match`), and what the axes and values are called.
pub struct Axes<'a> {
    pub first_row: i64,
    pub first_col: i64,
    pub row_label: &'a str,
    pub col_label: &'a str,
    pub value_label: &'a str,
}

impl Axes<'static> {
    /// Plain indices.
    pub fn indices() -> Axes<'static> {
        Axes {
            first_row: 0,
            first_col: 0,
            row_label: "row",
            col_label: "column",
            value_label: "value",
        }
    }
}

/// Draw a result: a 2-D array as a heatmap (`.png`) with `peaks` marked, a 1-D array as a
/// line plot (`.png` or `.svg`). Complex results are drawn by magnitude.
pub fn write_result<T: xcorr::Element>(
    path: &Path,
    array: &xcorr::Array<T>,
    axes: &Axes<'_>,
    peaks: &[(usize, usize)],
    colormap: Colormap,
    svg: bool,
) -> Result<()> {
    let values: Vec<f64> = array
        .data()
        .iter()
        .map(|v| {
            if T::IS_COMPLEX {
                v.abs_f64()
            } else {
                xcorr::Real::to_f64(v.to_complex().re)
            }
        })
        .collect();
    let shape = array.shape();
    if shape.ndim() == 1 {
        let lags: Vec<i64> = (0..values.len() as i64)
            .map(|i| axes.first_col + i)
            .collect();
        let value_label = if T::IS_COMPLEX {
            "|value|"
        } else {
            axes.value_label
        };
        return write_line_plot(
            &LinePlot {
                lags: &lags,
                values: &values,
                x_label: axes.col_label,
                y_label: value_label,
            },
            path,
            svg,
        );
    }
    if svg {
        return Err(file_error(
            path,
            "an .svg plot is for 1-D results; write 2-D results as .png",
        ));
    }
    write_heatmap(
        &Heatmap {
            values: &values,
            rows: shape.rows(),
            cols: shape.cols(),
            first_row: axes.first_row,
            first_col: axes.first_col,
            row_label: axes.row_label,
            col_label: axes.col_label,
            value_label: if T::IS_COMPLEX {
                "|value|"
            } else {
                axes.value_label
            },
            peaks,
            colormap,
        },
        path,
    )
}

/// `(row, col)` of the largest value (magnitude for complex results); the first on a tie.
pub fn best_index<T: xcorr::Element>(array: &xcorr::Array<T>) -> (usize, usize) {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in array.data().iter().enumerate() {
        let s = if T::IS_COMPLEX {
            v.abs_f64()
        } else {
            xcorr::Real::to_f64(v.to_complex().re)
        };
        if s > best.1 {
            best = (i, s);
        }
    }
    let cols = array.shape().cols();
    (best.0 / cols, best.0 % cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_has_a_colour_bar_axes_and_enlarged_elements() {
        let values: Vec<f64> = (0..12).map(|i| i as f64).collect();
        let map = Heatmap {
            values: &values,
            rows: 3,
            cols: 4,
            first_row: -1,
            first_col: -2,
            row_label: "row lag",
            col_label: "column lag",
            value_label: "value",
            peaks: &[(2, 3)],
            colormap: Colormap::Viridis,
        };
        let img = render_heatmap(&map, Path::new("x.png")).unwrap();
        let (s, pw, ph) = scale(3, 4);
        assert_eq!(s, (TARGET_SIDE / 4) as f64);
        assert_eq!(img.dimensions(), (LEFT + pw + RIGHT, TOP + ph + BOTTOM));
        // Element (0, 0) is the minimum: the whole enlarged block has its colour.
        let low = image::Rgb(Colormap::Viridis.rgb(0.0));
        for (x, y) in [
            (LEFT + 1, TOP + 1),
            (LEFT + s as u32 - 2, TOP + s as u32 - 2),
        ] {
            assert_eq!(*img.get_pixel(x, y), low);
        }
        // The colour bar right of the map: the maximum's colour at its top, the minimum's
        // at its bottom (the end bands' colours, within a step of the map).
        let near = |p: &image::Rgb<u8>, t: f64| {
            let c = Colormap::Viridis.rgb(t);
            p.0.iter().zip(c).all(|(&a, b)| a.abs_diff(b) <= 6)
        };
        let bar: Vec<u32> = (LEFT + pw..img.width())
            .filter(|&x| {
                let top = (0..img.height()).position(|y| near(img.get_pixel(x, y), 1.0));
                let bottom = (0..img.height()).rposition(|y| near(img.get_pixel(x, y), 0.0));
                matches!((top, bottom), (Some(t), Some(b)) if b > t + ph as usize / 2)
            })
            .collect();
        assert!(
            bar.len() >= BAR_WIDTH as usize - 4,
            "colour bar columns {bar:?}"
        );
        // Axis labels are drawn (dark pixels left of the map and below it).
        let dark = |x0: u32, x1: u32, y0: u32, y1: u32| {
            (x0..x1)
                .flat_map(|x| (y0..y1).map(move |y| (x, y)))
                .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&v| v < 100))
                .count()
        };
        assert!(dark(0, LEFT - 2, TOP, TOP + ph) > 50);
        assert!(dark(LEFT, LEFT + pw, TOP + ph + 2, TOP + ph + BOTTOM) > 50);
    }

    #[test]
    fn value_labels_stay_short() {
        assert_eq!(value_label(0.5), "0.5");
        assert_eq!(value_label(1234.0), "1234");
        assert_eq!(value_label(1.5e7), "1.50e7");
        assert_eq!(value_label(0.0), "0");
    }
}
