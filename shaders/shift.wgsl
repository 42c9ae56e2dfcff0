// Moving data between a compact row-major array and the FFT work buffer.
//
// * `pad`: the zero-padded copy of an input (src_rows × src_cols, compact) into the top-left
//   corner of the rows × cols transform region of the work buffer (row pitch dst_row_stride)
//   (spec.rs makes the transform hold both inputs, so nothing ever folds).
// * `gather`: the output window, out[i, j] = circ[(first_r + i) mod src_rows,
//   (first_c + j) mod src_cols], for rows × cols outputs. One circular read covers every
//   mode's window and fftshift/ifftshift at odd and even sizes alike (spec.rs decides
//   `first`; the host passes it already wrapped into [0, len)).

override WG: u32 = 64u;

struct Params {
    rows: u32,
    cols: u32,
    src_rows: u32,
    src_cols: u32,
    src_row_stride: u32,
    dst_row_stride: u32,
    first_r: u32,
    first_c: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn pad(@builtin(global_invocation_id) gid: vec3<u32>,
       @builtin(num_workgroups) groups: vec3<u32>) {
    let g = gid.x + gid.y * groups.x * WG;
    if (g >= params.rows * params.cols) {
        return;
    }
    let r = g / params.cols;
    let c = g - r * params.cols;
    var v = vec2<f32>(0.0, 0.0);
    if (r < params.src_rows && c < params.src_cols) {
        v = src[r * params.src_row_stride + c];
    }
    dst[r * params.dst_row_stride + c] = v;
}

@compute @workgroup_size(WG)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>,
          @builtin(num_workgroups) groups: vec3<u32>) {
    let g = gid.x + gid.y * groups.x * WG;
    if (g >= params.rows * params.cols) {
        return;
    }
    let i = g / params.cols;
    let j = g - i * params.cols;
    let r = (params.first_r + i) % params.src_rows;
    let c = (params.first_c + j) % params.src_cols;
    dst[i * params.dst_row_stride + j] = src[r * params.src_row_stride + c];
}
