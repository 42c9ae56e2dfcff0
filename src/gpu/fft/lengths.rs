//! Transform lengths: the radices of a smooth length, the modelled cost of a line, and the
//! transform shape a correlation plan pads to; and what the device's workgroup memory allows
//! the row kernel.

use super::line_kernel::MAX_POINTS;
use crate::gpu::context::GpuContext;
use crate::gpu::program::ELEM;
use crate::spec::{next_pow2, next_smooth, Plan};

/// What the device allows the one-dispatch line kernel (stockham_shared.wgsl), along rows
/// and columns alike (the name is older than the column kernel).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowCapacity {
    /// Longest line (a power of two, or 0 for none): one copy of it, complex f32, must fit
    /// `max_compute_workgroup_storage_size` (16 KiB: 2048, 32 KiB: 4096), and its
    /// N/`points` invocations one workgroup.
    max_n: usize,
    /// How many points an invocation holds.
    registers: Registers,
    /// Most invocations per workgroup, a power of two.
    max_wg: u32,
    /// Workgroup storage, bytes.
    storage: u64,
}

/// The one-dispatch kernel's shape for one line length: its `pipelines::Kernel` constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LineKernel {
    /// Points per invocation, held in registers (a power of two ≤ MAX_POINTS).
    pub points: u32,
    /// Lines per workgroup.
    pub lines: u32,
    /// Invocations per workgroup: `n / points · lines`.
    pub wg: u32,
}

impl RowCapacity {
    /// No line in workgroup memory: every transform runs pass by pass.
    #[cfg(test)]
    pub(crate) const NONE: RowCapacity = RowCapacity {
        max_n: 0,
        registers: Registers::Gpu,
        max_wg: 256,
        storage: 0,
    };

    /// Lavapipe's: 32 KiB of workgroup memory, 256 invocations (lines up to 4096), a CPU's
    /// registers.
    #[cfg(test)]
    pub(crate) const LAVAPIPE: RowCapacity = RowCapacity {
        max_n: 4096,
        registers: Registers::Cpu,
        max_wg: 256,
        storage: 32 * 1024,
    };

    /// The context's capacity; none where its workgroup FFT is switched off.
    pub(crate) fn of(ctx: &GpuContext) -> RowCapacity {
        let storage = ctx.limits().max_compute_workgroup_storage_size as u64;
        // The device's workgroup size for every other kernel, rounded down to a power of two.
        let wg = ctx.inner.pipelines.workgroup_size;
        let max_wg = 1u32 << wg.ilog2();
        let registers = Registers::of(ctx.adapter_info());
        let fit = (storage / ELEM).min(max_wg as u64 * registers.most() as u64);
        let max_n = if ctx.workgroup_fft() && fit >= 2 {
            1usize << fit.ilog2()
        } else {
            0
        };
        RowCapacity {
            max_n,
            registers,
            max_wg,
            storage,
        }
    }

    pub(crate) fn max_len(self) -> usize {
        self.max_n
    }

    /// The line kernel for length `n`, or `None` when it is not a power of two or does not
    /// fit: the adapter's points per invocation (`Registers::points`), as many lines per
    /// workgroup as the invocation cap and the workgroup storage allow.
    pub(super) fn kernel_for(self, n: usize) -> Option<LineKernel> {
        if n < 2 || n > self.max_n || !n.is_power_of_two() {
            return None;
        }
        let points = self.registers.points(n);
        let lanes = n / points;
        let by_storage = (self.storage / (n as u64 * ELEM)).max(1) as usize;
        let lines = (self.max_wg as usize / lanes).min(by_storage).max(1);
        Some(LineKernel {
            points: points as u32,
            lines: lines as u32,
            wg: (lanes * lines) as u32,
        })
    }

    /// The four-step split `[n1, n2]` (n = n1·n2, n1 ≤ n2) for a column of `n` points, or
    /// `None` where one dispatch per column serves: when the whole-column kernel takes at
    /// least a cache line's width of neighbouring columns per workgroup. Narrower tiles use
    /// a fraction of every cache line they read (session 9 in BENCHMARKS.md: columns took
    /// 1.4–2.4× the rows' time at 1024–4096 with 4–1 columns per workgroup); the sub-lines
    /// of the split take many columns each. Lines too long for the store take it too.
    pub(super) fn four_step(self, n: usize) -> Option<[usize; 2]> {
        let wide = |k: Option<LineKernel>| k.is_some_and(|k| k.lines as u64 * ELEM >= CACHE_LINE);
        if !n.is_power_of_two() || n < 4 || wide(self.kernel_for(n)) {
            return None;
        }
        let n1 = 1usize << (n.ilog2() / 2);
        let n2 = n / n1;
        (wide(self.kernel_for(n1)) && wide(self.kernel_for(n2))).then_some([n1, n2])
    }
}

/// How many points an invocation of the line kernel holds in registers, by adapter kind:
/// GPUs hold 16 (32 registers of complex f32, room left for occupancy; VkFFT holds 8–16 on
/// the GPUs it tunes for). Lavapipe, a CPU adapter behind Vulkan, holds 64: there an
/// invocation's registers are a stack frame and every exchange between stages a barrier
/// (a coroutine switch per SIMD batch), so fewer, larger register stages win (BENCHMARKS.md,
/// session 14: 2-D C2C 1.3–1.8× faster). Other CPU adapters keep 16: llvmpipe behind wgpu's
/// GL backend compiles a kernel at its first submit under the one GL context lock, which
/// another thread gives up on after 6 s (a panic inside wgpu), and cold 64-point builds
/// went past that; the browser's SwiftShader builds line kernels slowly at any size
/// (`default_workgroup_fft`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Registers {
    Gpu,
    Cpu,
}

impl Registers {
    pub(crate) fn of(info: &wgpu::AdapterInfo) -> Registers {
        if info.device_type == wgpu::DeviceType::Cpu && info.backend == wgpu::Backend::Vulkan {
            Registers::Cpu
        } else {
            Registers::Gpu
        }
    }

    /// Most points per invocation.
    const fn most(self) -> usize {
        match self {
            Registers::Gpu => 16,
            Registers::Cpu => 64,
        }
    }

    /// Points per invocation on a line of `n` (a power of two): n itself when shorter.
    pub(crate) fn points(self, n: usize) -> usize {
        n.min(self.most())
    }
}

const _: () = assert!(Registers::Gpu.most() <= MAX_POINTS && Registers::Cpu.most() <= MAX_POINTS);

/// Bytes per cache line on the CPUs software drivers run on (and the coalescing width of
/// most GPUs' memory transactions is no smaller).
const CACHE_LINE: u64 = 64;

impl GpuContext {
    /// The longest row (a power of two) that plans built now would transform in workgroup
    /// memory; 0 when the workgroup FFT is off.
    pub fn workgroup_fft_len(&self) -> usize {
        RowCapacity::of(self).max_len()
    }
}

/// The radices of a Stockham transform of length `n`, in the order the passes run: the
/// power-of-two part first (one radix 2 when its log2 is odd, then radix 4; the radix-2 and
/// radix-4 kernels rely on p being a power of two), then 3, 5, 7. `None` if `n` has another
/// prime factor.
pub(super) fn radices(n: usize) -> Option<Vec<usize>> {
    let twos = n.trailing_zeros() as usize;
    let mut out = vec![2; twos % 2];
    out.extend(std::iter::repeat_n(4, twos / 2));
    let mut rest = n >> twos;
    for r in [3, 5, 7] {
        while rest % r == 0 {
            out.push(r);
            rest /= r;
        }
    }
    (rest == 1).then_some(out)
}

/// Modelled cost of one pass of radix `r`, per element, relative to a radix-2 or radix-4
/// pass: every pass reads and writes the data once, and the odd radices' r-point DFTs do
/// more arithmetic per element (r − 1 complex products against about 1).
fn pass_cost(r: usize) -> f64 {
    match r {
        2 | 4 => 1.0,
        _ => 1.0 + 0.1 * (r - 1) as f64,
    }
}

/// Modelled cost per element of transforming one line of length `n` (0 for n = 1): the
/// sum of its passes' costs, or a single pass for a line that fits workgroup memory.
fn line_cost(n: usize, rows: RowCapacity) -> f64 {
    if n == 1 {
        return 0.0;
    }
    if rows.kernel_for(n).is_some() {
        return 1.0;
    }
    let radices = radices(n).expect("candidates are smooth");
    radices.into_iter().map(pass_cost).sum()
}

/// The transform shape for a correlation plan on the device: circular axes at their exact
/// length; linear axes at the smooth length ≥ their minimum (even, so that real plans can
/// pair rows; at most the next power of two) that minimises the modelled work of the 2-D
/// transform, `L0·L1·(cost per element along rows + along columns)`. Powers of two win
/// where their rows fit workgroup memory and the smooth length saves little; elsewhere
/// the smaller smooth length (W1: 1120 instead of 2048 per axis).
pub(crate) fn transform_shape(plan: &Plan, rows: RowCapacity) -> [usize; 2] {
    let candidates = |axis: usize| -> Vec<usize> {
        let a = plan.axes[axis];
        if a.exact {
            return vec![a.n];
        }
        let (lo, hi) = (a.min_len, next_pow2(a.min_len));
        if lo <= 1 {
            return vec![1];
        }
        let mut out = Vec::new();
        let mut len = next_smooth(lo);
        while len <= hi {
            if len % 2 == 0 {
                out.push(len);
            }
            len = next_smooth(len + 1);
        }
        out
    };
    let (along_cols, along_rows) = (candidates(0), candidates(1));
    let mut best = ([along_cols[0], along_rows[0]], f64::INFINITY);
    for &l0 in &along_cols {
        for &l1 in &along_rows {
            // Circular axes may be Bluestein lengths: the same Stockham cost whatever they
            // are, since they are the only candidate.
            let cost_of = |n: usize| {
                if radices(n).is_some() {
                    line_cost(n, rows)
                } else {
                    0.0
                }
            };
            let cost = (l0 * l1) as f64 * (cost_of(l1) + cost_of(l0));
            if cost < best.1 {
                best = ([l0, l1], cost);
            }
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mode, Op, Shape};

    const NO_WORKGROUP: RowCapacity = RowCapacity::NONE;
    const WORKGROUP_2048: RowCapacity = RowCapacity {
        max_n: 2048,
        registers: Registers::Gpu,
        max_wg: 256,
        storage: 16384,
    };

    #[test]
    fn radices_run_powers_of_two_first() {
        assert_eq!(radices(1), Some(vec![]));
        assert_eq!(radices(8), Some(vec![2, 4]));
        assert_eq!(radices(1024), Some(vec![4; 5]));
        assert_eq!(radices(1120), Some(vec![2, 4, 4, 5, 7]));
        assert_eq!(radices(1125), Some(vec![3, 3, 5, 5, 5]));
        assert_eq!(radices(22), None);
        for n in 1..2000 {
            if let Some(r) = radices(n) {
                assert_eq!(r.iter().product::<usize>(), n);
            }
        }
    }

    fn shape_for(mode: Mode, a: Shape, b: Shape, rows: RowCapacity) -> [usize; 2] {
        transform_shape(&Plan::new(Op::Correlate, mode, a, b).unwrap(), rows)
    }

    /// Four-step only where a whole column's workgroup would be narrower than a cache
    /// line, and into halves that are each wide enough; not for other lengths or without
    /// a store.
    #[test]
    fn four_step_splits_narrow_columns() {
        let split = |n| RowCapacity::LAVAPIPE.four_step(n);
        assert_eq!(split(512), None, "8 columns of 512 fill a cache line");
        assert_eq!(split(1024), Some([32, 32]));
        assert_eq!(split(2048), Some([32, 64]));
        assert_eq!(split(4096), Some([64, 64]));
        assert_eq!(split(8192), Some([64, 128]));
        assert_eq!(split(1120), None);
        assert_eq!(RowCapacity::NONE.four_step(1024), None);
    }

    /// Lavapipe holds 64 points per invocation, GPUs 16; a line shorter than that is one
    /// invocation's, and a workgroup holds at most 256 invocations.
    #[test]
    fn points_per_invocation_follow_the_adapter() {
        let points = |rows: RowCapacity, n| rows.kernel_for(n).map(|k| (k.points, k.wg));
        assert_eq!(points(RowCapacity::LAVAPIPE, 32), Some((32, 128)));
        assert_eq!(points(RowCapacity::LAVAPIPE, 1024), Some((64, 64)));
        assert_eq!(points(RowCapacity::LAVAPIPE, 2048), Some((64, 64)));
        assert_eq!(points(RowCapacity::LAVAPIPE, 4096), Some((64, 64)));
        assert_eq!(points(WORKGROUP_2048, 32), Some((16, 128)));
        assert_eq!(points(WORKGROUP_2048, 1024), Some((16, 128)));
        assert_eq!(points(WORKGROUP_2048, 4096), None);
    }

    #[test]
    fn linear_shapes_are_even_smooth_and_no_larger_than_the_power_of_two() {
        let cases = [
            (Mode::Same, Shape::d2(1024, 1024), Shape::d2(64, 64)),
            (Mode::Valid, Shape::d2(480, 640), Shape::d2(48, 48)),
            (Mode::Full, Shape::d2(2048, 2048), Shape::d2(2048, 2048)),
            (Mode::Full, Shape::d2(5, 700), Shape::d2(3, 3)),
            (Mode::Full, Shape::d1(1000), Shape::d1(64)),
        ];
        for (mode, a, b) in cases {
            let plan = Plan::new(Op::Correlate, mode, a, b).unwrap();
            for rows in [NO_WORKGROUP, WORKGROUP_2048] {
                let shape = transform_shape(&plan, rows);
                for axis in 0..2 {
                    let (len, min) = (shape[axis], plan.axes[axis].min_len);
                    assert!(
                        len >= min && len <= next_pow2(min),
                        "{shape:?} for {plan:?}"
                    );
                    assert!(len == 1 || (len % 2 == 0 && radices(len).is_some()));
                }
            }
        }
        // W1 pads 1087 to 1120 per axis, not 2048, where rows do not fit workgroup memory.
        let w1 = shape_for(
            Mode::Same,
            Shape::d2(1024, 1024),
            Shape::d2(64, 64),
            NO_WORKGROUP,
        );
        assert_eq!(w1, [1120, 1120]);
    }

    #[test]
    fn circular_shapes_stay_exact() {
        let shape = shape_for(
            Mode::CIRCULAR,
            Shape::d2(127, 129),
            Shape::d2(5, 5),
            WORKGROUP_2048,
        );
        assert_eq!(shape, [127, 129]);
    }
}
