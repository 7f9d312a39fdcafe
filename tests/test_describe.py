"""One model description for `info` and the Explore header."""

from trainer.config import TrainConfig
from trainer.describe import describe_model
from trainer.ppca import PPCAReport


def test_each_kind_of_model_is_named_with_its_size_latents_and_grids():
    assert describe_model(TrainConfig()) == ["VAE (Q=64)",
                                             "Gaussian latents (z0-z8 pose), occupancy"]
    assert describe_model(TrainConfig(pose="none", noise="flip")) == [
        "denoising VAE (Q=64)", "Gaussian latents, occupancy"]
    assert describe_model(TrainConfig(latent="categorical", latent_dim=12,
                                      categorical_classes=3)) == [
        "discrete VAE (12 x 3)", "categorical latents, occupancy"]
    sdf = TrainConfig(grid="sdf", likelihood="gaussian")
    assert describe_model(sdf)[1].endswith("signed distances")


def test_a_ppca_model_adds_its_validation_scores():
    report = PPCAReport(latent_dim=8, sigma2=0.1, explained_variance=0.5, val_sse=1.0,
                        val_iou=0.8123, val_hamming=0.01234, train_shapes=9, val_shapes=1,
                        mu_var_per_dim=(1.0,) * 8, fit_s=0.1)
    lines = describe_model(TrainConfig(latent_dim=8), "ppca", report)
    assert lines[0] == "PPCA (Q=8)" and lines[-1] == "val IoU 0.812, Hamming 0.0123"
