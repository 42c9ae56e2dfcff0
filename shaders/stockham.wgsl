// Stockham FFT passes, radix 2, 4 and an odd prime (3, 5, 7): one pass per dispatch.
//
// A transform of length n = r_1·r_2·…·r_s takes one pass per factor, p = 1, r_1, r_1·r_2, …,
// reading `src` and writing `dst` (the host swaps them between passes). A radix-r pass takes,
// for j < n/r and k = j mod p, the r inputs x[j + q·n/r] (q < r), twiddles input q by
// exp(∓2πi·k·q / (r·p)), runs an r-point DFT, and writes output m at r(j − k) + k + m·p. The
// Stockham ordering writes each pass in natural order, so there is no bit-reversal step, and
// the radices may come in any order. Lines are batched: the transformed axis has element
// stride `stride` and neighbouring lines start `line_stride` apart, so rows (stride 1) and
// columns (stride = row pitch) of a 2-D array both transform in place, without a transpose.
//
// Twiddles come from a host table computed in f64 (WGSL's sin/cos are far too coarse): the
// full circle of the transform's own length, `table[tw_offset + t] = exp(-2πi t / n)` for
// t < n. The twiddle of input q is table[tw_offset + k·q·tw_step] with tw_step = n / (r·p);
// the r-point DFT's own roots are table[tw_offset + (m·q mod r)·n/r]. The inverse transform
// conjugates them and is not normalised.
//
// `radix4` does two radix-2 passes' work in one, reading and writing the data once instead
// of twice; its quarter turn is exact (a swap and a sign). `radix_odd` takes the radix as
// the override R and loops over it: R is a constant when the pipeline is made, so drivers
// unroll it. The host runs the power-of-two factors first (radix 4, after one radix-2 pass
// when their log2 is odd), so p is a power of two in `main` and `radix4` and k = j & (p − 1).
//
// PRODUCT fuses the correlation's spectrum product into the last pass of the forward
// transform: every output goes through `spectrum_product(output, kept[i], params.scale)`
// (product.wgsl, which the host puts before this file) as it is written to dst[i]. A pass
// writes each element exactly once, from one invocation, so the product needs nothing from
// other invocations, and the plan skips the separate `spectrum` dispatch with its read and
// write of the whole spectrum. `kept` (the template's spectrum) has the work buffer's
// layout. Passes without PRODUCT compile to what they were and never read `kept`; the host
// binds the twiddle table there, since WebGPU wants a binding for every variable an entry
// point names, whatever the overrides.

override WG: u32 = 64u;
override INVERSE: bool = false;
// radix_odd only: the radix, 3, 5 or 7.
override R: u32 = 3u;
override PRODUCT: bool = false;

struct Params {
    n: u32,
    p: u32,
    stride: u32,
    line_stride: u32,
    lines: u32,
    tw_offset: u32,
    tw_step: u32,
    // PRODUCT only: the spectrum product's scale.
    scale: f32,
}

@group(0) @binding(0) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> kept: array<vec2<f32>>;
@group(0) @binding(4) var<uniform> params: Params;

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

// The flat invocation index: large jobs spread their workgroups over y, since the x count is
// capped per dimension.
fn invocation(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * WG;
}

// Where invocation g < span · lines works: its line's first element `base` and its index
// j < span along the line (span: the pass's butterflies per line, n / radix).
struct Place {
    base: u32,
    j: u32,
}

fn place(g: u32, span: u32) -> Place {
    // Neighbouring invocations take neighbouring elements in memory: along the line for
    // rows, across lines for columns.
    var line: u32;
    var j: u32;
    if (params.stride == 1u) {
        line = g / span;
        j = g - line * span;
    } else {
        j = g / params.lines;
        line = g - j * params.lines;
    }
    return Place(line * params.line_stride, j);
}

// Every output of a pass goes through here: dst[i] = v, or with PRODUCT the spectrum product.
fn store(i: u32, v: vec2<f32>) {
    if (PRODUCT) {
        dst[i] = spectrum_product(v, kept[i], params.scale);
    } else {
        dst[i] = v;
    }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
    let half = params.n / 2u;
    let g = invocation(gid, groups);
    if (g >= half * params.lines) {
        return;
    }
    let at = place(g, half);
    let base = at.base;
    let j = at.j;
    // p is a power of two here: the host runs the power-of-two passes first.
    let k = j & (params.p - 1u);
    var w = table[params.tw_offset + k * params.tw_step];
    if (INVERSE) {
        w.y = -w.y;
    }
    let u0 = src[base + j * params.stride];
    let u1 = cmul(src[base + (j + half) * params.stride], w);
    let out = 2u * j - k;
    store(base + out * params.stride, u0 + u1);
    store(base + (out + params.p) * params.stride, u0 - u1);
}

// exp(−2πi t / n) (conjugated for INVERSE) for t < n.
fn twiddle(t: u32) -> vec2<f32> {
    var w = table[params.tw_offset + t];
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
    let g = invocation(gid, groups);
    if (g >= quarter_n * params.lines) {
        return;
    }
    let at = place(g, quarter_n);
    let base = at.base;
    let j = at.j;
    // p is a power of two here: the host runs the power-of-two passes first.
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
    store(base + out * s, a + c);
    store(base + (out + params.p) * s, b + d);
    store(base + (out + 2u * params.p) * s, a - c);
    store(base + (out + 3u * params.p) * s, b - d);
}

@compute @workgroup_size(WG)
fn radix_odd(@builtin(global_invocation_id) gid: vec3<u32>,
             @builtin(num_workgroups) groups: vec3<u32>) {
    let span = params.n / R;
    let g = invocation(gid, groups);
    if (g >= span * params.lines) {
        return;
    }
    let at = place(g, span);
    let base = at.base;
    let j = at.j;
    let k = j % params.p;
    let s = params.stride;
    // Twiddled inputs; 7 is the largest radix the host asks for.
    var t: array<vec2<f32>, 7>;
    for (var q = 0u; q < R; q++) {
        t[q] = cmul(src[base + (j + q * span) * s], twiddle(k * q * params.tw_step));
    }
    let root = params.n / R;
    let out = R * (j - k) + k;
    for (var m = 0u; m < R; m++) {
        var acc = t[0];
        for (var q = 1u; q < R; q++) {
            acc += cmul(t[q], twiddle(((m * q) % R) * root));
        }
        store(base + (out + m * params.p) * s, acc);
    }
}
