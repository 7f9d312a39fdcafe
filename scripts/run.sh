#!/usr/bin/env bash
# Install Shape Latent Explorer (apt + pip) and open it on its built-in defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec python3 main.py "$@"
