//! Images to arrays (feature `image`): grayscale ([`read_image`]) or one plane per channel
//! ([`read_image_planes`]).

use super::{file_error, io_message, open_regular};
use crate::array::{Array, Shape};
use crate::error::{Error, Result};
use image::{ImageDecoder, ImageError, ImageReader, Limits};
use std::io::{self, BufRead, Seek};
use std::path::Path;

/// The memory [`read_image`] lets one image take: 1 GiB (a 16000² 8-bit image).
pub const DEFAULT_IMAGE_MEMORY: u64 = 1 << 30;

/// Read an image (PNG, JPEG, TIFF, BMP, GIF) as grayscale float32 in `[0, 1]`, shape
/// `(height, width)`. Colour images become luma as the `image` crate computes it (Rec. 709
/// weights on the stored values); an alpha channel is ignored. 16-bit images keep their
/// precision. Images that need more than [`DEFAULT_IMAGE_MEMORY`] are refused.
pub fn read_image(path: impl AsRef<Path>) -> Result<Array<f32>> {
    read_image_limited(path, DEFAULT_IMAGE_MEMORY)
}

/// [`read_image`] with a memory limit in bytes: the decoded pixels and the float32 result
/// together must fit in `max_bytes`, checked from the image's header before decoding (a
/// small file can declare a huge image).
pub fn read_image_limited(path: impl AsRef<Path>, max_bytes: u64) -> Result<Array<f32>> {
    let path = path.as_ref();
    let (file, _) = open_regular(path)?;
    decode(io::BufReader::new(file), max_bytes).map_err(|m| file_error(path, m))
}

/// [`read_image_limited`] from bytes in memory; errors are [`Error::InvalidArgument`].
pub fn read_image_from(bytes: &[u8], max_bytes: u64) -> Result<Array<f32>> {
    decode(io::Cursor::new(bytes), max_bytes)
        .map_err(|m| Error::InvalidArgument(format!("image data: {m}")))
}

fn decode(r: impl BufRead + Seek, max_bytes: u64) -> std::result::Result<Array<f32>, String> {
    let img = decode_image(r, max_bytes, 1)?;
    let (w, h) = (img.width(), img.height());
    // The luma weights sum to 1 only up to rounding: white can come out as 1.0000001.
    let gray: Vec<f32> = img
        .to_luma32f()
        .into_raw()
        .into_iter()
        .map(|v| v.clamp(0.0, 1.0))
        .collect();
    Array::new(gray, Shape::d2(h as usize, w as usize)).map_err(|e| e.to_string())
}

/// An image read with its channels: one `(height, width)` float32 plane per channel, values
/// in `[0, 1]` (8- and 16-bit samples divided by 255 or 65535; no colour conversion).
#[derive(Clone, Debug, PartialEq)]
pub struct ImagePlanes {
    /// Grey; grey and alpha; red, green, blue; or red, green, blue, alpha.
    pub planes: Vec<Array<f32>>,
    /// Whether the last plane is alpha (grey+alpha and RGBA images).
    pub has_alpha: bool,
    /// Bits per sample as stored: 8, 16 or 32 (float images).
    pub bits: u8,
}

impl ImagePlanes {
    /// The colour planes, without alpha.
    pub fn colour(&self) -> &[Array<f32>] {
        &self.planes[..self.planes.len() - self.has_alpha as usize]
    }

    /// The alpha plane, if the image has one.
    pub fn alpha(&self) -> Option<&Array<f32>> {
        self.has_alpha.then(|| &self.planes[self.planes.len() - 1])
    }
}

/// Read an image keeping its channels (grey, grey+alpha, RGB, RGBA; 8 or 16 bits) as planes,
/// within [`DEFAULT_IMAGE_MEMORY`]. Palette images are expanded to RGB(A).
pub fn read_image_planes(path: impl AsRef<Path>) -> Result<ImagePlanes> {
    read_image_planes_limited(path, DEFAULT_IMAGE_MEMORY)
}

/// [`read_image_planes`] with a memory limit in bytes (decoded pixels and the planes).
pub fn read_image_planes_limited(path: impl AsRef<Path>, max_bytes: u64) -> Result<ImagePlanes> {
    let path = path.as_ref();
    let (file, _) = open_regular(path)?;
    decode_planes(io::BufReader::new(file), max_bytes).map_err(|m| file_error(path, m))
}

/// [`read_image_planes_limited`] from bytes in memory; errors are [`Error::InvalidArgument`].
pub fn read_image_planes_from(bytes: &[u8], max_bytes: u64) -> Result<ImagePlanes> {
    decode_planes(io::Cursor::new(bytes), max_bytes)
        .map_err(|m| Error::InvalidArgument(format!("image data: {m}")))
}

fn decode_planes(
    r: impl BufRead + Seek,
    max_bytes: u64,
) -> std::result::Result<ImagePlanes, String> {
    use image::ColorType as C;
    // Up to four float32 planes next to the decoded pixels.
    let img = decode_image(r, max_bytes, 4)?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let color = img.color();
    let (channels, has_alpha) = match color {
        C::L8 | C::L16 => (1, false),
        C::La8 | C::La16 => (2, true),
        C::Rgb8 | C::Rgb16 | C::Rgb32F => (3, false),
        _ => (4, true),
    };
    let bits = (color.bytes_per_pixel() / color.channel_count()) * 8;
    // Interleaved samples in [0, 1], in the image's own layout (no colour conversion).
    let samples: Vec<f32> = match channels {
        1 => img.to_luma32f().into_raw(),
        2 => img.to_luma_alpha32f().into_raw(),
        3 => img.to_rgb32f().into_raw(),
        _ => img.to_rgba32f().into_raw(),
    };
    let planes = (0..channels)
        .map(|c| {
            let plane = samples
                .iter()
                .skip(c)
                .step_by(channels)
                .map(|v| v.clamp(0.0, 1.0))
                .collect();
            Array::new(plane, Shape::d2(h, w)).map_err(|e| e.to_string())
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok(ImagePlanes {
        planes,
        has_alpha,
        bits,
    })
}

/// Decode an image after checking, from its header, that the decoded pixels and `planes`
/// float32 copies of its size fit in `max_bytes` (a small file can declare a huge image).
fn decode_image(
    r: impl BufRead + Seek,
    max_bytes: u64,
    planes: u64,
) -> std::result::Result<image::DynamicImage, String> {
    let mut reader = ImageReader::new(r)
        .with_guessed_format()
        .map_err(|e| io_message(&e))?;
    // Limits go on after the size check below, which names the sizes in its message.
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(describe)?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(format!("empty image ({w}x{h})"));
    }
    // The decoder's buffer and the float32 copies live at once.
    let need = decoder
        .total_bytes()
        .saturating_add((u64::from(w) * u64::from(h)).saturating_mul(4 * planes.max(1)));
    if need > max_bytes {
        return Err(format!(
            "a {w}x{h} image needs {} to read, more than the limit of {}",
            crate::error::format_bytes(need),
            crate::error::format_bytes(max_bytes)
        ));
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_bytes);
    decoder.set_limits(limits).map_err(describe)?;
    image::DynamicImage::from_decoder(decoder).map_err(describe)
}

fn describe(e: ImageError) -> String {
    match e {
        ImageError::IoError(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            "truncated image (the file ends early)".to_string()
        }
        ImageError::IoError(io) => io_message(&io),
        ImageError::Unsupported(u) => format!("unsupported image ({u})"),
        ImageError::Limits(l) => format!("image too large ({l})"),
        other => format!("cannot decode image ({other})"),
    }
}
