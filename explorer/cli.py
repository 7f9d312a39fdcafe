"""The command line: training commands from `trainer.cli` plus `sample`.

Every error a person can act on ends as one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import NoReturn

import numpy as np

from explorer import __version__, bundled
from explorer.animation import (
    FRAME_MS,
    FRAME_SIZE,
    check_animation_path,
    render_frames,
    write_animation,
)
from explorer.completion_cli import add_completion_commands
from explorer.encode import file_grids
from explorer.export import MESH_FORMATS, export_codes, export_mesh, export_sequence
from explorer.meshing import mesh_from_grid
from explorer.session import ExplorerSession
from trainer import budgets
from trainer import cli as trainer_cli
from trainer.checkpoint import load_checkpoint
from trainer.code_refinement import check_refinable
from trainer.device import resolve_device
from trainer.error_line import EXIT_ERROR, printable, run_guarded
from trainer.errors import ShapeExplorerError
from trainer.perf import tune_allocator


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one bounded, escaped ``error:`` line (exit 2),
    like every other error of the command line; --help still shows the usage."""

    def error(self, message: str) -> NoReturn:
        line = printable(f"{self.prog}: {message}", budgets.ERROR_CHARS - len("error: "))
        self.exit(EXIT_ERROR, f"error: {line}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="shape-latent-explorer",
        description="Train a VAE on 3D shapes and explore its latent space. "
                    "Without a command the GUI opens; with a checkpoint, a mesh or grid file, "
                    "or a folder instead of a command, it opens on that.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    trainer_cli.add_commands(sub)
    sample = sub.add_parser("sample", help="decode N prior samples to mesh files")
    sample.add_argument("checkpoint", type=Path)
    sample.add_argument("--n", type=int, default=8, help="number of samples (default 8)")
    sample.add_argument("--out", type=Path, default=Path("samples"), help="output folder")
    sample.add_argument("--format", choices=MESH_FORMATS, default="stl")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--temperature", type=float, default=1.0,
                        help="z ~ N(0, T^2 I) (categorical codes: uniform classes, no T)")
    sample.add_argument("--threshold", type=float,
                        help="iso-level for meshing (default 0.5, or 0 for signed distances)")
    trainer_cli.add_device_argument(sample)
    sample.set_defaults(func=cmd_sample)
    add_encode_command(sub)
    add_bundle_command(sub)
    add_animate_command(sub)
    add_completion_commands(sub)
    return parser


def add_encode_command(sub: argparse._SubParsersAction) -> None:
    encode = sub.add_parser(
        "encode", help="encode shape files to latent codes (posterior means, or refined)",
        description="Voxelise each mesh or grid file as a folder import does, at the model's "
                    "resolution, and save the posterior means as one row per file "
                    "(categorical codes: the most probable class of each variable, one-hot).")
    encode.add_argument("files", type=Path, nargs="+", metavar="FILE",
                        help="mesh (.off .obj .stl .ply .glb .gltf) or grid (.binvox .npy .npz)")
    encode.add_argument("--checkpoint", type=Path, required=True,
                        help="the model (.pt or .safetensors)")
    encode.add_argument("--out", type=Path, default=Path("codes.npy"),
                        help="the codes as an (N, code size) .npy array (default codes.npy)")
    encode.add_argument("--refine", type=int, default=0, metavar="STEPS",
                        help="refine each posterior mean into the shape's most probable code "
                             "by STEPS steps of latent search (occupancy VAEs; 30 take about "
                             "0.1 s per 32^3 shape on 2 cores; default 0)")
    encode.add_argument("--reconstruct", type=Path, metavar="DIR",
                        help="also write each decoded code as a mesh, DIR/<row>_<stem>.<format>")
    encode.add_argument("--format", choices=MESH_FORMATS, default="stl",
                        help="mesh format for --reconstruct (default stl)")
    trainer_cli.add_device_argument(encode)
    encode.set_defaults(func=cmd_encode)


def cmd_encode(args: argparse.Namespace) -> int:
    """Encode the files; write the codes and, with --reconstruct, the decoded meshes."""
    session = ExplorerSession.from_checkpoint(args.checkpoint, device=resolve_device(args.device))
    check_refinable(session.config, session.kind, args.refine)
    codes = session.encode(file_grids(session, args.files), refine=args.refine)
    export_codes(codes, args.out)
    print(f"wrote {len(codes)} codes of size {codes.shape[1]} to {args.out}")
    if args.reconstruct is None:
        return 0
    try:
        args.reconstruct.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ShapeExplorerError(
            f"cannot create {args.reconstruct}: {exc.strerror or exc}") from exc
    level, low = session.iso_level, session.inside_low
    for row, (path, grid) in enumerate(zip(args.files, session.decode(codes), strict=True)):
        mesh = mesh_from_grid(grid, level, inside_low=low)
        if mesh is None:
            print(f"{path.name}: its reconstruction has no surface; no mesh written",
                  file=sys.stderr)
            continue
        out = args.reconstruct / f"{row:03d}_{path.stem}.{args.format}"
        print(f"{path.name} -> {export_mesh(mesh, out, args.format)}")
    return 0


def add_animate_command(sub: argparse._SubParsersAction) -> None:
    animate = sub.add_parser(
        "animate", help="write an interpolation or a traversal as an animated GIF",
        description="Decode a sequence of codes and write it as a looping GIF: by default an "
                    "interpolation between two prior samples (--seed), or with --traverse D a "
                    "sweep of latent dimension D from the first one.")
    animate.add_argument("checkpoint", type=Path)
    animate.add_argument("--out", type=Path, default=Path("animation.gif"),
                         help="the GIF file (default animation.gif)")
    animate.add_argument("--steps", type=int, default=16, help="frames (2..256, default 16)")
    animate.add_argument("--seed", type=int, default=0, help="seed of the prior samples")
    animate.add_argument("--method", default="slerp",
                         help="interpolation: linear or slerp (default slerp; categorical "
                              "codes: linear)")
    animate.add_argument("--traverse", type=int, metavar="D",
                         help="sweep latent dimension (or variable) D instead")
    animate.add_argument("--extent", type=float, default=3.0,
                         help="a traversal sweeps -E..E (default 3)")
    animate.add_argument("--size", type=int, default=FRAME_SIZE,
                         help=f"frame size in pixels (32..1024, default {FRAME_SIZE})")
    animate.add_argument("--frame-ms", type=int, default=FRAME_MS,
                         help=f"milliseconds per frame (default {FRAME_MS})")
    trainer_cli.add_device_argument(animate)
    animate.set_defaults(func=cmd_animate)


def cmd_animate(args: argparse.Namespace) -> int:
    """Decode the sequence, render its frames and write the GIF."""
    check_animation_path(args.out)
    if not 2 <= args.steps <= 256:
        raise ShapeExplorerError(f"--steps must be 2..256, got {args.steps}")
    if not 32 <= args.size <= 1024:
        raise ShapeExplorerError(f"--size must be 32..1024, got {args.size}")
    check_sample_request(2, args.seed, 1.0)
    session = ExplorerSession.from_checkpoint(args.checkpoint, device=resolve_device(args.device))
    start, end = session.prior_samples(2, args.seed)
    if args.traverse is None:
        if args.method not in session.interpolation_methods:
            raise ShapeExplorerError(f"--method must be one of "
                                     f"{', '.join(session.interpolation_methods)} for this model")
        codes = session.interpolate(start, end, args.steps, args.method)
    else:
        if not 0 <= args.traverse < session.latent_dim:
            raise ShapeExplorerError(f"--traverse must be 0..{session.latent_dim - 1}, got "
                                     f"{args.traverse}")
        if not (math.isfinite(args.extent) and 0 < args.extent <= 100):
            raise ShapeExplorerError(f"--extent must be in (0, 100], got {args.extent}")
        values = session.family.traversal_values(args.extent, args.steps)
        codes = session.traverse(start, args.traverse, values)
    grids = np.concatenate([session.decode(codes[i:i + budgets.DECODE_BATCH])
                            for i in range(0, len(codes), budgets.DECODE_BATCH)])
    frames = render_frames(grids, session.iso_level, inside_low=session.inside_low,
                           size=args.size)
    path = write_animation(frames, args.out, args.frame_ms)
    print(f"wrote {len(frames)} frames to {path}")
    return 0


def add_bundle_command(sub: argparse._SubParsersAction) -> None:
    bundle = sub.add_parser(
        "bundle", help="regenerate the bundled model and sample meshes in assets/",
        description="Write the sample meshes, train --config from scratch into --checkpoint "
                    "(resumable with `train --resume`), then copy its model without the "
                    "optimiser state to OUT/default_model.pt.")
    bundle.add_argument("--config", type=Path, default=bundled.MODEL_CONFIG,
                        help="settings of the bundled model (default assets/default_model.toml)")
    bundle.add_argument("--checkpoint", type=Path, default=Path("runs/default_model_full.pt"),
                        help="the full training checkpoint (default runs/default_model_full.pt)")
    bundle.add_argument("--from", dest="source", type=Path, metavar="CHECKPOINT",
                        help="bundle this finished run instead of training")
    bundle.add_argument("--out", type=Path, default=bundled.ASSETS_DIR,
                        help="folder of the bundled files (default assets/)")
    bundle.add_argument("--samples-only", action="store_true", help="only the sample meshes")
    bundle.add_argument("--no-completion", action="store_true",
                        help="leave out the completion encoder (default: the one beside the "
                             "checkpoint, trained there first when missing)")
    bundle.add_argument("--device", default="cpu",
                        help="where to train (default cpu, which the bundled file was made on)")
    bundle.set_defaults(func=cmd_bundle)


def cmd_bundle(args: argparse.Namespace) -> int:
    """Sample meshes, then train --config (or take --from) and write it without optimiser."""
    samples = bundled.write_samples(args.out / bundled.SAMPLES_DIR.name)
    print(f"wrote {len(samples)} sample meshes to {args.out / bundled.SAMPLES_DIR.name}")
    if args.samples_only:
        return 0
    source = args.source
    if source is None:
        train = build_parser().parse_args(
            ["train", "--config", str(args.config), "--checkpoint", str(args.checkpoint),
             "--device", args.device])
        status = train.func(train)
        if status:
            return status
        source = args.checkpoint
    ckpt = load_checkpoint(source)
    if ckpt.epoch < ckpt.config.epochs:
        raise ShapeExplorerError(
            f"{source} stopped after epoch {ckpt.epoch} of {ckpt.config.epochs}; finish it with "
            f"`python main.py train --resume {source}`, then `python main.py bundle --from "
            f"{source}`")
    out = bundled.bundle_checkpoint(ckpt, args.out / bundled.MODEL_FILE.name)
    size = out.stat().st_size
    print(f"wrote {out} ({size / 2**20:.1f} MiB, epoch {ckpt.epoch})")
    if size > bundled.MAX_MODEL_BYTES:
        print(f"warning: {out} is larger than {bundled.MAX_MODEL_BYTES / 2**20:.0f} MiB; "
              "consider fewer channels or latent dimensions", file=sys.stderr)
    if args.no_completion:
        return 0
    written = bundle_completion(source, args.out / bundled.COMPLETION_FILE.name)
    print(f"wrote {written} ({written.stat().st_size / 2**20:.1f} MiB)")
    return 0


def bundle_completion(source: Path, out: Path) -> Path:
    """Write the completion encoder beside ``source`` (trained there first with
    ``bundled.BUNDLED_COMPLETION_FLAGS`` when missing, resumable) to ``out`` without its optimiser
    state."""
    from trainer.completion.amortised import completion_path
    from trainer.completion.encoder_file import load_completion, save_completion

    beside = completion_path(source)
    if not beside.exists():
        train = build_parser().parse_args(
            ["train-completion", str(source), *bundled.BUNDLED_COMPLETION_FLAGS])
        status = train.func(train)
        if status:
            raise ShapeExplorerError(f"the completion encoder for {source} did not finish")
    vae = load_checkpoint(source).build_model()
    state = load_completion(beside, vae)
    if state.epoch < state.config.epochs:
        raise ShapeExplorerError(
            f"{beside} stopped after epoch {state.epoch} of {state.config.epochs}; finish it "
            f"with `python main.py train-completion {source} --resume`")
    return save_completion(out, state, keep_optimizer=False)


def cmd_sample(args: argparse.Namespace) -> int:
    check_sample_request(args.n, args.seed, args.temperature)
    device = resolve_device(args.device)
    session = ExplorerSession.from_checkpoint(args.checkpoint, device=device)
    low, high = session.value_range
    threshold = session.iso_level if args.threshold is None else args.threshold
    if not low < threshold < high:
        raise ShapeExplorerError(f"need {low:g} < --threshold < {high:g} for this model")
    codes = session.prior_samples(args.n, args.seed, args.temperature)
    meshes = [mesh_from_grid(g, threshold, inside_low=session.inside_low)
              for start in range(0, len(codes), budgets.DECODE_BATCH)
              for g in session.decode(codes[start:start + budgets.DECODE_BATCH])]
    paths = export_sequence(meshes, args.out, "sample", args.format)
    empty = sum(m is None for m in meshes)
    print(f"wrote {len(paths)} meshes to {args.out}"
          + (f" ({empty} samples had no surface at threshold {threshold})" if empty else ""))
    return 0


def check_sample_request(n: int, seed: int, temperature: float) -> None:
    """Refuse a sample count outside 1..``budgets.SAMPLES``, a seed outside 0..2^63-1 and a
    temperature that is negative or not finite, before any model is loaded."""
    if not 1 <= n <= budgets.SAMPLES:
        raise ShapeExplorerError(f"--n must be 1..{budgets.SAMPLES}, got {n}")
    if not 0 <= seed < 2**63:
        raise ShapeExplorerError(f"--seed must be 0..2^63-1, got {seed}")
    if not (math.isfinite(temperature) and temperature >= 0):
        raise ShapeExplorerError(f"--temperature must be a finite number >= 0, got "
                                 f"{temperature}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tune_allocator()
    return run_guarded(lambda: args.func(args))
