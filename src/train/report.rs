//! What a run shows a person: the loss curves as a plot with axes, tick labels and a legend
//! (SVG for the page, PNG for a quick look), and `web/index.html` with the plot inline and
//! the sample grids newest first, like the reference's web page.

use super::raster::Raster;
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Loss values by step: (step, [(loss name, value)]).
pub type History = Vec<(usize, Vec<(String, f32)>)>;

/// Plot size in pixels.
const SIZE: (u32, u32) = (800, 360);
/// The most points drawn per series; longer series are averaged in equal runs of steps.
pub const MAX_POINTS: usize = 2000;

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// One line of the plot: a loss name and its finite values by step, at most [`MAX_POINTS`].
struct Series {
    name: String,
    points: Vec<(u64, f64)>,
}

/// Splits the history into one series per loss name, in order of first appearance, skipping
/// NaN and infinite values, averaging runs of consecutive points down to [`MAX_POINTS`].
fn series(history: &History) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for (step, losses) in history {
        for (name, v) in losses {
            let k = match out.iter().position(|s| &s.name == name) {
                Some(k) => k,
                None => {
                    out.push(Series { name: name.clone(), points: Vec::new() });
                    out.len() - 1
                }
            };
            if v.is_finite() {
                out[k].points.push((*step as u64, f64::from(*v)));
            }
        }
    }
    for s in &mut out {
        let run = s.points.len().div_ceil(MAX_POINTS).max(1);
        if run > 1 {
            s.points = s
                .points
                .chunks(run)
                .map(|c| (c[c.len() / 2].0, c.iter().map(|p| p.1).sum::<f64>() / c.len() as f64))
                .collect();
        }
    }
    out
}

/// The plotted ranges: steps first to last, losses with 5% headroom (from 0 where all
/// losses are positive and close enough to it to keep it in view).
fn ranges(series: &[Series]) -> (std::ops::Range<u64>, std::ops::Range<f64>) {
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = all().fold((u64::MAX, 0), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    if x0 > x1 {
        return (0..1, 0.0..1.0);
    }
    let pad = ((y1 - y0) * 0.05).max(y1.abs().max(1e-3) * 0.05);
    let lo = if y0 >= 0.0 && y0 < y1 - y0 { 0.0 } else { y0 - pad };
    // A single step sits in the middle of a range two steps wide.
    let xs = if x0 == x1 { x0.saturating_sub(1)..x0 + 1 } else { x0..x1 };
    (xs, lo..y1 + pad)
}

type Drawn<DB> = std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws the loss plot onto any plotters backend.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, history: &History) -> Drawn<DB> {
    root.fill(&WHITE)?;
    let series = series(history);
    let (xs, ys) = ranges(&series);
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(xs, ys)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("loss")
        .x_labels(8)
        .y_labels(6)
        .light_line_style(RGBColor(235, 235, 235))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()?;
    if series.iter().all(|s| s.points.is_empty()) {
        let (w, h) = root.dim_in_pixel();
        let note = ("sans-serif", 16)
            .into_font()
            .color(&RGBColor(120, 120, 120))
            .pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new("no finite losses yet", (w as i32 / 2, h as i32 / 2), note))?;
        return root.present();
    }
    for (k, s) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let style = colour.stroke_width(2);
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), style))?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        if let [only] = s.points[..] {
            chart.draw_series([Circle::new(only, 3, colour.filled())])?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()
}

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Invalid { op: "loss plot", msg: e.to_string() }
}

/// The loss plot as an SVG document: axes captioned "step" and "loss", tick labels, one
/// line per loss name, and a legend. Text stays text, so no font is needed to make it.
/// Should plotters refuse to draw, the document says why instead.
pub fn loss_svg(history: &History) -> String {
    let mut svg = String::new();
    let drawn = draw(&SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(), history);
    match drawn {
        Ok(()) => svg,
        Err(e) => format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"40\"><text x=\"8\" y=\"24\">could not draw the loss plot: {}</text></svg>\n",
            SIZE.0,
            escape(&e.to_string())
        ),
    }
}

/// The loss plot as a PNG at `path`, its text in our bitmap font.
pub fn plot_png(history: &History, path: &Path) -> Result<()> {
    let mut image = image::RgbImage::new(SIZE.0, SIZE.1);
    draw(&Raster(&mut image).into_drawing_area(), history).map_err(plot_error)?;
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
    crate::io::write_atomic(path, &bytes)
}

/// `text` with the characters HTML gives meaning to escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Writes `<dir>/web/loss.svg` and `<dir>/web/index.html`: the latest losses, the plot
/// inline, and every sample grid in `<dir>/web/images/`, newest first.
pub fn html(dir: &Path, name: &str, history: &History) -> Result<()> {
    let web = dir.join("web");
    std::fs::create_dir_all(&web)
        .map_err(|e| Error::File { path: web.display().to_string(), msg: e.to_string() })?;
    let svg = loss_svg(history);
    crate::io::write_atomic(&web.join("loss.svg"), svg.as_bytes())?;
    let mut grids: Vec<String> = std::fs::read_dir(web.join("images"))
        .map(|rd| rd.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    grids.retain(|g| g.ends_with(".png"));
    // Newest first: by the leading step number (`1000-images.png`), else by name.
    let key = |g: &String| {
        let digits: String = g.chars().take_while(char::is_ascii_digit).collect();
        (digits.parse::<u64>().unwrap_or(0), g.clone())
    };
    grids.sort_unstable_by_key(|g| std::cmp::Reverse(key(g)));
    let latest = history
        .last()
        .map(|(step, losses)| {
            let values: Vec<String> = losses.iter().map(|(n, v)| format!("{} {v:.3}", escape(n))).collect();
            format!("<p>step {step}: {}</p>\n", values.join(", "))
        })
        .unwrap_or_default();
    let images: String = grids
        .iter()
        .map(|g| {
            let g = escape(g);
            format!("<figure><img src=\"images/{g}\" alt=\"{g}\"><figcaption>{g}</figcaption></figure>\n")
        })
        .collect();
    let name = escape(name);
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{name}</title>\
         <meta http-equiv=\"refresh\" content=\"60\">\n<style>body {{ font-family: sans-serif; margin: 1em 2em; }} \
         img {{ max-width: 100%; image-rendering: pixelated; }} figure {{ margin: 1em 0; }}</style></head>\n\
         <body><h1>{name}</h1>\n{latest}{svg}\n<h2>Samples (newest first)</h2>\n{images}</body></html>\n"
    );
    crate::io::write_atomic(&web.join("index.html"), page.as_bytes())
}
