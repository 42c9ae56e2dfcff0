#!/usr/bin/env bash
# Builds the Python package (python/) into a fresh virtual environment, as a user would
# install it (`pip install ./python[dask]`), adds the peers the tests compare against
# (scipy, OpenCV, scikit-image, pytest) and runs python/tests: both backends, Dask on a
# two-process cluster. Needs python3 (3.9+) with venv, a Rust toolchain, and network
# access to PyPI. GPU tests run on Mesa's software Vulkan driver when no GPU exists; with
# XCORR_REQUIRE_GPU=1 a missing adapter fails them instead of skipping them.
#
#   bash scripts/python-test.sh [pytest arguments]
#
# XCORR_PYTHON_VENV sets where the environment goes (default target/python-venv, made
# anew on every run).
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
venv="${XCORR_PYTHON_VENV:-target/python-venv}"
# shellcheck source=scripts/vulkan-driver.sh
. scripts/vulkan-driver.sh
ensure_vulkan_driver scripts/python-test.sh

mkdir -p "$(dirname "$venv")"
# Debian's own python3 keeps venv in a separate package.
if ! "$python" -m venv --clear "$venv" >/dev/null 2>&1; then
    echo "scripts/python-test.sh: $python cannot make a venv; installing python3-venv" >&2
    apt_install python3-venv
    "$python" -m venv --clear "$venv"
fi

"$venv/bin/python" -m pip install --quiet --upgrade pip
# The package exactly as users install it (maturin builds the extension in release mode
# into python/target), then the peers the tests compare against.
"$venv/bin/python" -m pip install --quiet "./python[dask]"
"$venv/bin/python" -m pip install --quiet pytest scipy opencv-python-headless scikit-image

# Mesa's driver prints a harmless warning without XDG_RUNTIME_DIR.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
# From the repository root, where no `xcorr` directory shadows the installed package.
"$venv/bin/python" -m pytest python/tests -q "$@"
