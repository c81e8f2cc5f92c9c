//! A plotters drawing backend that paints into an `RgbImage` and writes text with our own
//! bitmap font, so the loss plot can be a PNG without any font file: plotters' bitmap
//! backend would need system fonts or an embedded TrueType font for its labels.

use super::font;
use image::RgbImage;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingBackend, DrawingErrorKind};
use std::convert::Infallible;

/// Lends an image to plotters as its canvas.
pub struct Raster<'a>(pub &'a mut RgbImage);

/// The bitmap font's whole scale closest to a requested text size (the em, in pixels; a
/// capital is about 0.7 em high), at least 1.
fn font_scale(size: f64) -> u32 {
    (0.7 * size / f64::from(font::CAP_H)).round().max(1.0) as u32
}

impl DrawingBackend for Raster<'_> {
    /// Drawing into memory cannot fail.
    type ErrorType = Infallible;

    fn get_size(&self) -> (u32, u32) {
        self.0.dimensions()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Infallible>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Infallible>> {
        Ok(())
    }

    /// Blends `color` over the pixel by its alpha; points off the canvas are skipped.
    fn draw_pixel(
        &mut self,
        (x, y): BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        let (w, h) = self.0.dimensions();
        if x < 0 || y < 0 || x as u32 >= w || y as u32 >= h {
            return Ok(());
        }
        let a = color.alpha.clamp(0.0, 1.0);
        let p = self.0.get_pixel_mut(x as u32, y as u32);
        let (r, g, b) = color.rgb;
        for (dst, src) in p.0.iter_mut().zip([r, g, b]) {
            *dst = (f64::from(src) * a + f64::from(*dst) * (1.0 - a)).round() as u8;
        }
        Ok(())
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        let scale = font_scale(style.size());
        let (w, h) = font::text_size(text, scale);
        let (w, h) = (w as i32, h as i32);
        // Offset of the text's top-left corner from the anchor, before rotation.
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Center => -w / 2,
            HPos::Right => -w,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -h / 2,
            VPos::Bottom => -h,
        };
        let turn = style.transform();
        let color = style.color();
        for (x, y) in font::pixels(text, scale) {
            let (x, y) = turn.transform(x as i32 + dx, y as i32 + dy);
            self.draw_pixel((pos.0 + x, pos.1 + y), color)?;
        }
        Ok(())
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Infallible>> {
        // plotters asks for the size of the text laid horizontally, rotation or not.
        Ok(font::text_size(text, font_scale(style.size())))
    }
}
