//! The entry point of the one-dispatch line kernel, generated per line length: the
//! algorithm is described in shaders/stockham_shared.wgsl, which holds everything else of the
//! module. Generated because every point must live in a register of its own and every index
//! be a constant: the same algorithm written with loops over private arrays measured 3.6×
//! slower than the per-pass kernels on lavapipe (its loops are not unrolled, so the arrays
//! go to memory), where the straight-line version wins.

use std::fmt::Write;

/// Most points an invocation holds (the largest register DFT, radix 16).
pub(crate) const MAX_POINTS: usize = 16;

/// `main` for lines of `n` points (a power of two ≥ 2), `points` per invocation (a power
/// of two, `2 ≤ points ≤ min(n, 16)`).
pub(crate) fn line_main(n: usize, points: usize) -> String {
    assert!(n.is_power_of_two() && points.is_power_of_two());
    assert!((2..=MAX_POINTS.min(n)).contains(&points));
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
    let across = (line - m * params.cols) * params.line_stride;
    let base = across + m * params.m_in;
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
        let _ = writeln!(o, "        x{i} = src[base + (t + {}u) * s];", lanes * i);
    }
    let _ = writeln!(o, "    }}");
    let mut p = 1;
    while p < n {
        let r = points.min(n / p);
        let g = points / r;
        let last = p * r == n;
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
                    "        x{i} = cmul(x{i}, twiddle(k{b} * {}u));",
                    q * step
                );
            }
        }
        register_dft(o, r, g);
        if last {
            // k = j here: output m of butterfly j lands at j + m·p.
            // OUTER: the four-step twiddle of output k = j + m·p before it is stored.
            let _ = writeln!(o, "        if (live) {{");
            for i in 0..points {
                let (b, m) = (i % g, i / g);
                let k = format!("j{b} + {}u", m * p);
                let _ = writeln!(
                    o,
                    "            if (OUTER) {{ x{i} = cmul(x{i}, outer(m, {k})); }}\n            store(base_out + ({k}) * s_out, x{i});"
                );
            }
            let _ = writeln!(o, "        }}");
        } else {
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
    let _ = writeln!(o, "}}");
    out
}

/// `g` interleaved `r`-point DFTs on the registers: DFT b takes x[b + q·g] (q < r) and
/// leaves output m in x[b + m·g]. Radix-2 Stockham sub-stages, natural order in and out,
/// each value a fresh `let`; roots that are ±1 or ±i cost no multiply.
fn register_dft(o: &mut String, r: usize, g: usize) {
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
                    4 => format!("quarter({})", names[j2 + half]),
                    _ => format!("cmul({}, root({root}u))", names[j2 + half]),
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

    /// The generated module parses and validates for every length and register count the
    /// host asks for (naga is the front end wgpu runs too).
    #[test]
    fn generated_modules_validate() {
        let mut n = 2;
        while n <= 8192 {
            for points in [2, 4, 8, 16].into_iter().filter(|&p| p <= n) {
                let source = format!(
                    "{}{}",
                    Module::StockhamShared.source(),
                    line_main(n, points)
                );
                let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
                    panic!("n {n}, points {points}: {}", e.emit_to_string(&source))
                });
                naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::all(),
                )
                .validate(&module)
                .unwrap_or_else(|e| panic!("n {n}, points {points}: {e:?}"));
            }
            n *= 2;
        }
    }
}
