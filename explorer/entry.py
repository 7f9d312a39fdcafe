"""The ``shape-latent-explorer`` command (and ``python main.py`` in a checkout).

No arguments open the GUI on the bundled model; one argument that is not a command opens the GUI
on that path (a checkpoint, a mesh or grid file, or a data folder: see ``explorer.open_path``);
anything else is a headless command (``--help`` lists them).
"""

from __future__ import annotations

import sys
from pathlib import Path

COMMANDS = ("train", "ppca", "info", "evaluate", "sample", "encode", "export-weights", "bundle",
            "cache-clear", "animate", "complete", "train-completion",
            "evaluate-completion")
"""The headless commands (``explorer.cli.build_parser`` has them; a test keeps both in step).
Listed here so that opening a path does not import the command line's heavy modules first."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from explorer.ui.app import run_app

        return run_app()
    if len(argv) == 1 and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        return _open_in_gui(Path(argv[0]))
    from explorer.cli import main as cli_main

    return cli_main(argv)


def _open_in_gui(path: Path) -> int:
    """Open the GUI on ``path``, or print one ``error:`` line when it cannot be opened."""
    from explorer.open_path import what_to_open
    from trainer.error_line import error_line
    from trainer.errors import ShapeExplorerError

    try:
        what_to_open(path)
    except ShapeExplorerError as exc:
        print(error_line(exc), file=sys.stderr)
        return 2
    from explorer.ui.app import run_app

    return run_app(open_path=path)
