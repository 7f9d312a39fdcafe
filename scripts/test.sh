#!/usr/bin/env bash
# Install Shape Latent Explorer with its test extra into .venv, then lint and run the test suite
# (arguments go to pytest). pytest-xvfb starts a virtual X server, so GUI and OpenGL tests run on
# machines without a display.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
.venv/bin/python -m ruff check .
.venv/bin/python -m pytest "$@"
