"""Headless training commands: `train`, `ppca`, `info`, `export-weights`, `cache-clear`.

`add_commands` registers them on an argparse sub-parser set; the full command line (with the
explorer's `sample`) is assembled in `explorer.cli`.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import torch

from trainer import budgets
from trainer.checkpoint import Checkpoint, check_model_size, load_checkpoint, save_checkpoint
from trainer.code_refinement import check_refinable
from trainer.config import SETTINGS, TrainConfig
from trainer.data.cache import CACHE_ENV, clear_cache, default_cache_dir
from trainer.data.shapeset import ShapeSet
from trainer.data.sources import load_run_data
from trainer.describe import describe_model
from trainer.device import AMP_MODES, amp_dtype
from trainer.distributed import (
    RANK_STATE_ENV,
    Ranks,
    check_sync_bn,
    process_group,
    save_rank_state,
)
from trainer.error_line import printable
from trainer.errors import ConfigError
from trainer.evaluation import evaluate
from trainer.evaluation_run import (
    check_request,
    evaluation_shapes,
    report_json,
    report_text,
    write_report,
)
from trainer.loop import Trainer
from trainer.ppca import PPCAReport, fit_and_evaluate, ppca_config
from trainer.report import BatchProgress, EpochReport
from trainer.run_logs import LogOptions, RunLogs
from trainer.tensorboard_log import check_available as check_tensorboard
from trainer.weights_file import save_weights

DEFAULT_CHECKPOINT = "runs/vae.pt"
DEFAULT_PPCA = "runs/ppca.pt"

# the settings PPCA uses (data and latent size); `ppca` takes only these flags
_PPCA_FLAGS = ("data", "resolution", "latent_dim", "seed", "dataset_size", "val_fraction",
               "grid", "sdf_truncation")


def add_commands(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a VAE headless",
                           description="Train a VAE; settings come from defaults, then --config, "
                                       "then flags. With --resume only --epochs may be given "
                                       "(the run is extended to it).")
    train.add_argument("--config", type=Path, help="TOML or JSON file of TrainConfig settings")
    add_setting_flags(train, SETTINGS)
    train.add_argument("--checkpoint", type=Path, default=Path(DEFAULT_CHECKPOINT),
                       help=f"checkpoint written after every epoch (default {DEFAULT_CHECKPOINT})")
    train.add_argument("--metrics", type=Path, help="append one JSON line per epoch here")
    train.add_argument("--tensorboard", type=_folder_path, metavar="DIR",
                       help="write a TensorBoard log here: scalars per epoch; hparams, the "
                            "validation codes and reconstructed meshes at the end (needs the "
                            "[tensorboard] extra)")
    train.add_argument("--resume", type=Path, help="continue the run saved in this checkpoint")
    add_device_argument(train)
    train.add_argument("--amp", choices=AMP_MODES, default="off",
                       help="mixed precision on CUDA: bf16 or fp16 autocast (default off = fp32)")
    train.add_argument("--sync-bn", action="store_true",
                       help="under torchrun on GPUs: BatchNorm statistics over the global batch")
    train.set_defaults(func=cmd_train)

    ppca = sub.add_parser(
        "ppca", help="fit the PPCA baseline and score it on the validation shapes",
        description="Fit probabilistic PCA (closed form) on the training grids with the same "
                    "latent size, print validation IoU and Hamming distance, and save it as a "
                    "model file that info, sample and the Explore view open.")
    ppca.add_argument("--config", type=Path, help="TOML or JSON file of TrainConfig settings")
    ppca.add_argument("--compare", type=Path, metavar="CHECKPOINT",
                      help="use this VAE run's data and latent size and print its scores too")
    add_setting_flags(ppca, _PPCA_FLAGS)
    ppca.add_argument("--out", type=Path, default=Path(DEFAULT_PPCA),
                      help=f"the PPCA model file (default {DEFAULT_PPCA})")
    ppca.set_defaults(func=cmd_ppca)

    info = sub.add_parser("info", help="print a checkpoint's config and last report")
    info.add_argument("checkpoint", type=Path)
    info.set_defaults(func=cmd_info)

    evaluate = sub.add_parser(
        "evaluate", help="score a model's reconstructions and prior samples on a set of shapes",
        description="Reconstruction IoU and Hamming distance overall and per class, and MMD, "
                    "COV and 1-NNA (distance 1 - IoU) of prior samples against the shapes. The "
                    "shapes are a folder's (--data FOLDER) or the run's own validation split "
                    "of the built-in solids.")
    evaluate.add_argument("checkpoint", type=Path)
    evaluate.add_argument("--data", help="'builtin' (the run's validation split) or a folder "
                                         "of shapes (default: builtin for built-in runs)")
    evaluate.add_argument("--samples", type=int, default=500,
                          help=f"prior samples to score (0: none; at most "
                               f"{budgets.SAMPLES}; default 500)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the prior samples")
    evaluate.add_argument("--sampler", choices=("prior", "fitted"), default="prior",
                          help="draw the samples from the prior N(0, I), or from a Gaussian "
                               "fitted to the codes of the run's training split (built-in "
                               "runs; Gaussian codes)")
    evaluate.add_argument("--refine", type=int, default=0, metavar="STEPS",
                          help="reconstruct each shape from its most probable code: the "
                               "encoder's code refined by STEPS steps of latent search "
                               "(occupancy VAEs; 30 steps take about 0.1 s per 32^3 shape on 2 "
                               "cores; default 0: the encoder's code)")
    evaluate.add_argument("--json", type=Path, help="also write the report here as JSON")
    evaluate.set_defaults(func=cmd_evaluate)

    weights = sub.add_parser("export-weights", help="write a checkpoint's weights as safetensors")
    weights.add_argument("checkpoint", type=Path)
    weights.add_argument("out", type=Path, help="output .safetensors file")
    weights.set_defaults(func=cmd_export_weights)

    clear = sub.add_parser("cache-clear", help="delete the cached voxel grids of imported folders")
    clear.add_argument("--cache-dir", type=Path,
                       help=f"the cache folder (now {default_cache_dir()}; ${CACHE_ENV} moves it)")
    clear.set_defaults(func=cmd_cache_clear)


def add_setting_flags(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """A flag per named TrainConfig setting, made from its metadata (trainer.config.SETTINGS).

    The flags only convert text to the setting's type; TrainConfig validates the values.
    """
    groups: dict[str, argparse._ArgumentGroup] = {}
    for name in names:
        setting = SETTINGS[name]
        target: argparse._ActionsContainer = parser
        if setting.group:
            if setting.group not in groups:
                groups[setting.group] = parser.add_argument_group(setting.group)
            target = groups[setting.group]
        help = setting.describe().replace("%", "%%")
        if isinstance(setting.default, bool):
            target.add_argument(setting.flag, action=argparse.BooleanOptionalAction,
                                default=None, help=help)
        elif isinstance(setting.default, tuple):
            target.add_argument(setting.flag, type=_integers, metavar="N,N,...", help=help)
        else:
            metavar = "{" + ",".join(map(str, setting.choices)) + "}" if setting.choices else None
            target.add_argument(setting.flag, type=type(setting.default), metavar=metavar,
                                help=help)


def _integers(text: str) -> tuple[int, ...]:
    """'16,32,64,128' -> (16, 32, 64, 128)."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas, got {text!r}") from None


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA when present), cpu, cuda or cuda:N (default auto)")


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, Checkpoint | None]:
    """The run's config (and checkpoint when resuming) from defaults, --config and flags."""
    flags = {name: getattr(args, name) for name in SETTINGS}
    if args.resume is not None:
        ckpt = load_checkpoint(args.resume)
        _check_data_confirmed(ckpt.config, flags["data"])
        changed = sorted(k for k, v in flags.items()
                         if v is not None and k != "epochs" and v != getattr(ckpt.config, k))
        if changed or args.config is not None:
            what = ", ".join(changed) if changed else "--config"
            raise ConfigError(f"cannot change {what} when resuming; only --epochs may be given")
        return ckpt.config.with_overrides(epochs=flags["epochs"]), ckpt
    base = TrainConfig.from_file(args.config) if args.config else TrainConfig()
    return base.with_overrides(**flags), None


def _check_data_confirmed(config: TrainConfig, data: str | None) -> None:
    """Read the folder a checkpoint's run trained on only when --data names it too: a crafted
    checkpoint could name any folder (/etc)."""
    if not config.is_builtin_data and data is None:
        raise ConfigError(f"this run trained on the folder {config.data}; give --data with that "
                          "folder to read it again")


def cmd_train(args: argparse.Namespace) -> int:
    """Train in this process, or as one rank of a data-parallel run when started by torchrun."""
    ranks = Ranks.from_env()
    device = ranks.device(args.device)
    amp_dtype(args.amp, device)  # refuse bad combinations before any work
    check_sync_bn(args.sync_bn, device)
    config, resume = config_from_args(args)
    check_model_size(config)
    _check_output_file(args.checkpoint, "checkpoint")
    _check_output_file(args.metrics, "metrics file")
    if args.tensorboard is not None:
        check_tensorboard(args.tensorboard)
    with process_group(ranks, device):
        return _train(args, config, resume, ranks, device)


def _train(args: argparse.Namespace, config: TrainConfig, resume: Checkpoint | None,
           ranks: Ranks, device: torch.device) -> int:
    out: TextIO = sys.stderr if ranks.is_main else io.StringIO()  # other ranks stay quiet
    processes = f", {ranks.world_size} processes" if ranks.is_distributed else ""
    print(f"training on {device} ({'fp32' if args.amp == 'off' else args.amp}{processes})",
          file=out, flush=True)
    print(f"preparing data ({_describe_data(config)}) ...", file=out, flush=True)
    shapes = _load_data(config, out)
    train, val = shapes.split(config.val_fraction, config.seed)
    print(f"{len(train)} training / {len(val)} validation shapes, "
          f"{len(shapes.class_names)} classes", file=out, flush=True)
    bar = _ProgressBar(out, config.epochs)
    state_dir = os.environ.get(RANK_STATE_ENV)

    def on_report(report: EpochReport) -> None:
        if logs is not None:
            bar.message(format_report(report))
            logs.write_epoch(report)
        if state_dir:
            save_rank_state(state_dir, ranks, report.epoch, trainer.model_state())

    trainer = Trainer(config, train, val, on_progress=bar.update,
                      on_report=on_report, checkpoint_path=args.checkpoint, resume_from=resume,
                      device=device, amp=args.amp, ranks=ranks, sync_bn=args.sync_bn)
    for choice in trainer.choices:
        print(f"chosen from the data: {choice.line()}", file=out, flush=True)
    logs = RunLogs(LogOptions(args.metrics, args.tensorboard), trainer.config, val) \
        if ranks.is_main else None
    previous = signal.signal(signal.SIGINT, lambda *_: trainer.stop())
    try:
        finished = trainer.run()
        if logs is not None and logs.wants_final_state and trainer.epoch > 0:
            logs.finish(trainer.checkpoint())
    finally:
        signal.signal(signal.SIGINT, previous)
        if logs is not None:
            logs.close()
    bar.close()
    if trainer.epoch == 0:
        print("stopped before the first epoch ended; no checkpoint written", file=out)
        return 1
    state = "finished" if finished else "stopped"
    print(f"{state} after epoch {trainer.epoch}; checkpoint: {args.checkpoint}", file=out)
    return 0


def _folder_path(text: str) -> Path:
    """An argument naming a folder: any path but the empty one."""
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a folder path, got an empty one")
    return Path(text)


def _check_output_file(path: Path | None, what: str) -> None:
    """Refuse an output path that is a folder or cannot be written, before the first epoch: a
    file is created in its folder and removed at once (or, when the folder is still to be
    made, the nearest existing one must be a writable folder). Nothing is left behind."""
    if path is None:
        return
    if path.is_dir():
        raise ConfigError(f"the {what} {path} is a folder; give a file path")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if not folder.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(folder))
        if folder == path.parent:
            with tempfile.TemporaryFile(dir=folder):
                pass
        elif not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied", str(folder))
        if path.exists() and not os.access(path, os.W_OK):
            raise PermissionError(13, "Permission denied", str(path))
    except OSError as exc:
        raise ConfigError(f"cannot write the {what} {path}: {exc.strerror or exc}") from exc


def cmd_ppca(args: argparse.Namespace) -> int:
    """Fit PPCA, print its validation scores (next to a VAE's with --compare) and save it."""
    flags = {name: getattr(args, name) for name in _PPCA_FLAGS}
    compare = load_checkpoint(args.compare) if args.compare is not None else None
    if compare is not None:
        others = {k: v for k, v in flags.items() if k != "data" or v != compare.config.data}
        if args.config is not None or any(v is not None for v in others.values()):
            raise ConfigError("with --compare the data settings and latent size come from the "
                              "checkpoint; give no --config or data flags (but --data naming "
                              "its folder)")
        _check_data_confirmed(compare.config, flags["data"])
        base = compare.config
    else:
        base = TrainConfig.from_file(args.config) if args.config else TrainConfig()
    config = ppca_config(base.with_overrides(**flags, likelihood="gaussian"))  # PPCA's own
    print(f"preparing data ({_describe_data(config)}) ...", file=sys.stderr, flush=True)
    shapes = _load_data(config, sys.stderr)
    train, val = shapes.split(config.val_fraction, config.seed)
    print(f"fitting PPCA with Q = {config.latent_dim} on {len(train)} training shapes ...",
          file=sys.stderr, flush=True)
    model, report = fit_and_evaluate(config, train, val)
    print(f"{'model':28} {'val IoU':>8} {'val Hamming':>12}")
    print(f"{describe_model(config, 'ppca')[0]:28} {report.val_iou:8.3f} "
          f"{report.val_hamming:12.4f}")
    if compare is not None and compare.history:
        last = compare.history[-1]
        name = f"{describe_model(compare.config)[0]} (epoch {last.epoch})"
        print(f"{name:28} {last.val_iou:8.3f} {last.val_hamming:12.4f}")
    print(format_ppca(report))
    save_checkpoint(args.out, Checkpoint(
        config=config, model_state=model.state_dict(), class_names=shapes.class_names,
        kind="ppca", ppca=report))
    print(f"wrote {args.out}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    ckpt = load_checkpoint(args.checkpoint)
    path = printable(str(args.checkpoint))
    classes = f"{len(ckpt.class_names)} classes ({printable(', '.join(ckpt.class_names), 2000)})"
    if ckpt.kind == "ppca" and ckpt.ppca is not None:
        print(f"PPCA model {path}, {classes}:")
        _print_lines(describe_model(ckpt.config, ckpt.kind, ckpt.ppca))
        print("config (data and latent size):")
        for key in _PPCA_FLAGS:
            print(f"  {key:14} {getattr(ckpt.config, key)}")
        print("fit:")
        print("  " + format_ppca(ckpt.ppca))
        return 0
    print(f"checkpoint {path}, epoch {ckpt.epoch}, {classes}:")
    _print_lines(describe_model(ckpt.config, ckpt.kind))
    print("config:")
    for key, value in ckpt.config.to_dict().items():
        print(f"  {key:14} {printable(str(value))}")
    if ckpt.history:
        print("last report:")
        print("  " + format_report(ckpt.history[-1]))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print (and with --json write) the evaluation of a checkpoint on a set of shapes."""
    check_request(args.samples, args.seed, args.sampler)
    _check_output_file(args.json, "JSON report")
    ckpt = load_checkpoint(args.checkpoint)
    check_refinable(ckpt.config, ckpt.kind, args.refine)
    shapes, fit_to = evaluation_shapes(ckpt.config, args.data, args.sampler,
                                       lambda config: _load_data(config, sys.stderr))
    print(f"scoring {len(shapes)} shapes and {args.samples} prior samples ...", file=sys.stderr,
          flush=True)
    report = evaluate(ckpt, shapes, samples=args.samples, seed=args.seed, fit_to=fit_to,
                      refine=args.refine)
    print(report_text(report), end="")
    if args.json is not None:
        write_report(args.json, report_json(report))
    return 0


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        print(f"  {line}")


def cmd_export_weights(args: argparse.Namespace) -> int:
    path = save_weights(args.out, load_checkpoint(args.checkpoint))
    print(f"wrote {path}")
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    directory = args.cache_dir or default_cache_dir()
    print(f"removed {clear_cache(directory)} cached grids from {directory}")
    return 0


def format_report(r: EpochReport) -> str:
    if r.mu_var_per_dim or not r.mutual_info_per_var:
        latent = (f"mean(mu) {r.mu_mean:+.3f}, Var(mu) {r.mu_var:.3f}, "
                  f"mean(logvar) {r.logvar_mean:+.2f}")
    else:
        latent = f"T {r.temperature:.2f}, posterior entropy {r.entropy_mean:.2f} nats"
    beta = "" if r.beta is None else f", beta {r.beta:.3g}"
    return (f"epoch {r.epoch}: loss {r.train_loss:.1f} / val {r.val_loss:.1f} "
            f"(recon {r.val_recon:.1f}, KL {r.val_kl:.1f}{beta}), IoU {r.val_iou:.3f}, "
            f"Hamming {r.val_hamming:.4f}, {latent}, active {r.active_units}/{r.latent_dim}, "
            f"{r.samples_per_s:.0f} shapes/s, {r.elapsed_s / 60:.1f} min")


def format_ppca(r: PPCAReport) -> str:
    return (f"PPCA Q={r.latent_dim}: sigma^2 {r.sigma2:.4g}, explained variance "
            f"{100 * r.explained_variance:.1f}%, val SSE {r.val_sse:.1f}, IoU {r.val_iou:.3f}, "
            f"Hamming {r.val_hamming:.4f} ({r.train_shapes} training / {r.val_shapes} validation "
            f"shapes, fitted in {r.fit_s:.1f} s)")


def _describe_data(config: TrainConfig) -> str:
    if config.is_builtin_data:
        grids = " as signed distances" if config.grid == "sdf" else ""
        return f"{config.dataset_size} procedural solids at {config.resolution}^3{grids}"
    return f"folder {printable(config.data)} at {config.resolution}^3"


def _load_data(config: TrainConfig, out: TextIO) -> ShapeSet:
    """The run's shapes; a folder import shows progress and prints its report."""
    bar = _ImportBar(out)
    try:
        data = load_run_data(config, progress=bar.update)
    finally:
        bar.close()
    if data.report is not None:
        print(data.report.summary(), file=out, flush=True)
    return data.shapes


class _ProgressBar:
    """One self-updating line on a terminal; on a pipe only the epoch lines."""

    WIDTH = 24

    def __init__(self, out: TextIO, epochs: int) -> None:
        self.out, self.epochs = out, epochs
        self.live = out.isatty()
        self._last_draw = 0.0

    def update(self, p: BatchProgress) -> None:
        now = time.monotonic()
        if not self.live or (now - self._last_draw < 0.2 and p.batch != p.batches):
            return
        self._last_draw = now
        done = int(self.WIDTH * p.batch / p.batches)
        bar = "#" * done + "-" * (self.WIDTH - done)
        self.out.write(f"\repoch {p.epoch}/{self.epochs} [{bar}] {p.batch}/{p.batches} "
                       f"loss {p.loss:9.1f}")
        self.out.flush()

    def message(self, text: str) -> None:
        if self.live:
            self.out.write("\r\x1b[2K")
        print(text, file=self.out, flush=True)

    def close(self) -> None:
        if self.live:
            self.out.write("\n")
            self.out.flush()


class _ImportBar:
    """One self-updating line while a folder is imported, on a terminal only."""

    WIDTH = 24
    NAME = 40

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = out.isatty()
        self._last_draw = 0.0

    def update(self, done: int, total: int, name: str) -> None:
        now = time.monotonic()
        if not self.live or (now - self._last_draw < 0.1 and done != total):
            return
        self._last_draw = now
        filled = int(self.WIDTH * done / total)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        name = printable(name if len(name) <= self.NAME else "..." + name[-self.NAME + 3:])
        self.out.write(f"\r\x1b[2Kimporting [{bar}] {done}/{total} {name}")
        self.out.flush()

    def close(self) -> None:
        if self.live:
            self.out.write("\r\x1b[2K")
            self.out.flush()
