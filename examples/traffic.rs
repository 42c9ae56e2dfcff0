//! Device-memory traffic of the correlation workloads W1–W3, from the plans' own dispatch
//! lists (`CorrelationPlan::traffic_bytes`), against two floors:
//!
//! * the bytes no FFT method can avoid: the input read once, the output written once, and
//!   the cached template spectrum read once;
//! * that, plus the round trips between the axes that a 2-D FFT larger than workgroup
//!   memory cannot avoid: the half spectrum written after the forward rows and read by the
//!   columns, and again after the inverse columns and read by the inverse rows (with the
//!   forward columns, the product and the inverse columns fused into one pass per column,
//!   as VkFFT's convolution does where a column fits the workgroup). Two round trips, four
//!   spectrum-sized moves.
//!
//! Divided by nominal memory bandwidths they give the time floors in BENCHMARKS.md.
//!
//! ```text
//! cargo run --release --example traffic
//! ```
//!
//! Needs a GPU context (lavapipe will do: the model depends on the plan and on the adapter's
//! workgroup memory, not on its speed).

use xcorr::gpu::{CorrelationPlan, GpuContext};
use xcorr::spec::{Op, Plan};
use xcorr::{Mode, Shape};

/// Nominal (spec-sheet) memory bandwidths, bytes per second.
const DEVICES: [(&str, f64); 2] = [("H100 SXM, 3.35 TB/s", 3.35e12), ("H200, 4.8 TB/s", 4.8e12)];

fn main() -> xcorr::Result<()> {
    let ctx = GpuContext::new()?;
    let workloads = [
        ("W1", Mode::Same, Shape::d2(1024, 1024), Shape::d2(64, 64)),
        (
            "W2",
            Mode::Full,
            Shape::d2(2048, 2048),
            Shape::d2(2048, 2048),
        ),
        (
            "W3",
            Mode::CIRCULAR_CENTRED,
            Shape::d2(512, 512),
            Shape::d2(512, 512),
        ),
    ];
    println!("adapter: {}", ctx.describe());
    println!(
        "| workload | FFT size | floor MB | floor + 2 axis round trips MB | xcorr MB, one dispatch per pass | xcorr MB, line kernel (≤ {}) | dispatches, line kernel | xcorr / floor | xcorr / floor + round trips | floor µs ({}) | model µs, line kernel |",
        workgroup_len(&ctx),
        DEVICES[0].0,
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, mode, a, b) in workloads {
        let plan = Plan::new(Op::Correlate, mode, a, b)?;
        let mut bytes = [0u64; 2];
        let mut floors = [0u64; 2];
        let mut fft = [0; 2];
        let mut dispatches = 0;
        for (i, on) in [false, true].into_iter().enumerate() {
            ctx.set_workgroup_fft(on);
            let gpu = CorrelationPlan::new_real(&ctx, &plan)?;
            bytes[i] = gpu.traffic_bytes();
            dispatches = gpu.run_dispatches().len();
            fft = gpu.fft_shape();
            // The real plan keeps rows × (cols/2 + 1) complex spectrum elements.
            let spectrum = (fft[0] * (fft[1] / 2 + 1)) as u64 * 8;
            let floor = gpu.input_bytes() + gpu.output_bytes() + spectrum;
            floors = [floor, floor + 4 * spectrum];
        }
        let mb = |b: u64| b as f64 / 1e6;
        let us = |b: u64, bw: f64| b as f64 / bw * 1e6;
        let ratio = |f: u64| bytes[1] as f64 / f as f64;
        println!(
            "| {name} | {}×{} | {:.0} | {:.0} | {:.0} | {:.0} | {dispatches} | {:.2}× | {:.2}× | {:.0} | {:.0} |",
            fft[0],
            fft[1],
            mb(floors[0]),
            mb(floors[1]),
            mb(bytes[0]),
            mb(bytes[1]),
            ratio(floors[0]),
            ratio(floors[1]),
            us(floors[0], DEVICES[0].1),
            us(bytes[1], DEVICES[0].1),
        );
        println!(
            "|   | on {} | | | | | | | | {:.0} | {:.0} |",
            DEVICES[1].0,
            us(floors[0], DEVICES[1].1),
            us(bytes[1], DEVICES[1].1)
        );
    }
    Ok(())
}

fn workgroup_len(ctx: &GpuContext) -> usize {
    let was = ctx.workgroup_fft();
    ctx.set_workgroup_fft(true);
    let len = ctx.workgroup_fft_len();
    ctx.set_workgroup_fft(was);
    len
}
