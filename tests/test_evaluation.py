"""Evaluation: reconstruction scores per class and MMD / COV / 1-NNA of prior samples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.cli import main
from trainer.code_density import FittedGaussian, FittedMixture
from trainer.data.procedural import make_procedural
from trainer.evaluation import evaluate, generative_scores, iou_distances
from trainer.loop import Trainer


def blocks(n: int, offset: int = 0, size: int = 8) -> np.ndarray:
    """n distinct boolean 8^3 grids: a 1..4-voxel cube at a varying place (offset shifts all)."""
    grids = np.zeros((n, size, size, size), dtype=bool)
    for i in range(n):
        side = 1 + i % 3
        x = (i // 3 + offset) % (size - side)
        grids[i, x:x + side, :side, :side] = True
    return grids


def test_iou_distances_match_a_hand_computed_case() -> None:
    a = np.zeros((2, 2, 2, 2), dtype=bool)
    a[0, 0] = True                      # 4 voxels
    a[1, :, 0] = True                   # 4 voxels, 2 shared with a[0]
    empty = np.zeros((1, 2, 2, 2), dtype=bool)
    d = iou_distances(a, np.concatenate([a, empty]))
    np.testing.assert_allclose(d, [[0, 1 - 2 / 6, 1], [1 - 2 / 6, 0, 1]])
    assert iou_distances(empty, empty)[0, 0] == 0        # two empty grids are alike


def test_identical_sets_have_no_discrepancy_and_full_coverage() -> None:
    shapes = blocks(9)
    scores = generative_scores(shapes, shapes.copy())
    assert scores.mmd == 0 and scores.cov == 1
    assert scores.empty_samples == 0


def test_empty_and_speck_samples_are_counted() -> None:
    samples = np.zeros((4, 20, 20, 20), dtype=bool)     # 8,000 voxels: a speck has under 8
    samples[1, 0, 0, :7] = True                          # a speck
    samples[2, 0, 0, :8] = True                          # just not a speck
    samples[3, :5, :5, :5] = True
    scores = generative_scores(samples, blocks(3, size=20))
    assert (scores.empty_samples, scores.speck_samples) == (1, 2)


def test_disjoint_sets_are_told_apart_every_time() -> None:
    samples = np.zeros((6, 8, 8, 8), dtype=bool)
    samples[:, :2, :2, :2] = True
    samples[np.arange(6), 7, 7, np.arange(6)] = True      # six slightly different samples
    reference = blocks(6)
    reference[:, :, 4:, 4:] = True                        # all far from every sample
    scores = generative_scores(samples, reference)
    assert scores.nna == 1.0
    assert scores.cov < 1 and scores.mmd > 0.5


def test_collapsed_samples_cover_one_reference_shape() -> None:
    reference = blocks(6)
    samples = np.repeat(reference[:1], 5, axis=0)
    scores = generative_scores(samples, reference)
    assert scores.cov == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="at least one"):
        generative_scores(samples[:0], reference)


@pytest.fixture
def trained(tiny_config, tiny_split):
    trainer = Trainer(tiny_config, *tiny_split)
    trainer.run()
    return trainer.checkpoint()


def test_evaluate_scores_reconstructions_per_class_and_samples(trained, tiny_split) -> None:
    val = tiny_split[1]
    report = evaluate(trained, val, samples=20, seed=1)
    assert report.shapes == len(val)
    assert report.iou == pytest.approx(trained.history[-1].val_iou, abs=1e-6)
    assert sum(c.shapes for c in report.classes) == len(val)
    weighted = sum(c.iou * c.shapes for c in report.classes) / len(val)
    assert weighted == pytest.approx(report.iou)
    assert report.generation is not None and report.generation.samples == 20
    assert 0 <= report.generation.nna <= 1 and 0 < report.generation.cov <= 1


def test_evaluate_command_prints_and_writes_json(trained, tmp_path, capsys) -> None:
    from trainer.checkpoint import save_checkpoint

    path = save_checkpoint(tmp_path / "run.pt", trained)
    out = tmp_path / "reports" / "eval.json"
    assert main(["evaluate", str(path), "--samples", "10", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "reconstruction of" in printed and "1-NNA" in printed
    report = json.loads(out.read_text())
    assert report["generation"]["samples"] == 10
    assert {c["name"] for c in report["classes"]} <= set(make_procedural(8, 16, 0).class_names)
    assert main(["evaluate", str(path), "--samples", "6", "--sampler", "fitted"]) == 0
    assert "6 fitted-density samples" in capsys.readouterr().out
    assert main(["evaluate", str(path), "--samples", "-1"]) == 2
    assert "--samples must be" in capsys.readouterr().err


def test_a_fitted_gaussian_matches_the_codes_mean_and_covariance() -> None:
    rng = np.random.default_rng(0)
    mixing = np.array([[1.0, 0.0, 0.0], [0.8, 0.5, 0.0], [-0.3, 0.2, 0.1]])
    codes = rng.standard_normal((4000, 3)) @ mixing.T + np.array([2.0, -1.0, 0.5])
    density = FittedGaussian.fit(codes)
    np.testing.assert_allclose(density.mean, codes.mean(0))
    np.testing.assert_allclose(density.covariance, np.cov(codes, rowvar=False, bias=True),
                               atol=1e-5)
    drawn = density.sample(20000, seed=1)
    np.testing.assert_allclose(drawn.mean(0), density.mean, atol=0.03)
    np.testing.assert_allclose(np.cov(drawn, rowvar=False), density.covariance, atol=0.03)
    cooler = density.sample(20000, seed=1, temperature=0.5)
    np.testing.assert_allclose(np.cov(cooler, rowvar=False), 0.25 * density.covariance,
                               atol=0.02)
    np.testing.assert_array_equal(density.sample(3, seed=5), density.sample(3, seed=5))
    with pytest.raises(ValueError, match="at least 2"):
        FittedGaussian.fit(codes[:1])


def test_a_class_mixture_draws_each_class_near_its_own_codes_by_its_share() -> None:
    rng = np.random.default_rng(0)
    big = rng.standard_normal((3000, 2)) * 0.5 + np.array([4.0, 0.0])
    small = rng.standard_normal((1000, 2)) * np.array([0.2, 1.0]) + np.array([-4.0, 0.0])
    codes, labels = np.concatenate([big, small]), np.repeat([0, 1], [3000, 1000])
    mixture = FittedMixture.fit(codes, labels)
    np.testing.assert_allclose(mixture.weights, [0.75, 0.25])
    drawn = mixture.sample(20000, seed=2)
    near_small = drawn[:, 0] < 0
    assert near_small.mean() == pytest.approx(0.25, abs=0.01)
    np.testing.assert_allclose(drawn[near_small].mean(0), small.mean(0), atol=0.05)
    # 2 dimensions and 1000 codes: the class keeps nearly its own covariance (shrunk by 2/1002)
    np.testing.assert_allclose(np.cov(drawn[near_small], rowvar=False),
                               np.cov(small, rowvar=False), atol=0.05)
    np.testing.assert_array_equal(mixture.sample(4, seed=3), mixture.sample(4, seed=3))


def test_evaluate_can_sample_a_density_fitted_to_the_training_codes(trained,
                                                                   tiny_split) -> None:
    train, val = tiny_split
    report = evaluate(trained, val, samples=12, seed=2, fit_to=train)
    assert report.generation.sampler == "fitted" and report.generation.samples == 12
    assert "fitted-density samples" in "\n".join(report.lines())


def test_evaluate_reports_progress_and_stops_when_cancelled(trained, tiny_split) -> None:
    from trainer.evaluation import BATCH, EvaluationCancelled

    val = tiny_split[1]
    steps: list[tuple[int, int]] = []
    evaluate(trained, val, samples=BATCH + 1, progress=lambda d, t: steps.append((d, t)))
    total = -(-len(val) // BATCH) + 2 + 1
    assert steps == [(k, total) for k in range(1, total + 1)]
    polls: list[int] = []
    with pytest.raises(EvaluationCancelled):
        evaluate(trained, val, samples=40, cancel=lambda: polls.append(1) or len(polls) > 1)
    assert len(polls) == 2                       # stopped before the second batch


def test_evaluate_refuses_shapes_of_another_resolution(trained) -> None:
    from trainer.errors import DataError

    with pytest.raises(DataError, match="16\\^3 grids, the shapes are 32\\^3"):
        evaluate(trained, make_procedural(4, 32, 0), samples=0)


def test_the_data_choice_names_the_shapes_and_refuses_what_the_model_cannot_score(
        tiny_config, tiny_split) -> None:
    from trainer.config import TrainConfig
    from trainer.errors import ConfigError
    from trainer.evaluation_run import evaluation_shapes

    loaded: list[str] = []

    def load(config: TrainConfig):
        loaded.append(config.data)
        return make_procedural(tiny_config.dataset_size, 16, tiny_config.seed)

    shapes, fit_to = evaluation_shapes(tiny_config, "builtin", "fitted", load)
    assert len(shapes) == len(tiny_split[1]) and len(fit_to) == len(tiny_split[0])
    shapes, fit_to = evaluation_shapes(tiny_config, "some/folder", "prior", load)
    assert loaded[-1] == "some/folder" and fit_to is None
    sdf = tiny_config.with_overrides(grid="sdf", likelihood="gaussian")
    with pytest.raises(ConfigError, match="signed distances of the built-in solids"):
        evaluation_shapes(sdf, "some/folder", "prior", load)
    # a folder run fits its density to its own training split, whatever shapes it is scored on
    folder_run = tiny_config.with_overrides(data="my/shapes")
    shapes, fit_to = evaluation_shapes(folder_run, "other", "fitted", load)
    assert loaded[-2:] == ["other", "my/shapes"] and len(fit_to) == len(tiny_split[0])


def _joint_nll(model, codes: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """-log p(y | z) - log p(z) (up to a constant) per shape, computed directly."""
    import torch

    with torch.no_grad():
        z = torch.from_numpy(codes).float()
        p = torch.sigmoid(model.decode(z)).double().clamp(1e-12, 1 - 1e-12)[:, 0].numpy()
    bce = -np.where(truth, np.log(p), np.log1p(-p)).reshape(len(truth), -1).sum(1)
    return bce + 0.5 * (codes**2).sum(1)


def test_refined_codes_explain_their_shapes_better_than_the_encoders(trained,
                                                                      tiny_split) -> None:
    import torch

    from trainer.code_refinement import refine_codes

    model = trained.build_model()
    truth = tiny_split[1].grids[:, 0] > 0.5
    with torch.no_grad():
        encoded = model.encode(torch.from_numpy(truth[:, None]).float())[0].double().numpy()
    refined = refine_codes(model, truth, steps=15)
    before, after = _joint_nll(model, encoded, truth), _joint_nll(model, refined, truth)
    assert refined.shape == encoded.shape
    assert (after < before - 1).all()
    assert not np.allclose(refined, encoded, atol=1e-3)
    report = evaluate(trained, tiny_split[1], samples=0, refine=15)
    plain = evaluate(trained, tiny_split[1], samples=0)
    assert report.refine_steps == 15 and plain.refine_steps == 0
    assert "codes refined by 15 steps" in report.lines()[0]
    assert report.iou != plain.iou


def test_refinement_is_refused_where_it_cannot_run(trained, tiny_split, tmp_path,
                                                   capsys) -> None:
    from trainer.checkpoint import save_checkpoint
    from trainer.code_refinement import check_refinable
    from trainer.errors import ConfigError, ShapeExplorerError

    with pytest.raises(ConfigError, match=r"refinement steps must be 0\.\.1000, got -1"):
        check_refinable(trained.config, "vae", -1)
    with pytest.raises(ShapeExplorerError, match="refining codes works on occupancy grids"):
        check_refinable(trained.config.with_overrides(grid="sdf", likelihood="gaussian"),
                        "vae", 5)
    with pytest.raises(ShapeExplorerError, match="refining codes needs a VAE"):
        check_refinable(trained.config, "ppca", 5)
    check_refinable(trained.config.with_overrides(grid="sdf", likelihood="gaussian"), "vae", 0)
    path = save_checkpoint(tmp_path / "run.pt", trained)
    assert main(["evaluate", str(path), "--samples", "0", "--refine", "4"]) == 0
    assert "(codes refined by 4 steps)" in capsys.readouterr().out
    assert main(["evaluate", str(path), "--refine", "5000"]) == 2
    assert "refinement steps must be 0..1000" in capsys.readouterr().err
