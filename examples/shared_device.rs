//! A render app that owns its wgpu device: the image goes to the GPU once, the correlation
//! is recorded into the app's own command encoder on the app's own buffers, the app's own
//! shader turns the result into magnitudes, and only those come back, to be written as a
//! heatmap PNG. No host round trip between upload and heatmap.
//!
//! ```text
//! cargo run --release --example shared_device -- heatmap.png
//! ```

#[cfg(not(feature = "gpu"))]
fn main() {
    eprintln!("this example needs the `gpu` feature");
}

#[cfg(feature = "gpu")]
fn main() {
    if let Err(e) = app::main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

#[cfg(feature = "gpu")]
mod app {
    use num_complex::Complex;
    use xcorr::gpu::{CorrelationPlan, GpuContext};
    use xcorr::spec::Plan;
    use xcorr::{Mode, Op, Shape};

    /// The app's own post-processing: |z| of each correlation value.
    const MAGNITUDE: &str = r#"
    @group(0) @binding(0) var<storage, read> values: array<vec2<f32>>;
    @group(0) @binding(1) var<storage, read_write> magnitudes: array<f32>;
    @compute @workgroup_size(64)
    fn main(@builtin(global_invocation_id) id: vec3<u32>) {
        if (id.x < arrayLength(&magnitudes)) {
            magnitudes[id.x] = length(values[id.x]);
        }
    }
    "#;

    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        let path = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "shared_device_heatmap.png".into());

        // The app's device, as a render app would create it.
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = pollster::block_on(instance.request_adapter(&Default::default()))?;
        let (device, queue) =
            pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
                label: Some("app"),
                required_limits: adapter.limits(),
                ..Default::default()
            }))?;

        // The app's image, on the GPU: zero-mean texture with a bright cross centred at (140, 100).
        let (rows, cols) = (240usize, 320usize);
        let image: Vec<Complex<f32>> = (0..rows * cols)
            .map(|i| {
                let (r, c) = (i / cols, i % cols);
                let cross = (r.abs_diff(140) <= 1 && c.abs_diff(100) <= 12)
                    || (c.abs_diff(100) <= 1 && r.abs_diff(140) <= 12);
                Complex::new(
                    if cross {
                        3.0
                    } else {
                        ((r * 7 + c * 13) % 11) as f32 / 5.0 - 1.0
                    },
                    0.0,
                )
            })
            .collect();
        let template: Vec<Complex<f32>> = (0..25 * 25)
            .map(|i| {
                let (r, c): (usize, usize) = (i / 25, i % 25);
                Complex::new(
                    if r.abs_diff(12) <= 1 || c.abs_diff(12) <= 1 {
                        1.0
                    } else {
                        0.0
                    },
                    0.0,
                )
            })
            .collect();
        let storage = |label, size, extra| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::STORAGE | extra,
                mapped_at_creation: false,
            })
        };
        let image_buffer = storage(
            "app image",
            (rows * cols * 8) as u64,
            wgpu::BufferUsages::COPY_DST,
        );
        let floats: Vec<f32> = image.iter().flat_map(|z| [z.re, z.im]).collect();
        queue.write_buffer(&image_buffer, 0, bytemuck::cast_slice(&floats));

        // xcorr on the app's device: a plan for valid-mode matching of the template.
        let ctx = GpuContext::from_device(device.clone(), queue.clone())?;
        println!("GPU: {}", ctx.describe());
        let plan = Plan::new(
            Op::Correlate,
            Mode::Valid,
            Shape::d2(rows, cols),
            Shape::d2(25, 25),
        )?;
        let mut xcorr = CorrelationPlan::new(&ctx, &plan)?;
        xcorr.set_template(&template)?;
        let (out_rows, out_cols) = (plan.out.rows(), plan.out.cols());
        let scores = storage(
            "app scores",
            xcorr.output_bytes(),
            wgpu::BufferUsages::empty(),
        );
        let magnitudes = storage(
            "app magnitudes",
            (out_rows * out_cols * 4) as u64,
            wgpu::BufferUsages::COPY_SRC,
        );
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("app readback"),
            size: magnitudes.size(),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("app magnitude"),
            source: wgpu::ShaderSource::Wgsl(MAGNITUDE.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("app magnitude"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: scores.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: magnitudes.as_entire_binding(),
                },
            ],
        });

        // One frame: correlation, then the app's pass, then the copy for the PNG.
        let mut encoder = device.create_command_encoder(&Default::default());
        xcorr.encode(&mut encoder, &image_buffer, &scores)?;
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups((out_rows * out_cols).div_ceil(64) as u32, 1, 1);
        }
        encoder.copy_buffer_to_buffer(&magnitudes, 0, &readback, 0, None);
        queue.submit([encoder.finish()]);

        readback
            .slice(..)
            .map_async(wgpu::MapMode::Read, |r| r.expect("map"));
        device.poll(wgpu::PollType::wait_indefinitely())?;
        let values: Vec<f32> =
            bytemuck::cast_slice(&readback.slice(..).get_mapped_range()?).to_vec();
        readback.unmap();

        let peak = (0..values.len())
            .max_by(|&i, &j| values[i].total_cmp(&values[j]))
            .unwrap();
        println!(
            "best match: template centre at ({}, {}) (the cross is centred at (140, 100))",
            peak / out_cols + 12,
            peak % out_cols + 12
        );
        write_heatmap(&path, &values, out_rows, out_cols)?;
        println!("wrote {path} ({out_rows} x {out_cols})");
        Ok(())
    }

    /// Viridis colouring between the minimum and the maximum.
    fn write_heatmap(
        path: &str,
        values: &[f32],
        rows: usize,
        cols: usize,
    ) -> image::ImageResult<()> {
        let (lo, hi) = values
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        let span = (hi - lo).max(f32::MIN_POSITIVE);
        let mut img = image::RgbImage::new(cols as u32, rows as u32);
        for (i, &v) in values.iter().enumerate() {
            let c = colorous::VIRIDIS.eval_continuous(((v - lo) / span) as f64);
            img.put_pixel(
                (i % cols) as u32,
                (i / cols) as u32,
                image::Rgb([c.r, c.g, c.b]),
            );
        }
        img.save(path)
    }
}
