# Sourced by scripts/test.sh and scripts/python-test.sh: GPU tests need a Vulkan driver, so
# on a machine without one this installs Mesa's software driver (lavapipe) and the GPU code
# paths run on the CPU; likewise the GL driver for the OpenGL pass. `caller` names the
# script in the message.
ensure_vulkan_driver() {
    local caller="$1" f
    for f in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json; do
        [ -e "$f" ] && return 0
    done
    echo "$caller: no Vulkan driver found; installing mesa-vulkan-drivers" >&2
    apt_install mesa-vulkan-drivers
}

# wgpu's OpenGL backend needs EGL and Mesa's GL driver (llvmpipe, swrast_dri.so).
ensure_gl_driver() {
    local caller="$1"
    # Files, not `ldconfig -p`: ldconfig is often off a non-root user's PATH.
    if ls /usr/lib/*/libEGL.so.1 /usr/lib/*/dri/swrast_dri.so >/dev/null 2>&1; then
        return 0
    fi
    echo "$caller: no EGL or Mesa GL driver found; installing libegl1 libegl-mesa0 libgl1-mesa-dri" >&2
    apt_install libegl1 libegl-mesa0 libgl1-mesa-dri
}

# apt-get install, as root or through sudo, quietly.
apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
