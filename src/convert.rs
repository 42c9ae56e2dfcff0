//! Conversions between [`Array`] and the array and image types of other crates, each behind
//! the feature of the same name: `ndarray` (`ArrayView2`/`Array2` both ways, `ArrayView1` in)
//! and `image` (grey 8- and 16-bit and 32-bit float RGB images in).
//!
//! Every conversion copies once: a row-major contiguous `ndarray` view is one `memcpy`, any
//! other layout (Fortran order, slices with steps) is gathered in row-major order.

#[cfg(feature = "ndarray")]
mod with_ndarray {
    use crate::array::{Array, Element, Shape};
    use ndarray::{Array2, ArrayView1, ArrayView2};

    impl<T: Element> From<ArrayView2<'_, T>> for Array<T> {
        /// A copy in row-major order, whatever the view's strides.
        ///
        /// ```
        /// let a = ndarray::Array2::from_shape_fn((3, 4), |(r, c)| (10 * r + c) as f32);
        /// let t = a.t(); // a transposed, non-contiguous view
        /// let x = xcorr::Array::from(t.view());
        /// assert_eq!(x.shape(), xcorr::Shape::d2(4, 3));
        /// assert_eq!(x.at(3, 1), 13.0);
        /// ```
        fn from(view: ArrayView2<'_, T>) -> Self {
            let (rows, cols) = view.dim();
            let data = match view.as_slice() {
                Some(contiguous) => contiguous.to_vec(),
                None => view.iter().copied().collect(),
            };
            Array::new(data, Shape::d2(rows, cols)).expect("the view's own shape")
        }
    }

    impl<T: Element> From<&Array2<T>> for Array<T> {
        fn from(array: &Array2<T>) -> Self {
            Array::from(array.view())
        }
    }

    impl<T: Element> From<ArrayView1<'_, T>> for Array<T> {
        /// A 1-D array (a signal).
        fn from(view: ArrayView1<'_, T>) -> Self {
            Array::from_vec(view.iter().copied().collect())
        }
    }

    impl<T: Element> From<Array<T>> for Array2<T> {
        /// A 2-D `ndarray` (a 1-D array becomes one row), moving the data without a copy.
        ///
        /// ```
        /// use xcorr::{Array, Engine, Mode};
        /// let image = ndarray::Array2::from_shape_fn((6, 5), |(r, c)| (r * c) as f64);
        /// let kernel = ndarray::array![[1.0, 0.0], [0.0, 1.0]];
        /// let out = Engine::cpu().correlate(&Array::from(&image), &Array::from(&kernel), Mode::Valid).unwrap();
        /// let out: ndarray::Array2<f64> = out.into();
        /// assert_eq!(out.dim(), (5, 4));
        /// assert_eq!(out[[2, 3]], (2 * 3 + 3 * 4) as f64);
        /// ```
        fn from(array: Array<T>) -> Self {
            let shape = array.shape();
            let (rows, cols) = if shape.ndim() == 1 {
                (1, shape.cols())
            } else {
                (shape.rows(), shape.cols())
            };
            Array2::from_shape_vec((rows, cols), array.into_vec()).expect("row-major data")
        }
    }
}

#[cfg(feature = "image")]
mod with_image {
    use crate::array::{Array, Shape};
    use image::{GrayImage, ImageBuffer, Luma, Rgb32FImage};

    fn from_pixels(width: u32, height: u32, values: Vec<f32>) -> Array<f32> {
        Array::new(values, Shape::d2(height as usize, width as usize)).expect("one per pixel")
    }

    impl From<&GrayImage> for Array<f32> {
        /// Grey levels scaled to `[0, 1]`, shape `(height, width)`.
        fn from(image: &GrayImage) -> Self {
            let values = image.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
            from_pixels(image.width(), image.height(), values)
        }
    }

    impl From<&ImageBuffer<Luma<u16>, Vec<u16>>> for Array<f32> {
        /// 16-bit grey levels scaled to `[0, 1]`, shape `(height, width)`.
        fn from(image: &ImageBuffer<Luma<u16>, Vec<u16>>) -> Self {
            let values = image.as_raw().iter().map(|&v| v as f32 / 65535.0).collect();
            from_pixels(image.width(), image.height(), values)
        }
    }

    impl From<&Rgb32FImage> for Array<f32> {
        /// Luminance (ITU-R BT.709 weights, as the `image` crate's own grey conversion uses)
        /// of linear float RGB, shape `(height, width)`.
        fn from(image: &Rgb32FImage) -> Self {
            let values = image
                .pixels()
                .map(|p| 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2])
                .collect();
            from_pixels(image.width(), image.height(), values)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn images_become_row_major_arrays_in_unit_range() {
            let grey = GrayImage::from_fn(3, 2, |x, y| Luma([(50 * x + 100 * y) as u8]));
            let a = Array::from(&grey);
            assert_eq!(a.shape(), Shape::d2(2, 3));
            assert_eq!(a.at(1, 2), 200.0 / 255.0);
            let deep = ImageBuffer::<Luma<u16>, Vec<u16>>::from_fn(2, 2, |x, y| {
                Luma([if (x, y) == (1, 0) { 65535 } else { 0 }])
            });
            assert_eq!(Array::from(&deep).data(), &[0.0, 1.0, 0.0, 0.0]);
            let rgb = Rgb32FImage::from_fn(1, 1, |_, _| image::Rgb([1.0, 1.0, 1.0]));
            assert!((Array::from(&rgb).at(0, 0) - 1.0).abs() < 1e-6);
        }
    }
}

#[cfg(all(test, feature = "ndarray"))]
mod tests {
    use crate::array::Array;

    #[test]
    fn ndarray_views_of_any_layout_copy_in_row_major_order() {
        let a = ndarray::Array2::from_shape_fn((4, 6), |(r, c)| (10 * r + c) as f64);
        let stepped = a.slice(ndarray::s![..;2, 1..;2]);
        let x = Array::from(stepped);
        assert_eq!(x.data(), &[1.0, 3.0, 5.0, 21.0, 23.0, 25.0]);
        // A Fortran-ordered copy of `a`: a's transpose laid out row-major, viewed transposed.
        let transposed = a.t().as_standard_layout().into_owned();
        let fortran = transposed.t();
        assert!(fortran.as_slice().is_none());
        assert_eq!(Array::from(fortran).data(), Array::from(&a).data());
        let back: ndarray::Array2<f64> = x.into();
        assert_eq!(back, stepped.to_owned());
    }
}
