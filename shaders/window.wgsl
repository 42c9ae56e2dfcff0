// Template-matching scores on the device: per-window sums of the scene, then OpenCV's six
// formulas (matching.rs documents them), in double-single ("float-float") arithmetic.
//
// Why float-float: `ccoeff-normed` divides by the window's spread Σ I'² = Σ J² − (Σ J)²/n
// (J = scene − its mean). On a bright, nearly flat window both terms are large and nearly
// equal, and an f32 sum of J² carries an error of about ε·Σ J², which can be most of the
// difference. Each sum here is a pair (hi, lo) with hi + lo the value to about ε² of its
// magnitude: additions use the error-free TwoSum, and squares and products are split into
// 12-bit halves whose partial products are exact in f32. None of it relies on a fused
// multiply-add, so a driver that contracts a·b + c (allowed in Vulkan) changes nothing: every
// product fed to an addition is already exact.
//
// Shader compilers treat float arithmetic as real arithmetic unless told otherwise, and WGSL
// cannot tell them (no `precise`, and naga emits no NoContraction): an optimiser may rewrite
// (a + b) − a to b, which turns TwoSum's error term into 0. Found on lavapipe: the sums came
// out no better than plain f32, and multiplying the sums by a runtime 1.0 did not stop it.
// What does: each sum inside TwoSum goes through `opaque`, an XOR of its bits with a runtime
// zero from the parameters. That is exact, and no float rule can see through integer ops.
//
// * `box_rows` (src: the centred scene, real; dst: vec4 per element): for each scene row
//   and each window start column, (Σ J, Σ J²) over `w` columns as (s1.hi, s1.lo, s2.hi,
//   s2.lo). One invocation slides along RUN consecutive starts.
// * `combine` (src: those row sums; dst: scores; table: the FFT numerator Q, real): sums
//   `h` row sums down a column, sliding over RUN consecutive window rows, and writes the
//   method's score.

override WG: u32 = 64u;
const RUN: u32 = 32u;

struct Params {
    rows: u32,
    cols: u32,
    h: u32,
    w: u32,
    out_rows: u32,
    out_cols: u32,
    method: u32,
    // bit 0: the template is flat (Σ T'² degenerate); bit 1: it is zero (Σ T² degenerate).
    flags: u32,
    n: f32,
    win_floor: f32,
    tpl_energy_centred: f32,
    tpl_energy: f32,
    // The formulas' terms, float-float (hi, lo), all computed on the host: 2c, n·c², T̄,
    // n·c·T̄, 2d, n·d² + Σ T'² with c the scene's mean and d = c − T̄.
    two_c: vec2<f32>,
    n_c2: vec2<f32>,
    tm: vec2<f32>,
    n_c_tm: vec2<f32>,
    two_d: vec2<f32>,
    sq_const: vec2<f32>,
    // 0, read at run time (see the top of the file).
    zero: u32,
    // Spelled out: the struct's size rounds up to its vec2 alignment.
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> scene: array<f32>;
@group(0) @binding(1) var<storage, read_write> row_sums: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

@group(0) @binding(0) var<storage, read> sums_in: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> scores: array<f32>;
@group(0) @binding(2) var<storage, read> numerator: array<f32>;
@group(0) @binding(3) var<uniform> cparams: Params;

// ---- float-float arithmetic: vec2(hi, lo) ----

var<private> ZERO: u32;

fn opaque(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ ZERO);
}

fn two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = opaque(a + b);
    let bb = opaque(s - a);
    return vec2<f32>(s, (a - opaque(s - bb)) + (b - bb));
}

fn quick_two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = opaque(a + b);
    return vec2<f32>(s, b - opaque(s - a));
}

fn add_f(a: vec2<f32>, b: f32) -> vec2<f32> {
    let s = two_sum(a.x, b);
    return quick_two_sum(s.x, s.y + a.y);
}

fn add_ff(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let s = two_sum(a.x, b.x);
    let t = two_sum(a.y, b.y);
    let u = quick_two_sum(s.x, s.y + t.x);
    return quick_two_sum(u.x, u.y + t.y);
}

fn neg(a: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(-a.x, -a.y);
}

// The top 12 significant bits of a (exact), and the rest (exact).
fn split(a: f32) -> vec2<f32> {
    let hi = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
    return vec2<f32>(hi, a - hi);
}

// a·b as float-float: the four partial products of the halves are exact.
fn two_prod(a: f32, b: f32) -> vec2<f32> {
    let x = split(a);
    let y = split(b);
    var r = vec2<f32>(x.x * y.x, 0.0);
    r = add_f(r, x.x * y.y);
    r = add_f(r, x.y * y.x);
    r = add_f(r, x.y * y.y);
    return r;
}

fn mul_ff(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let p = two_prod(a.x, b.x);
    return quick_two_sum(p.x, p.y + (a.x * b.y + a.y * b.x));
}

// Add (sign = 1) or remove (sign = -1) one value v and its exact square to the sums.
fn accumulate(s: vec4<f32>, v: f32, sign: f32) -> vec4<f32> {
    let s1 = add_f(s.xy, sign * v);
    let x = split(v);
    var s2 = add_f(s.zw, sign * (x.x * x.x));
    s2 = add_f(s2, sign * (2.0 * x.x * x.y));
    s2 = add_f(s2, sign * (x.y * x.y));
    return vec4<f32>(s1, s2);
}

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * WG;
}

@compute @workgroup_size(WG)
fn box_rows(@builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(num_workgroups) groups: vec3<u32>) {
    ZERO = params.zero;
    let runs = (params.out_cols + RUN - 1u) / RUN;
    let g = index(gid, groups);
    if (g >= runs * params.rows) {
        return;
    }
    let r = g / runs;
    let c0 = (g - r * runs) * RUN;
    let c1 = min(c0 + RUN, params.out_cols);
    let line = r * params.cols;
    var s = vec4<f32>(0.0);
    for (var j = 0u; j < params.w; j++) {
        s = accumulate(s, scene[line + c0 + j], 1.0);
    }
    row_sums[r * params.out_cols + c0] = s;
    for (var c = c0 + 1u; c < c1; c++) {
        s = accumulate(s, scene[line + c + params.w - 1u], 1.0);
        s = accumulate(s, scene[line + c - 1u], -1.0);
        row_sums[r * params.out_cols + c] = s;
    }
}

fn normalised(num: f32, den_a: f32, den_b: f32, tpl_degenerate: bool, win_degenerate: bool) -> f32 {
    if (tpl_degenerate && win_degenerate) {
        return 1.0;
    }
    if (tpl_degenerate || win_degenerate) {
        return 0.0;
    }
    return clamp(num / (sqrt(den_a) * sqrt(den_b)), -1.0, 1.0);
}

fn score(q: f32, sums: vec4<f32>) -> f32 {
    let p = cparams;
    let s1 = sums.xy;
    let s2 = sums.zw;
    let tpl_flat = (p.flags & 1u) != 0u;
    let tpl_zero = (p.flags & 2u) != 0u;
    // Σ I'² = (n·Σ J² − (Σ J)²) / n, and Σ I_w² = Σ J² + 2c·Σ J + n·c².
    let spread_n = add_ff(mul_ff(s2, vec2<f32>(p.n, 0.0)), neg(mul_ff(s1, s1)));
    let spread = max(spread_n.x / p.n, 0.0);
    let energy = max(add_ff(add_ff(s2, mul_ff(p.two_c, s1)), p.n_c2).x, 0.0);
    // Σ T·I_w = Q + T̄·Σ J + n·c·T̄.
    let ccorr = add_f(add_ff(mul_ff(p.tm, s1), p.n_c_tm), q).x;
    // Σ (T − I_w)² = Σ J² − 2Q + Σ T'² + 2d·Σ J + n·d².
    let sqdiff = max(add_f(add_ff(add_ff(s2, mul_ff(p.two_d, s1)), p.sq_const), -2.0 * q).x,
                     0.0);
    let win_zero = energy <= p.win_floor;
    switch p.method {
        case 0u: { return sqdiff; }
        case 1u: {
            if (tpl_zero || win_zero) {
                return select(1.0, 0.0, tpl_zero && win_zero);
            }
            return clamp(sqdiff / (sqrt(p.tpl_energy) * sqrt(energy)), 0.0, 1.0);
        }
        case 2u: { return ccorr; }
        case 3u: { return normalised(ccorr, p.tpl_energy, energy, tpl_zero, win_zero); }
        case 4u: { return q; }
        default: {
            return normalised(q, p.tpl_energy_centred, spread, tpl_flat, spread <= p.win_floor);
        }
    }
}

@compute @workgroup_size(WG)
fn combine(@builtin(global_invocation_id) gid: vec3<u32>,
           @builtin(num_workgroups) groups: vec3<u32>) {
    let p = cparams;
    ZERO = p.zero;
    let runs = (p.out_rows + RUN - 1u) / RUN;
    let g = index(gid, groups);
    if (g >= runs * p.out_cols) {
        return;
    }
    let c = g % p.out_cols;
    let r0 = (g / p.out_cols) * RUN;
    let r1 = min(r0 + RUN, p.out_rows);
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < p.h; i++) {
        let v = sums_in[(r0 + i) * p.out_cols + c];
        s = vec4<f32>(add_ff(s.xy, v.xy), add_ff(s.zw, v.zw));
    }
    for (var r = r0; r < r1; r++) {
        if (r > r0) {
            let add = sums_in[(r + p.h - 1u) * p.out_cols + c];
            let sub = sums_in[(r - 1u) * p.out_cols + c];
            s = vec4<f32>(add_ff(add_ff(s.xy, add.xy), neg(sub.xy)),
                          add_ff(add_ff(s.zw, add.zw), neg(sub.zw)));
        }
        let i = r * p.out_cols + c;
        scores[i] = score(numerator[i], s);
    }
}
