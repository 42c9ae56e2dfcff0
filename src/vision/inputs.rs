//! What the matcher takes: an [`Image`] (one plane per channel) for a scene or a frame, and a
//! [`Template`] (an image plus an optional [`Mask`]).
//!
//! Both convert from what a grey call passes today, an [`ArrayView`] or an `&Array`, so the
//! common call stays `match_template(&engine, &scene, &template, method)`. Colour is a slice of
//! planes (`&[r, g, b]`), and a mask is added with [`Template::new`]. One argument type per
//! role, rather than extra parameters or a second set of functions, keeps one matching API
//! whose grey, unmasked case dispatches to its own faster algorithm.

use super::masked::Mask;
use super::matching::Sample;
use crate::array::{Array, ArrayView, Element};
use crate::error::{Error, Result};

/// A scene, frame or template as planes of one shape: one for grey, three for RGB, four for
/// RGBA. Validated where it is used (non-empty, finite, planes of one shape).
#[derive(Clone, Debug)]
pub struct Image<'a, T: Element> {
    planes: Vec<ArrayView<'a, T>>,
}

impl<'a, T: Element> Image<'a, T> {
    /// The image's planes.
    pub fn planes(&self) -> &[ArrayView<'a, T>] {
        &self.planes
    }

    /// The one plane of a grey image.
    pub(crate) fn grey(&self) -> Option<ArrayView<'a, T>> {
        match self.planes.as_slice() {
            [plane] => Some(*plane),
            _ => None,
        }
    }
}

impl<'a, T: Element> From<ArrayView<'a, T>> for Image<'a, T> {
    fn from(plane: ArrayView<'a, T>) -> Self {
        Image {
            planes: vec![plane],
        }
    }
}

impl<'a, T: Element> From<&'a Array<T>> for Image<'a, T> {
    fn from(plane: &'a Array<T>) -> Self {
        plane.view().into()
    }
}

impl<'a, T: Element> From<&[ArrayView<'a, T>]> for Image<'a, T> {
    fn from(planes: &[ArrayView<'a, T>]) -> Self {
        Image {
            planes: planes.to_vec(),
        }
    }
}

impl<'a, T: Element, const N: usize> From<&[ArrayView<'a, T>; N]> for Image<'a, T> {
    fn from(planes: &[ArrayView<'a, T>; N]) -> Self {
        planes.as_slice().into()
    }
}

impl<'a, T: Element> From<Vec<ArrayView<'a, T>>> for Image<'a, T> {
    fn from(planes: Vec<ArrayView<'a, T>>) -> Self {
        Image { planes }
    }
}

impl<'a, T: Element> From<&'a [Array<T>]> for Image<'a, T> {
    fn from(planes: &'a [Array<T>]) -> Self {
        planes.iter().map(Array::view).collect::<Vec<_>>().into()
    }
}

impl<'a, T: Element> From<&'a Vec<Array<T>>> for Image<'a, T> {
    fn from(planes: &'a Vec<Array<T>>) -> Self {
        planes.as_slice().into()
    }
}

/// A template: an [`Image`] and an optional [`Mask`] of its shape. Every type an [`Image`]
/// converts from converts to an unmasked template.
#[derive(Clone, Debug)]
pub struct Template<'a, T: Sample> {
    image: Image<'a, T>,
    mask: Option<&'a Mask<T>>,
}

impl<'a, T: Sample> Template<'a, T> {
    /// `image` weighted by `mask` (`None`: every pixel counts fully).
    ///
    /// ```
    /// use xcorr::matching::{Mask, Template};
    /// use xcorr::{Array, Shape};
    /// let template = Array::<f32>::zeros(Shape::d2(4, 4));
    /// let mask = Mask::binary(&[Array::from_fn(Shape::d2(4, 4), |r, _| (r > 0) as u8 as f32).view()]).unwrap();
    /// let masked = Template::new(&template, Some(&mask));
    /// assert!(masked.mask().is_some());
    /// ```
    pub fn new(image: impl Into<Image<'a, T>>, mask: Option<&'a Mask<T>>) -> Self {
        Template {
            image: image.into(),
            mask,
        }
    }

    /// The template's planes.
    pub fn image(&self) -> &Image<'a, T> {
        &self.image
    }

    /// The mask, if any.
    pub fn mask(&self) -> Option<&'a Mask<T>> {
        self.mask
    }

    /// Check what matching checks of the template alone (planes of one shape, finite; a mask
    /// of its shape with one channel or one per channel), so that a caller can refuse bad
    /// input before it builds an engine or reads scenes.
    pub fn validate(&self) -> Result<()> {
        let planes = self.image.planes();
        check_planes(planes, "template")?;
        super::masked::check_mask(planes[0].shape(), planes.len(), self.mask)
    }

    /// The one plane of a grey template without a mask: what the unmasked matcher takes.
    pub(crate) fn plain_grey(&self) -> Option<ArrayView<'a, T>> {
        self.mask.is_none().then(|| self.image.grey()).flatten()
    }
}

/// Unmasked templates from what an [`Image`] converts from.
macro_rules! unmasked_from {
    ($($(#[$n:ident])? $source:ty),* $(,)?) => {$(
        impl<'a, T: Sample $(, const $n: usize)?> From<$source> for Template<'a, T> {
            fn from(image: $source) -> Self {
                Template::new(image, None)
            }
        }
    )*};
}

unmasked_from!(
    Image<'a, T>,
    ArrayView<'a, T>,
    &'a Array<T>,
    &[ArrayView<'a, T>],
    #[N] &[ArrayView<'a, T>; N],
    Vec<ArrayView<'a, T>>,
    &'a [Array<T>],
    &'a Vec<Array<T>>,
);

/// Planes of one shape and finite values, at least one.
pub(crate) fn check_planes<T: Element>(planes: &[ArrayView<'_, T>], what: &str) -> Result<()> {
    let first = planes
        .first()
        .ok_or_else(|| Error::InvalidArgument(format!("the {what} has no channels")))?;
    for (c, p) in planes.iter().enumerate() {
        if p.shape() != first.shape() {
            return Err(Error::ShapeMismatch(format!(
                "the {what}'s channels differ in shape: {} (channel 0) and {} (channel {c})",
                first.shape(),
                p.shape()
            )));
        }
        let name = if planes.len() == 1 {
            what.to_string()
        } else {
            format!("{what} (channel {c})")
        };
        p.validate(&name)?;
    }
    Ok(())
}
