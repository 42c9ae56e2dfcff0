// A whole power-of-two line transform in one dispatch: registers for the butterflies,
// workgroup memory only for the exchanges between register stages. This file holds the
// bindings and helpers; the host generates `main` for each line length and appends it
// (src/gpu/fft/line_kernel.rs), straight-line code with every index a constant, so that
// the points stay in registers on every compiler.
//
// A workgroup takes C lines of length N = 2^s (rows: element stride 1; columns: element
// stride = the row pitch, lines 1 apart), T = N / R invocations per line, each holding R
// points (R a power of two ≤ 64; the host picks it per adapter) in registers. The transform runs as Stockham stages of
// radix R (the last one smaller when log2 R does not divide s), p = 1, R, R², …: in a
// radix-r stage invocation t does R/r butterflies j = t + T·b (b < R/r); butterfly j takes
// the inputs x[j + q·N/r] (q < r), twiddles input q by exp(∓2πi·k·q/(r·p)) with
// k = j mod p, runs an r-point DFT and writes output m at r(j − k) + k + m·p, as the
// per-pass kernels (stockham.wgsl) do. Every stage therefore reads the points
// x[t + T·i], i < R, of its invocation: the first reads them from device memory (neighbouring
// invocations on neighbouring addresses), the others from workgroup memory after an exchange
// (write, barrier, read, barrier); the last stage's outputs j + m·p are again contiguous
// across invocations and go straight to device memory. A 4096-point line takes three radix-16
// stages and two exchanges at R = 16 (GPUs), two radix-64 stages and one exchange at R = 64
// (lavapipe), each point read and written in device memory once.
//
// Columns take C neighbouring columns per workgroup with the column index fastest across
// invocations, so device reads and writes stay contiguous in rows of C elements.
//
// The r-point DFT in registers runs log2 r radix-2 sub-stages whose roots are exact
// constants (ROOTS); the stage twiddles come from the host's f64 table of the line's own
// length, table[tw_offset + t] = exp(−2πi t / N), as in stockham.wgsl; INVERSE conjugates
// both, unnormalised.
//
// Four-step columns (a column of N = N1·N2 in two dispatches, so that a workgroup takes many
// neighbouring columns of a short line instead of a few of the whole one): a line need not
// be a whole column. Line l is sub-line m = l / cols of column c = l % cols; it reads
// element i at c·line_stride + m·m_in + i·stride and writes output i at
// c·line_stride + m·m_out + i·stride_out. Its stage twiddles come from a longer table,
// every TW_STEP-th entry. With OUTER, output k of sub-line m is multiplied by
// table[tw_outer + m·k] (the four-step twiddle exp(∓2πi·m·k/N), m·k < N) before it is
// stored. A whole line (rows, short columns) has cols = lines, m = 0, stride_out = stride,
// TW_STEP 1 and no OUTER.
//
// Fused loads and stores (LineLoad and LineStore in line_kernel.rs, chosen when the host
// generates `main`): the first forward row pass can read its rows straight from a plan's
// input (`load_padded`, `load_real_*`: zero past the input's rows and columns, never read),
// the last inverse row pass of a real plan can form its packed rows from the two half
// spectra (`load_merged`, as real.wgsl's `merge`), and the last inverse row pass can write
// only the output window (`store_window`, `store_real_*`: out[i, j] is transform element
// ((first_r + i) mod rows, (first_c + j) mod N), as shift.wgsl's `gather` and real.wgsl's
// `unpack`). The forward row pass of paired real rows can split each packed row's spectrum
// into the two real rows' half spectra as it stores them (`store_split`, real.wgsl's
// `split`), through workgroup memory: Z[k] and Z[N − k] are in different invocations.
// Every other load reads the work buffer, where `valid` bounds the offset along
// the axis: rows a forward row pass skipped (zero padding) are read as zeros. A pass that
// stores every line where it loaded it runs in place (`load_in_place` reads `dst`): an
// invocation holding a whole line loads all of it before it stores, and a workgroup sharing
// lines between invocations loads before its first barrier and stores after its last. A
// round trip always runs in place.
//
// PRODUCT, as in stockham.wgsl: when this dispatch ends the forward transform, each output
// is written as `spectrum_product(value, kept[i], params.scale)` (product.wgsl, which the
// host puts before this file); every element is written once, by one invocation. Without
// PRODUCT `kept` is bound to the twiddle table and never read.

override WG: u32 = 64u;
override N: u32 = 16u;
override C: u32 = 1u;
override INVERSE: bool = false;
override PRODUCT: bool = false;
override TW_STEP: u32 = 1u;
override OUTER: bool = false;

struct Params {
    stride: u32,
    line_stride: u32,
    lines: u32,
    tw_offset: u32,
    // PRODUCT only: the spectrum product's scale.
    scale: f32,
    stride_out: u32,
    cols: u32,
    m_in: u32,
    m_out: u32,
    tw_outer: u32,
    // Work loads: offsets along the axis (m·m_in + i·stride) at or past this read as zero.
    valid: u32,
    // Fused loads: the compact input's shape; the half spectra's stored columns (merge).
    src_rows: u32,
    src_cols: u32,
    half_cols: u32,
    // Window stores: the transform's rows, the output's shape and first lags (wrapped).
    rows: u32,
    out_rows: u32,
    out_cols: u32,
    first_r: u32,
    first_c: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec2<f32>>;
// The same bindings as real f32 arrays, for real plans' fused loads and stores (an entry
// point uses one view of each binding, never both).
@group(0) @binding(0) var<storage, read> real_src: array<f32>;
@group(0) @binding(1) var<storage, read_write> real_dst: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> kept: array<vec2<f32>>;
@group(0) @binding(4) var<uniform> params: Params;

// exp(−2πi m / 64), m < 32: every root the register DFTs (r ≤ 64) need.
const ROOTS = array<vec2<f32>, 32>(
    vec2<f32>(1.0, 0.0),
    vec2<f32>(0.9951847267, -0.0980171403),
    vec2<f32>(0.9807852804, -0.195090322),
    vec2<f32>(0.9569403357, -0.2902846773),
    vec2<f32>(0.9238795325, -0.3826834324),
    vec2<f32>(0.8819212643, -0.4713967368),
    vec2<f32>(0.8314696123, -0.555570233),
    vec2<f32>(0.7730104534, -0.6343932842),
    vec2<f32>(0.7071067812, -0.7071067812),
    vec2<f32>(0.6343932842, -0.7730104534),
    vec2<f32>(0.555570233, -0.8314696123),
    vec2<f32>(0.4713967368, -0.8819212643),
    vec2<f32>(0.3826834324, -0.9238795325),
    vec2<f32>(0.2902846773, -0.9569403357),
    vec2<f32>(0.195090322, -0.9807852804),
    vec2<f32>(0.0980171403, -0.9951847267),
    vec2<f32>(0.0, -1.0),
    vec2<f32>(-0.0980171403, -0.9951847267),
    vec2<f32>(-0.195090322, -0.9807852804),
    vec2<f32>(-0.2902846773, -0.9569403357),
    vec2<f32>(-0.3826834324, -0.9238795325),
    vec2<f32>(-0.4713967368, -0.8819212643),
    vec2<f32>(-0.555570233, -0.8314696123),
    vec2<f32>(-0.6343932842, -0.7730104534),
    vec2<f32>(-0.7071067812, -0.7071067812),
    vec2<f32>(-0.7730104534, -0.6343932842),
    vec2<f32>(-0.8314696123, -0.555570233),
    vec2<f32>(-0.8819212643, -0.4713967368),
    vec2<f32>(-0.9238795325, -0.3826834324),
    vec2<f32>(-0.9569403357, -0.2902846773),
    vec2<f32>(-0.9807852804, -0.195090322),
    vec2<f32>(-0.9951847267, -0.0980171403),
);

// Declared after every override, product.wgsl's included: naga 30 gives this override-sized
// array an anonymous override of its own, and pipeline creation panics when a named override
// comes after that one in the module.
var<workgroup> buf: array<vec2<f32>, C * N>;

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

// The helpers below take the direction as an argument (`inverse`, INVERSE or a constant)
// because a round trip runs both directions in one entry point.

// A register DFT root, ROOTS[m], conjugated for the inverse.
fn root(m: u32, inverse: bool) -> vec2<f32> {
    return conj_inverse(ROOTS[m], inverse);
}

// z · (∓i): the quarter turn, −i forward, +i inverse.
fn quarter(z: vec2<f32>, inverse: bool) -> vec2<f32> {
    if (inverse) {
        return vec2<f32>(-z.y, z.x);
    }
    return vec2<f32>(z.y, -z.x);
}

// Stage twiddle t of the line's table, conjugated for the inverse.
fn twiddle(t: u32, inverse: bool) -> vec2<f32> {
    return conj_inverse(table[params.tw_offset + t * TW_STEP], inverse);
}

// OUTER's four-step twiddle for output k of sub-line m, conjugated for the inverse.
fn outer(m: u32, k: u32, inverse: bool) -> vec2<f32> {
    return conj_inverse(table[params.tw_outer + m * k], inverse);
}

fn conj_inverse(w: vec2<f32>, inverse: bool) -> vec2<f32> {
    if (inverse) {
        return vec2<f32>(w.x, -w.y);
    }
    return w;
}

// Every output goes through here: dst[i] = v, or with PRODUCT the spectrum product.
fn store(i: u32, v: vec2<f32>) {
    if (PRODUCT) {
        dst[i] = spectrum_product(v, kept[i], params.scale);
    } else {
        dst[i] = v;
    }
}

fn zero() -> vec2<f32> {
    return vec2<f32>(0.0, 0.0);
}

// Work buffer element at offset `pos` along the line from `across`; zero past `valid`.
fn load_work(across: u32, pos: u32) -> vec2<f32> {
    if (pos < params.valid) {
        return src[across + pos];
    }
    return zero();
}

// The same from the buffer this dispatch writes: a pass in place (`src` is then bound to
// the twiddle table and never read).
fn load_in_place(across: u32, pos: u32) -> vec2<f32> {
    if (pos < params.valid) {
        return dst[across + pos];
    }
    return zero();
}

// Element e of row r of the compact complex input, zero outside it.
fn load_padded(r: u32, e: u32) -> vec2<f32> {
    if (r < params.src_rows && e < params.src_cols) {
        return src[r * params.src_cols + e];
    }
    return zero();
}

fn real_at(r: u32, e: u32) -> f32 {
    if (r < params.src_rows && e < params.src_cols) {
        return real_src[r * params.src_cols + e];
    }
    return 0.0;
}

// Real rows 2r and 2r + 1 as the real and imaginary parts of one complex row (real.wgsl's
// `pack`).
fn load_real_pair(r: u32, e: u32) -> vec2<f32> {
    return vec2<f32>(real_at(2u * r, e), real_at(2u * r + 1u, e));
}

fn load_real_row(r: u32, e: u32) -> vec2<f32> {
    return vec2<f32>(real_at(r, e), 0.0);
}

// Element k < N of the spectrum of real row `r`, from its stored half (C[k] = conj C[N − k]).
fn half_at(r: u32, k: u32) -> vec2<f32> {
    if (k < params.half_cols) {
        return src[r * params.line_stride + k];
    }
    let z = src[r * params.line_stride + N - k];
    return vec2<f32>(z.x, -z.y);
}

// Packed row r's spectrum C[2r] + i·C[2r + 1] (real.wgsl's `merge`).
fn load_merged(r: u32, k: u32) -> vec2<f32> {
    let even = half_at(2u * r, k);
    let odd = half_at(2u * r + 1u, k);
    return vec2<f32>(even.x - odd.y, even.y + odd.x);
}

// The output column of transform column k; out_cols or more when outside the window.
fn window_col(k: u32) -> u32 {
    return (k + N - params.first_c) % N;
}

// Output row i, transform column k.
fn store_window(i: u32, k: u32, v: vec2<f32>) {
    let j = window_col(k);
    if (j < params.out_cols) {
        dst[i * params.out_cols + j] = v;
    }
}

fn store_real_row(i: u32, k: u32, v: vec2<f32>) {
    let j = window_col(k);
    if (j < params.out_cols) {
        real_dst[i * params.out_cols + j] = v.x;
    }
}

// Packed row r holds transform rows 2r (real part) and 2r + 1 (imaginary part); each goes
// to its output row where the window holds it.
fn store_real_pair(r: u32, k: u32, v: vec2<f32>) {
    let j = window_col(k);
    if (j >= params.out_cols) {
        return;
    }
    let i0 = (2u * r + params.rows - params.first_r) % params.rows;
    let i1 = (2u * r + 1u + params.rows - params.first_r) % params.rows;
    if (i0 < params.out_rows) {
        real_dst[i0 * params.out_cols + j] = v.x;
    }
    if (i1 < params.out_rows) {
        real_dst[i1 * params.out_cols + j] = v.y;
    }
}

// Packed row r's spectrum Z, in workgroup memory from `sh`, into the half spectra of real
// rows 2r and 2r + 1 at column k ≤ N/2 (real.wgsl's `split`):
// A[k] = (Z[k] + conj Z[−k]) / 2, B[k] = (Z[k] − conj Z[−k]) / 2i.
fn store_split(r: u32, sh: u32, k: u32) {
    let z = buf[sh + k];
    let w = buf[sh + ((N - k) & (N - 1u))];
    let mirror = vec2<f32>(w.x, -w.y);
    let d = 0.5 * (z - mirror);
    dst[2u * r * params.line_stride + k] = 0.5 * (z + mirror);
    dst[(2u * r + 1u) * params.line_stride + k] = vec2<f32>(d.y, -d.x);
}
