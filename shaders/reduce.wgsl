// Peaks found on the device: only the peaks go back to the host.
//
// A peak search ranks elements by a key (larger is better; the host picks it: the score, its
// negation for minimum-is-best maps, or a magnitude) with ties going to the lower index, as
// numpy's argmax and peaks.rs do. `top k` with non-maximum suppression is k rounds of
// [partial, final, suppress] recorded in one pass:
//
// * `keys`: key[i] = sign · score[i]; non-finite scores are never peaks (as in peaks.rs), so
//   they get the removed key.
// * `partial`: each workgroup reduces a strided share of the keys to its best (key, index).
// * `final`: one workgroup reduces the partial results and writes peak record `slot`: key,
//   index, score and the four neighbours' scores (for the host's parabola fit; clamped at
//   the border, where the host ignores them). `found` is 0 when no key is left.
// * `suppress`: removes from the keys every element closer than the minimum distance to peak
//   `slot` (the peak itself included), so the next round finds the best remaining element
//   that no kept peak suppresses: greedy non-maximum suppression, exactly as peaks.rs does
//   it. The host turns the distance into integers (Chebyshev radius, Euclidean squared
//   radius) so both sides draw the same disc or square.
//
// Removed keys are set to -f32::MAX (and NaN never wins a comparison): such elements are
// never reported. So a score of exactly -f32::MAX (f32::MAX where the minimum is best) is
// never reported either, where peaks.rs would report it: the one difference, documented in
// gpu::find_peaks.

override WG: u32 = 64u;
// Written exactly, in hex: the decimal -3.40282347e38 lies just past f32's range, which naga
// rounds into it but Chromium's Tint rejects ("cannot be represented as 'f32'").
const REMOVED: f32 = -0x1.fffffep+127f;
const NONE: u32 = 0xffffffffu;

struct Params {
    count: u32,
    rows: u32,
    cols: u32,
    slot: u32,
    radius_rows: u32,
    radius_cols: u32,
    max_sq: u32,
    euclidean: u32,
    sign: f32,
}

struct Best {
    key: f32,
    index: u32,
}

struct PeakRecord {
    key: f32,
    index: u32,
    score: f32,
    found: u32,
    up: f32,
    down: f32,
    left: f32,
    right: f32,
}

// keys: scores -> keys
@group(0) @binding(0) var<storage, read> score_in: array<f32>;
@group(0) @binding(1) var<storage, read_write> key_out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// partial: keys -> partial results
@group(0) @binding(0) var<storage, read> key_in: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial_out: array<Best>;

// final: partial results -> peak record; table: the scores
@group(0) @binding(0) var<storage, read> partial_in: array<Best>;
@group(0) @binding(1) var<storage, read_write> peaks_out: array<PeakRecord>;
@group(0) @binding(2) var<storage, read> scores: array<f32>;
@group(0) @binding(3) var<uniform> fparams: Params;

// suppress: peak record -> keys
@group(0) @binding(0) var<storage, read> peaks_in: array<PeakRecord>;
@group(0) @binding(1) var<storage, read_write> key_mask: array<f32>;

var<workgroup> wg_key: array<f32, WG>;
var<workgroup> wg_index: array<u32, WG>;

fn better(k: f32, i: u32, bk: f32, bi: u32) -> bool {
    return k > bk || (k == bk && i < bi);
}

// Tree reduction of every invocation's candidate; the result is in slot 0.
fn reduce_workgroup(local: u32, key: f32, idx: u32) {
    wg_key[local] = key;
    wg_index[local] = idx;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if (local < half) {
            let k = wg_key[local + half];
            let i = wg_index[local + half];
            if (better(k, i, wg_key[local], wg_index[local])) {
                wg_key[local] = k;
                wg_index[local] = i;
            }
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(WG)
fn keys(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
    let g = gid.x + gid.y * groups.x * WG;
    if (g < params.count) {
        let s = score_in[g];
        // Finite means an exponent that is not all ones. Tested on the bits: WGSL lets a
        // compiler assume floats are finite, so `abs(s) <= MAX` could be folded to true.
        let finite = (bitcast<u32>(s) & 0x7f800000u) != 0x7f800000u;
        key_out[g] = select(REMOVED, params.sign * s, finite);
    }
}

@compute @workgroup_size(WG)
fn partial(@builtin(global_invocation_id) gid: vec3<u32>,
           @builtin(local_invocation_index) local: u32,
           @builtin(workgroup_id) group: vec3<u32>,
           @builtin(num_workgroups) groups: vec3<u32>) {
    var bk = REMOVED;
    var bi = NONE;
    let stride = groups.x * WG;
    for (var i = gid.x; i < params.count; i += stride) {
        let k = key_in[i];
        if (k > REMOVED && better(k, i, bk, bi)) {
            bk = k;
            bi = i;
        }
    }
    reduce_workgroup(local, bk, bi);
    if (local == 0u) {
        partial_out[group.x] = Best(wg_key[0], wg_index[0]);
    }
}

@compute @workgroup_size(WG)
fn final_peak(@builtin(local_invocation_index) local: u32) {
    let p = fparams;
    var bk = REMOVED;
    var bi = NONE;
    // `count` is the number of partial results here.
    for (var i = local; i < p.count; i += WG) {
        let b = partial_in[i];
        if (b.index != NONE && better(b.key, b.index, bk, bi)) {
            bk = b.key;
            bi = b.index;
        }
    }
    reduce_workgroup(local, bk, bi);
    if (local == 0u) {
        var rec = PeakRecord(REMOVED, NONE, 0.0, 0u, 0.0, 0.0, 0.0, 0.0);
        let at = wg_index[0];
        if (at != NONE) {
            let r = at / p.cols;
            let c = at - r * p.cols;
            let up = select(at, at - p.cols, r > 0u);
            let down = select(at, at + p.cols, r + 1u < p.rows);
            let left = select(at, at - 1u, c > 0u);
            let right = select(at, at + 1u, c + 1u < p.cols);
            rec = PeakRecord(wg_key[0], at, scores[at], 1u,
                             scores[up], scores[down], scores[left], scores[right]);
        }
        peaks_out[p.slot] = rec;
    }
}

@compute @workgroup_size(WG)
fn suppress(@builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(num_workgroups) groups: vec3<u32>) {
    let g = gid.x + gid.y * groups.x * WG;
    let width = 2u * params.radius_cols + 1u;
    if (g >= (2u * params.radius_rows + 1u) * width) {
        return;
    }
    let peak = peaks_in[params.slot];
    if (peak.found == 0u) {
        return;
    }
    let dr = i32(g / width) - i32(params.radius_rows);
    let dc = i32(g % width) - i32(params.radius_cols);
    if (params.euclidean != 0u) {
        // Δrow² + Δcol² ≤ max_sq without overflowing u32 (the host keeps the radii within
        // the map, and uses the plain box when the disc would cover it).
        let a = u32(abs(dr));
        let b = u32(abs(dc));
        if (a > 65535u || b > 65535u) {
            return;
        }
        let a2 = a * a;
        let b2 = b * b;
        if (a2 > params.max_sq || b2 > params.max_sq - a2) {
            return;
        }
    }
    let r = i32(peak.index / params.cols) + dr;
    let c = i32(peak.index % params.cols) + dc;
    if (r < 0 || c < 0 || r >= i32(params.rows) || c >= i32(params.cols)) {
        return;
    }
    key_mask[u32(r) * params.cols + u32(c)] = REMOVED;
}
