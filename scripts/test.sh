#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy, the lean library builds (native and wasm32),
# then every test: Rust (on Vulkan, and the GPU suites again on OpenGL), Python, and in
# headless Chromium.
# GPU tests need a Vulkan driver: on a machine without a GPU this installs Mesa's software
# driver (lavapipe) first (scripts/vulkan-driver.sh), so the GPU code paths run on the CPU.
# With XCORR_REQUIRE_GPU=1 a missing adapter fails the GPU tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/vulkan-driver.sh
. scripts/vulkan-driver.sh
ensure_vulkan_driver scripts/test.sh

# rustfmt and clippy come with rustup's default profile; add them where a minimal one lacks them.
if command -v rustup >/dev/null; then
    rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

cargo fmt --check
cargo clippy --all-targets --all-features -- -D warnings
# The library alone, as a dependency takes it: the engine's own crates, with and without wgpu.
cargo build --lib --no-default-features
cargo build --lib --no-default-features --features gpu
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo clippy --lib --target wasm32-unknown-unknown --no-default-features --features gpu -- -D warnings
cargo test --all-features "$@"
# The GPU suites again through wgpu's OpenGL backend on Mesa's llvmpipe: the same kernels
# through a second shader compiler path (naga's GLSL, then Mesa's GLSL compiler).
ensure_gl_driver scripts/test.sh
WGPU_BACKEND=gl cargo test --all-features --lib --test 'gpu_*' --test pipelined_tracking \
    --test range --test masked_matching --test masked_registration "$@"
# The Python package, installed as a user installs it, against scipy, OpenCV, scikit-image.
bash scripts/python-test.sh
# The same kernels in a real browser: Chromium's WebGPU (its own WGSL compiler, Tint).
bash scripts/web-test.sh
