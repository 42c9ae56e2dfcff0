//! Template matching on the device: the FFT numerator, the window sums, the scores and the
//! peak search run in one submission; only the peaks (or, when asked, the score map) come
//! back. `crate::matching` owns the formulas and describes the terms (`crate::device`); this is
//! the plumbing.

use super::context::GpuContext;
use super::correlate::{BoundIo, CorrelationPlan};
use super::params::WindowParams;
use super::peak_search::{PeakRecord, PeakSearch, SearchShape};
use super::pipelines::Kernel;
use super::program::{
    begin_pass, check_buffer, read_back_as, record, whole, Bufs, Dispatch, Slot, Step, Uniforms,
};
use crate::error::Result;
use crate::spec::{Mode, Op, Plan};
use crate::Shape;

/// Rows or columns one invocation of window.wgsl slides over (its `RUN`).
const RUN: usize = 32;

/// Peak searches a plan keeps (each a few small buffers).
const MAX_SEARCHES: usize = 4;

use crate::device::{FrameTerms, TemplateTerms};

/// One template prepared against frames of one shape.
pub(crate) struct MatchPlan {
    ctx: GpuContext,
    correlation: CorrelationPlan,
    /// The correlation bound to `frame` and `numerator` once, not per frame.
    correlation_io: BoundIo,
    frame_shape: [usize; 2],
    template_shape: [usize; 2],
    out: [usize; 2],
    template: TemplateTerms,
    frame: wgpu::Buffer,
    /// Bound in `correlation_io` and `dispatches`; kept so that it lives as long as they.
    _numerator: wgpu::Buffer,
    scores: wgpu::Buffer,
    keys: wgpu::Buffer,
    map_staging: wgpu::Buffer,
    uniforms: Uniforms,
    combine_slot: Slot,
    dispatches: Vec<Dispatch>,
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
        self.upload(centred, frame);
        self.ctx.submit("running a matching plan", |encoder| {
            self.encode_scores(encoder)?;
            encoder.copy_buffer_to_buffer(&self.scores, 0, &self.map_staging, 0, None);
            Ok(())
        })?;
        read_back_as(&self.ctx, &self.map_staging).await
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
        let found = self
            .searches
            .iter()
            .position(|s| (s.shape(), s.sign()) == (search, sign));
        let index = match found {
            Some(i) => i,
            None => {
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
                self.searches.len() - 1
            }
        };
        self.upload(centred, frame);
        let search = &self.searches[index];
        self.ctx.submit("running a matching plan", |encoder| {
            self.encode_scores(encoder)?;
            {
                let mut pass = begin_pass(encoder, "xcorr matching peak search");
                search.record(&mut pass);
            }
            search.copy_out(encoder);
            Ok(())
        })?;
        search.read(&self.ctx).await
    }

    /// Write the frame and its constants (they land before the next submission runs).
    fn upload(&self, centred: &[f32], frame: FrameTerms) {
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
            .write_buffer(&self.frame, 0, bytemuck::cast_slice(centred));
    }

    /// Record the numerator, the window sums and the scores.
    fn encode_scores(&self, encoder: &mut wgpu::CommandEncoder) -> Result<()> {
        self.correlation
            .encode_bound(encoder, &self.correlation_io)?;
        let mut pass = begin_pass(encoder, "xcorr matching scores");
        record(&mut pass, &self.dispatches);
        Ok(())
    }
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
