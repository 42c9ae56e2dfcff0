//! The forward transform of a plan's input, from its first read of `Buf::Input` to the
//! spectrum: complex or real data ([`Sample`]), paired real rows sharing one complex row
//! FFT, zero rows past the input skipped. Correlation plans and [`FftPlan`](super::FftPlan)
//! both start here.

use super::line_kernel::{LineIo, LineLoad, LineStore};
use super::steps::{bound_work_load, fuse_row_io, FftLayout};
use crate::error::{Error, Result};
use crate::gpu::params::{RealParams, ShiftParams};
use crate::gpu::pipelines::Kernel;
use crate::gpu::program::{Buf, Bufs, Step, ELEM};

/// How a plan's inputs and output are stored, and whether real rows share complex FFTs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sample {
    Complex,
    /// Real f32; `paired`: two rows per complex row FFT (the transform has an even number
    /// of rows), the half spectrum in between (real.wgsl).
    Real {
        paired: bool,
    },
}

impl Sample {
    /// Bytes per element of the inputs and the output.
    pub(crate) fn bytes(self) -> u64 {
        match self {
            Sample::Complex => ELEM,
            Sample::Real { .. } => ELEM / 2,
        }
    }

    /// Refuse a call made for the other kind of `plan` ("correlation plan", "FFT plan"):
    /// `real` is the kind the call is for, `instead` the call to make.
    pub(crate) fn expect(self, real: bool, plan: &str, instead: &str) -> Result<()> {
        let built_real = self != Sample::Complex;
        if built_real == real {
            return Ok(());
        }
        let built = if built_real { "real" } else { "complex" };
        Err(Error::InvalidArgument(format!(
            "this {plan} was built for {built} data: call {instead} instead"
        )))
    }
}

/// The forward transform of an input of `shape`, its first step reading `Buf::Input`: the
/// steps and the buffer that ends up holding the spectrum.
///
/// Rows of the transform past the input are zero: where the first column pass can read
/// them as zeros (`bound_work_load`: a line-kernel pass), no step before it reads or writes
/// them (the row passes and `split` cover only the rows holding input); elsewhere the row
/// stage writes them (zeros in, zeros out). Where the row axis is one line-kernel pass (a
/// power-of-two row that fits workgroup memory), that pass reads the input itself, zeros
/// past its columns unread, and for paired real rows stores the two rows' half spectra
/// (`split`'s work); elsewhere a `pad` or `pack` dispatch loads the work buffer and a
/// `split` dispatch follows the paired row passes.
pub(crate) fn forward(fft: &FftLayout, sample: Sample, shape: crate::Shape) -> (Vec<Step>, Buf) {
    let [rows, cols] = fft.logical;
    let pitch = fft.padded[1];
    let paired = sample == Sample::Real { paired: true };
    let spectrum_cols = if paired { cols / 2 + 1 } else { cols };
    let [src_rows, src_cols] = shape.axes();
    // Transform rows that hold any input (packed row pairs where paired), and all of them.
    let (live, all) = if paired {
        (src_rows.div_ceil(2).min(rows / 2), rows / 2)
    } else {
        (src_rows.min(rows), rows)
    };
    let mut out = Vec::new();
    let rows_at = fft.axis_steps(1, false, live, Buf::X, &mut out);
    let one_pass = out.len() == 1 && matches!(out[0].kernel, Kernel::StockhamShared { .. });
    let split_step = paired && !one_pass;
    let cols_from = if split_step { rows_at.other() } else { rows_at };
    let mut columns = Vec::new();
    let at = fft.axis_steps(0, false, spectrum_cols, cols_from, &mut columns);
    // Rows of the transform the row stage computes, if the columns can take the rest as zero.
    let computed = if paired { 2 * live } else { live };
    let bounded = computed < rows
        && columns
            .first_mut()
            .is_some_and(|c| bound_work_load(c, computed * pitch));
    // A `split` dispatch writes the zero rows itself.
    let row_lines = if bounded || split_step { live } else { all };

    out.clear();
    fft.axis_steps(1, false, row_lines, Buf::X, &mut out);
    if one_pass {
        let io = LineIo::new(
            match sample {
                Sample::Complex => LineLoad::Complex,
                Sample::Real { paired } => LineLoad::Real { paired },
            },
            if paired {
                LineStore::Split
            } else {
                LineStore::Work
            },
        );
        let fused = fuse_row_io(&mut out[0], io, |p| {
            p.src_rows = src_rows as u32;
            p.src_cols = src_cols as u32;
        });
        assert!(
            fused,
            "a row pass of the line kernel takes any load and store"
        );
        set_src(&mut out[0], Buf::Input);
    } else {
        out.insert(0, load_step(fft, sample, shape, row_lines));
    }
    if split_step {
        let split_rows = if bounded { live } else { all };
        out.push(Step {
            kernel: Kernel::Split,
            bufs: Bufs::InOut {
                src: rows_at,
                dst: rows_at.other(),
            },
            params: RealParams {
                rows: split_rows as u32,
                cols: spectrum_cols as u32,
                src_rows: live as u32,
                src_cols: cols as u32,
                pitch: pitch as u32,
                ..Default::default()
            }
            .into(),
            threads: (split_rows * spectrum_cols) as u64,
        });
    }
    out.extend(columns);
    (out, at)
}

/// `pad` or `pack`: the first `lines` rows (packed rows where paired) of the transform
/// into the work buffer X, the input with zeros around it.
fn load_step(fft: &FftLayout, sample: Sample, shape: crate::Shape, lines: usize) -> Step {
    let cols = fft.logical[1];
    let pitch = fft.padded[1];
    let bufs = Bufs::InOut {
        src: Buf::Input,
        dst: Buf::X,
    };
    let (kernel, params) = match sample {
        Sample::Complex => (
            Kernel::Pad,
            ShiftParams::pad([lines, cols], shape.axes(), pitch).into(),
        ),
        Sample::Real { paired } => (
            Kernel::Pack { paired },
            RealParams {
                rows: lines as u32,
                cols: cols as u32,
                src_rows: shape.rows() as u32,
                src_cols: shape.cols() as u32,
                pitch: pitch as u32,
                ..Default::default()
            }
            .into(),
        ),
    };
    Step {
        kernel,
        bufs,
        params,
        threads: (lines * cols) as u64,
    }
}

/// Make `step`, the first pass of a complex transform whose input has the work buffer's
/// layout (no padding on either axis), transform that input in X, where the plan then
/// uploads it: the row pass that loads the compact input becomes a pass in place. One
/// buffer fewer to allocate and for the transform to go through. False, changing nothing,
/// where the first step is not such a row pass (a `pad` dispatch).
pub(crate) fn transform_where_uploaded(step: &mut Step) -> bool {
    let Kernel::StockhamShared { io, .. } = &mut step.kernel else {
        return false;
    };
    let loads_input = matches!(
        step.bufs,
        Bufs::FftPass {
            src: Buf::Input,
            dst: Buf::X,
            ..
        }
    );
    if *io != LineIo::new(LineLoad::Complex, LineStore::Work) || !loads_input {
        return false;
    }
    *io = LineIo::IN_PLACE;
    set_src(step, Buf::X);
    true
}

/// Point an FFT pass's source at `src`.
fn set_src(step: &mut Step, to: Buf) {
    let Bufs::FftPass { src, .. } = &mut step.bufs else {
        unreachable!("a line-kernel pass binds as an FFT pass")
    };
    *src = to;
}
