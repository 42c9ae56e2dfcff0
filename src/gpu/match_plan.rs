//! Template matching on the device: the FFT numerator, the window sums, the scores and the
//! peak search run in one submission; only the peaks (or, when asked, the score map) come
//! back. `crate::matching` owns the formulas and decides the constants; this is the plumbing.

use super::context::GpuContext;
use super::correlate::{BoundIo, CorrelationPlan};
use super::peak_search::{PeakRecord, PeakSearch, SearchShape};
use super::pipelines::Kernel;
use super::program::{check_buffer, read_back_as, record, whole, Dispatch, Slot, Step, Uniforms};
use crate::error::Result;
use crate::spec::{Mode, Op, Plan};
use crate::Shape;

/// Rows or columns one invocation of window.wgsl slides over (its `RUN`).
const RUN: usize = 32;

// The terms the host describes; window.wgsl's `Params` carries them after the shape words.
pub(crate) use crate::device::{FrameTerms as FrameConstants, TemplateTerms as TemplateConstants};

/// One template prepared against frames of one shape.
pub(crate) struct MatchPlan {
    ctx: GpuContext,
    correlation: CorrelationPlan,
    /// The correlation bound to `frame` and `numerator` once, not per frame.
    correlation_io: BoundIo,
    frame_shape: [usize; 2],
    template_shape: [usize; 2],
    out: [usize; 2],
    template: TemplateConstants,
    frame: wgpu::Buffer,
    /// Bound in `correlation_io` and `dispatches`; kept so that it lives as long as they.
    _numerator: wgpu::Buffer,
    scores: wgpu::Buffer,
    keys: wgpu::Buffer,
    map_staging: wgpu::Buffer,
    uniforms: Uniforms,
    combine_slot: Slot,
    dispatches: Vec<Dispatch>,
    search: Option<PeakSearch>,
    _row_sums: wgpu::Buffer,
}

impl MatchPlan {
    /// `template` is the zero-mean template (`T − T̄`, row-major, `template_shape`).
    pub(crate) fn new(
        ctx: &GpuContext,
        frame_shape: [usize; 2],
        template_shape: [usize; 2],
        centred_template: &[f32],
        template: TemplateConstants,
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
        let shape_words = shape_words(frame_shape, template_shape, out);
        let steps = [
            Step {
                kernel: Kernel::BoxRows,
                bufs: vec![],
                params: combine_params(&shape_words, &template, None),
                threads: (rows * out[1].div_ceil(RUN)) as u64,
            },
            Step {
                kernel: Kernel::Combine,
                bufs: vec![],
                // Rewritten per frame: the scene's mean is part of the constants.
                params: combine_params(&shape_words, &template, None),
                threads: (out[1] * out[0].div_ceil(RUN)) as u64,
            },
        ];
        ctx.scoped("building a matching plan", || {
            let (uniforms, slots) = Uniforms::new(ctx, &[&steps[0], &steps[1]])?;
            use wgpu::BufferUsages as U;
            let frame = ctx.create_buffer(
                "xcorr match frame",
                (rows * cols) as u64 * 4,
                U::STORAGE | U::COPY_DST,
            );
            let numerator = ctx.create_buffer("xcorr match numerator", out_len * 4, U::STORAGE);
            let row_sums = ctx.create_buffer("xcorr match row sums", row_sums_bytes, U::STORAGE);
            let scores =
                ctx.create_buffer("xcorr match scores", out_len * 4, U::STORAGE | U::COPY_SRC);
            let keys = ctx.create_buffer("xcorr match keys", out_len * 4, U::STORAGE);
            let map_staging = ctx.create_buffer(
                "xcorr match map staging",
                out_len * 4,
                U::MAP_READ | U::COPY_DST,
            );
            let dispatches = vec![
                uniforms.bind(
                    ctx,
                    Kernel::BoxRows,
                    slots[0],
                    &[whole(&frame), whole(&row_sums)],
                ),
                uniforms.bind(
                    ctx,
                    Kernel::Combine,
                    slots[1],
                    &[whole(&row_sums), whole(&scores), whole(&numerator)],
                ),
            ];
            let correlation_io = correlation.bind_io(&frame, &numerator)?;
            Ok(MatchPlan {
                ctx: ctx.clone(),
                correlation,
                correlation_io,
                frame_shape,
                template_shape,
                out,
                template,
                frame,
                _numerator: numerator,
                scores,
                keys,
                map_staging,
                uniforms,
                combine_slot: slots[1],
                dispatches,
                search: None,
                _row_sums: row_sums,
            })
        })
    }

    /// The score map's shape `[H − h + 1, W − w + 1]`.
    pub(crate) fn out_shape(&self) -> [usize; 2] {
        self.out
    }

    /// Scores of one centred frame (`I − c`, row-major); the whole map comes back.
    pub(crate) fn map(&mut self, centred: &[f32], frame: FrameConstants) -> Result<Vec<f32>> {
        self.upload(centred, frame);
        self.ctx.submit("running a matching plan", |encoder| {
            self.encode_scores(encoder)?;
            encoder.copy_buffer_to_buffer(&self.scores, 0, &self.map_staging, 0, None);
            Ok(())
        })?;
        pollster::block_on(read_back_as(&self.ctx, &self.map_staging))
    }

    /// The peaks of one centred frame: `search` says how many and how far apart; `sign` is
    /// 1 where the highest score is best, −1 where the lowest is. Only the records come back.
    pub(crate) fn peaks(
        &mut self,
        centred: &[f32],
        frame: FrameConstants,
        search: SearchShape,
        sign: f32,
    ) -> Result<Vec<PeakRecord>> {
        if self.search.as_ref().map(|s| (s.shape(), s.sign())) != Some((search, sign)) {
            self.search = Some(PeakSearch::new(
                &self.ctx,
                &self.scores,
                &self.keys,
                self.out,
                search,
                Some(sign),
            )?);
        }
        self.upload(centred, frame);
        let search = self.search.as_ref().expect("built above");
        self.ctx.submit("running a matching plan", |encoder| {
            self.encode_scores(encoder)?;
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                search.record(&mut pass);
            }
            search.copy_out(encoder);
            Ok(())
        })?;
        pollster::block_on(search.read(&self.ctx))
    }

    /// Write the frame and its constants (they land before the next submission runs).
    fn upload(&self, centred: &[f32], frame: FrameConstants) {
        assert_eq!(centred.len(), self.frame_shape[0] * self.frame_shape[1]);
        let words = shape_words(self.frame_shape, self.template_shape, self.out);
        self.uniforms.write(
            &self.ctx,
            self.combine_slot,
            &combine_params(&words, &self.template, Some(frame)),
        );
        self.ctx
            .queue()
            .write_buffer(&self.frame, 0, bytemuck::cast_slice(centred));
    }

    /// Record the numerator, the window sums and the scores.
    fn encode_scores(&self, encoder: &mut wgpu::CommandEncoder) -> Result<()> {
        self.correlation
            .encode_bound(encoder, &self.correlation_io)?;
        let mut pass = encoder.begin_compute_pass(&Default::default());
        record(&mut pass, &self.dispatches);
        Ok(())
    }
}

/// The first words of window.wgsl's `Params`: frame, template and map shapes.
fn shape_words(frame: [usize; 2], template: [usize; 2], out: [usize; 2]) -> Vec<u32> {
    [frame, template, out]
        .iter()
        .flatten()
        .map(|&v| v as u32)
        .collect()
}

/// window.wgsl's `Params`: the shape words, then the method and the constants, the
/// float-float ones split into (hi, lo), then a 0. `box_rows` reads the shape and the 0.
fn combine_params(
    shape_words: &[u32],
    t: &TemplateConstants,
    frame: Option<FrameConstants>,
) -> Vec<u32> {
    let FrameConstants { mean: c, win_floor } = frame.unwrap_or(FrameConstants {
        mean: 0.0,
        win_floor: 0.0,
    });
    let n = t.n;
    let d = c - t.mean;
    let mut words = shape_words.to_vec();
    words.push(t.method);
    words.push(t.flat as u32 | (t.zero as u32) << 1);
    for v in [n, win_floor, t.energy_centred, t.energy] {
        words.push((v as f32).to_bits());
    }
    for v in [
        2.0 * c,
        n * c * c,
        t.mean,
        n * c * t.mean,
        2.0 * d,
        n * d * d + t.energy_centred,
    ] {
        let hi = v as f32;
        let lo = (v - hi as f64) as f32;
        words.push(hi.to_bits());
        words.push(lo.to_bits());
    }
    // A zero the shader compiler cannot see (window.wgsl explains why it needs one).
    words.push(0);
    words
}
