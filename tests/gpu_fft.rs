//! The GPU FFT on its own against rustfft in f64: every power of two from 2 to 2^20 in 1-D,
//! squares up to 2048 × 2048 in 2-D, mixed-radix (2,3,5,7-smooth) and Bluestein lengths,
//! each with one dispatch per pass and with the one-dispatch line FFT (rows and columns). Prints the
//! measured tables.
#![cfg(feature = "gpu")]

mod gpu_support;

use gpu_support::*;
use xcorr::gpu::{fft_forward, GpuContext};
use xcorr::Shape;

const BOUND: f64 = 1e-6;

/// Relative L2 error of the forward FFT on `ctx`.
fn measure(ctx: &GpuContext, shape: Shape, seed: u64) -> f64 {
    let data = random(seed, shape.len());
    let out = fft_forward(ctx, &data, shape).unwrap();
    rel_l2(&out, &fft2(&widen(&data), shape))
}

fn check_table(title: &str, shapes: &[Shape]) {
    let (Some(plain), Some(workgroup)) = (per_pass_context(), workgroup_context()) else {
        return;
    };
    // One print per table: the tests run in parallel.
    let mut table = format!(
        "{title}\n| shape | rel L2 | with workgroup FFT (rows ≤ {}) |\n| --- | --- | --- |\n",
        workgroup.workgroup_fft_len()
    );
    let mut worst = Vec::new();
    for (i, &s) in shapes.iter().enumerate() {
        let errors = [&plain, &workgroup].map(|ctx| measure(ctx, s, 100 + i as u64));
        table += &format!("| {s} | {:.2e} | {:.2e} |\n", errors[0], errors[1]);
        for err in errors {
            if err.is_nan() || err > BOUND {
                worst.push(format!("{s}: {err:.2e}"));
            }
        }
    }
    println!("{table}");
    assert!(worst.is_empty(), "rel L2 above {BOUND}: {worst:?}");
}

#[test]
fn fft_1d_powers_of_two() {
    let shapes: Vec<Shape> = (1..=20).map(|p| Shape::d1(1 << p)).collect();
    check_table("1-D forward FFT vs rustfft f64", &shapes);
}

#[test]
fn fft_2d_powers_of_two() {
    let mut shapes: Vec<Shape> = (1..=11).map(|p| Shape::d2(1 << p, 1 << p)).collect();
    shapes.extend([
        Shape::d2(2, 1024),
        Shape::d2(1024, 4),
        Shape::d2(64, 256),
        Shape::d2(1, 64),
    ]);
    check_table("2-D forward FFT vs rustfft f64", &shapes);
}

/// The one-dispatch line kernel at its longest lines (4096, and 8192 past a 32 KiB
/// workgroup store) as rows and as columns, with line counts that do not fill its last
/// workgroup (it takes several lines per workgroup below 4096).
#[test]
fn fft_long_lines_rows_and_columns() {
    let shapes = [
        Shape::d2(4096, 3),
        Shape::d2(3, 4096),
        Shape::d2(8192, 2),
        Shape::d2(2, 8192),
        Shape::d2(1024, 7),
        Shape::d2(7, 2048),
        Shape::d2(2048, 5),
        Shape::d2(16, 4096),
    ];
    check_table("Long lines, rows and columns, vs rustfft f64", &shapes);
}

/// Rows short enough for the workgroup-memory kernel, so many that its workgroups spill
/// over into the second dispatch dimension; and rows past its capacity on any device.
#[test]
fn fft_many_rows_and_long_rows() {
    let shapes = [Shape::d2(1 << 17, 4), Shape::d2(3, 1 << 14)];
    check_table(
        "2-D forward FFT, many rows and long rows, vs rustfft f64",
        &shapes,
    );
}

/// Mixed-radix lengths: every odd radix alone, repeated (a pass at p > 1), and after the
/// power-of-two passes, in 1-D, along both axes, and in rows too long for workgroup memory.
#[test]
fn fft_smooth_lengths() {
    let mut shapes: Vec<Shape> = [
        3, 5, 7, 6, 9, 12, 15, 25, 27, 35, 45, 49, 96, 343, 1000, 1120, 1125, 15625, 16807, 19683,
        248_832,
    ]
    .into_iter()
    .map(Shape::d1)
    .collect();
    shapes.extend([
        Shape::d2(7, 9),
        Shape::d2(96, 100),
        Shape::d2(480, 640),
        Shape::d2(1120, 1120),
        Shape::d2(1152, 1125),
        Shape::d2(1 << 15, 6),
        Shape::d2(3, 3 * 4096),
    ]);
    check_table("Mixed-radix forward FFT vs rustfft f64", &shapes);
}

/// Lengths with a prime factor above 7: Bluestein, its inner transform at a smooth length.
#[test]
fn fft_bluestein_lengths() {
    let mut shapes: Vec<Shape> = [11, 13, 22, 127, 129, 1001, 4099]
        .into_iter()
        .map(Shape::d1)
        .collect();
    shapes.extend([
        Shape::d2(127, 129),
        Shape::d2(11, 64),
        Shape::d2(100, 1),
        Shape::d2(13, 1),
    ]);
    check_table("Bluestein forward DFT vs rustfft f64", &shapes);
}
