//! Template matching on the device: the FFT numerator, the window sums, the scores and the
//! peak search run in one submission; only the peaks (or, when asked, the score map) come
//! back. `crate::matching` owns the formulas and describes the terms (`crate::device`); this is
//! the plumbing.
//!
//! A frame can also be submitted now and collected later ([`MatchPlan::submit`],
//! [`MatchPlan::collect`]): the next frame is then uploaded and submitted while the device
//! still works on this one. Two frame buffers are written in turn, and each submission left
//! in flight reads back through a staging buffer of its own, so the next submission never
//! writes into a buffer whose results are still to be read.

use super::context::GpuContext;
use super::correlate::{BoundIo, CorrelationPlan};
use super::params::WindowParams;
use super::peak_search::READBACK_SLOTS;
use super::peak_search::{PeakRecord, PeakSearch, SearchShape};
use super::pipelines::Kernel;
use super::program::{
    begin_pass, check_buffer, read_back_after, record, whole, Bufs, Dispatch, Slot, Step, Uniforms,
};
use crate::error::{Error, Result};
use crate::spec::{Mode, Op, Plan};
use crate::Shape;
use std::sync::atomic::{AtomicU64, Ordering};

/// Rows or columns one invocation of window.wgsl slides over (its `RUN`).
const RUN: usize = 32;

/// Peak searches a plan keeps (each a few small buffers).
const MAX_SEARCHES: usize = 4;

/// Submissions a caller may leave in flight (submitted, not yet collected): two, so that the
/// next frame's upload and submission overlap the current frame's compute.
pub(crate) const IN_FLIGHT: usize = 2;

/// Frame buffers written in turn, so that a frame's upload need not wait for the previous
/// frame's reads of the same buffer.
const FRAME_BUFFERS: usize = 2;

/// What a submission reads back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Readback {
    /// The whole score map.
    Map,
    /// The records of a peak search (`sign` as in [`MatchPlan::peaks`]).
    Peaks { search: SearchShape, sign: f32 },
}

/// What a collected submission gave.
pub(crate) enum Collected {
    Map(Vec<f32>),
    Peaks(Vec<PeakRecord>),
}

/// A submission whose results are still on the device (see [`MatchPlan::submit`]).
pub(crate) struct Submitted {
    /// The plan that made it ([`MatchPlan::id`]).
    plan: u64,
    /// Its readback slot, and the count of that slot's submissions when it was made: a
    /// later submission to the slot overwrites its results.
    slot: usize,
    generation: u64,
    submission: wgpu::SubmissionIndex,
    readback: Readback,
}

/// A frame buffer with what reads it bound: the correlation's load and the window sums.
struct FrameInput {
    buffer: wgpu::Buffer,
    correlation_io: BoundIo,
    box_rows: Dispatch,
}

/// A unique id per plan, so that a submission is never collected from another plan.
fn new_plan_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

use crate::device::{FrameTerms, TemplateTerms};

/// One template prepared against frames of one shape.
pub(crate) struct MatchPlan {
    ctx: GpuContext,
    id: u64,
    correlation: CorrelationPlan,
    frame_shape: [usize; 2],
    template_shape: [usize; 2],
    out: [usize; 2],
    template: TemplateTerms,
    /// The frame buffers, each bound once (not per frame) to the correlation and the window
    /// sums; `next_input` is the one the next frame goes to.
    inputs: Vec<FrameInput>,
    next_input: usize,
    /// Bound in `inputs` and `combine`; kept so that it lives as long as they.
    _numerator: wgpu::Buffer,
    scores: wgpu::Buffer,
    keys: wgpu::Buffer,
    /// The map's staging buffer per readback slot ([`READBACK_SLOTS`]); those of the slots
    /// for submissions left in flight are made when first needed.
    map_staging: Vec<Option<wgpu::Buffer>>,
    /// Submissions made to each readback slot, and the in-flight slot (1 ..= IN_FLIGHT) the
    /// next [`submit`](Self::submit) takes.
    generations: [u64; READBACK_SLOTS],
    next_slot: usize,
    uniforms: Uniforms,
    combine_slot: Slot,
    combine: Dispatch,
    /// Peak searches built so far, by shape and sign: a plan shared by callers that search
    /// differently (a `sqdiff` and a `ccoeff` match of one shape) keeps each, instead of
    /// building one per call.
    searches: Vec<PeakSearch>,
    _row_sums: wgpu::Buffer,
}

impl MatchPlan {
    /// `template` is the zero-mean template (`T − T̄`, row-major, `template_shape`).
    pub(crate) fn new(
        ctx: &GpuContext,
        frame_shape: [usize; 2],
        template_shape: [usize; 2],
        centred_template: &[f32],
        template: TemplateTerms,
    ) -> Result<Self> {
        let plan = Plan::new(
            Op::Correlate,
            Mode::Valid,
            Shape::d2(frame_shape[0], frame_shape[1]),
            Shape::d2(template_shape[0], template_shape[1]),
        )?;
        // Real frames and templates: the real plan pairs rows and keeps half spectra.
        let mut correlation = CorrelationPlan::new_real(ctx, &plan)?;
        correlation.set_template_real(centred_template)?;
        let [rows, cols] = frame_shape;
        let out = [rows - template_shape[0] + 1, cols - template_shape[1] + 1];
        let out_len = (out[0] * out[1]) as u64;
        let row_sums_bytes = (rows * out[1]) as u64 * 16;
        for bytes in [(rows * cols) as u64 * 4, out_len * 4, row_sums_bytes] {
            check_buffer(ctx, bytes, true)?;
        }
        let params = window_params(frame_shape, template_shape, out, &template, None).into();
        let steps = [
            Step {
                kernel: Kernel::BoxRows,
                bufs: Bufs::Own,
                params,
                threads: (rows * out[1].div_ceil(RUN)) as u64,
            },
            Step {
                kernel: Kernel::Combine,
                bufs: Bufs::Own,
                // Rewritten per frame: the scene's mean is part of the constants.
                params,
                threads: (out[1] * out[0].div_ceil(RUN)) as u64,
            },
        ];
        ctx.scoped("building a matching plan", || {
            let (uniforms, slots) = Uniforms::new(ctx, "xcorr matching", &[&steps[0], &steps[1]])?;
            use wgpu::BufferUsages as U;
            let numerator = ctx.create_buffer("xcorr match numerator", out_len * 4, U::STORAGE);
            let row_sums = ctx.create_buffer("xcorr match row sums", row_sums_bytes, U::STORAGE);
            let scores =
                ctx.create_buffer("xcorr match scores", out_len * 4, U::STORAGE | U::COPY_SRC);
            let keys = ctx.create_buffer("xcorr match keys", out_len * 4, U::STORAGE);
            let inputs = (0..FRAME_BUFFERS)
                .map(|_| {
                    let buffer = ctx.create_buffer(
                        "xcorr match frame",
                        (rows * cols) as u64 * 4,
                        U::STORAGE | U::COPY_DST,
                    );
                    let box_rows = uniforms.bind(
                        ctx,
                        Kernel::BoxRows,
                        slots[0],
                        &[whole(&buffer), whole(&row_sums)],
                    );
                    let correlation_io = correlation.bind_io(&buffer, &numerator)?;
                    Ok(FrameInput {
                        buffer,
                        correlation_io,
                        box_rows,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let combine = uniforms.bind(
                ctx,
                Kernel::Combine,
                slots[1],
                &[whole(&row_sums), whole(&scores), whole(&numerator)],
            );
            let mut map_staging: Vec<Option<wgpu::Buffer>> = vec![None; READBACK_SLOTS];
            map_staging[0] = Some(map_staging_buffer(ctx, out_len));
            Ok(MatchPlan {
                ctx: ctx.clone(),
                id: new_plan_id(),
                correlation,
                frame_shape,
                template_shape,
                out,
                template,
                inputs,
                next_input: 0,
                _numerator: numerator,
                scores,
                keys,
                map_staging,
                generations: [0; READBACK_SLOTS],
                next_slot: 1,
                uniforms,
                combine_slot: slots[1],
                combine,
                searches: Vec::new(),
                _row_sums: row_sums,
            })
        })
    }

    /// Another template of the plan's shape (zero-mean, row-major) and its terms: the plan's
    /// buffers and pipelines serve it unchanged.
    pub(crate) fn set_template(
        &mut self,
        centred_template: &[f32],
        template: TemplateTerms,
    ) -> Result<()> {
        self.correlation.set_template_real(centred_template)?;
        self.template = template;
        Ok(())
    }

    /// The score map's shape `[H − h + 1, W − w + 1]`.
    pub(crate) fn out_shape(&self) -> [usize; 2] {
        self.out
    }

    /// Scores of one centred frame (`I − c`, row-major); the whole map comes back.
    pub(crate) async fn map(&mut self, centred: &[f32], frame: FrameTerms) -> Result<Vec<f32>> {
        let submitted = self.submit_to(0, centred, frame, Readback::Map)?;
        match self.collect(submitted).await? {
            Collected::Map(scores) => Ok(scores),
            Collected::Peaks(_) => unreachable!("a map was submitted"),
        }
    }

    /// The peaks of one centred frame: `search` says how many and how far apart; `sign` is
    /// 1 where the highest score is best, −1 where the lowest is. Only the records come back.
    pub(crate) async fn peaks(
        &mut self,
        centred: &[f32],
        frame: FrameTerms,
        search: SearchShape,
        sign: f32,
    ) -> Result<Vec<PeakRecord>> {
        let submitted = self.submit_to(0, centred, frame, Readback::Peaks { search, sign })?;
        match self.collect(submitted).await? {
            Collected::Peaks(records) => Ok(records),
            Collected::Map(_) => unreachable!("a peak search was submitted"),
        }
    }

    /// Upload and submit one centred frame without waiting for it; [`collect`](Self::collect)
    /// reads its results later. Up to [`IN_FLIGHT`] submissions may be left in flight: the
    /// next one reuses the oldest one's readback, after which collecting that fails.
    pub(crate) fn submit(
        &mut self,
        centred: &[f32],
        frame: FrameTerms,
        readback: Readback,
    ) -> Result<Submitted> {
        let slot = self.next_slot;
        self.next_slot = slot % IN_FLIGHT + 1;
        self.submit_to(slot, centred, frame, readback)
    }

    /// The results of `submitted` (once the device has finished it; later submissions may
    /// still be running).
    pub(crate) async fn collect(&self, submitted: Submitted) -> Result<Collected> {
        let Submitted {
            plan,
            slot,
            generation,
            submission,
            readback,
        } = submitted;
        if plan != self.id {
            return Err(Error::InvalidArgument(
                "a frame was collected from a matcher other than the one it was submitted to"
                    .into(),
            ));
        }
        if self.generations[slot] != generation {
            return Err(Error::InvalidArgument(format!(
                "a frame's results were overwritten: at most {IN_FLIGHT} frames may be in \
                 flight (submitted and not yet collected)"
            )));
        }
        match readback {
            Readback::Map => {
                let staging = self.map_staging[slot].as_ref().expect("made at submission");
                let scores = read_back_after(&self.ctx, staging, Some(submission)).await?;
                Ok(Collected::Map(scores))
            }
            Readback::Peaks { search, sign } => {
                let Some(found) = self
                    .searches
                    .iter()
                    .find(|s| s.shape() == search && s.sign() == sign)
                else {
                    return Err(Error::InvalidArgument(format!(
                        "a frame's peak search was dropped before it was collected (a matcher \
                         keeps {MAX_SEARCHES} kinds of search)"
                    )));
                };
                let records = found.read(&self.ctx, slot, Some(submission)).await?;
                Ok(Collected::Peaks(records))
            }
        }
    }

    /// Upload and submit one frame, its results copied to readback slot `slot`.
    fn submit_to(
        &mut self,
        slot: usize,
        centred: &[f32],
        frame: FrameTerms,
        readback: Readback,
    ) -> Result<Submitted> {
        let search = match readback {
            Readback::Peaks { search, sign } => Some(self.search(search, sign)?),
            Readback::Map => {
                if self.map_staging[slot].is_none() {
                    let len = (self.out[0] * self.out[1]) as u64;
                    let staging = self.ctx.scoped("building a matching plan", || {
                        Ok(map_staging_buffer(&self.ctx, len))
                    })?;
                    self.map_staging[slot] = Some(staging);
                }
                None
            }
        };
        let input = &self.inputs[self.next_input];
        self.upload(input, centred, frame);
        let submission = self
            .ctx
            .submit_indexed("running a matching plan", |encoder| {
                self.encode_scores(encoder, input)?;
                match search {
                    Some(index) => {
                        let search = &self.searches[index];
                        {
                            let mut pass = begin_pass(encoder, "xcorr matching peak search");
                            search.record(&mut pass);
                        }
                        search.copy_out(encoder, slot);
                    }
                    None => {
                        let staging = self.map_staging[slot].as_ref().expect("made above");
                        encoder.copy_buffer_to_buffer(&self.scores, 0, staging, 0, None);
                    }
                }
                Ok(())
            })?;
        self.next_input = (self.next_input + 1) % self.inputs.len();
        self.generations[slot] += 1;
        Ok(Submitted {
            plan: self.id,
            slot,
            generation: self.generations[slot],
            submission,
            readback,
        })
    }

    /// The index of the peak search of `search` and `sign`, built on first use.
    fn search(&mut self, search: SearchShape, sign: f32) -> Result<usize> {
        let found = self
            .searches
            .iter()
            .position(|s| (s.shape(), s.sign()) == (search, sign));
        if let Some(i) = found {
            return Ok(i);
        }
        if self.searches.len() >= MAX_SEARCHES {
            self.searches.remove(0);
        }
        self.searches.push(PeakSearch::new(
            &self.ctx,
            &self.scores,
            &self.keys,
            self.out,
            search,
            Some(sign),
        )?);
        Ok(self.searches.len() - 1)
    }

    /// Write the frame and its constants (they land before the next submission runs, and
    /// after the ones already submitted: the queue keeps their order).
    fn upload(&self, input: &FrameInput, centred: &[f32], frame: FrameTerms) {
        assert_eq!(centred.len(), self.frame_shape[0] * self.frame_shape[1]);
        let params = window_params(
            self.frame_shape,
            self.template_shape,
            self.out,
            &self.template,
            Some(frame),
        );
        self.uniforms
            .write(&self.ctx, self.combine_slot, params.into());
        self.ctx
            .queue()
            .write_buffer(&input.buffer, 0, bytemuck::cast_slice(centred));
    }

    /// Record the numerator, the window sums and the scores of the frame in `input`.
    fn encode_scores(&self, encoder: &mut wgpu::CommandEncoder, input: &FrameInput) -> Result<()> {
        self.correlation
            .encode_bound(encoder, &input.correlation_io)?;
        let mut pass = begin_pass(encoder, "xcorr matching scores");
        record(&mut pass, [&input.box_rows, &self.combine]);
        Ok(())
    }
}

/// A staging buffer for a map of `len` scores.
fn map_staging_buffer(ctx: &GpuContext, len: u64) -> wgpu::Buffer {
    use wgpu::BufferUsages as U;
    ctx.create_buffer(
        "xcorr match map staging",
        len * 4,
        U::MAP_READ | U::COPY_DST,
    )
}

/// window.wgsl's parameters: the shapes, the method, the template's statistics, and the
/// terms of the score formulas, each derived here once (in f64, carried as float-float) so
/// that the shader only evaluates them. `box_rows` reads only the shapes and `zero`.
fn window_params(
    [rows, cols]: [usize; 2],
    [h, w]: [usize; 2],
    [out_rows, out_cols]: [usize; 2],
    t: &TemplateTerms,
    frame: Option<FrameTerms>,
) -> WindowParams {
    let FrameTerms { mean: c, win_floor } = frame.unwrap_or(FrameTerms {
        mean: 0.0,
        win_floor: 0.0,
    });
    let n = t.n;
    let d = c - t.mean;
    // hi + lo is v to about f32 ε².
    let float_float = |v: f64| {
        let hi = v as f32;
        [hi, (v - hi as f64) as f32]
    };
    WindowParams {
        rows: rows as u32,
        cols: cols as u32,
        h: h as u32,
        w: w as u32,
        out_rows: out_rows as u32,
        out_cols: out_cols as u32,
        method: t.method,
        flags: t.flat as u32 | (t.zero as u32) << 1,
        n: n as f32,
        win_floor: win_floor as f32,
        tpl_energy_centred: t.energy_centred as f32,
        tpl_energy: t.energy as f32,
        // Σ I_w² = Σ J² + 2c·Σ J + n·c².
        two_c: float_float(2.0 * c),
        n_c2: float_float(n * c * c),
        // Σ T·I_w = Q + T̄·Σ J + n·c·T̄.
        tm: float_float(t.mean),
        n_c_tm: float_float(n * c * t.mean),
        // Σ (T − I_w)² = Σ J² − 2Q + 2d·Σ J + n·d² + Σ T'².
        two_d: float_float(2.0 * d),
        sq_const: float_float(n * d * d + t.energy_centred),
        // A zero the shader compiler cannot see (window.wgsl explains why it needs one).
        zero: 0,
        _pad: 0,
    }
}
