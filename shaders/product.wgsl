// The spectrum product, one definition for every kernel that applies it. The host puts this
// file before spectrum.wgsl (the separate `spectrum` dispatch) and before stockham.wgsl and
// stockham_shared.wgsl (the last forward FFT pass with PRODUCT set, which multiplies each
// output as it writes it); it uses their `cmul`. Both paths therefore do the same arithmetic
// in the same order.
//
// `own` is the spectrum this run computed, `kept` the one kept on the device (the template's,
// or the reference image's). CONJ conjugates `kept`: correlation, `own · conj(kept)`, the
// second argument conjugated as the conventions say; neither flag gives convolution,
// `own · kept`. CONJ_OWN conjugates `own` instead: phase correlation's
// `reference · conj(moving)` when the moving image's spectrum is the one just computed. With
// PHASE the product is then divided by its magnitude, floored at 100·ε of f64 as
// registration.rs does. Last, the product is scaled (1/N folded in here so the inverse FFT
// stays unnormalised).

override CONJ: bool = true;
override CONJ_OWN: bool = false;
override PHASE: bool = false;
const PHASE_FLOOR: f32 = 2.220446e-14;

fn spectrum_product(own: vec2<f32>, kept: vec2<f32>, scale: f32) -> vec2<f32> {
    var a = own;
    if (CONJ_OWN) {
        a.y = -a.y;
    }
    var t = kept;
    if (CONJ) {
        t.y = -t.y;
    }
    var v = cmul(a, t);
    if (PHASE) {
        // |v| scaled, so that |v|² cannot overflow for large v.
        let m = max(abs(v.x), abs(v.y));
        var r = 0.0;
        if (m > 0.0) {
            let s = v / m;
            r = m * sqrt(dot(s, s));
        }
        v = v / max(r, PHASE_FLOOR);
    }
    return v * scale;
}

