# Sourced by scripts/web-test.sh and examples/web/build.sh: installs what building for and
# testing in a browser needs, where it is missing. Run from the repository root.

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# Headless Chromium with WebGPU, and the WebDriver that wasm-bindgen-test and the page test use.
need_chromium() {
    if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
        echo "installing chromium and chromium-driver" >&2
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
    fi
    export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
}

# The wasm32 target, and wasm-bindgen-cli at the version Cargo.lock pins (its runner and its
# glue must match the library the page links).
need_wasm_bindgen() {
    rustup target add wasm32-unknown-unknown >/dev/null 2>&1
    local version
    version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
    if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
        echo "installing wasm-bindgen-cli $version (several minutes)" >&2
        cargo install wasm-bindgen-cli --version "$version"
    fi
}
