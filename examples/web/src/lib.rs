//! The demo page's bridge to xcorr: template matching on the browser's WebGPU adapter (or the
//! CPU, compiled to WebAssembly, where the browser has none), results handed to JavaScript.

use wasm_bindgen::prelude::*;
use xcorr::matching::{match_template_async, Method};
use xcorr::peaks::{top_k, PeakOptions};
use xcorr::{Array, Backend, Engine, Shape};

/// The page's engine: WebGPU when the browser has it, else the CPU.
#[wasm_bindgen]
pub struct Matcher {
    engine: Engine,
    note: Option<String>,
}

#[wasm_bindgen]
impl Matcher {
    /// Ask the browser for a WebGPU adapter; without one, the CPU path and a note saying why.
    pub async fn create() -> Matcher {
        match Engine::with_backend_async(Backend::Gpu).await {
            Ok(engine) => Matcher { engine, note: None },
            Err(e) => {
                // wgpu goes on to list every backend this build lacks: keep the first reason.
                let e = e.to_string();
                let reason = e.split(';').next().unwrap_or_default();
                Matcher {
                    engine: Engine::cpu(),
                    note: Some(format!(
                        "WebGPU is not available here ({reason}); matching on the CPU \
                         (WebAssembly)."
                    )),
                }
            }
        }
    }

    /// `gpu` or `cpu`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.engine.backend_label().to_string()
    }

    /// Why the CPU is used, when it is.
    #[wasm_bindgen(getter)]
    pub fn note(&self) -> Option<String> {
        self.note.clone()
    }

    /// Match a grey `template` (`t_height` × `t_width`, row-major) in a grey `scene`
    /// (`height` × `width`) with `method` (`ccoeff-normed`, `sqdiff`, …). Resolves to
    /// `{ width, height, scores: Float32Array, peaks: [{ row, col, score }], millis }`: the
    /// score map's shape and values, the `count` best matches at least half a template
    /// apart, and the time the match took; rejects with the library's message.
    #[allow(clippy::too_many_arguments)] // one flat call is what JavaScript wants
    pub fn run(
        &self,
        scene: Vec<f32>,
        width: usize,
        height: usize,
        template: Vec<f32>,
        t_width: usize,
        t_height: usize,
        method: String,
        count: usize,
    ) -> js_sys::Promise {
        let engine = self.engine.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let start = js_sys::Date::now();
            let method: Method = method.parse().map_err(to_js)?;
            let scene = Array::new(scene, Shape::d2(height, width)).map_err(to_js)?;
            let template = Array::new(template, Shape::d2(t_height, t_width)).map_err(to_js)?;
            let map = match_template_async(&engine, &scene, &template, method)
                .await
                .map_err(to_js)?;
            let options = PeakOptions {
                count,
                min_distance: (t_width.min(t_height) / 2) as f64,
                extremum: method.extremum(),
                ..PeakOptions::default()
            };
            let peaks = top_k(map.view(), &options);
            let millis = js_sys::Date::now() - start;

            let [rows, cols] = map.shape().axes();
            let found = js_sys::Array::new();
            for peak in peaks {
                let p = js_sys::Object::new();
                set(&p, "row", peak.row as f64)?;
                set(&p, "col", peak.col as f64)?;
                set(&p, "score", peak.score)?;
                found.push(&p);
            }
            let out = js_sys::Object::new();
            set(&out, "width", cols as f64)?;
            set(&out, "height", rows as f64)?;
            js_sys::Reflect::set(
                &out,
                &"scores".into(),
                &js_sys::Float32Array::from(map.data()),
            )?;
            js_sys::Reflect::set(&out, &"peaks".into(), &found)?;
            set(&out, "millis", millis)?;
            Ok(out.into())
        })
    }
}

fn set(object: &js_sys::Object, key: &str, value: f64) -> Result<(), JsValue> {
    js_sys::Reflect::set(object, &key.into(), &value.into()).map(|_| ())
}

fn to_js(e: xcorr::Error) -> JsValue {
    JsError::new(&e.to_string()).into()
}
