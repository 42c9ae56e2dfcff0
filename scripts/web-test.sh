#!/usr/bin/env bash
# The GPU tests in a real browser (tests/web.rs): headless Chromium's WebGPU, which compiles
# WGSL with its own compiler (Tint) and runs it on its own stack (Dawn on SwiftShader here).
# Installs what is missing: Chromium and its driver, the wasm32 target, and
# wasm-bindgen-cli at the version Cargo.lock pins (the runner must match the library).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
    echo "scripts/web-test.sh: installing chromium and chromium-driver" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi
rustup target add wasm32-unknown-unknown >/dev/null 2>&1

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
    echo "scripts/web-test.sh: installing wasm-bindgen-cli $version (several minutes)" >&2
    cargo install wasm-bindgen-cli --version "$version"
fi

export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
cargo test --target wasm32-unknown-unknown --no-default-features --features gpu --test web \
    -- --nocapture "$@"
