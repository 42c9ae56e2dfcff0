// Registration's device steps after the cross-power spectrum (registration.rs has the maths).
//
// * `magnitude` (src: complex rows × cols at row pitch `pitch`; dst: f32, compact): the keys
//   of the integer-peak search, |x|.
// * `dft_cols` (src: the cross-power spectrum X, rows × cols at `pitch`; dst: `half`,
//   rows × region; table: the kernels): half[f, g] = Σ_k X[f, k] · K_col[g, k].
// * `dft_rows` (src: `half`; dst: the grid, region × region; table: the kernels):
//   grid[g, j] = Σ_f K_row[g, f] · half[f, j].
//
// Together they are the upsampled DFT: the inverse DFT of X at region × region points around
// the integer peak, 1/u pixel apart. The host computes the kernels in f64 (`K_col` at table
// offset 0, region × cols; `K_row` at `row_kernel`, region × rows), since WGSL's sin and cos
// are far too coarse for angles of hundreds of radians.

override WG: u32 = 64u;

struct Params {
    rows: u32,
    cols: u32,
    pitch: u32,
    region: u32,
    row_kernel: u32,
}

@group(0) @binding(0) var<storage, read> complex_in: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> magnitude_out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@group(0) @binding(0) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> kernels: array<vec2<f32>>;
@group(0) @binding(3) var<uniform> dparams: Params;

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * WG;
}

@compute @workgroup_size(WG)
fn magnitude(@builtin(global_invocation_id) gid: vec3<u32>,
             @builtin(num_workgroups) groups: vec3<u32>) {
    let g = index(gid, groups);
    if (g >= params.rows * params.cols) {
        return;
    }
    let r = g / params.cols;
    let v = complex_in[r * params.pitch + g - r * params.cols];
    // Scaled, so that |x|² cannot overflow for large x.
    let m = max(abs(v.x), abs(v.y));
    var a = 0.0;
    if (m > 0.0) {
        let s = v / m;
        a = m * sqrt(dot(s, s));
    }
    magnitude_out[g] = a;
}

@compute @workgroup_size(WG)
fn dft_cols(@builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(num_workgroups) groups: vec3<u32>) {
    let p = dparams;
    let g = index(gid, groups);
    if (g >= p.rows * p.region) {
        return;
    }
    let f = g / p.region;
    let j = g - f * p.region;
    var acc = vec2<f32>(0.0);
    for (var k = 0u; k < p.cols; k++) {
        acc += cmul(src[f * p.pitch + k], kernels[j * p.cols + k]);
    }
    dst[g] = acc;
}

@compute @workgroup_size(WG)
fn dft_rows(@builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(num_workgroups) groups: vec3<u32>) {
    let p = dparams;
    let g = index(gid, groups);
    if (g >= p.region * p.region) {
        return;
    }
    let i = g / p.region;
    let j = g - i * p.region;
    var acc = vec2<f32>(0.0);
    for (var f = 0u; f < p.rows; f++) {
        acc += cmul(kernels[p.row_kernel + i * p.rows + f], src[f * p.region + j]);
    }
    dst[g] = acc;
}
