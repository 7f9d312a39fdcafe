"""Shape Latent Explorer: no arguments open the GUI (on the bundled model in assets/); a command
runs headless (see --help)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from explorer.ui.app import run_app

        return run_app()
    from explorer.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
