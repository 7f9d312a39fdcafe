"""PPCA: the closed-form fit against an SVD, its scores, its file and its Explore session."""

import numpy as np
import pytest
import torch

from explorer.session import ExplorerSession
from trainer.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.errors import DataError
from trainer.ppca import PPCA, fit_and_evaluate, fit_ppca, ppca_config

Q = 3


def _synthetic(n: int, seed: int = 0) -> np.ndarray:
    """n flattened 4^3 'grids' near a 3-dimensional subspace, as (n, 1, 4, 4, 4)."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((Q, 64)) * np.array([[3.0], [2.0], [1.0]])
    x = rng.standard_normal((n, Q)) @ basis + 0.3 * rng.standard_normal((n, 64)) + 0.5
    return x.reshape(n, 1, 4, 4, 4)


@pytest.mark.parametrize("n", [40, 200])   # fewer shapes than voxels (Gram), and more
def test_fit_and_reconstruction_error_match_the_svd_optimum(n):
    grids = _synthetic(n)
    model, explained = fit_ppca(grids, Q)
    x = grids.reshape(n, -1)
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    eigenvalues = np.concatenate([s**2 / n, np.zeros(64 - len(s))])
    sigma2 = eigenvalues[Q:].mean()
    assert float(model.sigma2) == pytest.approx(sigma2, rel=1e-10)
    assert explained == pytest.approx(eigenvalues[:Q].sum() / eigenvalues.sum(), rel=1e-10)

    w = model.weight.numpy()
    np.testing.assert_allclose(w.T @ w, np.diag(eigenvalues[:Q] - sigma2), atol=1e-8)
    projector = w @ np.linalg.pinv(w)            # the principal subspace W spans
    np.testing.assert_allclose(projector, vt[:Q].T @ vt[:Q], atol=1e-8)

    with torch.no_grad():
        mu, logvar = model.encode(torch.from_numpy(grids))
        recon = model.decode(mu).numpy().reshape(n, -1)
    error = ((x - recon) ** 2).sum(axis=1).mean()
    optimum = ((centred - centred @ vt[:Q].T @ vt[:Q]) ** 2).sum(axis=1).mean()
    assert optimum == pytest.approx(eigenvalues[Q:].sum(), rel=1e-9)
    # the posterior mean shrinks towards m by (lambda - sigma^2) / lambda per component
    assert error == pytest.approx(optimum + (sigma2**2 / eigenvalues[:Q]).sum(), rel=1e-9)
    np.testing.assert_allclose(logvar[0].numpy(), np.log(sigma2 / eigenvalues[:Q]), rtol=1e-8)


def test_too_few_shapes_is_a_clear_error():
    with pytest.raises(DataError, match="more training shapes"):
        fit_ppca(_synthetic(3), Q)


@pytest.fixture(scope="module")
def fitted():
    config = ppca_config(TrainConfig(resolution=16, latent_dim=12, dataset_size=60, seed=2))
    shapes = make_procedural(config.dataset_size, config.resolution, config.seed)
    train, val = shapes.split(config.val_fraction, config.seed)
    model, report = fit_and_evaluate(config, train, val)
    return config, shapes, train, val, model, report


def test_validation_scores_beat_the_mean_shape(fitted):
    config, _, train, val, _, report = fitted
    mean = train.grids.astype(np.float64).mean(axis=0)
    sse_of_mean = ((val.grids - mean) ** 2).reshape(len(val), -1).sum(axis=1).mean()
    assert report.val_sse < sse_of_mean
    assert 0 < report.val_iou <= 1 and 0 <= report.val_hamming < 1
    assert 0 < report.explained_variance < 1 and len(report.mu_var_per_dim) == config.latent_dim
    assert report.mu_var_per_dim[0] > report.mu_var_per_dim[-1]


def test_ppca_file_round_trip_and_explore_session(fitted, tmp_path):
    config, shapes, _, val, model, report = fitted
    path = save_checkpoint(tmp_path / "ppca.pt", Checkpoint(
        config=config, model_state=model.state_dict(), class_names=shapes.class_names,
        kind="ppca", ppca=report))
    ckpt = load_checkpoint(path)
    assert ckpt.kind == "ppca" and ckpt.ppca == report and ckpt.config == config
    assert isinstance(ckpt.build_model(), PPCA)

    session = ExplorerSession.from_checkpoint(path)
    assert (session.family.name, session.code_dim, session.iso_level) == ("ppca", 12, 0.5)
    np.testing.assert_allclose(session.unit_measures(), report.mu_var_per_dim)
    samples = session.decode(session.prior_samples(3, seed=0))
    assert samples.shape == (3, 16, 16, 16) and samples.dtype == np.float32
    assert samples.min() >= 0 and samples.max() <= 1 and samples.max() > 0.5
    codes = session.encode(val.grids[:2])
    recon = session.decode(codes)
    with torch.no_grad():
        expected = model.decode(model.encode(torch.from_numpy(val.grids[:2]))[0])
    np.testing.assert_allclose(recon, expected[:, 0].clamp(0, 1).numpy(), atol=1e-5)
    path_codes = session.interpolate(codes[0], codes[1], 5, "slerp")
    assert session.decode(path_codes).shape == (5, 16, 16, 16)
