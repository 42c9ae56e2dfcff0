//! The seam between vision and the devices: what vision asks of a device plan. The engine
//! builds these where it runs on a device (`Engine::matcher`, `Engine::phase_device`);
//! vision keeps the maths and never names a backend. The host describes the terms, the
//! device evaluates them.

// Without a device backend in the build nothing constructs or reads these.
#![cfg_attr(not(feature = "gpu"), allow(dead_code))]

use crate::error::Result;
use crate::shareable::{AnyShareable, Shareable};
use crate::vision::peaks::{Peak, PeakOptions};
use num_complex::Complex;
use std::future::Future;
use std::pin::Pin;

/// Matching's per-template terms, as the host computes them for the device's scores.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TemplateTerms {
    /// OpenCV's method number (`TM_SQDIFF` = 0 … `TM_CCOEFF_NORMED` = 5).
    pub method: u32,
    pub n: f64,
    pub mean: f64,
    /// `Σ T'²` and `Σ T²`.
    pub energy_centred: f64,
    pub energy: f64,
    /// The template counts as flat (`Σ T'²` degenerate) or zero (`Σ T²` degenerate).
    pub flat: bool,
    pub zero: bool,
}

/// Per-frame terms: the frame's mean (the centring offset `c`) and the threshold below
/// which a window's energy counts as degenerate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FrameTerms {
    pub mean: f64,
    pub win_floor: f64,
}

/// A device's answer, to be awaited: its results come back when the device is done, which
/// in a browser means after the page's event loop has run.
pub(crate) type DeviceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + 'a>>;

/// What a frame submitted to a device reads back.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wanted {
    /// The whole score map.
    Map,
    /// The best `options.count` peaks.
    Peaks(PeakOptions),
}

/// A device's results for one submitted frame.
pub(crate) enum DeviceResult {
    Map(Vec<f32>),
    Peaks(Vec<Peak>),
}

/// A frame submitted to a device, its results not yet read: the device's own record of the
/// submission, opaque to vision.
pub(crate) struct DeviceTicket(pub Box<AnyShareable>);

/// One template prepared on a device against frames of one shape: numerator, window sums,
/// scores and the peak search all run there. Frames come centred on their mean, in f32.
pub(crate) trait MatchDevice: Shareable {
    /// The whole score map.
    fn map<'a>(&'a self, centred_frame: &'a [f32], frame: FrameTerms)
        -> DeviceFuture<'a, Vec<f32>>;
    /// Only the best `options.count` peaks (`options.extremum` says which end is best).
    fn peaks<'a>(
        &'a self,
        centred_frame: &'a [f32],
        frame: FrameTerms,
        options: &'a PeakOptions,
    ) -> DeviceFuture<'a, Vec<Peak>>;
    /// Upload and submit a frame without waiting for its results: the next frame can be
    /// submitted while the device works on this one. The future resolves once the work is
    /// queued. At most two frames may be left in flight; a third submission overwrites the
    /// first one's results, whose [`collect`](Self::collect) then fails.
    fn submit<'a>(
        &'a self,
        centred_frame: &'a [f32],
        frame: FrameTerms,
        wanted: Wanted,
    ) -> DeviceFuture<'a, DeviceTicket>;
    /// The results of a submitted frame, once the device has finished it.
    fn collect(&self, ticket: DeviceTicket) -> DeviceFuture<'_, DeviceResult>;
}

/// A reference image's spectrum kept on a device for phase correlation.
pub(crate) trait PhaseDevice: Shareable {
    /// The flat index of the first largest magnitude of the cross-power spectrum's inverse.
    fn integer_peak<'a>(&'a self, moving: &'a [Complex<f32>]) -> DeviceFuture<'a, usize>;
    /// The inverse's value at `index` (unnormalised).
    fn value_at(&self, index: usize) -> DeviceFuture<'_, Complex<f32>>;
    /// The upsampled DFT of the kept cross-power spectrum through the given axis kernels
    /// (columns' kernel, then rows').
    fn upsampled<'a>(&'a self, kernels: &'a [Complex<f32>]) -> DeviceFuture<'a, Vec<Complex<f32>>>;
}
