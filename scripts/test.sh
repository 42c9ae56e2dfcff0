#!/usr/bin/env bash
# Runs every test. GPU tests need a Vulkan driver: on a machine without a GPU this installs
# Mesa's software driver (lavapipe) first, so the GPU code paths run on the CPU.
# With XCORR_REQUIRE_GPU=1 a missing adapter fails the GPU tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."

have_vulkan_driver() {
    local f
    for f in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json; do
        [ -e "$f" ] && return 0
    done
    return 1
}

if ! have_vulkan_driver; then
    echo "scripts/test.sh: no Vulkan driver found; installing mesa-vulkan-drivers" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mesa-vulkan-drivers >/dev/null
fi

cargo test "$@"
