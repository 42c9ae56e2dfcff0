//! Every call the binding makes with planes and masks: masked and colour template matching
//! (the library's `match_template`/`match_peaks`/`Tracker` with a [`Template`] that carries
//! the mask), and masked registration. The callers in `engine.rs` hand over plain views:
//! planes (one 2-D view per channel) and, for a mask, its planes and whether it is binary.

use xcorr::matching::{self, Mask, Method, Sample, Template, Tracker};
use xcorr::registration::register_masked;
use xcorr::{Array, ArrayView, Engine, Peak, PeakOptions};

/// A template mask as the caller gives it: one plane or one per channel, and whether to
/// read it as OpenCV reads a `uint8` mask (any nonzero value is 1) or as weights.
pub struct MaskPlanes<'a, T> {
    pub planes: Vec<ArrayView<'a, T>>,
    pub binary: bool,
}

fn mask<T: Sample>(planes: Option<&MaskPlanes<'_, T>>) -> xcorr::Result<Option<Mask<T>>> {
    planes
        .map(|m| {
            if m.binary {
                Mask::binary(&m.planes)
            } else {
                Mask::weights(&m.planes)
            }
        })
        .transpose()
}

/// The map of `method`'s scores of a (masked, colour) template over a scene.
pub fn match_map<T: Sample>(
    engine: &Engine,
    scene: &[ArrayView<'_, T>],
    template: &[ArrayView<'_, T>],
    mask_planes: Option<&MaskPlanes<'_, T>>,
    method: Method,
) -> xcorr::Result<Array<T>> {
    let mask = mask(mask_planes)?;
    matching::match_template(
        engine,
        scene,
        Template::new(template, mask.as_ref()),
        method,
    )
}

/// The best matches of [`match_map`], best first.
pub fn match_peaks<T: Sample>(
    engine: &Engine,
    scene: &[ArrayView<'_, T>],
    template: &[ArrayView<'_, T>],
    mask_planes: Option<&MaskPlanes<'_, T>>,
    method: Method,
    options: &PeakOptions,
) -> xcorr::Result<Vec<Peak>> {
    let mask = mask(mask_planes)?;
    matching::match_peaks(
        engine,
        scene,
        Template::new(template, mask.as_ref()),
        method,
        options,
    )
}

/// The best match of a (masked, colour) template in each frame of a stack: `planes` holds
/// the frames one after another, `template.len()` planes each. The template side is
/// prepared once.
pub fn track<T: Sample>(
    engine: &Engine,
    planes: &[ArrayView<'_, T>],
    template: &[ArrayView<'_, T>],
    mask_planes: Option<&MaskPlanes<'_, T>>,
    method: Method,
) -> xcorr::Result<Vec<Peak>> {
    let Some(first) = planes.first() else {
        return Ok(Vec::new());
    };
    let mask = mask(mask_planes)?;
    let tracker = Tracker::new(
        engine,
        Template::new(template, mask.as_ref()),
        first.shape(),
        method,
    )?;
    planes
        .chunks(template.len().max(1))
        .map(|frame| tracker.track(frame))
        .collect()
}

/// scikit-image's masked `phase_cross_correlation`: the `(dy, dx)` shift. Masks mark valid
/// pixels with any nonzero value; `moving_mask: None` uses the reference's.
pub fn register<T: Sample>(
    engine: &Engine,
    reference: ArrayView<'_, T>,
    moving: ArrayView<'_, T>,
    reference_mask: ArrayView<'_, T>,
    moving_mask: Option<ArrayView<'_, T>>,
    overlap_ratio: f64,
) -> xcorr::Result<(f64, f64)> {
    let moving_mask = moving_mask.map(|m| m.to_owned());
    let found = register_masked(
        engine,
        reference,
        moving,
        reference_mask,
        moving_mask.as_ref(),
        overlap_ratio,
    )?;
    Ok(found.shift)
}
