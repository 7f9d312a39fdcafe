#!/usr/bin/env bash
# Installs everything Shape Latent Explorer needs on a fresh Debian machine: the display / OpenGL
# libraries Qt needs (apt), a project virtual environment .venv (the system Python is "externally
# managed", PEP 668: pip refuses to install into it), then torch (CPU build) and the project.
# Re-runs reuse .venv. apt runs as root, or through sudo for a user; nothing else needs root.
# Usage: scripts/install.sh [--test]   (--test also installs the test extra)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv
APT_PACKAGES="xvfb xauth libgl1 libgl1-mesa-dri libglx-mesa0 libegl1 libxkbcommon0 libxkbcommon-x11-0
libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
libxcb-randr0 libxcb-xkb1 libxcb-xfixes0 libxcb-sync1 libxcb-shm0 libxcb-glx0 libx11-xcb1
libfontconfig1 libdbus-1-3"
# The Explore view compiles its decoder with TorchInductor, which builds C++ kernels: g++ and the
# interpreter's Python.h. Without them it decodes eagerly (slower) instead.
APT_PACKAGES="$APT_PACKAGES g++"
"$PYTHON" -c 'import pathlib, sysconfig; assert (pathlib.Path(sysconfig.get_paths()["include"]) / "Python.h").is_file()' 2>/dev/null \
  || APT_PACKAGES="$APT_PACKAGES python3-dev"
venv_ready() { "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }
# Debian ships ensurepip (which puts pip into a new environment) in python3-venv.
venv_ready || "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null \
  || APT_PACKAGES="$APT_PACKAGES python3-venv"

if [ "$(dpkg-query -W -f='${Status}\n' $APT_PACKAGES 2>/dev/null | grep -c 'install ok installed')" -lt "$(echo $APT_PACKAGES | wc -w)" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: installing the system packages needs root or" \
      "sudo: as root, run apt-get install $(echo $APT_PACKAGES)" >&2; exit 1; }
    SUDO="sudo"
  fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $APT_PACKAGES
fi

if ! venv_ready; then   # absent, or left without pip by an earlier failed attempt
  echo "creating the virtual environment $VENV ($("$PYTHON" --version))"
  "$PYTHON" -m venv --clear "$VENV"
fi
# torch first: 2.13.0 is a small CPU build; an unpinned torch would pull a multi-GB CUDA build.
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
if [ "${1:-}" = "--test" ]; then
  "$VENV/bin/python" -m pip install -q -e ".[test]"
else
  "$VENV/bin/python" -m pip install -q -e .
fi
