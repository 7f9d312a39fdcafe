"""The VAE's shapes at every supported resolution."""

import pytest
import torch

from trainer.config import TrainConfig
from trainer.model import VAE


@pytest.mark.parametrize("pose", ["none", "moments"])
@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_shapes_at_each_resolution(resolution, pose):
    model = VAE.from_config(TrainConfig(resolution=resolution, latent_dim=12,
                                        channels=(2, 4, 4, 8), pose=pose))
    assert model.pose == (pose == "moments")
    y = torch.rand(2, 1, resolution, resolution, resolution)
    mu, logvar = model.encode(y)
    assert mu.shape == logvar.shape == (2, 12)
    assert model.decode(mu).shape == (2, 1, resolution, resolution, resolution)
    logits, mu2, _ = model(y, samples=3)
    assert logits.shape == (6, 1, resolution, resolution, resolution)
    assert mu2.shape == (2, 12)


def test_decoder_depends_on_the_code():
    torch.manual_seed(0)
    model = VAE(16, 4, (2, 4, 4, 8)).eval()
    out = model.decode(torch.stack([torch.zeros(4), torch.full((4,), 3.0)]))
    assert not torch.allclose(out[0], out[1])


def test_rejects_resolution_not_divisible_by_16():
    with pytest.raises(ValueError):
        VAE(24, 4, (2, 4, 4, 8))
