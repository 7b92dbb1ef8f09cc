#!/usr/bin/env bash
# Set up tinybench on a fresh Debian machine; safe to run again (installs only what is missing).
#   apt: the ARM cross compiler with newlib, QEMU for Cortex-M boards, Chromium for the report's test
#   pip: a virtual environment in .venv with tinybench and its test tools
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v arm-none-eabi-gcc >/dev/null || need_apt+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || need_apt+=(qemu-system-arm)
command -v gcc >/dev/null || need_apt+=(gcc)
command -v chromium >/dev/null || need_apt+=(chromium)  # the report's browser test
python3 -m venv --help >/dev/null 2>&1 || need_apt+=(python3-venv)
if ((${#need_apt[@]})); then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    echo "setup: installing with apt: ${need_apt[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
if ! .venv/bin/python -c "import tinybench, pytest, hypothesis" 2>/dev/null \
        || [ pyproject.toml -nt .venv/.tinybench-installed ]; then
    echo "setup: installing tinybench and its dependencies into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test]"
    touch .venv/.tinybench-installed
fi
echo "setup: ready ($(.venv/bin/python --version), $(arm-none-eabi-gcc --version | head -1), $(qemu-system-arm --version | head -1))"
