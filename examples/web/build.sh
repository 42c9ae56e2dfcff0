#!/usr/bin/env bash
# Builds the demo page's WebAssembly (examples/web/pkg). Then serve the folder, e.g.
#   python3 -m http.server -d examples/web 8000   and open http://localhost:8000
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/web-tools.sh
need_wasm_bindgen
# The default scene is the tests' photograph (one copy in the repository).
cp tests/data/astronaut.png examples/web/data/astronaut.png
cd examples/web
cargo build --release --target wasm32-unknown-unknown
wasm-bindgen --target web --no-typescript --out-dir pkg \
    "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/xcorr_web_demo.wasm"
echo "built examples/web/pkg; serve examples/web over HTTP and open index.html" >&2
