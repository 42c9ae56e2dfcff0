// Stockham FFT passes, radix 2 and radix 4: one pass per dispatch.
//
// A transform of length n = 2^s takes s passes, p = 1, 2, 4, ..., n/2, reading `src` and
// writing `dst` (the host swaps them between passes). The Stockham ordering writes each pass
// in natural order, so there is no bit-reversal step. Lines are batched: the transformed axis
// has element stride `stride` and neighbouring lines start `line_stride` apart, so rows
// (stride 1) and columns (stride = row pitch) of a 2-D array both transform in place, without
// a transpose.
//
// Twiddles come from a host table computed in f64 (WGSL's sin/cos are far too coarse):
// `table[tw_offset + t] = exp(-2πi t / T)` for t < T/2, where T is the largest transform
// length of the plan; this pass needs exp(-πi k / p) = table[tw_offset + k * tw_step] with
// tw_step = T / (2p). The inverse transform conjugates it and is not normalised.
//
// `radix4` does two radix-2 passes' work in one, reading and writing the data once instead
// of twice: for j < n/4 and k = j mod p, the four inputs x[j + q·n/4] (q = 0..3), twiddled
// by exp(∓2πi·k·q / 4p), go through a 4-point DFT, and output m lands at 4(j − k) + k + m·p.
// The twiddle index k·q·T/(4p) runs past the table's half circle; there
// exp(−2πi t/T) = −table[t − T/2] (`tw_half` = T/2). A transform of 2^s points takes
// s/2 radix-4 passes, after one radix-2 pass when s is odd.

override WG: u32 = 64u;
override INVERSE: bool = false;

struct Params {
    n: u32,
    p: u32,
    stride: u32,
    line_stride: u32,
    lines: u32,
    tw_offset: u32,
    tw_step: u32,
    // radix4 only: T/2.
    tw_half: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(3) var<uniform> params: Params;

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
    let half = params.n / 2u;
    // Large jobs spread their workgroups over y: the x count is capped per dimension.
    let g = gid.x + gid.y * groups.x * WG;
    if (g >= half * params.lines) {
        return;
    }
    // Neighbouring invocations take neighbouring elements in memory: along the line for
    // rows, across lines for columns.
    var line: u32;
    var j: u32;
    if (params.stride == 1u) {
        line = g / half;
        j = g - line * half;
    } else {
        j = g / params.lines;
        line = g - j * params.lines;
    }
    let base = line * params.line_stride;
    let k = j & (params.p - 1u);
    var w = table[params.tw_offset + k * params.tw_step];
    if (INVERSE) {
        w.y = -w.y;
    }
    let u0 = src[base + j * params.stride];
    let u1 = cmul(src[base + (j + half) * params.stride], w);
    let out = 2u * j - k;
    dst[base + out * params.stride] = u0 + u1;
    dst[base + (out + params.p) * params.stride] = u0 - u1;
}

// exp(−2πi t / T) (conjugated for INVERSE) for t < T, from the half-circle table.
fn twiddle(t: u32) -> vec2<f32> {
    var w: vec2<f32>;
    if (t < params.tw_half) {
        w = table[params.tw_offset + t];
    } else {
        w = -table[params.tw_offset + t - params.tw_half];
    }
    if (INVERSE) {
        w.y = -w.y;
    }
    return w;
}

// z · (∓i): the 4-point DFT's quarter turn, −i forward, +i inverse.
fn quarter(z: vec2<f32>) -> vec2<f32> {
    if (INVERSE) {
        return vec2<f32>(-z.y, z.x);
    }
    return vec2<f32>(z.y, -z.x);
}

@compute @workgroup_size(WG)
fn radix4(@builtin(global_invocation_id) gid: vec3<u32>,
          @builtin(num_workgroups) groups: vec3<u32>) {
    let quarter_n = params.n / 4u;
    let g = gid.x + gid.y * groups.x * WG;
    if (g >= quarter_n * params.lines) {
        return;
    }
    var line: u32;
    var j: u32;
    if (params.stride == 1u) {
        line = g / quarter_n;
        j = g - line * quarter_n;
    } else {
        j = g / params.lines;
        line = g - j * params.lines;
    }
    let base = line * params.line_stride;
    let k = j & (params.p - 1u);
    let s = params.stride;
    let t0 = src[base + j * s];
    let t1 = cmul(src[base + (j + quarter_n) * s], twiddle(k * params.tw_step));
    let t2 = cmul(src[base + (j + 2u * quarter_n) * s], twiddle(2u * k * params.tw_step));
    let t3 = cmul(src[base + (j + 3u * quarter_n) * s], twiddle(3u * k * params.tw_step));
    let a = t0 + t2;
    let b = t0 - t2;
    let c = t1 + t3;
    let d = quarter(t1 - t3);
    let out = 4u * (j - k) + k;
    dst[base + out * s] = a + c;
    dst[base + (out + params.p) * s] = b + d;
    dst[base + (out + 2u * params.p) * s] = a - c;
    dst[base + (out + 3u * params.p) * s] = b - d;
}
