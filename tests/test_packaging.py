"""What a user installs: every module imports with the declared dependencies, and the wheel holds
the packages and the bundled assets, nothing else, and works outside the checkout."""

from __future__ import annotations

import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import explorer
import trainer

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (explorer, trainer)


def _modules() -> list[str]:
    """Every module of the project but ``__main__`` (which runs the app when imported)."""
    return sorted(info.name for package in PACKAGES
                  for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
                  if not info.name.endswith(".__main__"))


@pytest.mark.parametrize("name", _modules())
def test_every_module_imports(name: str) -> None:
    importlib.import_module(name)


def test_the_installed_packages_fit_together() -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from a copy of the checkout's source."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "main.py", "assets", "explorer", "trainer"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name,
             **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree
                else {}))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return next(out.glob("shape_latent_explorer-*.whl"))


def test_the_wheel_holds_the_packages_and_assets_and_nothing_else(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"explorer", "trainer"}
    sources = {p.relative_to(ROOT).as_posix() for package in ("explorer", "trainer")
               for p in (ROOT / package).rglob("*.py")}
    assert {n for n in names if n.endswith(".py")} == sources   # every module, no stray ones
    samples = {p.name for p in (ROOT / "assets" / "samples").glob("*.obj")}
    assert len(samples) == 6
    for asset in ("default_model.pt", "default_model.completion.pt", "default_model.toml",
                  *(f"samples/{s}" for s in samples)):
        assert f"explorer/assets/{asset}" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "shape-latent-explorer = explorer.entry:main" in text


def test_the_installed_wheel_finds_its_assets_outside_the_checkout(wheel: Path,
                                                                   tmp_path: Path) -> None:
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                           "-q", "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    probe = ("import explorer, explorer.bundled as b; print(explorer.__file__); "
             "print(b.MODEL_FILE.is_file(), len(list(b.SAMPLES_DIR.glob('*.obj'))), "
             "b.MODEL_CONFIG.is_file(), b.MODEL_FILE)")
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    module, found = done.stdout.splitlines()
    assert module.startswith(str(target))
    assert found.startswith("True 6 True ") and found.split()[-1].startswith(str(target))
    command = subprocess.run([str(target / "bin" / "shape-latent-explorer"), "--version"],
                             capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert command.stdout.strip() == f"shape-latent-explorer {explorer.__version__}", \
        command.stderr
