"""The logs a run may write beside its checkpoint: a JSONL metrics file and a TensorBoard log.

The command line (``train --metrics --tensorboard``) and the GUI's training form both use
`RunLogs`, fed from the run's EpochReports and, at the end, its checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from trainer.checkpoint import Checkpoint
from trainer.config import TrainConfig
from trainer.data.shapeset import ShapeSet
from trainer.report import EpochReport
from trainer.tensorboard_log import TensorBoardLog


@dataclass(frozen=True)
class LogOptions:
    """Where a run writes its logs; None: not written."""

    metrics: Path | None = None
    tensorboard: Path | None = None


def append_metrics(path: Path, report: EpochReport) -> None:
    """Append the report to ``path`` as one JSON line (folders are created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(report.to_dict()) + "\n")


class RunLogs:
    """The logs of one run, open from its start until `close`."""

    def __init__(self, options: LogOptions, config: TrainConfig, val: ShapeSet) -> None:
        self.options = options
        self.tensorboard = (TensorBoardLog(options.tensorboard, config, val)
                            if options.tensorboard is not None else None)

    def write_epoch(self, report: EpochReport) -> None:
        if self.options.metrics is not None:
            append_metrics(self.options.metrics, report)
        if self.tensorboard is not None:
            self.tensorboard.write_epoch(report)

    @property
    def wants_final_state(self) -> bool:
        """Whether `finish` writes anything (a TensorBoard log is open)."""
        return self.tensorboard is not None

    def finish(self, ckpt: Checkpoint) -> None:
        """The end-of-run parts (TensorBoard's hparams, embedding and meshes)."""
        if self.tensorboard is not None:
            self.tensorboard.finish(ckpt)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
