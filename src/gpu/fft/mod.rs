//! The FFT on the device, by job: transform lengths and what the device's workgroup memory
//! allows ([`lengths`]), the host-computed twiddle and Bluestein tables ([`tables`]), the
//! passes of a transform as steps ([`steps`]); and [`fft_forward`], a one-shot transform.

mod lengths;
mod steps;
mod tables;

pub(crate) use lengths::{transform_shape, RowCapacity};
pub(crate) use steps::{fuse_product, FftLayout};

use super::context::GpuContext;
use super::params::ShiftParams;
use super::pipelines::Kernel;
use super::program::{
    begin_pass, check_buffer, complex_bytes, read_back, record, Buf, Bufs, Step, Uniforms, ELEM,
};
use crate::error::{Error, Result};
use crate::Shape;
use num_complex::Complex;

/// The exact forward DFT of a 1-D or 2-D array (row-major, unnormalised, like numpy's
/// `fft2`) on the GPU: Stockham passes at power-of-two lengths, Bluestein elsewhere. A check
/// of the transform on its own; correlation plans do not go through here.
pub fn fft_forward(
    ctx: &GpuContext,
    data: &[Complex<f32>],
    shape: Shape,
) -> Result<Vec<Complex<f32>>> {
    if data.len() != shape.len() {
        return Err(Error::LengthMismatch {
            what: "FFT input".into(),
            shape,
            expected: shape.len(),
            got: data.len(),
        });
    }
    if shape.is_empty() {
        return Err(Error::Empty {
            what: "FFT input".into(),
            shape,
        });
    }
    let fft = FftLayout::new(shape.axes(), RowCapacity::of(ctx));
    let (logical, padded) = (fft.logical, fft.padded);
    let data_bytes = shape.len() as u64 * ELEM;
    let work_bytes = fft.work_len() as u64 * ELEM;
    let table_bytes = fft.tables.len() as u64 * ELEM;
    for bytes in [data_bytes, work_bytes, table_bytes] {
        check_buffer(ctx, bytes, true)?;
    }
    let mut steps = vec![Step {
        kernel: Kernel::Pad,
        bufs: Bufs::InOut {
            src: Buf::Input,
            dst: Buf::X,
        },
        params: ShiftParams::pad(logical, logical, padded[1]).into(),
        threads: shape.len() as u64,
    }];
    let at = fft.steps(false, Buf::X, &mut steps);
    steps.push(Step {
        kernel: Kernel::Gather,
        bufs: Bufs::InOut {
            src: at,
            dst: Buf::Output,
        },
        params: ShiftParams::gather(logical, logical, padded[1], [0, 0]).into(),
        threads: shape.len() as u64,
    });
    let staging = ctx.scoped("running an FFT", || {
        let refs: Vec<&Step> = steps.iter().collect();
        let (uniforms, slots) = Uniforms::new(ctx, "xcorr fft", &refs)?;
        use wgpu::BufferUsages as U;
        let input = ctx.create_buffer("xcorr fft input", data_bytes, U::STORAGE | U::COPY_DST);
        let x = ctx.create_buffer("xcorr fft x", work_bytes, U::STORAGE);
        let y = ctx.create_buffer("xcorr fft y", work_bytes, U::STORAGE);
        let output = ctx.create_buffer("xcorr fft output", data_bytes, U::STORAGE | U::COPY_SRC);
        let staging = ctx.create_buffer("xcorr fft staging", data_bytes, U::MAP_READ | U::COPY_DST);
        let tables = ctx.create_buffer("xcorr fft tables", table_bytes, U::STORAGE | U::COPY_DST);
        ctx.queue()
            .write_buffer(&tables, 0, bytemuck::cast_slice(&fft.tables));
        ctx.queue().write_buffer(&input, 0, complex_bytes(data));
        let resolve = |b: Buf| match b {
            Buf::Input => &input,
            Buf::X => &x,
            Buf::Y => &y,
            Buf::Output => &output,
            Buf::Tables => &tables,
            Buf::Kept => unreachable!("a lone transform has no product"),
        };
        let dispatches: Vec<_> = steps
            .iter()
            .zip(slots)
            .map(|(s, slot)| uniforms.bind_step(ctx, s, slot, resolve))
            .collect();
        let mut encoder = ctx
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("xcorr fft"),
            });
        {
            let mut pass = begin_pass(&mut encoder, "xcorr fft");
            record(&mut pass, &dispatches);
        }
        encoder.copy_buffer_to_buffer(&output, 0, &staging, 0, None);
        ctx.queue().submit([encoder.finish()]);
        Ok(staging)
    })?;
    pollster::block_on(read_back(ctx, &staging))
}
