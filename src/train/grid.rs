//! Sample grids a person can read: rows of labelled images on a light background, each
//! image enlarged by a whole factor (nearest neighbour, no smoothing) to at least
//! [`MIN_HEIGHT`] pixels, its label written above it in our bitmap font.
//!
//! Layout: a [`MARGIN`] around everything; in each row, cells left to right [`SPACING`]
//! apart, each cell a label band [`LABEL_BAND`] high over its image, the cell as wide as the
//! wider of the two; rows [`SPACING`] apart, each as high as its tallest cell.

use super::font;
use crate::error::{Error, Result};
use crate::io::image::to_rgb;
use crate::tensor::Tensor;
use image::{Rgb, RgbImage};
use std::path::Path;

/// Images lower than this are enlarged by the smallest whole factor reaching it.
pub const MIN_HEIGHT: u32 = 128;
/// Blank border around the grid, in pixels.
pub const MARGIN: u32 = 8;
/// Gap between cells in a row and between rows.
pub const SPACING: u32 = 8;
/// Labels are drawn with each font pixel as a `LABEL_SCALE`² square.
pub const LABEL_SCALE: u32 = 2;
/// Height of the band above each image that holds its label (glyphs and a gap below them).
pub const LABEL_BAND: u32 = font::GLYPH_H * LABEL_SCALE + 4;

const BACKGROUND: Rgb<u8> = Rgb([250, 250, 250]);
const INK: Rgb<u8> = Rgb([20, 20, 20]);

/// The whole factor by which an image `height` pixels high is enlarged: never below 1.
pub fn enlargement(height: u32) -> u32 {
    MIN_HEIGHT.div_ceil(height.max(1)).max(1)
}

/// One laid-out cell: its label, its enlarged image, and its width.
struct Cell<'a> {
    label: &'a str,
    image: RgbImage,
    width: u32,
}

fn cell<'a>(label: &'a str, t: &Tensor) -> Result<Cell<'a>> {
    let small =
        to_rgb(t).map_err(|e| Error::Invalid { op: "sample grid", msg: format!("image {label:?}: {e}") })?;
    let k = enlargement(small.height());
    let image = image::imageops::resize(
        &small,
        small.width() * k,
        small.height() * k,
        image::imageops::FilterType::Nearest,
    );
    let width = image.width().max(font::text_size(label, LABEL_SCALE).0);
    Ok(Cell { label, image, width })
}

/// Draws `text` in ink with its top-left corner at (x, y), clipped to the canvas.
fn write(canvas: &mut RgbImage, x: u32, y: u32, text: &str) {
    for (dx, dy) in font::pixels(text, LABEL_SCALE) {
        if x + dx < canvas.width() && y + dy < canvas.height() {
            canvas.put_pixel(x + dx, y + dy, INK);
        }
    }
}

/// Lays out rows of labelled images (tensors [1, c, h, w] or [c, h, w], c = 1 or 3, values
/// in [-1, 1]); rows may hold images of different sizes.
pub fn render(rows: &[Vec<(String, Tensor)>]) -> Result<RgbImage> {
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .filter(|row| !row.is_empty())
        .map(|row| row.iter().map(|(label, t)| cell(label, t)).collect::<Result<_>>())
        .collect::<Result<_>>()?;
    if cells.is_empty() {
        return Err(Error::Invalid { op: "sample grid", msg: "no images to show".into() });
    }
    let row_width = |row: &[Cell]| row.iter().map(|c| c.width + SPACING).sum::<u32>() - SPACING;
    let row_height = |row: &[Cell]| LABEL_BAND + row.iter().map(|c| c.image.height()).max().unwrap_or(0);
    let width = cells.iter().map(|r| row_width(r)).max().unwrap_or(0) + 2 * MARGIN;
    let height = cells.iter().map(|r| row_height(r) + SPACING).sum::<u32>() - SPACING + 2 * MARGIN;
    let mut canvas = RgbImage::from_pixel(width, height, BACKGROUND);
    let mut y = MARGIN;
    for row in &cells {
        let mut x = MARGIN;
        for c in row {
            write(&mut canvas, x, y, c.label);
            image::imageops::replace(&mut canvas, &c.image, i64::from(x), i64::from(y + LABEL_BAND));
            x += c.width + SPACING;
        }
        y += row_height(row) + SPACING;
    }
    Ok(canvas)
}

/// Renders the grid and writes it atomically, as a JPEG when the name ends in .jpg or
/// .jpeg (as StarGAN's reference names its grids), otherwise as a PNG.
pub fn save(path: &Path, rows: &[Vec<(String, Tensor)>]) -> Result<()> {
    let img = render(rows)?;
    let format = match image::ImageFormat::from_path(path) {
        Ok(image::ImageFormat::Jpeg) => image::ImageFormat::Jpeg,
        _ => image::ImageFormat::Png,
    };
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
    crate::io::write_atomic(path, &bytes)
}
