"""Training at 64^3 on a folder of furniture meshes: import time, memory and speed.

The machine holds no original ModelNet meshes, so the meshes are the marching-cubes surfaces
of ModelNet10 32^3 grids (``modelnet10_train_32.npz``, PER_CLASS per class, smoothed as the
app exports them), written as OBJ files into class folders. ``main.py train --resolution 64``
then imports (voxelises) the folder at 64^3 and trains for EPOCHS epochs; the script prints
the import and epoch times, the training speed and the peak memory of the training process.

    python -m benchmarks.meshes_at_64 [--per-class 30] [--epochs 2] [--work /tmp/meshes_64]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.real_shapes import DATA, ROOT
from explorer.export import export_mesh
from explorer.meshing import mesh_from_grid, smooth_mesh


def write_meshes(npz: Path, folder: Path, per_class: int) -> int:
    """OBJ files of the first ``per_class`` shapes of each class; returns how many."""
    written = 0
    with np.load(npz) as packed:
        for name in packed.files:
            bits = packed[name][:per_class]
            grids = np.unpackbits(bits, axis=1)[:, :32**3].reshape(-1, 32, 32, 32)
            (folder / name).mkdir(parents=True, exist_ok=True)
            for i, grid in enumerate(grids):
                mesh = mesh_from_grid(grid.astype(np.float32))
                if mesh is not None:
                    export_mesh(smooth_mesh(mesh), folder / name / f"{name}_{i:04d}.obj")
                    written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--npz", type=Path, default=DATA)
    parser.add_argument("--per-class", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/meshes_64"))
    args = parser.parse_args()
    if not args.npz.is_file():
        sys.exit(f"error: {args.npz} is missing (the ModelNet10 training file)")
    shutil.rmtree(args.work, ignore_errors=True)
    folder = args.work / "meshes"
    start = time.perf_counter()
    n = write_meshes(args.npz, folder, args.per_class)
    print(f"{n} meshes written in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--data", str(folder),
                    "--resolution", "64", "--epochs", str(args.epochs),
                    "--checkpoint", str(args.work / "run.pt")], check=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"import + {args.epochs} epochs at 64^3: {time.perf_counter() - start:.0f} s, "
          f"peak memory of the training process {peak:.2f} GiB")


if __name__ == "__main__":
    main()
