//! The entry point of the one-dispatch line kernel, generated per line length: the
//! algorithm is described in shaders/stockham_shared.wgsl, which holds everything else of the
//! module. Generated because every point must live in a register of its own and every index
//! be a constant: the same algorithm written with loops over private arrays measured 3.6×
//! slower than the per-pass kernels on lavapipe (its loops are not unrolled, so the arrays
//! go to memory), where the straight-line version wins.

use std::fmt::Write;

/// Most points an invocation can hold (the largest register DFT, radix 64: ROOTS in
/// stockham_shared.wgsl has its roots). How many it does hold is the adapter's
/// (`Registers` in lengths.rs).
pub(crate) const MAX_POINTS: usize = 64;

/// Where a line kernel's lines come from (stockham_shared.wgsl's `load_*` functions). All but
/// `Work` are row passes that read a plan's input or a half spectrum directly, the load
/// that would otherwise be a dispatch of its own (`pad`, `pack`, `merge`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) enum LineLoad {
    /// The work buffer; elements at or past `valid` along the axis are zero, not read.
    #[default]
    Work,
    /// As `Work`, from the buffer the dispatch writes (`dst`): in place, for a pass that
    /// stores each line's outputs at the addresses it loaded them from. Safe because a
    /// workgroup loads all its lines before it stores any (a barrier apart, or one
    /// invocation holding the whole line) and no two workgroups share a line. In place, a
    /// pass moves no more bytes, but a CPU adapter writes into cache lines it has just read
    /// instead of fetching the other buffer's (lavapipe, BENCHMARKS.md sessions 16–17).
    InPlace,
    /// Row r of the compact complex input, zero past its rows and columns.
    Complex,
    /// Real input: rows 2r and 2r + 1 as one complex row when `paired`, else row r.
    Real { paired: bool },
    /// Packed row r from the half spectra of real rows 2r and 2r + 1 (`merge`).
    Merge,
}

/// Where a line kernel's outputs go. `Window` and `RealWindow` are the last inverse row pass
/// writing only the output window (`gather`, `unpack`), wrapped by the mode's first lag;
/// `Split` is the forward row pass of paired real rows (`split`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) enum LineStore {
    /// The work buffer (with PRODUCT and OUTER).
    #[default]
    Work,
    /// Line i is output row i, read from transform row (first_r + i) mod rows; complex.
    Window,
    /// Real output: the line's real part as `Window` does, or, `paired`, packed row r's
    /// real and imaginary parts to the output rows of transform rows 2r and 2r + 1.
    RealWindow { paired: bool },
    /// Packed row r's spectrum Z split into the half spectra (columns k ≤ N/2) of real rows
    /// 2r and 2r + 1, work-buffer rows 2r and 2r + 1. Z[k] and Z[N − k] sit in different
    /// invocations, so the line goes through workgroup memory once more first.
    Split,
}

/// What a line kernel does besides its length: its load and store, and whether it goes
/// there and back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct LineIo {
    pub load: LineLoad,
    pub store: LineStore,
    /// The forward transform, the spectrum product and the inverse transform in one
    /// dispatch (the last forward and first inverse column pass, `fuse_round_trip`): the
    /// line is stored back where it was loaded from (`InPlace`), the spectrum never is.
    pub round_trip: bool,
}

impl LineIo {
    /// A work-buffer pass in place.
    pub(crate) const IN_PLACE: LineIo = LineIo::new(LineLoad::InPlace, LineStore::Work);

    /// A one-way pass loading and storing as said.
    pub(crate) const fn new(load: LineLoad, store: LineStore) -> LineIo {
        LineIo {
            load,
            store,
            round_trip: false,
        }
    }

    /// Every variant the plans generate (the ones `Steps::new` in correlate.rs pairs):
    /// each is different code, so validation and the browser's compile check take each.
    pub(crate) const ALL: [LineIo; 9] = {
        use LineLoad as L;
        use LineStore as S;
        const fn io(load: LineLoad, store: LineStore) -> LineIo {
            LineIo::new(load, store)
        }
        [
            io(L::Work, S::Work),
            io(L::InPlace, S::Work),
            LineIo {
                round_trip: true,
                ..io(L::InPlace, S::Work)
            },
            io(L::Complex, S::Work),
            io(L::Real { paired: true }, S::Split),
            io(L::Real { paired: false }, S::Work),
            io(L::Work, S::Window),
            io(L::Work, S::RealWindow { paired: false }),
            io(L::Merge, S::RealWindow { paired: true }),
        ]
    };
}

/// `main` for lines of `n` points (a power of two ≥ 2), `points` per invocation (a power
/// of two, `2 ≤ points ≤ min(n, MAX_POINTS)`), reading and writing as `io` says.
pub(crate) fn line_main(n: usize, points: usize, io: LineIo) -> String {
    assert!(n.is_power_of_two() && points.is_power_of_two());
    assert!((2..=MAX_POINTS.min(n)).contains(&points));
    assert!(
        !io.round_trip || (io.load, io.store) == (LineLoad::InPlace, LineStore::Work),
        "a round trip is an in-place work-buffer pass"
    );
    let lanes = n / points;
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(
        o,
        "@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) groups: vec3<u32>) {{
    // Rows: an invocation's neighbours work along its line; columns: on the next columns.
    var c: u32;
    var t: u32;
    if (params.stride == 1u) {{
        c = lid / {lanes}u;
        t = lid % {lanes}u;
    }} else {{
        c = lid % C;
        t = lid / C;
    }}
    // Many lines spread their workgroups over y: the x count is capped per dimension. The
    // whole workgroup reaches every barrier; `live` only guards device memory.
    let line = (wid.x + wid.y * groups.x) * C + c;
    let live = line < params.lines;
    let m = line / params.cols;
    let l = line - m * params.cols;"
    );
    // A window store reads only the transform rows the window holds, in its order.
    let wraps = matches!(
        io.store,
        LineStore::Window | LineStore::RealWindow { paired: false }
    );
    let row = if wraps {
        "(params.first_r + l) % params.rows"
    } else {
        "l"
    };
    let _ = writeln!(
        o,
        "    let row = {row};
    let across = row * params.line_stride;
    let at_m = m * params.m_in;
    let base_out = across + m * params.m_out;
    let s = params.stride;
    let s_out = params.stride_out;
    let sh = c * N;"
    );
    for i in 0..points {
        let _ = writeln!(o, "    var x{i}: vec2<f32>;");
    }
    let _ = writeln!(o, "    if (live) {{");
    for i in 0..points {
        let e = format!("t + {}u", lanes * i);
        let value = match io.load {
            LineLoad::Work => format!("load_work(across, at_m + ({e}) * s)"),
            LineLoad::InPlace => format!("load_in_place(across, at_m + ({e}) * s)"),
            LineLoad::Complex => format!("load_padded(row, {e})"),
            LineLoad::Real { paired: true } => format!("load_real_pair(row, {e})"),
            LineLoad::Real { paired: false } => format!("load_real_row(row, {e})"),
            LineLoad::Merge => format!("load_merged(row, {e})"),
        };
        let _ = writeln!(o, "        x{i} = {value};");
    }
    let _ = writeln!(o, "    }}");
    // Output k = t + T·i ends in x_i, the order the loads left the inputs in: a round
    // trip's inverse starts from the registers as they are.
    let dir = if io.round_trip {
        stages(o, n, points, "false");
        let _ = writeln!(o, "    if (live) {{");
        for i in 0..points {
            let _ = writeln!(
                o,
                "        x{i} = spectrum_product(x{i}, kept[base_out + (t + {}u) * s_out], params.scale);",
                lanes * i
            );
        }
        let _ = writeln!(o, "    }}");
        stages(o, n, points, "true");
        "true"
    } else {
        stages(o, n, points, "INVERSE");
        "INVERSE"
    };
    if io.store == LineStore::Split {
        // The whole line into workgroup memory, then invocation t splits columns
        // k = t + T·i (i < R/2), and t = 0 column N/2 too. The barrier is reached by the
        // whole workgroup, the stores only by live lines.
        for i in 0..points {
            let _ = writeln!(o, "    buf[sh + t + {}u] = x{i};", lanes * i);
        }
        let _ = writeln!(o, "    workgroupBarrier();\n    if (live) {{");
        for i in 0..points / 2 {
            let _ = writeln!(o, "        store_split(l, sh, t + {}u);", lanes * i);
        }
        let _ = writeln!(
            o,
            "        if (t == 0u) {{ store_split(l, sh, {}u); }}\n    }}\n}}",
            n / 2
        );
        return out;
    }
    // OUTER: the four-step twiddle of output k before it is stored. A round trip stores
    // where it loaded (stride, m_in); the spectrum it never stores sat at (stride_out, m_out).
    let _ = writeln!(o, "    if (live) {{");
    for i in 0..points {
        let k = format!("t + {}u", lanes * i);
        let _ = match io.store {
            LineStore::Work if io.round_trip => writeln!(
                o,
                "        if (OUTER) {{ x{i} = cmul(x{i}, outer(m, {k}, {dir})); }}\n        dst[across + at_m + ({k}) * s] = x{i};"
            ),
            LineStore::Work => writeln!(
                o,
                "        if (OUTER) {{ x{i} = cmul(x{i}, outer(m, {k}, {dir})); }}\n        store(base_out + ({k}) * s_out, x{i});"
            ),
            LineStore::Window => writeln!(o, "        store_window(l, {k}, x{i});"),
            LineStore::RealWindow { paired: false } => {
                writeln!(o, "        store_real_row(l, {k}, x{i});")
            }
            LineStore::RealWindow { paired: true } => {
                writeln!(o, "        store_real_pair(l, {k}, x{i});")
            }
            LineStore::Split => unreachable!("stored above"),
        };
    }
    let _ = writeln!(o, "    }}\n}}");
    out
}

/// The Stockham stages of an `n`-point transform on the registers, `dir` the WGSL bool
/// saying whether it is inverse: inputs x_i = element t + T·i in, outputs the same way out.
fn stages(o: &mut String, n: usize, points: usize, dir: &str) {
    let lanes = n / points;
    let mut p = 1;
    while p < n {
        let r = points.min(n / p);
        let g = points / r;
        let _ = writeln!(o, "    {{ // radix {r} after p = {p}");
        // Butterfly b of this invocation is j = t + lanes·b, k = j mod p.
        for b in 0..g {
            let _ = writeln!(
                o,
                "        let j{b} = t + {}u;\n        let k{b} = j{b} & {}u;",
                lanes * b,
                p - 1
            );
        }
        if p > 1 {
            let step = n / (r * p);
            for i in g..points {
                let (b, q) = (i % g, i / g);
                let _ = writeln!(
                    o,
                    "        x{i} = cmul(x{i}, twiddle(k{b} * {}u, {dir}));",
                    q * step
                );
            }
        }
        register_dft(o, r, g, dir);
        // The last stage's output m of butterfly j lands at j + m·p = t + T·(b + m·g):
        // already where x_(b + m·g) stands for it.
        if p * r < n {
            for b in 0..g {
                let _ = writeln!(o, "        let o{b} = sh + {r}u * (j{b} - k{b}) + k{b};");
            }
            for i in 0..points {
                let (b, m) = (i % g, i / g);
                let _ = writeln!(o, "        buf[o{b} + {}u] = x{i};", m * p);
            }
            let _ = writeln!(o, "        workgroupBarrier();");
            for i in 0..points {
                let _ = writeln!(o, "        x{i} = buf[sh + t + {}u];", lanes * i);
            }
            let _ = writeln!(o, "        workgroupBarrier();");
        }
        let _ = writeln!(o, "    }}");
        p *= r;
    }
}

/// `g` interleaved `r`-point DFTs on the registers: DFT b takes x[b + q·g] (q < r) and
/// leaves output m in x[b + m·g]. Radix-2 Stockham sub-stages, natural order in and out,
/// each value a fresh `let`; roots that are ±1 or ±i cost no multiply.
fn register_dft(o: &mut String, r: usize, g: usize, dir: &str) {
    for b in 0..g {
        let mut names: Vec<String> = (0..r).map(|q| format!("x{}", b + q * g)).collect();
        let half = r / 2;
        let mut p2 = 1;
        let mut sub = 0;
        while p2 < r {
            let mut next = vec![String::new(); r];
            for j2 in 0..half {
                let k2 = j2 & (p2 - 1);
                let root = k2 * (MAX_POINTS / 2 / p2);
                let u1 = match root {
                    0 => names[j2 + half].clone(),
                    r if r == MAX_POINTS / 4 => format!("quarter({}, {dir})", names[j2 + half]),
                    _ => format!("cmul({}, root({root}u, {dir}))", names[j2 + half]),
                };
                let at = 2 * j2 - k2;
                let (lo, hi) = (
                    format!("d{b}_{sub}_{at}"),
                    format!("d{b}_{sub}_{}", at + p2),
                );
                let _ = writeln!(
                    o,
                    "        let w{b}_{sub}_{j2} = {u1};\n        let {lo} = {u0} + w{b}_{sub}_{j2};\n        let {hi} = {u0} - w{b}_{sub}_{j2};",
                    u0 = names[j2]
                );
                next[at] = lo;
                next[at + p2] = hi;
            }
            names = next;
            p2 *= 2;
            sub += 1;
        }
        for (m, name) in names.iter().enumerate() {
            let _ = writeln!(o, "        x{} = {name};", b + m * g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::pipelines::Module;

    /// The generated module parses and validates for every length, register count, load
    /// and store the host asks for (naga is the front end wgpu runs too).
    #[test]
    fn generated_modules_validate() {
        let mut n = 2;
        while n <= 8192 {
            for (points, io) in [2, 4, 8, 16, 32, 64]
                .into_iter()
                .filter(|&p| p <= n)
                .flat_map(|p| LineIo::ALL.map(|io| (p, io)))
            {
                let source = format!(
                    "{}{}",
                    Module::StockhamShared.source(),
                    line_main(n, points, io)
                );
                let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
                    panic!(
                        "n {n}, points {points}, {io:?}: {}",
                        e.emit_to_string(&source)
                    )
                });
                naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::all(),
                )
                .validate(&module)
                .unwrap_or_else(|e| panic!("n {n}, points {points}, {io:?}: {e:?}"));
            }
            n *= 2;
        }
    }
}
