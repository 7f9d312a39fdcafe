#!/usr/bin/env bash
# Install Shape Latent Explorer (apt + pip into .venv) and open it on its built-in defaults;
# arguments go to the app (e.g. a checkpoint, a mesh or a folder to open).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python main.py "$@"
