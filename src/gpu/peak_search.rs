//! The device-side peak search of `shaders/reduce.wgsl`: best element, or top `k` with
//! non-maximum suppression, recorded into a pass so that only the peak records come back.

use super::context::GpuContext;
use super::params::ReduceParams;
use super::pipelines::Kernel;
use super::program::{
    begin_pass, check_buffer, read_back_after, record, whole, Bufs, Dispatch, Step, Uniforms,
};
use crate::array::ArrayView;
use crate::error::Result;
use crate::peaks::{parabola_vertex, Distance, Extremum, Peak, PeakOptions};

/// The most workgroups of the first reduction stage; the second stage is one workgroup.
const MAX_PARTIAL_GROUPS: u64 = 1024;

/// Staging buffers a search reads its records back through: slot 0 for a run that waits
/// for its own result, then one per submission a caller may leave in flight
/// ([`super::match_plan::IN_FLIGHT`]), so that the next submission never copies into a
/// buffer whose records are still to be read.
pub(crate) const READBACK_SLOTS: usize = 1 + super::match_plan::IN_FLIGHT;

/// What one search looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SearchShape {
    /// How many peaks (rounds of the search).
    pub rounds: usize,
    /// Elements within `radius[0]` rows and `radius[1]` columns of a peak are candidates for
    /// suppression (each at most the map's extent less one).
    pub radius: [u32; 2],
    /// For the Euclidean distance: suppress where `dr² + dc² ≤ max_sq`; `None` suppresses
    /// the whole box (Chebyshev, or a disc that covers the box anyway).
    pub euclidean: Option<u32>,
}

/// One peak as the device writes it (reduce.wgsl's `PeakRecord`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct PeakRecord {
    pub key: f32,
    pub index: u32,
    pub score: f32,
    pub found: u32,
    /// Scores of the neighbours above, below, left and right (the peak's own score where
    /// the map ends).
    pub up: f32,
    pub down: f32,
    pub left: f32,
    pub right: f32,
}

const RECORD_BYTES: u64 = std::mem::size_of::<PeakRecord>() as u64;

/// The buffers and dispatches of one search over a `rows × cols` map.
pub(crate) struct PeakSearch {
    shape: SearchShape,
    sign: f32,
    peaks: wgpu::Buffer,
    /// One per readback slot ([`READBACK_SLOTS`]).
    staging: Vec<wgpu::Buffer>,
    dispatches: Vec<Dispatch>,
    _uniforms: Uniforms,
    _partials: wgpu::Buffer,
}

impl PeakSearch {
    /// Build a search reading `scores` (f32, `rows × cols`, row-major) and using `keys` (as
    /// many f32) as its scratch copy. With `key_sign`, the search starts by writing
    /// `key = sign · score`; without, the caller fills `keys` first (`scores` may then be the
    /// same buffer).
    pub(crate) fn new(
        ctx: &GpuContext,
        scores: &wgpu::Buffer,
        keys: &wgpu::Buffer,
        [rows, cols]: [usize; 2],
        shape: SearchShape,
        key_sign: Option<f32>,
    ) -> Result<Self> {
        let count = (rows * cols) as u64;
        let wg = ctx.inner.pipelines.workgroup_size as u64;
        let groups = count.div_ceil(wg).clamp(1, MAX_PARTIAL_GROUPS);
        let params = |count: u64, slot: usize, sign: f32| {
            ReduceParams {
                count: count as u32,
                rows: rows as u32,
                cols: cols as u32,
                slot: slot as u32,
                radius_rows: shape.radius[0],
                radius_cols: shape.radius[1],
                max_sq: shape.euclidean.unwrap_or(0),
                euclidean: shape.euclidean.is_some() as u32,
                sign,
            }
            .into()
        };
        // The box is at most (2·rows − 1) × (2·cols − 1): about four times the map, which
        // already fits u32 indices (checked when its buffer was made).
        let box_len = (2 * shape.radius[0] as u64 + 1) * (2 * shape.radius[1] as u64 + 1);
        if box_len > u32::MAX as u64 {
            return Err(crate::error::Error::DeviceLimit {
                limit: "u32 suppression index".into(),
                needed: box_len,
                allowed: u32::MAX as u64,
            });
        }
        let mut steps = Vec::new();
        if let Some(sign) = key_sign {
            steps.push(Step {
                kernel: Kernel::Keys,
                bufs: Bufs::Own,
                params: params(count, 0, sign),
                threads: count,
            });
        }
        for slot in 0..shape.rounds {
            steps.push(Step {
                kernel: Kernel::Partial,
                bufs: Bufs::Own,
                params: params(count, slot, 1.0),
                threads: groups * wg,
            });
            steps.push(Step {
                kernel: Kernel::FinalPeak,
                bufs: Bufs::Own,
                params: params(groups, slot, 1.0),
                threads: wg,
            });
            if slot + 1 < shape.rounds {
                steps.push(Step {
                    kernel: Kernel::Suppress,
                    bufs: Bufs::Own,
                    params: params(count, slot, 1.0),
                    threads: box_len,
                });
            }
        }
        ctx.scoped("building a peak search", || {
            let refs: Vec<&Step> = steps.iter().collect();
            let (uniforms, slots) = Uniforms::new(ctx, "xcorr peak search", &refs)?;
            use wgpu::BufferUsages as U;
            let partials = ctx.create_buffer("xcorr peak partials", groups * 8, U::STORAGE);
            let record_bytes = shape.rounds.max(1) as u64 * RECORD_BYTES;
            let peaks = ctx.create_buffer("xcorr peaks", record_bytes, U::STORAGE | U::COPY_SRC);
            let staging = (0..READBACK_SLOTS)
                .map(|_| {
                    ctx.create_buffer(
                        "xcorr peaks staging",
                        record_bytes,
                        U::MAP_READ | U::COPY_DST,
                    )
                })
                .collect();
            let dispatches = steps
                .iter()
                .zip(slots)
                .map(|(step, slot)| {
                    let buffers = match step.kernel {
                        Kernel::Keys => vec![whole(scores), whole(keys)],
                        Kernel::Partial => vec![whole(keys), whole(&partials)],
                        Kernel::FinalPeak => vec![whole(&partials), whole(&peaks), whole(scores)],
                        _ => vec![whole(&peaks), whole(keys)],
                    };
                    uniforms.bind(ctx, step.kernel, slot, &buffers)
                })
                .collect();
            Ok(PeakSearch {
                shape,
                sign: key_sign.unwrap_or(1.0),
                peaks,
                staging,
                dispatches,
                _uniforms: uniforms,
                _partials: partials,
            })
        })
    }

    pub(crate) fn shape(&self) -> SearchShape {
        self.shape
    }

    /// The sign applied to the scores (1 when the caller fills the keys).
    pub(crate) fn sign(&self) -> f32 {
        self.sign
    }

    /// Record the search into `pass` (after whatever fills the scores or keys).
    pub(crate) fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        record(pass, &self.dispatches);
    }

    /// Copy the peak records to readback slot `slot`'s staging buffer (after the pass has
    /// ended).
    pub(crate) fn copy_out(&self, encoder: &mut wgpu::CommandEncoder, slot: usize) {
        encoder.copy_buffer_to_buffer(&self.peaks, 0, &self.staging[slot], 0, None);
    }

    /// The records in readback slot `slot`, copied there by `submission` (`None`: by the
    /// latest submission), best first, up to the first round that found nothing.
    pub(crate) async fn read(
        &self,
        ctx: &GpuContext,
        slot: usize,
        submission: Option<wgpu::SubmissionIndex>,
    ) -> Result<Vec<PeakRecord>> {
        let records: Vec<PeakRecord> =
            read_back_after(ctx, &self.staging[slot], submission).await?;
        Ok(records
            .into_iter()
            .take(self.shape.rounds)
            .take_while(|r| r.found != 0)
            .collect())
    }
}

impl SearchShape {
    /// The suppression neighbourhood of `options` on a `rows × cols` map: every element
    /// closer than `min_distance` lies within `radius` rows and columns and, for the
    /// Euclidean distance, has `Δrow² + Δcol² ≤ max_sq`. For integers `k` and `x > 0`,
    /// `k < x ⟺ k ≤ ⌈x⌉ − 1`, which is the test [`Distance::within`] makes on the host.
    /// Radii stop at the map's extent, and a disc that covers the whole box (or a map one
    /// element thick, where both distances agree) is searched as the box, so the device never
    /// squares more than it must.
    pub(crate) fn new(options: &PeakOptions, [rows, cols]: [usize; 2]) -> SearchShape {
        let below = |x: f64| -> u64 {
            if x > 0.0 {
                (x.ceil() - 1.0).max(0.0).min(u64::MAX as f64) as u64
            } else {
                0
            }
        };
        let d = options.min_distance;
        let reach = below(d);
        let radius = [
            reach.min(rows.saturating_sub(1) as u64) as u32,
            reach.min(cols.saturating_sub(1) as u64) as u32,
        ];
        let corner = (radius[0] as u64).pow(2) + (radius[1] as u64).pow(2);
        let euclidean = if options.distance == Distance::Euclidean && rows > 1 && cols > 1 {
            let max_sq = below(d * d);
            // The shader tests `Δrow² + Δcol² ≤ max_sq` in u32; a larger disc covers the
            // box (corner ≤ 2·(2¹⁶ − 1)² < u32::MAX for maps the device can hold).
            (max_sq < corner).then(|| max_sq.min(u32::MAX as u64) as u32)
        } else {
            None
        };
        SearchShape {
            rounds: options.count.min(rows * cols),
            radius,
            euclidean,
        }
    }
}

impl PeakRecord {
    /// The record as a [`Peak`] of a `rows × cols` map, with the parabola offsets of
    /// [`crate::peaks::refine_parabola`] when `subpixel`.
    pub(crate) fn to_peak(
        self,
        [rows, cols]: [usize; 2],
        extremum: Extremum,
        subpixel: bool,
    ) -> Peak {
        let index = self.index as usize;
        let (row, col) = (index / cols, index % cols);
        let score = self.score as f64;
        let offset = |minus: f32, plus: f32, inside: bool| {
            if inside {
                parabola_vertex(minus as f64, score, plus as f64, extremum)
            } else {
                0.0
            }
        };
        Peak {
            row,
            col,
            score,
            subpixel: subpixel.then(|| {
                (
                    offset(self.up, self.down, row > 0 && row + 1 < rows),
                    offset(self.left, self.right, col > 0 && col + 1 < cols),
                )
            }),
        }
    }
}

/// [`crate::peaks::top_k`] on the device: the map is uploaded, the search runs there and only
/// the peaks come back. The same peaks, in the same order, with ties going to the first
/// index in row-major order; scores are the map's own values. One exception: a score of
/// exactly `−f32::MAX` (`f32::MAX` when the minimum is best) marks a removed element on the
/// device and is never reported.
///
/// For maps that are already on the device, [`crate::matching::match_peaks`] and
/// [`crate::matching::Tracker`] run the search without the upload.
///
/// ```no_run
/// use xcorr::gpu::{find_peaks, GpuContext};
/// use xcorr::peaks::PeakOptions;
/// use xcorr::{Array, Shape};
/// let ctx = GpuContext::new()?;
/// let map = Array::from_fn(Shape::d2(64, 64), |r, c| ((r * 7 + c * 3) % 11) as f32);
/// let options = PeakOptions { count: 3, min_distance: 5.0, ..PeakOptions::default() };
/// let found = find_peaks(&ctx, map.view(), &options)?;
/// assert_eq!(found.len(), 3);
/// # Ok::<(), xcorr::Error>(())
/// ```
pub fn find_peaks(
    ctx: &GpuContext,
    map: ArrayView<'_, f32>,
    options: &PeakOptions,
) -> Result<Vec<Peak>> {
    crate::blocking::wait(find_peaks_async(ctx, map, options))
}

/// [`find_peaks`] as a future.
pub async fn find_peaks_async(
    ctx: &GpuContext,
    map: ArrayView<'_, f32>,
    options: &PeakOptions,
) -> Result<Vec<Peak>> {
    let shape = map.shape().axes();
    let bytes = map.data().len() as u64 * 4;
    check_buffer(ctx, bytes, true)?;
    let search_shape = SearchShape::new(options, shape);
    let sign = if options.extremum == Extremum::Max {
        1.0
    } else {
        -1.0
    };
    let (scores, keys) = ctx.scoped("uploading a map", || {
        use wgpu::BufferUsages as U;
        let scores = ctx.create_buffer("xcorr map", bytes.max(4), U::STORAGE | U::COPY_DST);
        let keys = ctx.create_buffer("xcorr map keys", bytes.max(4), U::STORAGE);
        ctx.queue()
            .write_buffer(&scores, 0, bytemuck::cast_slice(map.data()));
        Ok((scores, keys))
    })?;
    let search = PeakSearch::new(ctx, &scores, &keys, shape, search_shape, Some(sign))?;
    ctx.submit("searching for peaks", |encoder| {
        {
            let mut pass = begin_pass(encoder, "xcorr peak search");
            search.record(&mut pass);
        }
        search.copy_out(encoder, 0);
        Ok(())
    })?;
    let records = search.read(ctx, 0, None).await?;
    Ok(records
        .iter()
        .map(|r| r.to_peak(shape, options.extremum, options.subpixel))
        .collect())
}
