"""Folder import: a corpus of every supported format, quirks and broken files built from trimesh
primitives; classes, agreement between formats, the cache, the report, clear errors, progress,
cancelling and the CLI end to end."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy import ndimage

from explorer.cli import main
from trainer.data import folder as folder_module
from trainer.data.binvox import write_binvox
from trainer.data.cache import CACHE_ENV, VoxelCache, clear_cache, default_cache_dir
from trainer.data.folder import ImportCancelled, load_folder, load_folder_with_report
from trainer.data.mesh_files import fix_off_header, read_mesh
from trainer.data.voxelize import MARGIN_VOXELS, voxelize_mesh
from trainer.errors import DataError

RES = 16
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
FUSED_TETRAHEDRON = """OFF4 4 0
0 0 0
1 0 0
0 1 0
0 0 1
3 0 2 1
3 0 1 3
3 0 3 2
3 1 2 3
"""
GOOD = {
    "sphere": ["sphere/s.off", "sphere/s.obj", "sphere/s.stl", "sphere/s.ply",
               "sphere/holes.ply", "sphere/s32.npy"],
    "tripod": ["tripod/t.off", "tripod/t.glb", "tripod/t.gltf", "tripod/t.binvox",
               "tripod/t.npy", "tripod/t.npz"],
    "chair": ["chair/train/chair_0001.off"],
    "parts": ["parts/two_boxes.glb"],
}
BAD = {
    "bad/random.stl": "do not match the",
    "bad/random.off": "not a readable OFF file",
    "bad/random.glb": "not a readable GLB file",
    "bad/empty.off": "empty file",
    "bad/flat.off": "zero volume",
    "bad/sdf.npy": "must lie in [0, 1]",
    "bad/zeros.npy": "no occupied voxels",
    "bad/random.npy": "does not start with NumPy's array header",
    "bad/slab.npz": "expected one cubic 3D grid",
    "bad/cut.binvox": "binvox data is truncated",
}
IGNORED = {"README.md": "not a shape file (.md)", "bad/.hidden.off": "hidden file",
           "bad/notes.txt": "not a shape file (.txt)"}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Keep every test's default cache out of the real home folder."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "default-cache"))


def tripod() -> trimesh.Trimesh:
    """Three bars of different lengths along +x, +y and +z from one corner: any swap or flip of
    axes changes its grid."""
    bars = []
    for axis, length in enumerate([1.0, 0.7, 0.45]):
        extents = np.full(3, 0.2)
        extents[axis] = length
        bar = trimesh.creation.box(extents=extents)
        bar.apply_translation(extents / 2)
        bars.append(bar)
    return trimesh.util.concatenate(bars)


def z_up_to_y_up(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """What a glTF exporter writes for a +z-up mesh: +z becomes +y."""
    turned = mesh.copy()
    turned.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0]))
    return turned


def write(root: Path, name: str, data: bytes | str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    sphere = trimesh.creation.icosphere(subdivisions=3)
    (root / "sphere").mkdir()
    for suffix in ("off", "obj", "stl", "ply"):
        sphere.export(root / "sphere" / f"s.{suffix}")
    holes = sphere.copy()
    holes.update_faces(np.arange(len(holes.faces)) % 25 != 0)
    holes.export(root / "sphere" / "holes.ply")
    np.save(root / "sphere" / "s32.npy", voxelize_mesh(sphere, 2 * RES).astype(np.float32))

    mesh = tripod()
    write(root, "tripod/t.off", mesh.export(file_type="off"))
    write(root, "tripod/t.glb", z_up_to_y_up(mesh).export(file_type="glb"))
    gltf = trimesh.exchange.gltf.export_gltf(trimesh.Scene(z_up_to_y_up(mesh)),
                                             embed_buffers=True)
    write(root, "tripod/t.gltf", gltf["model.gltf"])
    write_binvox(root / "tripod" / "t.binvox", voxelize_mesh(mesh, RES))
    np.save(root / "tripod" / "t.npy", voxelize_mesh(mesh, RES).astype(np.float32))
    np.savez(root / "tripod" / "t.npz", occupancy=voxelize_mesh(mesh, RES).astype(bool),
             extra=np.arange(3))

    write(root, "chair/train/chair_0001.off", FUSED_TETRAHEDRON)
    left, right = trimesh.creation.box(), trimesh.creation.box()
    right.apply_translation((3, 0, 0))
    write(root, "parts/two_boxes.glb", trimesh.Scene([left, right]).export(file_type="glb"))

    rng = np.random.default_rng(0)
    for name in ("random.stl", "random.off", "random.glb", "random.npy"):
        write(root, f"bad/{name}", rng.bytes(600))
    write(root, "bad/empty.off", b"")
    write(root, "bad/flat.off", "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 1\n3 0 1 2\n")
    np.save(root / "bad" / "sdf.npy", rng.normal(size=(RES, RES, RES)))
    np.save(root / "bad" / "zeros.npy", np.zeros((RES, RES, RES), dtype=bool))
    np.savez(root / "bad" / "slab.npz", np.ones((RES, RES, 2), dtype=bool))
    write(root, "bad/cut.binvox", (root / "tripod" / "t.binvox").read_bytes()[:-2])
    write(root, "bad/notes.txt", "not a mesh")
    write(root, "bad/.hidden.off", FUSED_TETRAHEDRON)
    write(root, "README.md", "# my shapes")
    write(root, ".git/objects/x.off", "ignored with its hidden folder")
    return root


@pytest.fixture(scope="module")
def imported(corpus, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    shapes, report = load_folder_with_report(corpus, RES, cache_dir=cache)
    grids = {name: shapes.grids[i, 0] for i, name in enumerate(report.files)}
    return shapes, report, grids, cache


def test_every_good_file_imports_with_its_class(imported):
    shapes, report, _, _ = imported
    assert shapes.class_names == tuple(sorted(GOOD))
    assert report.class_counts == {name: len(files) for name, files in sorted(GOOD.items())}
    assert sorted(report.files) == sorted(f for files in GOOD.values() for f in files)
    for index, name in enumerate(report.files):
        assert shapes.class_names[shapes.labels[index]] == name.split("/")[0]
    assert shapes.grids.dtype == np.uint8 and shapes.grids.shape[1:] == (1, RES, RES, RES)
    assert report.cache_hits == 0 and report.cache_error is None


def test_every_bad_file_is_reported_with_its_reason(imported):
    _, report, _, _ = imported
    failed = {f.path: f.reason for f in report.failed}
    assert set(failed) == set(BAD)
    for path, words in BAD.items():
        assert words in failed[path], (path, failed[path])
    assert {f.path: f.reason for f in report.ignored} == IGNORED
    summary = report.summary()
    assert "imported 14 shapes in 4 classes" in summary
    assert "bad/random.glb: not a readable GLB file" in summary
    assert "2 not a shape file" not in summary and "1 not a shape file (.md)" in summary


@pytest.mark.skipif(AS_ROOT, reason="root can read files whatever their permissions")
def test_unreadable_file_and_folder_are_reported(tmp_path):
    write(tmp_path, "a/ok.off", FUSED_TETRAHEDRON)
    locked = [write(tmp_path, "a/locked.off", FUSED_TETRAHEDRON),
              write(tmp_path, "b/locked/x.off", FUSED_TETRAHEDRON).parent]
    for path in locked:
        path.chmod(0)
    try:
        _, report = load_folder_with_report(tmp_path, RES, cache_dir=tmp_path / "cache")
    finally:
        for path in locked:
            path.chmod(0o755)
    assert {f.path: "Permission denied" in f.reason for f in report.failed} == {
        "a/locked.off": True, "b/locked/": True}


def test_read_errors_are_reported(tmp_path, monkeypatch):
    """The same as above, simulated, so that it runs as root too."""
    write(tmp_path, "a/ok.off", FUSED_TETRAHEDRON)
    write(tmp_path, "a/locked.off", FUSED_TETRAHEDRON)
    read_bytes = Path.read_bytes

    def refuse_locked(path: Path) -> bytes:
        if path.name == "locked.off":
            raise PermissionError(13, "Permission denied")
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse_locked)
    _, report = load_folder_with_report(tmp_path, RES, cache_dir=tmp_path / "cache")
    assert [(f.path, f.reason) for f in report.failed] == [
        ("a/locked.off", "cannot read locked.off: Permission denied")]


def test_formats_of_one_mesh_agree(imported):
    _, _, grids, _ = imported
    for name in GOOD["sphere"][1:4]:
        np.testing.assert_array_equal(grids[name], grids["sphere/s.off"])
    # glTF is +y up: the exporter turned +z to +y, the import turns it back. binvox is stored
    # x-z-y on disk and read back [x, y, z]: it matches the mesh it was made from.
    for name in ("tripod/t.glb", "tripod/t.gltf", "tripod/t.binvox", "tripod/t.npy",
                 "tripod/t.npz"):
        np.testing.assert_array_equal(grids[name], grids["tripod/t.off"], err_msg=name)
    tripod_grid = grids["tripod/t.off"]
    occupied = np.argwhere(tripod_grid)
    low, high = occupied.min(axis=0), occupied.max(axis=0)
    assert high[0] - low[0] > high[1] - low[1] > high[2] - low[2]   # bars x > y > z
    assert tripod_grid[tuple(low)]                                   # meeting at the low corner
    # A 32^3 grid shrunk to 16^3 keeps its volume; it is close to the 16^3 voxelisation, which
    # has a margin of a whole 16^3 voxel: a diameter of 14 voxels, not 15.
    shrunk, direct = grids["sphere/s32.npy"].astype(bool), grids["sphere/s.off"].astype(bool)
    sphere32 = voxelize_mesh(trimesh.creation.icosphere(subdivisions=3), 2 * RES)
    assert shrunk.sum() == pytest.approx(sphere32.sum() / 8, rel=0.05)
    assert (shrunk & direct).sum() / (shrunk | direct).sum() > 0.75


def test_known_solids_have_their_volume(imported):
    _, _, grids, _ = imported
    side = RES - 2 * MARGIN_VOXELS
    sphere = trimesh.creation.icosphere(subdivisions=3)
    assert grids["sphere/s.off"].sum() == pytest.approx(sphere.volume / 8 * side**3, rel=0.05)
    # The fused-header tetrahedron spans the unit cube: volume 1/6 of its bounding cube.
    assert grids["chair/train/chair_0001.off"].sum() == pytest.approx(side**3 / 6, rel=0.1)


def test_mesh_with_holes_is_filled(imported):
    _, _, grids, _ = imported
    holes, closed = grids["sphere/holes.ply"].astype(bool), grids["sphere/s.off"].astype(bool)
    assert holes[RES // 2, RES // 2, RES // 2]
    assert (holes & closed).sum() / (holes | closed).sum() > 0.9


def test_multi_part_glb_keeps_both_parts(imported):
    _, _, grids, _ = imported
    _, parts = ndimage.label(grids["parts/two_boxes.glb"])
    assert parts == 2


def test_texture_seams_do_not_open_a_closed_mesh(tmp_path):
    box = trimesh.creation.box().subdivide()
    corners = box.triangles.reshape(-1, 3)   # every triangle with its own corners, as at seams
    split = trimesh.Trimesh(corners, np.arange(len(corners)).reshape(-1, 3), process=False)
    split.visual = trimesh.visual.TextureVisuals(uv=np.random.default_rng(0).random((len(corners),
                                                                                     2)))
    path = write(tmp_path, "box.glb", split.export(file_type="glb"))
    assert read_mesh(path, path.read_bytes()).is_watertight


def test_fused_off_header_is_split():
    assert fix_off_header(b"OFF490 518 0\n1 2 3") == b"OFF\n490 518 0\n1 2 3"
    assert fix_off_header(b"OFF\n4 4 0\n") == b"OFF\n4 4 0\n"


def test_second_run_comes_from_the_cache(imported, corpus, monkeypatch):
    shapes, report, _, cache = imported

    def not_called(*args, **kwargs):
        raise AssertionError("the cache should have answered")

    for name in ("voxelize_mesh", "read_mesh", "read_grid", "resample_grid"):
        monkeypatch.setattr(folder_module, name, not_called)
    again, second = load_folder_with_report(corpus, RES, cache_dir=cache)
    assert second.cache_hits == second.imported == len(report.files)
    np.testing.assert_array_equal(again.grids, shapes.grids)
    # Failures are not cached: a fixed file is picked up on the next run.
    assert [f.path for f in second.failed] == [f.path for f in report.failed]


def test_cache_is_keyed_by_resolution_and_can_be_cleared(corpus, tmp_path):
    cache = tmp_path / "cache"
    first = load_folder_with_report(corpus / "tripod", 8, cache_dir=cache)[1]
    assert first.cache_hits == 0
    assert load_folder_with_report(corpus / "tripod", 8, cache_dir=cache)[1].cache_hits == 6
    assert load_folder_with_report(corpus / "tripod", RES, cache_dir=cache)[1].cache_hits == 0
    (cache / "unrelated.txt").write_text("kept")
    assert clear_cache(cache) == 12
    assert [p.name for p in cache.iterdir()] == ["unrelated.txt"]
    assert load_folder_with_report(corpus / "tripod", 8, cache_dir=cache)[1].cache_hits == 0
    assert clear_cache(tmp_path / "never-made") == 0


def test_default_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "shape-latent-explorer" / "voxels"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "shape-latent-explorer" / "voxels"


def test_unwritable_cache_does_not_stop_the_import(corpus, tmp_path):
    blocker = write(tmp_path, "cache-is-a-file", "x")
    shapes, report = load_folder_with_report(corpus / "chair", RES, cache_dir=blocker)
    assert len(shapes) == 1 and "cannot write the voxel cache" in report.cache_error
    assert "warning: cannot write the voxel cache" in report.summary()


def test_corrupt_cache_entry_is_a_miss(corpus, tmp_path):
    cache = tmp_path / "cache"
    load_folder(corpus / "chair", RES, cache_dir=cache)
    for entry in cache.iterdir():
        entry.write_bytes(b"garbage")
    _, report = load_folder_with_report(corpus / "chair", RES, cache_dir=cache)
    assert report.cache_hits == 0 and report.imported == 1
    assert VoxelCache(cache).load("0" * 64, RES) is None


def test_gltf_buffers_in_separate_files(tmp_path):
    files = trimesh.exchange.gltf.export_gltf(trimesh.Scene(trimesh.creation.box()))
    for name, data in files.items():
        write(tmp_path / "data" / "boxes", name, data)
    cache = tmp_path / "cache"
    _, report = load_folder_with_report(tmp_path / "data", RES, cache_dir=cache)
    assert report.imported == 1 and all("(.bin)" in f.reason for f in report.ignored)
    longer = trimesh.exchange.gltf.export_gltf(trimesh.Scene(trimesh.creation.box((1, 1, 3))))
    for name, data in longer.items():   # the same .gltf text, other buffers: other cache keys
        if name.endswith(".bin"):
            write(tmp_path / "data" / "boxes", name, data)
    shapes, report = load_folder_with_report(tmp_path / "data", RES, cache_dir=cache)
    assert report.cache_hits == 0 and shapes.grids[0, 0].sum() < RES**3 / 6
    buffer = json.loads(files["model.gltf"])["buffers"][0]["uri"]
    (tmp_path / "data" / "boxes" / buffer).unlink()
    with pytest.raises(DataError, match=f"cannot read {buffer}"):
        load_folder(tmp_path / "data", RES, cache_dir=cache)


def test_flat_folder_is_one_class_named_after_it(tmp_path):
    write(tmp_path / "tetras", "a.off", FUSED_TETRAHEDRON)
    trimesh.creation.box().export(tmp_path / "tetras" / "b.stl")
    shapes = load_folder(tmp_path / "tetras", RES, cache_dir=tmp_path / "cache")
    assert shapes.class_names == ("tetras",) and len(shapes) == 2


def empty_folder(root: Path) -> Path:
    (root / "empty").mkdir()
    return root / "empty"


def text_folder(root: Path) -> Path:
    write(root, "texts/a.txt", "x")
    write(root, "texts/b/c.md", "x")
    return root / "texts"


@pytest.mark.parametrize("make, words", [
    (lambda root: root / "missing", "does not exist"),
    (lambda root: write(root, "one.off", FUSED_TETRAHEDRON), "is a file, not a folder"),
    (empty_folder, "is empty"),
    (text_folder, r"No shape files in .*texts \(1 not a shape file \(.txt\), 1 not a shape file"),
    (lambda root: write(root, "broken/x.stl", b"").parent,
     "None of the 1 shape files .*x.stl: empty file"),
])
def test_clear_messages_for_unusable_paths(tmp_path, make, words):
    with pytest.raises(DataError, match=words) as error:
        load_folder(make(tmp_path), RES, cache_dir=tmp_path / "cache")
    assert "\n" not in str(error.value)


def test_bad_resolution_is_refused(corpus):
    with pytest.raises(DataError, match="resolution"):
        load_folder(corpus, 2)


def test_progress_and_cancel(corpus, tmp_path):
    calls = []
    load_folder(corpus / "sphere", RES, cache_dir=tmp_path / "cache",
                progress=lambda *args: calls.append(args))
    names = sorted(p.removeprefix("sphere/") for p in GOOD["sphere"])
    n = len(names)
    assert calls == [(i, n, name) for i, name in enumerate(names)] + [(n, n, "")]

    calls.clear()
    with pytest.raises(ImportCancelled, match="cancelled") as error:
        load_folder(corpus / "sphere", RES, cache_dir=tmp_path / "cache",
                    progress=lambda *args: calls.append(args), cancel=lambda: len(calls) >= 2)
    assert isinstance(error.value, DataError) and len(calls) == 2


def test_cli_trains_on_a_folder_and_clears_the_cache(corpus, tmp_path, capsys, monkeypatch):
    cache = tmp_path / "cli-cache"
    monkeypatch.setenv(CACHE_ENV, str(cache))
    ckpt, tiny = tmp_path / "run.pt", write(tmp_path, "tiny.toml", "channels = [4, 8, 8, 16]\n")
    argv = ["train", "--data", str(corpus), "--resolution", str(RES), "--epochs", "1",
            "--batch-size", "4", "--latent-dim", "12", "--config", str(tiny),
            "--checkpoint", str(ckpt)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "imported 14 shapes in 4 classes" in err and "bad/flat.off: zero volume" in err
    assert ckpt.exists()
    assert main(["cache-clear"]) == 0
    assert f"removed 14 cached grids from {cache}" in capsys.readouterr().out
    assert main(["train", "--data", str(tmp_path / "nowhere"), "--checkpoint", str(ckpt)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: The data folder") and last.endswith("does not exist.")
