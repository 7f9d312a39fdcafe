#!/usr/bin/env bash
# Install Shape Latent Explorer with its test extra, then lint and run the whole test suite.
# pytest-xvfb starts a virtual X server, so GUI and OpenGL tests run on machines without a display.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
python3 -m ruff check .
python3 -m pytest "$@"
