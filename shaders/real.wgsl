// Real data through complex FFTs, two rows in one.
//
// A real R × M array (R even) is packed row pair by row pair: packed row r holds row 2r as
// its real part and row 2r + 1 as its imaginary part. One complex FFT along the packed rows
// then transforms two real rows at once, and `split` separates them by Hermitian symmetry.
// Only the M/2 + 1 columns of the half spectrum are kept (the rest is the conjugate mirror),
// so the column FFTs, the spectrum product and the inverse column FFTs all run over about
// half the columns. On the way back, `merge` packs the real rows' spectra in pairs again and
// one inverse complex FFT along the packed rows gives two real rows. In all, a real
// correlation costs about half a complex one.
//
// Odd R (circular mode at an odd size, or one row) is not paired (PAIRED false): each packed
// row is one real row with a zero imaginary part, and the plan runs the full complex path.
//
// * `pack` (src: real, compact src_rows × src_cols; dst: work buffer, row pitch `pitch`):
//   packed rows r < rows, columns c < cols, zero beyond the source.
// * `split` (src: after the row FFTs; dst: the half spectrum): for rows r < rows and
//   k < cols (= M/2 + 1), with Z = src row r and M = src_cols,
//   row 2r:     A[k] = (Z[k] + conj Z[−k]) / 2,
//   row 2r + 1: B[k] = (Z[k] − conj Z[−k]) / 2i.
//   Packed rows r ≥ src_rows were all zero and skipped by the row FFTs: they give zeros.
// * `merge` (src: the half spectrum after the inverse column FFTs; dst: packed rows): for
//   r < rows and k < cols (= M), C[2r][k] + i·C[2r + 1][k], reading C[k] = conj C[M − k]
//   above half_cols − 1 (each C is the spectrum of a real row).
// * `unpack` (src: after the inverse row FFTs; dst: real, compact rows × cols):
//   out[i, j] = row (first_r + i) mod src_rows, column (first_c + j) mod src_cols of the
//   real array, i.e. the real or imaginary part of its packed row.

override WG: u32 = 64u;
override PAIRED: bool = true;

struct Params {
    rows: u32,
    cols: u32,
    src_rows: u32,
    src_cols: u32,
    pitch: u32,
    first_r: u32,
    first_c: u32,
    half_cols: u32,
}

@group(0) @binding(0) var<storage, read> real_in: array<f32>;
@group(0) @binding(1) var<storage, read_write> packed_out: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

@group(0) @binding(0) var<storage, read> packed_in: array<vec2<f32>>;

@group(0) @binding(1) var<storage, read_write> real_out: array<f32>;

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    // Large jobs spread their workgroups over y: the x count is capped per dimension.
    return gid.x + gid.y * groups.x * WG;
}

fn conj(z: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(z.x, -z.y);
}

fn real_at(row: u32, c: u32) -> f32 {
    if (row < params.src_rows && c < params.src_cols) {
        return real_in[row * params.src_cols + c];
    }
    return 0.0;
}

@compute @workgroup_size(WG)
fn pack(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
    let g = index(gid, groups);
    if (g >= params.rows * params.cols) {
        return;
    }
    let r = g / params.cols;
    let c = g - r * params.cols;
    var v = vec2<f32>(0.0, 0.0);
    if (PAIRED) {
        v = vec2<f32>(real_at(2u * r, c), real_at(2u * r + 1u, c));
    } else {
        v.x = real_at(r, c);
    }
    packed_out[r * params.pitch + c] = v;
}

@compute @workgroup_size(WG)
fn split(@builtin(global_invocation_id) gid: vec3<u32>,
         @builtin(num_workgroups) groups: vec3<u32>) {
    let g = index(gid, groups);
    if (g >= params.rows * params.cols) {
        return;
    }
    let r = g / params.cols;
    let k = g - r * params.cols;
    var even = vec2<f32>(0.0, 0.0);
    var odd = vec2<f32>(0.0, 0.0);
    if (r < params.src_rows) {
        let m = params.src_cols;
        let z = packed_in[r * params.pitch + k];
        let mirror = conj(packed_in[r * params.pitch + (m - k) % m]);
        even = 0.5 * (z + mirror);
        let d = 0.5 * (z - mirror);
        odd = vec2<f32>(d.y, -d.x);
    }
    packed_out[2u * r * params.pitch + k] = even;
    packed_out[(2u * r + 1u) * params.pitch + k] = odd;
}

// Element k < M of the spectrum of real row `row`, from its stored half.
fn half_spectrum_at(row: u32, k: u32) -> vec2<f32> {
    if (k < params.half_cols) {
        return packed_in[row * params.pitch + k];
    }
    return conj(packed_in[row * params.pitch + params.cols - k]);
}

@compute @workgroup_size(WG)
fn merge(@builtin(global_invocation_id) gid: vec3<u32>,
         @builtin(num_workgroups) groups: vec3<u32>) {
    let g = index(gid, groups);
    if (g >= params.rows * params.cols) {
        return;
    }
    let r = g / params.cols;
    let k = g - r * params.cols;
    let even = half_spectrum_at(2u * r, k);
    let odd = half_spectrum_at(2u * r + 1u, k);
    packed_out[r * params.pitch + k] = vec2<f32>(even.x - odd.y, even.y + odd.x);
}

@compute @workgroup_size(WG)
fn unpack(@builtin(global_invocation_id) gid: vec3<u32>,
          @builtin(num_workgroups) groups: vec3<u32>) {
    let g = index(gid, groups);
    if (g >= params.rows * params.cols) {
        return;
    }
    let i = g / params.cols;
    let j = g - i * params.cols;
    let row = (params.first_r + i) % params.src_rows;
    let c = (params.first_c + j) % params.src_cols;
    if (PAIRED) {
        let v = packed_in[(row / 2u) * params.pitch + c];
        real_out[g] = select(v.x, v.y, (row & 1u) == 1u);
    } else {
        real_out[g] = packed_in[row * params.pitch + c].x;
    }
}
