"""The command line: training commands from `trainer.cli` plus `sample`.

Every error a person can act on ends as one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from explorer.export import MESH_FORMATS, export_sequence
from explorer.meshing import mesh_from_grid
from explorer.session import ExplorerSession, prior_samples
from trainer import cli as trainer_cli
from trainer.device import resolve_device
from trainer.errors import ShapeExplorerError
from trainer.perf import tune_allocator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shape-latent-explorer",
        description="Train a VAE on 3D shapes and explore its latent space. "
                    "Without a command the GUI opens.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    trainer_cli.add_commands(sub)
    sample = sub.add_parser("sample", help="decode N prior samples to mesh files")
    sample.add_argument("checkpoint", type=Path)
    sample.add_argument("--n", type=int, default=8, help="number of samples (default 8)")
    sample.add_argument("--out", type=Path, default=Path("samples"), help="output folder")
    sample.add_argument("--format", choices=MESH_FORMATS, default="stl")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--temperature", type=float, default=1.0, help="z ~ N(0, T^2 I)")
    sample.add_argument("--threshold", type=float, default=0.5, help="iso-level for meshing")
    trainer_cli.add_device_argument(sample)
    sample.set_defaults(func=cmd_sample)
    return parser


def cmd_sample(args: argparse.Namespace) -> int:
    if args.n < 1 or args.temperature < 0 or not 0 < args.threshold < 1:
        raise ShapeExplorerError("need --n >= 1, --temperature >= 0 and 0 < --threshold < 1")
    device = resolve_device(args.device)
    session = ExplorerSession.from_checkpoint(args.checkpoint, device=device)
    grids = session.decode(prior_samples(args.n, session.latent_dim, args.seed, args.temperature))
    meshes = [mesh_from_grid(g, args.threshold) for g in grids]
    paths = export_sequence(meshes, args.out, "sample", args.format)
    empty = sum(m is None for m in meshes)
    print(f"wrote {len(paths)} meshes to {args.out}"
          + (f" ({empty} samples had no surface at threshold {args.threshold})" if empty else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tune_allocator()
    try:
        return args.func(args)
    except ShapeExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
