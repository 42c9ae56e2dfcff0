// Radix-2 Stockham FFT of whole rows in workgroup memory: one dispatch per transform.
//
// One workgroup takes one row (a line with element stride 1) of length N = 2^s, loads it into
// workgroup memory, runs all s passes p = 1, 2, ..., N/2 there, ping-ponging between the two
// halves of `buf` with a barrier after each pass, and writes the result back to `dst`. Each
// of the WG invocations does N/2/WG butterflies per pass (WG divides N/2). The arithmetic
// and twiddle indexing are those of stockham.wgsl, so results match it: the twiddle of pass p
// is table[tw_offset + k * (tw_half / p)] with tw_half = N/2, from the row's own table.
// Rows are limited by the device's workgroup storage: 2·N·8 bytes must fit (the host checks).
//
// PRODUCT, as in stockham.wgsl: when this dispatch is the last of the forward transform (a
// 1-D plan's rows), each element is written back as `spectrum_product(value, kept[i],
// params.scale)` (product.wgsl, which the host puts before this file) instead of the value;
// every element is written once, by one invocation. Without PRODUCT `kept` is bound to the
// twiddle table and never read.

override WG: u32 = 64u;
override N: u32 = 2u;
override INVERSE: bool = false;
override PRODUCT: bool = false;

struct Params {
    n: u32,
    stride: u32,
    line_stride: u32,
    lines: u32,
    tw_offset: u32,
    tw_half: u32,
    // PRODUCT only: the spectrum product's scale.
    scale: f32,
}

@group(0) @binding(0) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> kept: array<vec2<f32>>;
@group(0) @binding(4) var<uniform> params: Params;

// Declared after every override, product.wgsl's included: naga 30 gives this override-sized
// array an anonymous override of its own, and pipeline creation panics when a named override
// comes after that one in the module.
var<workgroup> buf: array<vec2<f32>, 2u * N>;

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) groups: vec3<u32>) {
    // Many rows spread their workgroups over y: the x count is capped per dimension. The
    // whole workgroup shares `live`, and every invocation reaches every barrier.
    let line = wid.x + wid.y * groups.x;
    let live = line < params.lines;
    let base = line * params.line_stride;
    let half = N / 2u;
    if (live) {
        for (var i = lid; i < N; i += WG) {
            buf[i] = src[base + i];
        }
    }
    workgroupBarrier();
    var rd = 0u;
    var wr = N;
    for (var p = 1u; p < N; p *= 2u) {
        let tw_step = params.tw_half / p;
        for (var j = lid; j < half; j += WG) {
            let k = j & (p - 1u);
            var w = table[params.tw_offset + k * tw_step];
            if (INVERSE) {
                w.y = -w.y;
            }
            let u0 = buf[rd + j];
            let u1 = cmul(buf[rd + j + half], w);
            let out = 2u * j - k;
            buf[wr + out] = u0 + u1;
            buf[wr + out + p] = u0 - u1;
        }
        workgroupBarrier();
        let t = rd;
        rd = wr;
        wr = t;
    }
    if (live) {
        for (var i = lid; i < N; i += WG) {
            if (PRODUCT) {
                dst[base + i] = spectrum_product(buf[rd + i], kept[base + i], params.scale);
            } else {
                dst[base + i] = buf[rd + i];
            }
        }
    }
}
