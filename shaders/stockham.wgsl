// Radix-2 Stockham FFT: one pass per dispatch.
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
    _pad: u32,
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
