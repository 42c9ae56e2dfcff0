//! Shader modules, bind group layouts and compute pipelines: built once per device, keyed by
//! kernel and its pipeline-overridable constants.

use crate::error::Result;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

// The kernels that apply the spectrum product share its one definition (product.wgsl),
// placed before their own file: stockham_shared.wgsl's workgroup array must come after every
// named override (see there).
const STOCKHAM: &str = concat!(
    include_str!("../../shaders/product.wgsl"),
    include_str!("../../shaders/stockham.wgsl")
);
const STOCKHAM_SHARED: &str = concat!(
    include_str!("../../shaders/product.wgsl"),
    include_str!("../../shaders/stockham_shared.wgsl")
);
const SPECTRUM: &str = concat!(
    include_str!("../../shaders/product.wgsl"),
    include_str!("../../shaders/spectrum.wgsl")
);
const SHIFT: &str = include_str!("../../shaders/shift.wgsl");
const WINDOW: &str = include_str!("../../shaders/window.wgsl");
const REDUCE: &str = include_str!("../../shaders/reduce.wgsl");
const DFT: &str = include_str!("../../shaders/dft.wgsl");
const REAL: &str = include_str!("../../shaders/real.wgsl");

/// Which factor of a spectrum product is conjugated (product.wgsl). `own` is the spectrum a
/// run has just computed, `kept` the one held on the device (template or reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Conj {
    /// `own · kept`: convolution.
    None,
    /// `own · conj(kept)`: correlation, whose second argument is conjugated.
    Kept,
    /// `conj(own) · kept`: phase correlation, `reference · conj(moving)`, when the moving
    /// image's spectrum is the one just computed.
    Own,
}

/// The spectrum product of a correlation (product.wgsl): which factor is conjugated, and
/// whether the product is divided by its magnitude (phase correlation). Applied by the
/// separate `spectrum` dispatch, or fused into the last forward FFT pass (the `product` of
/// the Stockham kernels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Product {
    pub conj: Conj,
    pub phase: bool,
}

/// One compute kernel with its overridable constants (the workgroup size is per device).
///
/// The Stockham kernels' `product`, where set, fuses the spectrum product into the pass:
/// every output is multiplied by the kept spectrum as it is written (stockham.wgsl).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kernel {
    /// One radix-2 Stockham pass (stockham.wgsl).
    Stockham {
        inverse: bool,
        product: Option<Product>,
    },
    /// One radix-4 Stockham pass, two radix-2 passes' work (stockham.wgsl).
    Stockham4 {
        inverse: bool,
        product: Option<Product>,
    },
    /// One Stockham pass of an odd radix (3, 5 or 7), the radix an overridable constant
    /// (stockham.wgsl).
    StockhamOdd {
        inverse: bool,
        radix: u32,
        product: Option<Product>,
    },
    /// A whole row transform of length `n` in workgroup memory, `wg` invocations per row
    /// (stockham_shared.wgsl); both are overridable constants, so they key the cache.
    StockhamShared {
        inverse: bool,
        n: u32,
        wg: u32,
        product: Option<Product>,
    },
    /// `data = product(data, t)`, scaled, in its own dispatch (spectrum.wgsl).
    Spectrum(Product),
    /// Bluestein's chirp multiply with zero fill (spectrum.wgsl).
    Chirp,
    /// Zero-padded copy into the work buffer (shift.wgsl).
    Pad,
    /// Circular gather of the output window (shift.wgsl).
    Gather,
    /// Window sums along rows, float-float (window.wgsl).
    BoxRows,
    /// Window sums down columns and the matching score (window.wgsl).
    Combine,
    /// Peak-search keys from scores (reduce.wgsl).
    Keys,
    /// Best (key, index) per workgroup (reduce.wgsl).
    Partial,
    /// The best of the partial results, written as a peak record (reduce.wgsl).
    FinalPeak,
    /// Remove a peak's neighbourhood from the keys (reduce.wgsl).
    Suppress,
    /// |x| of a complex array (dft.wgsl).
    Magnitude,
    /// The upsampled DFT's two matrix products (dft.wgsl).
    DftCols,
    DftRows,
    /// Real input into packed rows, two real rows per complex row when `paired`
    /// (real.wgsl).
    Pack {
        paired: bool,
    },
    /// Packed row spectra into the real rows' half spectra (real.wgsl).
    Split,
    /// Half spectra back into packed row spectra (real.wgsl).
    Merge,
    /// The real output window out of packed rows (real.wgsl).
    Unpack {
        paired: bool,
    },
}

/// How a kernel's bindings are laid out; `bind` in the plan follows the same order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// src (read), dst (read-write), table (read), params: every kernel with two inputs.
    Stockham,
    /// data (read-write), table (read), params.
    Pointwise,
    /// src (read), dst (read-write), params.
    Shift,
    /// src (read), dst (read-write), table (read), kept (read), params: the Stockham passes;
    /// `kept` is the spectrum a fused product reads, the table where there is none.
    Fft,
}

impl Kernel {
    pub(crate) fn layout(self) -> Layout {
        match self {
            Kernel::Stockham { .. }
            | Kernel::Stockham4 { .. }
            | Kernel::StockhamOdd { .. }
            | Kernel::StockhamShared { .. } => Layout::Fft,
            Kernel::Combine | Kernel::FinalPeak | Kernel::DftCols | Kernel::DftRows => {
                Layout::Stockham
            }
            Kernel::Spectrum(_) | Kernel::Chirp => Layout::Pointwise,
            Kernel::Pad
            | Kernel::Gather
            | Kernel::BoxRows
            | Kernel::Keys
            | Kernel::Partial
            | Kernel::Suppress
            | Kernel::Magnitude
            | Kernel::Pack { .. }
            | Kernel::Split
            | Kernel::Merge
            | Kernel::Unpack { .. } => Layout::Shift,
        }
    }

    /// Invocations per workgroup: the kernel's own where it fixes one, else the device's.
    pub(crate) fn workgroup_size(self, device_default: u32) -> u32 {
        match self {
            Kernel::StockhamShared { wg, .. } => wg,
            _ => device_default,
        }
    }

    fn source(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kernel::Stockham { .. } => ("stockham", STOCKHAM, "main"),
            Kernel::Stockham4 { .. } => ("stockham", STOCKHAM, "radix4"),
            Kernel::StockhamOdd { .. } => ("stockham", STOCKHAM, "radix_odd"),
            Kernel::StockhamShared { .. } => ("stockham_shared", STOCKHAM_SHARED, "main"),
            Kernel::Spectrum(_) => ("spectrum", SPECTRUM, "spectrum"),
            Kernel::Chirp => ("spectrum", SPECTRUM, "chirp"),
            Kernel::Pad => ("shift", SHIFT, "pad"),
            Kernel::Gather => ("shift", SHIFT, "gather"),
            Kernel::BoxRows => ("window", WINDOW, "box_rows"),
            Kernel::Combine => ("window", WINDOW, "combine"),
            Kernel::Keys => ("reduce", REDUCE, "keys"),
            Kernel::Partial => ("reduce", REDUCE, "partial"),
            Kernel::FinalPeak => ("reduce", REDUCE, "final_peak"),
            Kernel::Suppress => ("reduce", REDUCE, "suppress"),
            Kernel::Magnitude => ("dft", DFT, "magnitude"),
            Kernel::DftCols => ("dft", DFT, "dft_cols"),
            Kernel::DftRows => ("dft", DFT, "dft_rows"),
            Kernel::Pack { .. } => ("real", REAL, "pack"),
            Kernel::Split => ("real", REAL, "split"),
            Kernel::Merge => ("real", REAL, "merge"),
            Kernel::Unpack { .. } => ("real", REAL, "unpack"),
        }
    }
}

pub(crate) struct PipelineCache {
    /// Invocations per workgroup, the `WG` override of every kernel.
    pub(crate) workgroup_size: u32,
    layouts: [(wgpu::BindGroupLayout, wgpu::PipelineLayout); 4],
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<(Kernel, u32), Arc<wgpu::ComputePipeline>>>,
}

impl PipelineCache {
    pub(crate) fn new(device: &wgpu::Device, limits: &wgpu::Limits) -> Result<Self> {
        let workgroup_size = 256
            .min(limits.max_compute_invocations_per_workgroup)
            .min(limits.max_compute_workgroup_size_x)
            .max(1);
        use wgpu::BufferBindingType::{Storage, Uniform};
        let read = Storage { read_only: true };
        let write = Storage { read_only: false };
        let layouts = [
            [read, write, read, Uniform].as_slice(),
            [write, read, Uniform].as_slice(),
            [read, write, Uniform].as_slice(),
            [read, write, read, read, Uniform].as_slice(),
        ]
        .map(|bindings| make_layout(device, bindings));
        Ok(PipelineCache {
            workgroup_size,
            layouts,
            modules: Mutex::new(HashMap::new()),
            pipelines: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn bind_group_layout(&self, layout: Layout) -> &wgpu::BindGroupLayout {
        &self.layouts[layout as usize].0
    }

    /// How many pipelines have been compiled on this device.
    pub(crate) fn len(&self) -> usize {
        self.pipelines.lock().unwrap().len()
    }

    /// The pipeline for `kernel`, compiled on first use.
    pub(crate) fn get(&self, device: &wgpu::Device, kernel: Kernel) -> Arc<wgpu::ComputePipeline> {
        let key = (kernel, self.workgroup_size);
        if let Some(p) = self.pipelines.lock().unwrap().get(&key) {
            return p.clone();
        }
        let (file, text, entry) = kernel.source();
        let module = {
            let mut modules = self.modules.lock().unwrap();
            modules
                .entry(file)
                .or_insert_with(|| {
                    device.create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(file),
                        source: wgpu::ShaderSource::Wgsl(text.into()),
                    })
                })
                .clone()
        };
        let mut constants = vec![("WG", kernel.workgroup_size(self.workgroup_size) as f64)];
        // A product's constants; an FFT pass without one sets PRODUCT false and leaves the
        // rest at their defaults, unused.
        let product_constants = |product: Product, constants: &mut Vec<(&str, f64)>| {
            constants.push(("CONJ", (product.conj == Conj::Kept) as u8 as f64));
            constants.push(("CONJ_OWN", (product.conj == Conj::Own) as u8 as f64));
            constants.push(("PHASE", product.phase as u8 as f64));
        };
        let fused = |product: Option<Product>, constants: &mut Vec<(&str, f64)>| {
            constants.push(("PRODUCT", product.is_some() as u8 as f64));
            if let Some(product) = product {
                product_constants(product, constants);
            }
        };
        match kernel {
            Kernel::Stockham { inverse, product } | Kernel::Stockham4 { inverse, product } => {
                constants.push(("INVERSE", inverse as u8 as f64));
                fused(product, &mut constants);
            }
            Kernel::StockhamOdd {
                inverse,
                radix,
                product,
            } => {
                constants.push(("INVERSE", inverse as u8 as f64));
                constants.push(("R", radix as f64));
                fused(product, &mut constants);
            }
            Kernel::StockhamShared {
                inverse,
                n,
                product,
                ..
            } => {
                constants.push(("INVERSE", inverse as u8 as f64));
                constants.push(("N", n as f64));
                fused(product, &mut constants);
            }
            Kernel::Spectrum(product) => product_constants(product, &mut constants),
            Kernel::Pack { paired } | Kernel::Unpack { paired } => {
                constants.push(("PAIRED", paired as u8 as f64))
            }
            _ => {}
        }
        let pipeline = Arc::new(
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&self.layouts[kernel.layout() as usize].1),
                module: &module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            }),
        );
        self.pipelines.lock().unwrap().insert(key, pipeline.clone());
        pipeline
    }
}

fn make_layout(
    device: &wgpu::Device,
    bindings: &[wgpu::BufferBindingType],
) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
    let entries: Vec<_> = bindings
        .iter()
        .enumerate()
        .map(|(i, &ty)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("xcorr"),
        entries: &entries,
    });
    let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("xcorr"),
        bind_group_layouts: &[Some(&bgl)],
        immediate_size: 0,
    });
    (bgl, pl)
}
