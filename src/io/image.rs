//! Images to grayscale arrays (feature `image`).

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
    // The decoder's buffer and the float32 copy live at once.
    let need = decoder
        .total_bytes()
        .saturating_add((u64::from(w) * u64::from(h)).saturating_mul(4));
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
    let img = image::DynamicImage::from_decoder(decoder).map_err(describe)?;
    // The luma weights sum to 1 only up to rounding: white can come out as 1.0000001.
    let gray: Vec<f32> = img
        .to_luma32f()
        .into_raw()
        .into_iter()
        .map(|v| v.clamp(0.0, 1.0))
        .collect();
    Array::new(gray, Shape::d2(h as usize, w as usize)).map_err(|e| e.to_string())
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
