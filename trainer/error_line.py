"""The command line's one error boundary: every failure a person can act on becomes one bounded,
escaped line ``error: ...`` on stderr and exit status 2.

File and class names may hold line breaks, terminal escape sequences or bytes that are not
UTF-8 (as surrogates); ``printable`` escapes them, so an error cannot span lines, drive the
terminal or fail to print, and it cuts what an input may echo to ``budgets.ERROR_CHARS``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from trainer.budgets import ERROR_CHARS
from trainer.errors import ShapeExplorerError

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def printable(text: str, limit: int | None = None) -> str:
    """``text`` with control characters, escapes and surrogates written as Python escapes; when
    longer than ``limit``, its middle is replaced by '...' (the start and the reason at the end
    stay)."""
    escaped = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(text))
    if limit is not None and len(escaped) > limit:
        head = (limit - 3) // 2
        return escaped[:head] + "..." + escaped[len(escaped) - (limit - 3 - head):]
    return escaped


def error_message(exc: BaseException) -> str:
    """What went wrong, for a person, from any exception the boundary catches."""
    if isinstance(exc, ShapeExplorerError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "the input is nested too deeply to read"
    if isinstance(exc, MemoryError):
        return "out of memory (the input or the settings need more memory than there is)"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return f"{where}{exc.strerror or exc}"
    if isinstance(exc, UnicodeError):
        return f"cannot print text that this terminal's encoding does not hold ({exc.reason})"
    return f"{type(exc).__name__}: {exc}"


def error_line(exc: BaseException) -> str:
    """The one line the command line prints for ``exc`` (also what GUI dialogs show)."""
    return "error: " + printable(error_message(exc), ERROR_CHARS - len("error: "))


def run_guarded(command: Callable[[], int]) -> int:
    """Run ``command``; an input problem, an OS error, nesting too deep, memory running out or
    text the terminal cannot encode prints one error line and returns 2; Ctrl-C returns 130.
    Other exceptions are bugs and keep their traceback."""
    try:
        return command()
    except (ShapeExplorerError, OSError, RecursionError, MemoryError, UnicodeError) as exc:
        print(error_line(exc), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
