"""Training throughput in the GUI (worker thread, live plots) vs the headless CLI, same config.

Each run is a fresh subprocess: `python main.py train ...` for the CLI, and this script with
`--gui-child` for the GUI, which fills the Training form, clicks Start and waits for the end.
Runs alternate (CLI, GUI, GUI, CLI, ...) so that drift in machine load hits both sides. Needs a
display for the GUI side:

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m benchmarks.gui_vs_cli [--rounds 2]

Prints, per run, the training-step rate (mean EpochReport.samples_per_s, epoch 1 left out as
warm-up) and the end-to-end rate (training shapes per second of wall time from the end of
epoch 1 to the end of the run: validation and per-epoch work included), then per side the
median over the runs (robust to a run disturbed by other processes) and the GUI/CLI ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _settings(args: argparse.Namespace) -> dict[str, str]:
    return {"resolution": str(args.resolution), "dataset_size": str(args.dataset_size),
            "epochs": str(args.epochs), "batch_size": str(args.batch_size)}


def run_cli(args: argparse.Namespace, folder: Path) -> list[dict]:
    metrics = folder / "cli.jsonl"
    metrics.unlink(missing_ok=True)
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in _settings(args).items()]
    subprocess.run([sys.executable, str(ROOT / "main.py"), "train", *flags,
                    f"--checkpoint={folder / 'cli.pt'}", f"--metrics={metrics}"],
                   check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
    return [json.loads(line) for line in metrics.read_text().splitlines()]


def run_gui(args: argparse.Namespace, folder: Path) -> list[dict]:
    out = folder / "gui.json"
    subprocess.run([sys.executable, "-m", "benchmarks.gui_vs_cli", "--gui-child", str(out),
                    *(f"--{k.replace('_', '-')}={v}" for k, v in _settings(args).items())],
                   check=True, cwd=ROOT)
    return json.loads(out.read_text())


def gui_child(args: argparse.Namespace) -> int:
    """Train through the real main window; write the run's reports to `args.gui_child`."""
    from PySide6.QtCore import QObject, QTimer, Slot
    from PySide6.QtWidgets import QApplication

    from explorer.ui.main_window import MainWindow
    from trainer.perf import tune_allocator

    class Waiter(QObject):
        @Slot()
        def poll(self) -> None:
            if not window.training.is_running():
                history = window.snapshot.checkpoint.history
                Path(args.gui_child).write_text(json.dumps([r.to_dict() for r in history]))
                window.snapshot = None  # nothing to save: no question on quitting
                app.quit()

    tune_allocator()
    app = QApplication([])
    window = MainWindow()
    window.show()
    form = window.training.form
    form.resolution.setCurrentText(str(args.resolution))
    for name, value in _settings(args).items():
        if name != "resolution":
            form.fields[name].setText(value)
    window.training.start_button.click()
    waiter = Waiter()
    timer = QTimer(interval=250)
    timer.timeout.connect(waiter.poll)
    timer.start()
    return app.exec()


def rates(reports: list[dict], dataset_size: int) -> tuple[float, float]:
    """(training-step rate, end-to-end rate) in shapes per second, epoch 1 left out."""
    n_val = min(max(round(0.1 * dataset_size), 1), dataset_size - 1)
    later = reports[1:]
    step = statistics.fmean(r["samples_per_s"] for r in later)
    wall = reports[-1]["elapsed_s"] - reports[0]["elapsed_s"]
    return step, (dataset_size - n_val) * len(later) / wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--dataset-size", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="runs per side")
    parser.add_argument("--gui-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gui_child:
        return gui_child(args)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (epoch 1 is warm-up)")

    results: dict[str, list[tuple[float, float]]] = {"cli": [], "gui": []}
    sides = {"cli": run_cli, "gui": run_gui}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            for side in ("cli", "gui") if i % 2 == 0 else ("gui", "cli"):
                step, wall = rates(sides[side](args, Path(tmp)), args.dataset_size)
                results[side].append((step, wall))
                print(f"round {i + 1} {side}: {step:6.1f} shapes/s training steps, "
                      f"{wall:6.1f} shapes/s end to end", flush=True)
    print(f"\n{args.resolution}^3, {args.dataset_size} shapes, batch {args.batch_size}, "
          f"{args.epochs} epochs, {args.rounds} run(s) per side (medians):")
    medians = {side: [statistics.median(col) for col in zip(*runs, strict=True)]
               for side, runs in results.items()}
    for k, what in enumerate(("training steps", "end to end")):
        cli, gui = medians["cli"][k], medians["gui"][k]
        print(f"  {what:14}  CLI {cli:6.1f} shapes/s   GUI {gui:6.1f} shapes/s   "
              f"GUI/CLI {gui / cli:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
