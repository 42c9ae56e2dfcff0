// Pointwise complex multiplies on the device, in place.
//
// * `spectrum`: the correlation (or convolution) step, `data = spectrum_product(data, t,
//   scale)`: `data · conj(t)` (CONJ) or `data · t`, for phase correlation divided by its
//   magnitude (PHASE), times `scale` (product.wgsl, which the host puts before this file).
//   `t` has the same layout as `data`. Plans whose last forward FFT pass applies the product
//   itself (stockham.wgsl's PRODUCT) skip this dispatch.
// * `chirp`: Bluestein's pointwise steps along one axis, `data[i] *= table[table_offset + i]`
//   for i < valid and `data[i] = 0` for valid <= i < count (the zero padding up to the
//   convolution length).
//
// Both walk `lines` lines of `count` elements: element i of line l sits at
// `l * line_stride + i * stride`.

override WG: u32 = 64u;

struct Params {
    count: u32,
    valid: u32,
    stride: u32,
    line_stride: u32,
    lines: u32,
    table_offset: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read_write> data: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

// (line, index along the line) of invocation g; neighbouring invocations touch
// neighbouring memory.
fn locate(g: u32) -> vec2<u32> {
    if (params.stride == 1u) {
        let line = g / params.count;
        return vec2<u32>(line, g - line * params.count);
    }
    let i = g / params.lines;
    return vec2<u32>(g - i * params.lines, i);
}

@compute @workgroup_size(WG)
fn spectrum(@builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(num_workgroups) groups: vec3<u32>) {
    let g = gid.x + gid.y * groups.x * WG;
    if (g >= params.count * params.lines) {
        return;
    }
    let at = locate(g);
    let idx = at.x * params.line_stride + at.y * params.stride;
    data[idx] = spectrum_product(data[idx], table[idx], params.scale);
}

@compute @workgroup_size(WG)
fn chirp(@builtin(global_invocation_id) gid: vec3<u32>,
         @builtin(num_workgroups) groups: vec3<u32>) {
    let g = gid.x + gid.y * groups.x * WG;
    if (g >= params.count * params.lines) {
        return;
    }
    let at = locate(g);
    let idx = at.x * params.line_stride + at.y * params.stride;
    if (at.y < params.valid) {
        data[idx] = cmul(data[idx], table[params.table_offset + at.y]);
    } else {
        data[idx] = vec2<f32>(0.0, 0.0);
    }
}
