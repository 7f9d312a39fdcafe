"""The one exception type the project raises for problems a person can act on."""


class ShapeExplorerError(Exception):
    """A problem with input (config, data, checkpoint) with a message meant for a person."""


class ConfigError(ShapeExplorerError):
    """An invalid training configuration."""


class DataError(ShapeExplorerError):
    """Unusable training data."""


class CheckpointError(ShapeExplorerError):
    """A checkpoint that cannot be loaded."""


class TrainingError(ShapeExplorerError):
    """Training cannot go on (for example a NaN loss)."""


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (a file name may hold
    them), so that an error stays on one line and cannot drive the terminal."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
