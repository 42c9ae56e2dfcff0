//! The kernels' parameter blocks: one `#[repr(C)]` struct per WGSL `struct Params`, fields
//! named and ordered as in the shader, written to the uniform buffer as their bytes. A test
//! parses each shader module as the pipelines assemble it and checks every struct's field
//! names, offsets and size against the WGSL, so a reordered field fails there instead of
//! computing garbage on the device.

use super::pipelines::Module;

/// Bytes reserved per parameter block in the uniform buffer: at least the largest struct.
pub(crate) const PARAM_BYTES: u64 = 128;

/// Declares each module's parameter struct, with its `(name, offset)` table, and [`Params`],
/// one variant per module named as its [`Module`], so a block always names its own shader.
macro_rules! params {
    ($(
        $(#[$doc:meta])*
        $module:ident($name:ident) { $($(#[$fdoc:meta])* $field:ident: $ty:ty,)* }
    )*) => {
        $(
            $(#[$doc])*
            #[repr(C)]
            #[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
            pub(crate) struct $name {
                $($(#[$fdoc])* pub $field: $ty,)*
            }

            impl $name {
                /// Each field's name and byte offset, for the test against the WGSL.
                #[cfg(test)]
                const FIELDS: &'static [(&'static str, usize)] =
                    &[$((stringify!($field), std::mem::offset_of!($name, $field)),)*];
            }

            impl From<$name> for Params {
                fn from(p: $name) -> Params {
                    Params::$module(p)
                }
            }

            const _: () = assert!(std::mem::size_of::<$name>() as u64 <= PARAM_BYTES);
        )*

        /// One dispatch's parameters, tagged with the module whose `Params` they are.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub(crate) enum Params {
            $($module($name),)*
        }

        impl Params {
            /// The bytes the uniform buffer holds, laid out as the WGSL struct.
            pub(crate) fn bytes(&self) -> &[u8] {
                match self {
                    $(Params::$module(p) => bytemuck::bytes_of(p),)*
                }
            }

            /// The shader module these parameters belong to.
            pub(crate) fn module(&self) -> Module {
                match self {
                    $(Params::$module(_) => Module::$module,)*
                }
            }
        }

        /// Per module: its struct's fields (name, offset) and size.
        #[cfg(test)]
        const LAYOUTS: &[(Module, &[(&str, usize)], usize)] =
            &[$((Module::$module, $name::FIELDS, std::mem::size_of::<$name>()),)*];
    };
}

params! {
    /// One Stockham pass (stockham.wgsl): length `n`, span `p` of the sub-transforms done,
    /// `lines` lines `line_stride` apart with elements `stride` apart, twiddles from
    /// `tw_offset` every `tw_step`; `scale` multiplies a fused spectrum product.
    Stockham(StockhamParams) {
        n: u32,
        p: u32,
        stride: u32,
        line_stride: u32,
        lines: u32,
        tw_offset: u32,
        tw_step: u32,
        scale: f32,
    }

    /// A whole line transform in one dispatch (stockham_shared.wgsl; its length and shape
    /// are pipeline constants): `lines` lines, line l being sub-line m = l / cols of the
    /// line c = l % cols, elements read at c·line_stride + m·m_in + i·stride and written at
    /// c·line_stride + m·m_out + i·stride_out; twiddles from `tw_offset`, four-step twiddles
    /// from `tw_outer`; `scale` multiplies a fused spectrum product. `valid` bounds work
    /// loads; the rest serve the fused loads and window stores (see the WGSL).
    StockhamShared(StockhamSharedParams) {
        stride: u32,
        line_stride: u32,
        lines: u32,
        tw_offset: u32,
        scale: f32,
        stride_out: u32,
        cols: u32,
        m_in: u32,
        m_out: u32,
        tw_outer: u32,
        valid: u32,
        src_rows: u32,
        src_cols: u32,
        half_cols: u32,
        rows: u32,
        out_rows: u32,
        out_cols: u32,
        first_r: u32,
        first_c: u32,
    }

    /// A pointwise multiply along lines (spectrum.wgsl): the spectrum product, or a
    /// Bluestein chirp from `table_offset` over the first `valid` of `count` elements.
    Spectrum(SpectrumParams) {
        count: u32,
        valid: u32,
        stride: u32,
        line_stride: u32,
        lines: u32,
        table_offset: u32,
        scale: f32,
    }

    /// A zero-padded copy or a circular gather (shift.wgsl).
    Shift(ShiftParams) {
        rows: u32,
        cols: u32,
        src_rows: u32,
        src_cols: u32,
        src_row_stride: u32,
        dst_row_stride: u32,
        first_r: u32,
        first_c: u32,
    }

    /// Real rows packed into complex ones and back (real.wgsl; each kernel reads the
    /// fields its comment there names).
    Real(RealParams) {
        rows: u32,
        cols: u32,
        src_rows: u32,
        src_cols: u32,
        pitch: u32,
        first_r: u32,
        first_c: u32,
        half_cols: u32,
    }

    /// One stage of the peak search (reduce.wgsl).
    Reduce(ReduceParams) {
        count: u32,
        rows: u32,
        cols: u32,
        slot: u32,
        radius_rows: u32,
        radius_cols: u32,
        max_sq: u32,
        euclidean: u32,
        sign: f32,
    }

    /// Window sums and matching scores (window.wgsl).
    Window(WindowParams) {
        rows: u32,
        cols: u32,
        h: u32,
        w: u32,
        out_rows: u32,
        out_cols: u32,
        method: u32,
        /// Bit 0: the template is flat; bit 1: it is zero.
        flags: u32,
        n: f32,
        win_floor: f32,
        tpl_energy_centred: f32,
        tpl_energy: f32,
        /// The formulas' terms as float-float (hi, lo); match_plan.rs derives them.
        two_c: [f32; 2],
        n_c2: [f32; 2],
        tm: [f32; 2],
        n_c_tm: [f32; 2],
        two_d: [f32; 2],
        sq_const: [f32; 2],
        /// Always 0; the shader cannot know that (window.wgsl explains why it needs one).
        zero: u32,
        _pad: u32,
    }

    /// The magnitude and the upsampled DFT's matrix products (dft.wgsl).
    Dft(DftParams) {
        rows: u32,
        cols: u32,
        pitch: u32,
        region: u32,
        row_kernel: u32,
    }
}

impl SpectrumParams {
    /// `spectrum`: the product over `lines` rows of `count` elements, row pitch `pitch`.
    pub(crate) fn product(lines: usize, count: usize, pitch: usize, scale: f32) -> Self {
        SpectrumParams {
            count: count as u32,
            valid: count as u32,
            stride: 1,
            line_stride: pitch as u32,
            lines: lines as u32,
            table_offset: 0,
            scale,
        }
    }
}

impl ShiftParams {
    /// `pad`: the `src` array (compact) into the top-left of a `rows × cols` region of a
    /// buffer with row pitch `dst_pitch`, zeros around it.
    pub(crate) fn pad([rows, cols]: [usize; 2], src: [usize; 2], dst_pitch: usize) -> Self {
        ShiftParams {
            rows: rows as u32,
            cols: cols as u32,
            src_rows: src[0] as u32,
            src_cols: src[1] as u32,
            src_row_stride: src[1] as u32,
            dst_row_stride: dst_pitch as u32,
            ..Default::default()
        }
    }

    /// `gather`: the compact `out` window, element (i, j) read from circular index
    /// (`first` + (i, j)) mod `src` of an array with row pitch `src_pitch`.
    pub(crate) fn gather(
        out: [usize; 2],
        src: [usize; 2],
        src_pitch: usize,
        first: [usize; 2],
    ) -> Self {
        ShiftParams {
            rows: out[0] as u32,
            cols: out[1] as u32,
            src_rows: src[0] as u32,
            src_cols: src[1] as u32,
            src_row_stride: src_pitch as u32,
            dst_row_stride: out[1] as u32,
            first_r: first[0] as u32,
            first_c: first[1] as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The members of the struct named `Params` in `source`: (name, offset), and its size.
    /// Every uniform the shader declares must be of that type, so that it is the one block
    /// the host writes.
    fn wgsl_params(source: &str) -> (Vec<(String, usize)>, usize) {
        let module = naga::front::wgsl::parse_str(source).expect("the shader parses");
        for (_, var) in module.global_variables.iter() {
            if var.space == naga::AddressSpace::Uniform {
                assert_eq!(
                    module.types[var.ty].name.as_deref(),
                    Some("Params"),
                    "uniform {:?}",
                    var.name
                );
            }
        }
        let (_, ty) = module
            .types
            .iter()
            .find(|(_, ty)| ty.name.as_deref() == Some("Params"))
            .expect("the shader declares `struct Params`");
        let naga::TypeInner::Struct { members, span } = &ty.inner else {
            panic!("`Params` is not a struct");
        };
        let fields = members
            .iter()
            .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize))
            .collect();
        (fields, *span as usize)
    }

    /// Every module's Rust struct has the WGSL struct's fields, in its order, at its offsets,
    /// and its size: the uniform bytes mean what the shader reads.
    #[test]
    fn params_structs_match_the_wgsl() {
        for module in Module::ALL {
            let (_, fields, size) = LAYOUTS
                .iter()
                .find(|(m, ..)| *m == module)
                .unwrap_or_else(|| panic!("{module:?} has no parameter struct"));
            let rust: Vec<(String, usize)> =
                fields.iter().map(|&(n, o)| (n.to_string(), o)).collect();
            let (wgsl, span) = wgsl_params(module.source());
            assert_eq!(
                rust, wgsl,
                "{module:?}: fields (name, offset), Rust vs WGSL"
            );
            assert_eq!(*size, span, "{module:?}: struct size, Rust vs WGSL");
        }
    }
}
