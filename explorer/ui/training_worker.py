"""Training on a background QThread: a worker object wrapping the Qt-free Trainer.

The worker lives on its own thread and re-emits the Trainer's callbacks as signals carrying
plain data (BatchProgress, the history as a tuple of EpochReports, text). Once per epoch it also
sends a RunSnapshot built on its thread from a copy of the weights, so the GUI never touches
the live model. A folder is imported on the same thread first (``import_progressed``, then
``imported`` with the ImportReport); a stop request cancels the import before its next file.
`pause`, `resume` and `stop` are called directly from the GUI thread: the worker's thread is
busy in `Trainer.run`, so it could not take them as queued slots. The thread and its compute
threads run at a lower OS priority than the GUI, which stays responsive while training uses
every core (trainer/thread_priority.py).
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QThread, Signal, Slot

from explorer.ui.background import error_message
from explorer.ui.snapshot import take_snapshot
from trainer.config import TrainConfig
from trainer.data.folder import ImportCancelled, NothingImported
from trainer.data.shapeset import ShapeSet
from trainer.data.sources import load_run_data
from trainer.errors import DataError
from trainer.loop import Trainer
from trainer.report import BatchProgress, EpochReport
from trainer.run_logs import LogOptions, RunLogs
from trainer.thread_priority import lower_current_thread_priority

PROGRESS_INTERVAL_S = 1.0  # every GUI repaint costs the training threads CPU: ~1/s is cheap
IMPORT_PROGRESS_INTERVAL_S = 0.1  # no training competes during an import


class TrainingWorker(QObject):
    """Prepares the data and runs one training run when its thread starts."""

    status = Signal(str)
    chose = Signal(object)  # tuple[Choice, ...]: the settings decided from the data, once
    import_progressed = Signal(int, int, str)  # files done, total, current file
    imported = Signal(object)  # ImportReport, once a folder import succeeded
    progressed = Signal(object)  # BatchProgress, at most every PROGRESS_INTERVAL_S
    reported = Signal(object)  # tuple[EpochReport, ...]: the run's whole history so far
    snapshot = Signal(object)  # RunSnapshot of the epoch just reported
    failed = Signal(str)
    ended = Signal(bool)  # the last signal; True when every epoch ran

    def __init__(self, config: TrainConfig, logs: LogOptions | None = None) -> None:
        super().__init__()
        self.config = config
        self.log_options = logs or LogOptions()
        self._logs: RunLogs | None = None
        self._trainer: Trainer | None = None
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._last_progress = 0.0  # when the last progress signal went out
        self._data: ShapeSet | None = None
        self._names: tuple[str, ...] = ()
        self._val: ShapeSet | None = None

    # --- control, from any thread ---------------------------------------------------------------
    def pause(self) -> None:
        self._paused.set()
        if self._trainer is not None:
            self._trainer.pause()

    def resume(self) -> None:
        self._paused.clear()
        if self._trainer is not None:
            self._trainer.resume()

    def stop(self) -> None:
        self._stop.set()
        if self._trainer is not None:
            self._trainer.stop()

    # --- on the worker thread -------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        lower_current_thread_priority()  # before the first torch op starts the OpenMP team
        finished = False
        try:
            finished = self._train()
        except Exception as exc:  # every failure must reach the user, not kill the thread
            self.failed.emit(error_message(exc))
        finally:
            self.ended.emit(finished)
            QThread.currentThread().quit()

    def _train(self) -> bool:
        cfg = self.config
        shapes = self._load_data()
        if shapes is None:
            return False
        self._data = shapes
        train, self._val = shapes.split(cfg.val_fraction, cfg.seed)
        self.status.emit(f"Training on {len(train)} shapes, validating on {len(self._val)} ...")
        trainer = Trainer(cfg, train, self._val, on_report=self._on_report,
                          on_progress=self._on_progress)
        self._trainer = trainer  # assigned before the flags are read: no request is lost
        self.chose.emit(trainer.choices)
        if self._paused.is_set():
            trainer.pause()
        if self._stop.is_set():
            return False
        self._logs = RunLogs(self.log_options, trainer.config, self._val)
        try:
            finished = trainer.run()
            if self._logs.wants_final_state and trainer.epoch > 0:
                self.status.emit("Writing the TensorBoard embedding and meshes ...")
                self._logs.finish(trainer.checkpoint())
        finally:
            self._logs.close()
        return finished

    def _load_data(self) -> ShapeSet | None:
        """The run's shapes, or None when a stop request cancelled a folder import."""
        cfg = self.config
        if cfg.is_builtin_data:
            self.status.emit(f"Generating {cfg.dataset_size} solids at {cfg.resolution}^3 ...")
        try:
            data = load_run_data(cfg, progress=self._on_import, cancel=self._stop.is_set)
        except ImportCancelled:
            return None
        except NothingImported as exc:   # the report dialog gives every file's reason
            self.imported.emit(exc.report)
            failed = len(exc.report.failed)
            raise DataError(f"None of the {failed} shape file{'s' * (failed != 1)} in "
                            f"{exc.report.folder} could be imported: the import report lists "
                            "each file and why.") from exc
        self._names = data.names
        if data.report is not None:
            self.imported.emit(data.report)
        return data.shapes

    def _on_import(self, done: int, total: int, name: str) -> None:
        if self._due(done == total, IMPORT_PROGRESS_INTERVAL_S):
            self.import_progressed.emit(done, total, name)

    def _on_progress(self, progress: BatchProgress) -> None:
        if self._due(progress.batch == progress.batches):
            self.progressed.emit(progress)

    def _due(self, last: bool, interval: float = PROGRESS_INTERVAL_S) -> bool:
        """Throttle: True for the last step and at most every `interval` seconds otherwise."""
        now = time.monotonic()
        if last or now - self._last_progress >= interval:
            self._last_progress = now
            return True
        return False

    def _on_report(self, report: EpochReport) -> None:
        assert self._trainer is not None and self._logs is not None
        self._logs.write_epoch(report)
        self.reported.emit(tuple(self._trainer.history))
        self.snapshot.emit(take_snapshot(self._trainer.checkpoint(), self._val, self._data,
                                         self._names))


class TrainingRun(QObject):
    """A TrainingWorker and the QThread it runs on; this object lives on the GUI thread.

    Keep a reference until `wait()` returned True: dropping it destroys the thread.
    """

    def __init__(self, config: TrainConfig, logs: LogOptions | None = None) -> None:
        super().__init__()
        self.worker = TrainingWorker(config, logs)
        self._thread = QThread(self)
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.run)
        self._thread.finished.connect(self.worker.deleteLater)

    def start(self) -> None:
        self._thread.start()

    def wait(self, msecs: int | None = None) -> bool:
        """Join the thread; False when it still runs after `msecs` (None: as long as it takes)."""
        return self._thread.wait() if msecs is None else self._thread.wait(msecs)
