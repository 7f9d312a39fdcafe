"""The shape-completion commands: ``complete``, ``train-completion`` and
``evaluate-completion`` (trainer.completion does the work; this module parses, loads and
writes)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

import numpy as np

from explorer.export import MESH_FORMATS, export_codes, export_mesh
from explorer.meshing import mesh_from_grid
from trainer import budgets
from trainer.atomic import atomic_write
from trainer.checkpoint import Checkpoint, load_checkpoint
from trainer.completion.amortised import (
    FRAMES,
    CompletionConfig,
    CompletionEncoder,
    CompletionTrainer,
    amortised_codes,
    completion_path,
)
from trainer.completion.baselines import naive_codes
from trainer.completion.encoder_file import load_completion, load_encoder, save_completion
from trainer.completion.evaluation import EVALUATED_KINDS, METHODS, evaluate_completion
from trainer.completion.latent_search import SearchSettings, latent_search
from trainer.completion.likelihood import check_completable
from trainer.completion.metrics import score
from trainer.completion.observation import OBSERVATION_KINDS, Observation, simulate
from trainer.config import BUILTIN_DATA
from trainer.data.shapeset import ShapeSet
from trainer.data.sources import load_run_data
from trainer.error_line import printable
from trainer.errors import ConfigError, DataError, ShapeExplorerError

COMPLETE_METHODS = ("aml", "ml", "naive")
SUPERVISED_SUFFIX = ".supervised.pt"
ON_THE_FLY = CompletionConfig(epochs=4, shapes=600, prior_pool=1200)
"""What evaluate-completion trains when no completion encoder lies beside the checkpoint."""
VALIDATION_SHAPES = 100
"""train-completion validates on the first this many of the run's validation shapes."""


def add_completion_commands(sub: argparse._SubParsersAction) -> None:
    complete = sub.add_parser(
        "complete", help="complete a partial observation of a shape",
        description="Complete a partial observation: an .npz file holding boolean 'occupied' "
                    "and 'free' grids, or a shape file whose voxels are all taken as occupied "
                    "(--input), or a scan simulated from a complete shape (--simulate; the "
                    "shape comes from --input or the model's held-out built-in solids). Writes "
                    "meshes of the observation, the completion and, when known, the truth, the "
                    "observation as observation.npz and the completed code as code.npy.")
    complete.add_argument("checkpoint", type=Path)
    complete.add_argument("--input", type=Path, metavar="FILE",
                          help="observation .npz, or a mesh or grid file")
    complete.add_argument("--simulate", choices=OBSERVATION_KINDS, metavar="KIND",
                          help=f"simulate an observation: {', '.join(OBSERVATION_KINDS)}")
    complete.add_argument("--index", type=int, default=0,
                          help="which held-out built-in solid to observe (default 0)")
    complete.add_argument("--viewpoint", type=_viewpoint, metavar="AZ,EL",
                          help="scan viewpoint in degrees (default: drawn from --seed)")
    complete.add_argument("--method", choices=COMPLETE_METHODS, default="aml",
                          help="aml (completion encoder beside the checkpoint), ml (latent "
                               "search) or naive (the VAE's encoder) (default aml)")
    complete.add_argument("--steps", type=int, default=SearchSettings().steps,
                          help="latent search steps (ml)")
    complete.add_argument("--encoder", type=Path,
                          help="completion encoder file (default <checkpoint stem>"
                               ".completion.pt beside the checkpoint)")
    complete.add_argument("--out", type=Path, default=Path("completion"), help="output folder")
    complete.add_argument("--format", choices=MESH_FORMATS, default="stl")
    complete.add_argument("--seed", type=int, default=0)
    complete.set_defaults(func=cmd_complete)

    train = sub.add_parser(
        "train-completion", help="train a completion encoder (AML) for a trained VAE",
        description="Train an encoder from partial observations to the VAE's latent codes with "
                    "the observed-voxels-only likelihood through the frozen decoder (no "
                    "complete shapes; --supervised: against complete shapes, the baseline). "
                    "Written after every epoch beside the checkpoint; validates on the first "
                    f"{VALIDATION_SHAPES} validation shapes; Ctrl-C stops after the current "
                    "batch.")
    train.add_argument("checkpoint", type=Path)
    train.add_argument("--data", help="builtin or the folder the VAE trained on (default: "
                                      "the run's built-in solids)")
    defaults = CompletionConfig()
    train.add_argument("--epochs", type=int, help=f"default {defaults.epochs}")
    train.add_argument("--shapes", type=int, help="train on at most N training shapes "
                                                  "(default all)")
    train.add_argument("--batch-size", type=int, help=f"default {defaults.batch_size}")
    train.add_argument("--lr", type=float, help=f"default {defaults.lr}")
    train.add_argument("--kl-weight", type=float, help=f"default {defaults.kl_weight}")
    train.add_argument("--free-weight", type=float, help=f"default {defaults.free_weight}")
    train.add_argument("--prior-weight", type=float,
                       help="weight of regressing the codes of scanned prior samples, 0 for "
                            f"none (default {defaults.prior_weight})")
    train.add_argument("--prior-pool", type=int, help="scans of prior samples drawn per run "
                                                      f"(default {defaults.prior_pool})")
    train.add_argument("--kinds", type=_names, help="observation kinds, comma-separated "
                                                    f"(default {','.join(defaults.kinds)})")
    train.add_argument("--channels", type=_integers, help="encoder channels, 4 numbers "
                       f"(default {','.join(map(str, defaults.channels))})")
    train.add_argument("--frame", choices=FRAMES,
                       help="pose-aware VAEs: predict the pose relative to the observation's "
                            "principal axes ('observed', default) or in the grid's frame")
    train.add_argument("--seed", type=int)
    train.add_argument("--supervised", action="store_true",
                       help=f"train the supervised baseline (<stem>{SUPERVISED_SUFFIX})")
    train.add_argument("--out", type=Path, help="default <checkpoint stem>.completion.pt beside "
                                                "the checkpoint")
    train.add_argument("--resume", action="store_true",
                       help="continue the encoder in --out (only --epochs may change)")
    train.set_defaults(func=cmd_train_completion)

    evaluate = sub.add_parser(
        "evaluate-completion", help="score completion methods on held-out shapes",
        description="Print the completion table (IoU, Hamming, accuracy, completeness per "
                    "observation kind and method, the VAE's own reconstruction included). The "
                    "completion encoder is read from beside the checkpoint, or trained on the "
                    f"fly ({ON_THE_FLY.epochs} epochs on {ON_THE_FLY.shapes} shapes) when "
                    "missing; likewise the supervised baseline.")
    evaluate.add_argument("checkpoint", type=Path)
    evaluate.add_argument("--data", help="builtin (the run's validation split, default) or a "
                                         "folder of held-out shapes")
    evaluate.add_argument("--train-data", help="the folder the VAE trained on (folder runs: "
                                               "for the mean shape and on-the-fly training)")
    evaluate.add_argument("--shapes", type=int, default=50,
                          help="held-out shapes scored (default 50)")
    evaluate.add_argument("--kinds", type=_names, default=EVALUATED_KINDS,
                          help=f"default {','.join(EVALUATED_KINDS)}")
    evaluate.add_argument("--methods", type=_names, default=METHODS,
                          help=f"default {','.join(METHODS)}")
    evaluate.add_argument("--steps", type=int, default=SearchSettings().steps,
                          help="latent search steps (ml)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--json", type=Path, help="also write the table as JSON")
    evaluate.set_defaults(func=cmd_evaluate_completion)


# --- complete ----------------------------------------------------------------------------------
def cmd_complete(args: argparse.Namespace) -> int:
    if args.input is None and args.simulate is None:
        raise ConfigError("give --input FILE, --simulate KIND, or both")
    ckpt = _completable(args.checkpoint)
    vae = ckpt.build_model()
    observation, truth = _observation(args, ckpt)
    encoder = _encoder_for(args, vae) if args.method == "aml" else None
    if args.method == "aml":
        code = amortised_codes(encoder, [observation])
    elif args.method == "ml":
        code = latent_search(vae, [observation], SearchSettings(steps=args.steps,
                                                                seed=args.seed))
    else:
        code = naive_codes(vae, [observation])
    import torch

    with torch.no_grad():
        probability = torch.sigmoid(vae.decode(torch.from_numpy(code).float())).numpy()[0, 0]
    _write_outputs(args, observation, code, probability, truth)
    return 0


def _observation(args: argparse.Namespace, ckpt: Checkpoint
                 ) -> tuple[Observation, np.ndarray | None]:
    """The observation to complete and the complete shape when known."""
    d = ckpt.config.resolution
    if args.input is not None and args.input.suffix.lower() == ".npz" and not args.simulate:
        return _read_observation(args.input, d), None
    if args.input is not None:
        from trainer.data.folder import load_file

        grid = load_file(args.input, d) > 0.5
    else:
        if not ckpt.config.is_builtin_data:
            raise ConfigError("this model trained on a folder: give --input with a shape to "
                              "observe")
        _, val = load_run_data(ckpt.config).shapes.split(ckpt.config.val_fraction,
                                                         ckpt.config.seed)
        if not 0 <= args.index < len(val):
            raise ConfigError(f"--index must be 0..{len(val) - 1}")
        grid = val.grids[args.index, 0] > 0.5
    if args.simulate is None:
        return Observation(grid, np.zeros_like(grid), "file"), None
    rng = np.random.default_rng(args.seed)
    return simulate(args.simulate, grid, rng, viewpoint=args.viewpoint), grid


def _read_observation(path: Path, d: int) -> Observation:
    budgets.regular_file_size(path, "observation file", budgets.GRID_BYTES, DataError)
    try:
        with np.load(path, allow_pickle=False) as f:
            occupied, free = np.asarray(f["occupied"]), np.asarray(f["free"])
    except KeyError as exc:
        raise DataError(f"{path}: an observation .npz needs 'occupied' and 'free' arrays") \
            from exc
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from exc
    if occupied.shape != (d, d, d) or free.shape != (d, d, d):
        raise DataError(f"{path}: the observation must be {d}^3 grids for this model, got "
                        f"{occupied.shape} and {free.shape}")
    occupied, free = occupied > 0, free > 0
    if (occupied & free).any():
        raise DataError(f"{path}: {int((occupied & free).sum())} voxels are both occupied "
                        "and free")
    return Observation(occupied, free, "file")


def _write_outputs(args: argparse.Namespace, observation: Observation, code: np.ndarray,
                   probability: np.ndarray, truth: np.ndarray | None) -> None:
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ShapeExplorerError(f"cannot create {out}: {exc.strerror or exc}") from exc
    atomic_write(out / "observation.npz", lambda f: np.savez_compressed(
        f, occupied=observation.occupied, free=observation.free))
    export_codes(code, out / "code.npy")
    meshes = {"observation": observation.occupied.astype(np.float32),
              "completion": probability}
    if truth is not None:
        meshes["truth"] = truth.astype(np.float32)
    for name, grid in meshes.items():
        mesh = mesh_from_grid(grid, 0.5)
        if mesh is None:
            print(f"{name}: no surface; no mesh written", file=sys.stderr)
            continue
        print(f"wrote {export_mesh(mesh, out / f'{name}.{args.format}', args.format)}")
    print(f"observed {100 * observation.observed_fraction:.1f} % of the voxels "
          f"({observation.kind}); completed with {args.method}")
    if truth is not None:
        s = score((probability > 0.5)[None], truth[None])
        print(f"against the truth: IoU {s.iou[0]:.3f}, Hamming {s.hamming[0]:.4f}, accuracy "
              f"{s.accuracy[0]:.2f}, completeness {s.completeness[0]:.2f} voxels")


def _encoder_for(args: argparse.Namespace, vae) -> CompletionEncoder:
    path = args.encoder or completion_path(args.checkpoint)
    if not path.exists():
        raise ConfigError(f"no completion encoder at {path}; train one with `train-completion "
                          f"{printable(str(args.checkpoint))}` or use --method ml")
    return load_encoder(path, vae)


# --- train-completion --------------------------------------------------------------------------
def cmd_train_completion(args: argparse.Namespace) -> int:
    ckpt = _completable(args.checkpoint)
    suffix = SUPERVISED_SUFFIX if args.supervised else ".completion.pt"
    out = args.out or args.checkpoint.with_name(args.checkpoint.stem + suffix)
    changes = dict(epochs=args.epochs, shapes=args.shapes, batch_size=args.batch_size,
                   lr=args.lr, kl_weight=args.kl_weight, free_weight=args.free_weight,
                   prior_weight=args.prior_weight, prior_pool=args.prior_pool, kinds=args.kinds,
                   channels=args.channels, seed=args.seed, frame=args.frame,
                   target="complete" if args.supervised else None)
    vae = ckpt.build_model()
    resume = None
    if args.resume:
        resume = load_completion(out, vae)
        others = sorted(k for k, v in changes.items()
                        if v is not None and k not in ("epochs", "target"))
        if others:
            raise ConfigError(f"cannot change {', '.join(others)} when resuming; only --epochs")
        config = resume.config.with_overrides(epochs=args.epochs)
    else:
        config = CompletionConfig().with_overrides(**changes)
    train, val = _training_split(ckpt, args.data)
    val = val.subset(np.arange(min(len(val), VALIDATION_SHAPES)))
    print(f"training a {'supervised ' if args.supervised else ''}completion encoder on "
          f"{min(len(train), config.shapes or len(train))} shapes for {config.epochs} epochs "
          f"-> {out}", file=sys.stderr, flush=True)
    trainer = CompletionTrainer(vae, config, train, val, resume_from=resume,
                                save=lambda state: save_completion(out, state),
                                on_report=lambda r: print(_report_line(r), file=sys.stderr,
                                                          flush=True))
    previous = signal.signal(signal.SIGINT, lambda *_: trainer.stop())
    try:
        finished = trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    if trainer.epoch == 0:
        print("stopped before the first epoch ended; nothing written", file=sys.stderr)
        return 1
    print(f"{'finished' if finished else 'stopped'} after epoch {trainer.epoch}; wrote {out}")
    return 0


def _report_line(r) -> str:
    return (f"epoch {r.epoch}: loss {r.train_loss:.1f} (likelihood {r.train_nll:.1f}, KL "
            f"{r.train_kl:.1f}, prior codes {r.train_prior:.2f}) / val {r.val_loss:.1f}, "
            f"val IoU {r.val_iou:.3f}, "
            f"{r.samples_per_s:.0f} shapes/s, {r.elapsed_s / 60:.1f} min")


def _training_split(ckpt: Checkpoint, data: str | None) -> tuple[ShapeSet, ShapeSet]:
    """The VAE run's own training and validation shapes (a folder run needs ``data`` naming
    its folder, so that a checkpoint cannot make the command read any folder)."""
    config = ckpt.config
    if not config.is_builtin_data:
        if data is None:
            raise ConfigError(f"this run trained on the folder {printable(config.data)}; give "
                              "--data (--train-data) with that folder")
        config = config.with_overrides(data=data)
    elif data not in (None, BUILTIN_DATA):
        config = config.with_overrides(data=data)
    shapes = load_run_data(config).shapes
    return shapes.split(config.val_fraction, config.seed)


# --- evaluate-completion -----------------------------------------------------------------------
def cmd_evaluate_completion(args: argparse.Namespace) -> int:
    unknown = [m for m in args.methods if m not in METHODS] + \
        [k for k in args.kinds if k not in OBSERVATION_KINDS]
    if unknown:
        raise ConfigError(f"unknown methods or kinds: {', '.join(unknown)} (methods: "
                          f"{', '.join(METHODS)}; kinds: {', '.join(OBSERVATION_KINDS)})")
    if args.shapes < 1:
        raise ConfigError("--shapes must be at least 1")
    ckpt = _completable(args.checkpoint)
    vae = ckpt.build_model()
    wanted = [m for m in ("aml", "supervised")
              if m in args.methods or (m == "aml" and "aml+ml" in args.methods)]
    needs_training_data = "mean" in args.methods or any(
        not _encoder_file(args.checkpoint, m).exists() for m in wanted)
    train = val = None
    if ckpt.config.is_builtin_data or args.train_data is not None:
        train, val = _training_split(ckpt, args.train_data)
    elif needs_training_data:
        raise ConfigError("give --train-data with the folder the model trained on (for the "
                          "mean shape and to train missing completion encoders)")
    if args.data in (None, BUILTIN_DATA):
        if not ckpt.config.is_builtin_data or val is None:
            raise ConfigError("this run did not train on the built-in solids; give --data "
                              "with a folder of held-out shapes")
        held_out, data = val, "built-in validation split"
    else:
        held_out = load_run_data(ckpt.config.with_overrides(data=args.data)).shapes
        data = printable(args.data)
    truth = held_out.grids[:args.shapes, 0] > 0.5
    encoders = {m: _encoder_or_train(args.checkpoint, m, vae, train, val) for m in wanted}
    print(f"completing {len(truth)} shapes ...", file=sys.stderr, flush=True)
    evaluation = evaluate_completion(
        vae, truth, training_grids=None if train is None else train.grids[:, 0] > 0.5,
        aml=encoders.get("aml"), supervised=encoders.get("supervised"), kinds=args.kinds,
        methods=args.methods, search=SearchSettings(steps=args.steps, seed=args.seed),
        seed=args.seed, data=data)
    for line in evaluation.lines():
        print(line)
    if args.json is not None:
        text = json.dumps(evaluation.to_dict(), indent=1)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.json, lambda f: f.write(text.encode()))
    return 0


def _encoder_file(checkpoint: Path, method: str) -> Path:
    if method == "aml":
        return completion_path(checkpoint)
    return checkpoint.with_name(checkpoint.stem + SUPERVISED_SUFFIX)


def _encoder_or_train(checkpoint: Path, method: str, vae, train: ShapeSet | None,
                      val: ShapeSet | None) -> CompletionEncoder:
    path = _encoder_file(checkpoint, method)
    if path.exists():
        print(f"{method}: using {path}", file=sys.stderr, flush=True)
        return load_encoder(path, vae)
    assert train is not None and val is not None
    config = ON_THE_FLY.with_overrides(target="complete" if method == "supervised" else None)
    print(f"{method}: no encoder at {path}; training one on the fly ({config.epochs} epochs on "
          f"{min(config.shapes, len(train))} shapes; not saved)", file=sys.stderr, flush=True)
    trainer = CompletionTrainer(vae, config, train, val.subset(np.arange(min(len(val), 50))))
    trainer.run()
    return trainer.state().build_encoder()


# --- shared ------------------------------------------------------------------------------------
def _completable(path: Path) -> Checkpoint:
    ckpt = load_checkpoint(path)
    check_completable(ckpt.config, ckpt.kind)
    return ckpt


def _viewpoint(text: str) -> tuple[float, float]:
    try:
        azimuth, elevation = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected AZIMUTH,ELEVATION in degrees, got "
                                         f"{text!r}") from None
    if not -90.0 <= elevation <= 90.0 or not np.isfinite(azimuth):
        raise argparse.ArgumentTypeError("the elevation must be -90..90 degrees")
    return azimuth, elevation


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _integers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got "
                                         f"{text!r}") from None
