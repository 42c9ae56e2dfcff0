//! Overlays: the scene itself with what was found drawn on it — each match as a rectangle
//! the template's size with its rank and score beside it, the score map blended on top when
//! asked, a track's path so far.

use crate::plot::{register_font, value_label, Colormap, FONT};
use plotters::prelude::*;
use std::path::Path;
use xcorr::peaks::Peak;
use xcorr::{Error, Result};

/// Rectangle colours by rank (the best first), bright on photographs; then they repeat.
const PALETTE: [[u8; 3]; 6] = [
    [255, 64, 64],
    [64, 220, 64],
    [64, 160, 255],
    [255, 200, 0],
    [230, 80, 230],
    [0, 220, 220],
];
/// Small scenes are enlarged (nearest-neighbour) until their longer side is about this.
const MIN_SIDE: u32 = 384;

/// A picture being drawn: the scene enlarged by a whole `zoom`.
pub struct Canvas {
    pub image: image::RgbImage,
    pub zoom: u32,
}

impl Canvas {
    /// The scene from its file in colour if it is an image, else from the grey values
    /// (`rows × cols`, scaled min..max to black..white).
    pub fn from_scene(path: Option<&Path>, grey: &[f32], rows: usize, cols: usize) -> Canvas {
        let colour = path
            .filter(|p| xcorr::io::extension(p).as_deref() != Some("npy"))
            .and_then(|p| image::open(p).ok())
            .map(|i| i.to_rgb8())
            .filter(|i| i.dimensions() == (cols as u32, rows as u32));
        let base = colour.unwrap_or_else(|| {
            let (lo, hi) =
                crate::plot::value_range(&grey.iter().map(|&v| v as f64).collect::<Vec<_>>());
            image::RgbImage::from_fn(cols as u32, rows as u32, |x, y| {
                let v = grey[y as usize * cols + x as usize] as f64;
                let g = ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8;
                image::Rgb([g, g, g])
            })
        });
        let side = rows.max(cols).max(1) as u32;
        let zoom = (MIN_SIDE / side).max(1);
        let image = if zoom > 1 {
            image::imageops::resize(
                &base,
                cols as u32 * zoom,
                rows as u32 * zoom,
                image::imageops::FilterType::Nearest,
            )
        } else {
            base
        };
        Canvas { image, zoom }
    }

    /// Blend a map of scores in [0, 1] (`rows × cols`, element (r, c) is the template's
    /// top-left corner at scene pixel (r, c)) over the scene, each score drawn at the centre
    /// of its template window so the bright spot sits on the object.
    pub fn blend_map(
        &mut self,
        map: &[f32],
        rows: usize,
        cols: usize,
        template: (usize, usize),
        colormap: Colormap,
    ) {
        let (oy, ox) = (template.0 / 2, template.1 / 2);
        let z = self.zoom as usize;
        let (w, h) = self.image.dimensions();
        for r in 0..rows {
            for c in 0..cols {
                let rgb = colormap.rgb(map[r * cols + c] as f64);
                for dy in 0..z {
                    for dx in 0..z {
                        let (x, y) = (((c + ox) * z + dx) as u32, ((r + oy) * z + dy) as u32);
                        if x < w && y < h {
                            let p = self.image.get_pixel_mut(x, y);
                            for (v, m) in p.0.iter_mut().zip(rgb) {
                                *v = ((*v as u16 + m as u16) / 2) as u8;
                            }
                        }
                    }
                }
            }
        }
    }

    /// One rectangle per match (template-sized, 2 px lines), rank and score beside it.
    pub fn draw_matches(&mut self, matches: &[Peak], template: (usize, usize)) -> Result<()> {
        let z = self.zoom as i32;
        let (th, tw) = (template.0 as i32 * z, template.1 as i32 * z);
        let labels: Vec<(String, (i32, i32), [u8; 3])> = matches
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let colour = PALETTE[i % PALETTE.len()];
                let (x, y) = (p.col as i32 * z, p.row as i32 * z);
                self.rectangle(x, y, tw, th, colour);
                let text = format!("{}: {}", i + 1, value_label(p.score));
                // Above the rectangle, or below it at the top edge.
                let ty = if y >= 18 { y - 18 } else { y + th + 3 };
                (text, (x, ty), colour)
            })
            .collect();
        self.text(&labels)
    }

    /// A track: its path (template centres) so far, and the last position's rectangle.
    pub fn draw_track(
        &mut self,
        track: &[Peak],
        template: (usize, usize),
        trail: bool,
    ) -> Result<()> {
        let z = self.zoom as f64;
        let centre = |p: &Peak| {
            let (y, x) = p.position();
            (
                ((x + template.1 as f64 / 2.0) * z) as i32,
                ((y + template.0 as f64 / 2.0) * z) as i32,
            )
        };
        if trail {
            for pair in track.windows(2) {
                self.line(centre(&pair[0]), centre(&pair[1]), [255, 200, 0]);
            }
        }
        if let Some(last) = track.last() {
            self.draw_matches(std::slice::from_ref(last), template)?;
        }
        Ok(())
    }

    fn set(&mut self, x: i32, y: i32, rgb: [u8; 3]) {
        let (w, h) = self.image.dimensions();
        if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
            self.image.put_pixel(x as u32, y as u32, image::Rgb(rgb));
        }
    }

    /// A 2-pixel outline in `rgb`, inside the box `[x, x + w) × [y, y + h)`.
    fn rectangle(&mut self, x: i32, y: i32, w: i32, h: i32, rgb: [u8; 3]) {
        for t in 0..2 {
            for i in x..x + w {
                self.set(i, y + t, rgb);
                self.set(i, y + h - 1 - t, rgb);
            }
            for j in y..y + h {
                self.set(x + t, j, rgb);
                self.set(x + w - 1 - t, j, rgb);
            }
        }
    }

    /// A 2-pixel line (Bresenham, doubled).
    fn line(&mut self, from: (i32, i32), to: (i32, i32), rgb: [u8; 3]) {
        let (mut x, mut y) = from;
        let (dx, dy) = ((to.0 - x).abs(), -(to.1 - y).abs());
        let (sx, sy) = (if x < to.0 { 1 } else { -1 }, if y < to.1 { 1 } else { -1 });
        let mut err = dx + dy;
        loop {
            self.set(x, y, rgb);
            self.set(x + 1, y, rgb);
            self.set(x, y + 1, rgb);
            if (x, y) == to {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Labels on a dark box so they read on any background.
    fn text(&mut self, labels: &[(String, (i32, i32), [u8; 3])]) -> Result<()> {
        if labels.is_empty() {
            return Ok(());
        }
        register_font();
        let (w, h) = self.image.dimensions();
        let buf: &mut [u8] = &mut self.image;
        let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
        let draw_error = |e: String| Error::InvalidArgument(format!("cannot draw a label ({e})"));
        for (text, (x, y), rgb) in labels {
            let style = (FONT, 15)
                .into_font()
                .color(&RGBColor(rgb[0], rgb[1], rgb[2]));
            let (tw, th) = root
                .estimate_text_size(text, &style)
                .map_err(|e| draw_error(e.to_string()))?;
            root.draw(&Rectangle::new(
                [(*x, *y), (x + tw as i32 + 6, y + th as i32 + 3)],
                BLACK.mix(0.6).filled(),
            ))
            .map_err(|e| draw_error(e.to_string()))?;
            root.draw(&Text::new(text.clone(), (x + 3, y + 1), style))
                .map_err(|e| draw_error(e.to_string()))?;
        }
        root.present().map_err(|e| draw_error(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rectangles_sit_on_the_match_and_small_scenes_are_enlarged() {
        let grey = vec![0.5f32; 40 * 50];
        let mut canvas = Canvas::from_scene(None, &grey, 40, 50);
        assert_eq!(canvas.zoom, MIN_SIDE / 50);
        let z = canvas.zoom;
        let peak = Peak {
            row: 10,
            col: 20,
            score: 0.9,
            subpixel: None,
        };
        canvas.draw_matches(&[peak], (8, 6)).unwrap();
        let red = image::Rgb(PALETTE[0]);
        // Corners of the rectangle, 6 × 8 scene pixels from (10, 20).
        for (x, y) in [
            (20 * z, 10 * z),
            (26 * z - 1, 18 * z - 1),
            (20 * z, 18 * z - 1),
        ] {
            assert_eq!(*canvas.image.get_pixel(x, y), red, "({x}, {y})");
        }
        // Inside it the scene is untouched.
        assert_eq!(canvas.image.get_pixel(23 * z, 14 * z).0, [128, 128, 128]);
    }
}
