//! Plans as objects: repeated runs, no allocation after building, the encode API on the
//! caller's buffers, async runs, bad calls, and device limits (on devices adopted with
//! deliberately small limits).
#![cfg(feature = "gpu")]

mod gpu_support;

use gpu_support::*;
use xcorr::gpu::{compute, fft_forward, CorrelationPlan, GpuContext};
use xcorr::spec::{Op, Plan};
use xcorr::{Error, Mode, Shape};

/// One plan run 1000 times: bit-identical results, and neither buffers nor pipelines are
/// created after the plan is built.
#[test]
fn repeated_runs_are_identical_and_allocate_nothing() {
    let Some(ctx) = own_context() else { return };
    let plan = Plan::new(
        Op::Correlate,
        Mode::Same,
        Shape::d2(37, 41),
        Shape::d2(8, 5),
    )
    .unwrap();
    let a = random(1, plan.a.len());
    let b = random(2, plan.b.len());
    let mut gpu = CorrelationPlan::new(&ctx, &plan).unwrap();
    gpu.set_template(&b).unwrap();
    gpu.poison();
    let first = gpu.run(&a).unwrap();
    assert!(rel_l2(&first, &direct(&plan, &a, &b)) <= 1e-5);
    let buffers = ctx.buffer_stats();
    let pipelines = ctx.pipeline_count();
    for i in 1..1000 {
        let out = gpu.run(&a).unwrap();
        assert!(
            out.iter()
                .zip(&first)
                .all(|(x, y)| x.re.to_bits() == y.re.to_bits() && x.im.to_bits() == y.im.to_bits()),
            "run {i} differs from the first"
        );
    }
    assert_eq!(ctx.buffer_stats(), buffers, "buffers created while running");
    assert_eq!(
        ctx.pipeline_count(),
        pipelines,
        "pipelines compiled while running"
    );
}

/// A second plan on the same context reuses its pipelines.
#[test]
fn pipelines_are_cached_per_device() {
    let Some(ctx) = own_context() else { return };
    let plan = Plan::new(Op::Convolve, Mode::Full, Shape::d2(9, 10), Shape::d2(3, 3)).unwrap();
    let (a, b) = (random(3, plan.a.len()), random(4, plan.b.len()));
    compute(&ctx, &plan, &a, &b).unwrap();
    let pipelines = ctx.pipeline_count();
    compute(&ctx, &plan, &a, &b).unwrap();
    assert_eq!(ctx.pipeline_count(), pipelines);
}

/// New templates replace the old spectrum; results follow.
#[test]
fn template_can_change() {
    let Some(ctx) = context() else { return };
    let plan = Plan::new(Op::Correlate, Mode::CIRCULAR, Shape::d1(100), Shape::d1(9)).unwrap();
    let a = random(5, plan.a.len());
    let mut gpu = CorrelationPlan::new(&ctx, &plan).unwrap();
    for seed in 10..13 {
        let b = random(seed, plan.b.len());
        gpu.set_template(&b).unwrap();
        assert!(rel_l2(&gpu.run(&a).unwrap(), &direct(&plan, &a, &b)) <= 1e-5);
    }
}

#[test]
fn run_async_and_one_shot_agree_with_run() {
    let Some(ctx) = context() else { return };
    let plan = Plan::new(
        Op::Convolve,
        Mode::Valid,
        Shape::d2(20, 30),
        Shape::d2(7, 4),
    )
    .unwrap();
    let (a, b) = (random(6, plan.a.len()), random(7, plan.b.len()));
    let mut gpu = CorrelationPlan::new(&ctx, &plan).unwrap();
    gpu.set_template(&b).unwrap();
    let blocking = gpu.run(&a).unwrap();
    let asynchronous = pollster::block_on(gpu.run_async(&a)).unwrap();
    let one_shot = compute(&ctx, &plan, &a, &b).unwrap();
    assert_eq!(blocking, asynchronous);
    assert_eq!(blocking, one_shot);
    assert!(rel_l2(&blocking, &direct(&plan, &a, &b)) <= 1e-5);
}

fn storage_buffer(ctx: &GpuContext, bytes: u64, extra: wgpu::BufferUsages) -> wgpu::Buffer {
    ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("test"),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE | extra,
        mapped_at_creation: false,
    })
}

fn read(ctx: &GpuContext, buffer: &wgpu::Buffer) -> Vec<C32> {
    let staging = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("test staging"),
        size: buffer.size(),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx.device().create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, None);
    ctx.queue().submit([encoder.finish()]);
    staging
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.unwrap());
    ctx.device()
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    let view = staging.slice(..).get_mapped_range().unwrap();
    let floats: &[f32] = bytemuck::cast_slice(&view);
    floats
        .chunks_exact(2)
        .map(|c| C32::new(c[0], c[1]))
        .collect()
}

/// The encode API: the caller's input buffer in, the caller's (poisoned) output buffer out,
/// recorded into the caller's encoder; same numbers as `run`.
#[test]
fn encode_into_the_callers_encoder_and_buffers() {
    let Some(ctx) = context() else { return };
    let plan = Plan::new(
        Op::Correlate,
        Mode::CIRCULAR_CENTRED,
        Shape::d2(45, 60),
        Shape::d2(11, 11),
    )
    .unwrap();
    let (a, b) = (random(8, plan.a.len()), random(9, plan.b.len()));
    let mut gpu = CorrelationPlan::new(&ctx, &plan).unwrap();
    gpu.set_template(&b).unwrap();
    let expected = gpu.run(&a).unwrap();

    let input = storage_buffer(&ctx, gpu.input_bytes(), wgpu::BufferUsages::COPY_DST);
    let a_floats: Vec<f32> = a.iter().flat_map(|c| [c.re, c.im]).collect();
    ctx.queue()
        .write_buffer(&input, 0, bytemuck::cast_slice(&a_floats));
    // One element more than needed: the encode must leave it alone.
    let output = storage_buffer(
        &ctx,
        gpu.output_bytes() + 8,
        wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
    );
    let nan = vec![f32::NAN; (output.size() / 4) as usize];
    ctx.queue()
        .write_buffer(&output, 0, bytemuck::cast_slice(&nan));
    gpu.poison();

    let mut encoder = ctx.device().create_command_encoder(&Default::default());
    gpu.encode(&mut encoder, &input, &output).unwrap();
    ctx.queue().submit([encoder.finish()]);
    let got = read(&ctx, &output);
    assert_eq!(&got[..expected.len()], &expected[..]);
    assert!(got[expected.len()].re.is_nan(), "wrote past the output");
    assert!(rel_l2(&expected, &direct(&plan, &a, &b)) <= 1e-5);
}

#[test]
fn bad_calls_are_errors() {
    let Some(ctx) = context() else { return };
    let plan = Plan::new(Op::Correlate, Mode::Full, Shape::d1(50), Shape::d1(5)).unwrap();
    let mut gpu = CorrelationPlan::new(&ctx, &plan).unwrap();
    let a = random(10, 50);
    assert!(
        matches!(gpu.run(&a), Err(Error::InvalidArgument(_))),
        "run before set_template"
    );
    assert!(matches!(
        gpu.set_template(&a),
        Err(Error::LengthMismatch { .. })
    ));
    gpu.set_template(&a[..5]).unwrap();
    assert!(matches!(
        gpu.run(&a[..49]),
        Err(Error::LengthMismatch { .. })
    ));
    let mut encoder = ctx.device().create_command_encoder(&Default::default());
    let small = storage_buffer(&ctx, 8 * 49, wgpu::BufferUsages::empty());
    let output = storage_buffer(&ctx, gpu.output_bytes(), wgpu::BufferUsages::empty());
    let uniform = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: gpu.output_bytes(),
        usage: wgpu::BufferUsages::UNIFORM,
        mapped_at_creation: false,
    });
    assert!(matches!(
        gpu.encode(&mut encoder, &small, &output),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        gpu.encode(&mut encoder, &output, &uniform),
        Err(Error::InvalidArgument(_))
    ));
    assert!(gpu.run(&a).is_ok(), "the plan still works");
}

/// Validation errors surface as `Error::Gpu` (through error scopes), not as panics.
#[test]
fn validation_errors_are_gpu_errors() {
    let Some(ctx) = context() else { return };
    let plan = Plan::new(Op::Correlate, Mode::Full, Shape::d1(50), Shape::d1(5)).unwrap();
    let mut gpu = CorrelationPlan::new(&ctx, &plan).unwrap();
    gpu.set_template(&random(18, 5)).unwrap();
    let input = storage_buffer(&ctx, gpu.input_bytes(), wgpu::BufferUsages::empty());
    let output = storage_buffer(&ctx, gpu.output_bytes(), wgpu::BufferUsages::empty());
    output.destroy();
    let mut encoder = ctx.device().create_command_encoder(&Default::default());
    match gpu.encode(&mut encoder, &input, &output) {
        Err(Error::Gpu(message)) => println!("{message}"),
        other => panic!("expected Error::Gpu, got {other:?}"),
    }
    // Nothing was recorded: the caller's encoder is still valid.
    ctx.queue().submit([encoder.finish()]);
    let a = random(19, 50);
    assert!(gpu.run(&a).is_ok(), "the plan still works");
}

/// A device created with small limits, adopted through `from_device`.
fn limited(limits: wgpu::Limits) -> Option<GpuContext> {
    context()?;
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default())).ok()?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("limited"),
        required_limits: limits,
        ..Default::default()
    }))
    .unwrap();
    Some(GpuContext::from_device(device, queue).unwrap())
}

fn expect_limit(result: xcorr::Result<impl Sized>, name: &str) {
    match result {
        Err(Error::DeviceLimit {
            limit,
            needed,
            allowed,
        }) => {
            assert_eq!(limit, name);
            assert!(needed > allowed, "{needed} <= {allowed}");
        }
        Err(e) => panic!("expected DeviceLimit {name}, got {e}"),
        Ok(_) => panic!("expected DeviceLimit {name}, got a result"),
    }
}

#[test]
fn storage_binding_limit() {
    let Some(ctx) = limited(wgpu::Limits {
        max_storage_buffer_binding_size: 1 << 16,
        ..Default::default()
    }) else {
        return;
    };
    assert_eq!(ctx.limits().max_storage_buffer_binding_size, 1 << 16);
    // 2^13 elements of 8 bytes fit exactly; the full correlation below pads to 2^14.
    let big = Plan::new(Op::Correlate, Mode::Full, Shape::d1(5000), Shape::d1(5000)).unwrap();
    expect_limit(
        CorrelationPlan::new(&ctx, &big),
        "max_storage_buffer_binding_size",
    );
    expect_limit(
        fft_forward(&ctx, &random(11, 1 << 14), Shape::d1(1 << 14)),
        "max_storage_buffer_binding_size",
    );
    // The device is still fine: a job that fits runs and is right.
    let fits = Plan::new(Op::Correlate, Mode::Full, Shape::d1(3000), Shape::d1(1000)).unwrap();
    let (a, b) = (random(12, 3000), random(13, 1000));
    let out = compute(&ctx, &fits, &a, &b).unwrap();
    assert!(rel_l2(&out, &direct(&fits, &a, &b)) <= 1e-5);
}

#[test]
fn buffer_size_limit() {
    let Some(ctx) = limited(wgpu::Limits {
        max_buffer_size: 1 << 15,
        max_storage_buffer_binding_size: 1 << 15,
        ..Default::default()
    }) else {
        return;
    };
    let big = Plan::new(Op::Convolve, Mode::Same, Shape::d2(64, 65), Shape::d2(3, 3)).unwrap();
    expect_limit(CorrelationPlan::new(&ctx, &big), "max_buffer_size");
}

/// Few workgroups per dimension: mid-size jobs spread over y (and stay right), larger ones
/// are refused.
#[test]
fn dispatch_limit() {
    let Some(ctx) = limited(wgpu::Limits {
        max_compute_workgroups_per_dimension: 8,
        ..Default::default()
    }) else {
        return;
    };
    let wg = 256.min(ctx.limits().max_compute_invocations_per_workgroup) as usize;
    // Needs more than 8 workgroups, fewer than 64: a 2-D dispatch.
    let n = 16 * wg;
    let data = random(14, n);
    let out = fft_forward(&ctx, &data, Shape::d1(n)).unwrap();
    assert!(rel_l2(&out, &fft2(&widen(&data), Shape::d1(n))) <= 1e-6);
    let plan = Plan::new(
        Op::Correlate,
        Mode::Full,
        Shape::d2(40, 50),
        Shape::d2(5, 5),
    )
    .unwrap();
    let (a, b) = (random(15, plan.a.len()), random(16, plan.b.len()));
    assert!(
        rel_l2(
            &compute(&ctx, &plan, &a, &b).unwrap(),
            &direct(&plan, &a, &b)
        ) <= 1e-5
    );
    // 64 × 8 × 8 workgroups are too many.
    let too_many = 2 * 64 * wg * 64;
    expect_limit(
        fft_forward(&ctx, &random(17, too_many), Shape::d1(too_many)),
        "max_compute_workgroups_per_dimension",
    );
}

#[test]
fn adapters_are_listed_and_described() {
    let Some(ctx) = context() else { return };
    let adapters = xcorr::gpu::list_adapters();
    println!(
        "{adapters:#?}\n{}\n{}",
        ctx.describe(),
        ctx.describe_limits()
    );
    assert!(!adapters.is_empty());
    assert!(adapters.iter().all(|l| l.contains("max storage binding")));
    assert!(ctx.describe().contains(" via "));
}

/// A real plan: `run_real` agrees with the oracle and allocates nothing per run; `encode`
/// reads and writes `f32` buffers (half the bytes of a complex plan's); the complex calls
/// are refused on it, and the real calls on a complex plan.
#[test]
fn real_plans_take_real_buffers_and_refuse_complex_calls() {
    let Some(ctx) = own_context() else { return };
    let plan = Plan::new(
        Op::Correlate,
        Mode::Same,
        Shape::d2(37, 41),
        Shape::d2(8, 5),
    )
    .unwrap();
    let (a, b) = (
        real_only(&random(20, plan.a.len())),
        real_only(&random(21, plan.b.len())),
    );
    let mut gpu = CorrelationPlan::new_real(&ctx, &plan).unwrap();
    assert!(gpu.is_real());
    assert_eq!(gpu.input_bytes(), 4 * plan.a.len() as u64);
    assert_eq!(gpu.output_bytes(), 4 * plan.out.len() as u64);
    assert!(matches!(
        gpu.run_real(&real_parts(&a)),
        Err(Error::InvalidArgument(_))
    ));
    for refused in [gpu.set_template(&b).err(), gpu.run(&a).err()] {
        match refused {
            Some(Error::InvalidArgument(m)) => assert!(m.contains("real"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    gpu.set_template_real(&real_parts(&b)).unwrap();
    gpu.poison();
    let first = gpu.run_real(&real_parts(&a)).unwrap();
    let as_complex: Vec<C32> = first.iter().map(|&v| C32::new(v, 0.0)).collect();
    assert!(rel_l2(&as_complex, &direct(&plan, &a, &b)) <= 1e-5);
    let buffers = ctx.buffer_stats();
    for _ in 0..50 {
        assert_eq!(gpu.run_real(&real_parts(&a)).unwrap(), first);
    }
    assert_eq!(ctx.buffer_stats(), buffers, "buffers created while running");

    let input = storage_buffer(&ctx, gpu.input_bytes(), wgpu::BufferUsages::COPY_DST);
    ctx.queue()
        .write_buffer(&input, 0, bytemuck::cast_slice(&real_parts(&a)));
    let output = storage_buffer(
        &ctx,
        // Two floats more than needed (`read` takes pairs): the encode must leave them alone.
        gpu.output_bytes() + 8,
        wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
    );
    let nan = vec![f32::NAN; (output.size() / 4) as usize];
    ctx.queue()
        .write_buffer(&output, 0, bytemuck::cast_slice(&nan));
    let mut encoder = ctx.device().create_command_encoder(&Default::default());
    gpu.encode(&mut encoder, &input, &output).unwrap();
    ctx.queue().submit([encoder.finish()]);
    let got: Vec<f32> = read(&ctx, &output)
        .iter()
        .flat_map(|c| [c.re, c.im])
        .collect();
    assert_eq!(&got[..first.len()], &first[..]);
    assert!(got[first.len()].is_nan(), "wrote past the output");

    let mut complex = CorrelationPlan::new(&ctx, &plan).unwrap();
    assert!(!complex.is_real());
    assert!(matches!(
        complex.set_template_real(&real_parts(&b)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        complex.run_real(&real_parts(&a)),
        Err(Error::InvalidArgument(_))
    ));
}
