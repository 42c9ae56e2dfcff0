//! Shader modules, bind group layouts and compute pipelines: built once per device, keyed by
//! kernel and its pipeline-overridable constants.

use super::fft::{line_main, LineIo, LineLoad, Registers};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

// The kernels that apply the spectrum product share its one definition (product.wgsl),
// placed before their own file: stockham_shared.wgsl's workgroup array must come after every
// named override (see there). stockham_shared.wgsl's entry point is generated per line
// length and appended (fft/line_kernel.rs).
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

/// One shader module: a kernel family's WGSL file, as the pipelines compile it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Module {
    Stockham,
    StockhamShared,
    Spectrum,
    Shift,
    Window,
    Reduce,
    Dft,
    Real,
}

impl Module {
    pub(crate) const ALL: [Module; 8] = [
        Module::Stockham,
        Module::StockhamShared,
        Module::Spectrum,
        Module::Shift,
        Module::Window,
        Module::Reduce,
        Module::Dft,
        Module::Real,
    ];

    /// The WGSL text, with product.wgsl in front where the module applies the product.
    pub(crate) fn source(self) -> &'static str {
        match self {
            Module::Stockham => STOCKHAM,
            Module::StockhamShared => STOCKHAM_SHARED,
            Module::Spectrum => SPECTRUM,
            Module::Shift => SHIFT,
            Module::Window => WINDOW,
            Module::Reduce => REDUCE,
            Module::Dft => DFT,
            Module::Real => REAL,
        }
    }

    /// The shader file the module is built from (product.wgsl goes in front of some).
    pub(crate) fn file(self) -> &'static str {
        self.label().trim_start_matches("xcorr ")
    }

    fn label(self) -> &'static str {
        match self {
            Module::Stockham => "xcorr stockham.wgsl",
            Module::StockhamShared => "xcorr stockham_shared.wgsl",
            Module::Spectrum => "xcorr spectrum.wgsl",
            Module::Shift => "xcorr shift.wgsl",
            Module::Window => "xcorr window.wgsl",
            Module::Reduce => "xcorr reduce.wgsl",
            Module::Dft => "xcorr dft.wgsl",
            Module::Real => "xcorr real.wgsl",
        }
    }
}

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
    /// A whole line transform of length `n` (a power of two) in one dispatch, `points` per
    /// invocation in registers, `lines` lines per workgroup (stockham_shared.wgsl); all are
    /// overridable constants, so they key the cache.
    StockhamShared {
        inverse: bool,
        n: u32,
        points: u32,
        lines: u32,
        /// Stage twiddles: every `tw_step`-th entry of a longer line's table (four-step).
        tw_step: u32,
        /// The four-step twiddle multiply on the outputs.
        outer: bool,
        product: Option<Product>,
        /// Fused loads and stores: the first forward row pass reading the input, the last
        /// inverse row pass writing the output window (part of the generated code).
        io: LineIo,
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

/// How a kernel's bindings are laid out, named for what they hold; the parameters come
/// last. `Bufs` in a step lists its buffers in the same order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// src (read), dst (read-write).
    InOut,
    /// src (read), dst (read-write), a second input (read): a table, the numerator, the
    /// scores, the DFT kernels.
    InOutExtra,
    /// data (read-write, in place), table (read).
    InPlace,
    /// src (read), dst (read-write), twiddles (read), kept (read): the Stockham passes;
    /// `kept` is the spectrum a fused product reads, the twiddles where there is none.
    FftPass,
}

impl Layout {
    const ALL: [Layout; 4] = [
        Layout::InOut,
        Layout::InOutExtra,
        Layout::InPlace,
        Layout::FftPass,
    ];

    /// The storage bindings, in order; the uniform parameters follow.
    pub(crate) fn storage(self) -> &'static [wgpu::BufferBindingType] {
        use wgpu::BufferBindingType::Storage;
        const READ: wgpu::BufferBindingType = Storage { read_only: true };
        const WRITE: wgpu::BufferBindingType = Storage { read_only: false };
        match self {
            Layout::InOut => &[READ, WRITE],
            Layout::InOutExtra => &[READ, WRITE, READ],
            Layout::InPlace => &[WRITE, READ],
            Layout::FftPass => &[READ, WRITE, READ, READ],
        }
    }

    fn label(self) -> &'static str {
        match self {
            Layout::InOut => "xcorr in-out",
            Layout::InOutExtra => "xcorr in-out-extra",
            Layout::InPlace => "xcorr in-place",
            Layout::FftPass => "xcorr fft-pass",
        }
    }
}

impl Kernel {
    pub(crate) fn layout(self) -> Layout {
        match self {
            Kernel::Stockham { .. }
            | Kernel::Stockham4 { .. }
            | Kernel::StockhamOdd { .. }
            | Kernel::StockhamShared { .. } => Layout::FftPass,
            Kernel::Combine | Kernel::FinalPeak | Kernel::DftCols | Kernel::DftRows => {
                Layout::InOutExtra
            }
            Kernel::Spectrum(_) | Kernel::Chirp => Layout::InPlace,
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
            | Kernel::Unpack { .. } => Layout::InOut,
        }
    }

    /// A line-kernel pass reading the buffer it writes (`LineLoad::InPlace`).
    pub(crate) fn in_place(self) -> bool {
        matches!(self, Kernel::StockhamShared { io, .. } if io.load == LineLoad::InPlace)
    }

    /// Invocations per workgroup: the kernel's own where it fixes one, else the device's.
    pub(crate) fn workgroup_size(self, device_default: u32) -> u32 {
        match self {
            Kernel::StockhamShared {
                n, points, lines, ..
            } => n / points * lines,
            _ => device_default,
        }
    }

    /// The pipeline's name in captures and validation errors: module and entry point.
    pub(crate) fn label(self) -> String {
        let (module, entry) = self.entry();
        format!("{} {entry}", module.label())
    }

    /// The module and entry point.
    pub(crate) fn entry(self) -> (Module, &'static str) {
        match self {
            Kernel::Stockham { .. } => (Module::Stockham, "main"),
            Kernel::Stockham4 { .. } => (Module::Stockham, "radix4"),
            Kernel::StockhamOdd { .. } => (Module::Stockham, "radix_odd"),
            Kernel::StockhamShared { .. } => (Module::StockhamShared, "main"),
            Kernel::Spectrum(_) => (Module::Spectrum, "spectrum"),
            Kernel::Chirp => (Module::Spectrum, "chirp"),
            Kernel::Pad => (Module::Shift, "pad"),
            Kernel::Gather => (Module::Shift, "gather"),
            Kernel::BoxRows => (Module::Window, "box_rows"),
            Kernel::Combine => (Module::Window, "combine"),
            Kernel::Keys => (Module::Reduce, "keys"),
            Kernel::Partial => (Module::Reduce, "partial"),
            Kernel::FinalPeak => (Module::Reduce, "final_peak"),
            Kernel::Suppress => (Module::Reduce, "suppress"),
            Kernel::Magnitude => (Module::Dft, "magnitude"),
            Kernel::DftCols => (Module::Dft, "dft_cols"),
            Kernel::DftRows => (Module::Dft, "dft_rows"),
            Kernel::Pack { .. } => (Module::Real, "pack"),
            Kernel::Split => (Module::Real, "split"),
            Kernel::Merge => (Module::Real, "merge"),
            Kernel::Unpack { .. } => (Module::Real, "unpack"),
        }
    }
}

/// Compile every module on `device` and return their files, or an error with what the
/// compiler said about the first one it refused. In a browser the compiler is the
/// browser's own (Chromium: Tint), whose verdict arrives asynchronously.
///
/// The line kernel's module is compiled with the entry point generated for every power-of-two
/// line length it takes (the adapter's points per invocation, or the whole line when
/// shorter) and every fused load and store ([`LineIo::ALL`]), since each is different code.
pub(crate) async fn compile_every_module(device: &wgpu::Device) -> Result<Vec<&'static str>> {
    let mut files = Vec::new();
    let registers = Registers::of(&device.adapter_info());
    for module in Module::ALL {
        let sources: Vec<String> = match module {
            Module::StockhamShared => (1..=12)
                .map(|log2| 1usize << log2)
                .flat_map(|n| LineIo::ALL.map(|io| (n, io)))
                .map(|(n, io)| {
                    let main = line_main(n, registers.points(n), io);
                    format!("{}{main}", module.source())
                })
                .collect(),
            _ => vec![module.source().to_string()],
        };
        for source in sources {
            check_compiles(device, module, source).await?;
        }
        files.push(module.file());
    }
    Ok(files)
}

/// What the device's compiler says about `source`, as an error if it refuses it.
async fn check_compiles(device: &wgpu::Device, module: Module, source: String) -> Result<()> {
    let compiled = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(module.label()),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let info = compiled.get_compilation_info().await;
    let errors: Vec<&str> = info
        .messages
        .iter()
        .filter(|m| m.message_type == wgpu::CompilationMessageType::Error)
        .map(|m| m.message.as_str())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Gpu(format!(
            "{} does not compile: {}",
            module.file(),
            errors.join("; ")
        )))
    }
}

/// A compiled module: its file, and (line length, points, io) for the generated line kernel.
type ModuleKey = (Module, Option<(u32, u32, LineIo)>);

pub(crate) struct PipelineCache {
    /// Invocations per workgroup, the `WG` override of every kernel.
    pub(crate) workgroup_size: u32,
    layouts: [(wgpu::BindGroupLayout, wgpu::PipelineLayout); 4],
    modules: Mutex<HashMap<ModuleKey, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<(Kernel, u32), Arc<wgpu::ComputePipeline>>>,
}

impl PipelineCache {
    pub(crate) fn new(device: &wgpu::Device, limits: &wgpu::Limits) -> Result<Self> {
        let workgroup_size = 256
            .min(limits.max_compute_invocations_per_workgroup)
            .min(limits.max_compute_workgroup_size_x)
            .max(1);
        let layouts = Layout::ALL.map(|layout| make_layout(device, layout));
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
        let (module, entry) = kernel.entry();
        // The line kernel's entry point is generated per line length and register count.
        let variant = match kernel {
            Kernel::StockhamShared { n, points, io, .. } => Some((n, points, io)),
            _ => None,
        };
        let module = {
            let mut modules = self.modules.lock().unwrap();
            modules
                .entry((module, variant))
                .or_insert_with(|| {
                    let source = match variant {
                        Some((n, points, io)) => format!(
                            "{}{}",
                            module.source(),
                            line_main(n as usize, points as usize, io)
                        ),
                        None => module.source().to_string(),
                    };
                    device.create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(module.label()),
                        source: wgpu::ShaderSource::Wgsl(source.into()),
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
                lines,
                tw_step,
                outer,
                product,
                ..
            } => {
                constants.push(("INVERSE", inverse as u8 as f64));
                constants.push(("N", n as f64));
                constants.push(("C", lines as f64));
                constants.push(("TW_STEP", tw_step as f64));
                constants.push(("OUTER", outer as u8 as f64));
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
                label: Some(&kernel.label()),
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
    layout: Layout,
) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
    let bindings = layout
        .storage()
        .iter()
        .chain([&wgpu::BufferBindingType::Uniform]);
    let entries: Vec<_> = bindings
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
        label: Some(layout.label()),
        entries: &entries,
    });
    let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(layout.label()),
        bind_group_layouts: &[Some(&bgl)],
        immediate_size: 0,
    });
    (bgl, pl)
}

#[cfg(test)]
mod tests {
    use super::Module;

    /// `Module::ALL` is the list the browser tests compile: every shader file must be in it
    /// (product.wgsl only ever goes in front of other modules).
    #[test]
    fn every_shader_file_is_a_module() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".wgsl") && name != "product.wgsl")
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = Module::ALL.iter().map(|m| m.file().to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }
}
