"""Lighter decoders for interactive 64^3: FLOPs, compiled batch-1 decode time and quality cost.

The default decoder ends with a 16 -> 16 channel 3^3 convolution at full resolution, which holds
most of its FLOPs. This compares it with two lighter last stages (the encoder is unchanged):

- ``narrow``: the last stage outputs 8 channels instead of 16 (upsample + conv 16 -> 8);
- ``transposed``: the last upsample + conv is a 2^3 stride-2 transposed convolution 16 -> 8
  (one input voxel per output voxel) followed by the same final 3^3 conv 8 -> 1.

    python -m benchmarks.light_decoder [--train-shapes 1200 --epochs 6]

Speed uses random weights (decode time does not depend on them); quality trains the default and
the transposed variant with the project's Trainer on the same procedural data and seed and
prints their validation figures.
``--epochs 0`` skips training.
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np
import torch
from torch import nn

from explorer.fast_decode import CompiledDecoder
from trainer import loop
from trainer.config import TrainConfig
from trainer.data.procedural import make_procedural
from trainer.grid_values import GridValues
from trainer.kernels import transposed_decoder
from trainer.model import VAE
from trainer.perf import tune_allocator

PEAK_GFLOPS = 336.0
"""Two-thread fp32 matmul peak measured on this machine (docs: PLATFORM.md)."""
PROBABILITIES = GridValues("sigmoid", 0.5, False, (0.0, 1.0))
VARIANTS = ("default", "narrow", "transposed")
TRAINED_VARIANTS = ("default", "transposed")   # narrow decodes no faster: not worth training
LAST_CHANNELS = 8


def _block(conv: nn.Module, channels: int) -> list[nn.Module]:
    return [conv, nn.BatchNorm3d(channels), nn.ReLU(inplace=True)]


class LightVAE(VAE):
    """The project's VAE with the last decoder stage replaced by ``variant``'s."""

    variant = "default"

    def __init__(self, resolution: int, latent_dim: int, channels: tuple[int, ...],
                 pose: bool = False, signed: bool = False) -> None:
        super().__init__(resolution, latent_dim, channels, pose, signed)
        if self.variant == "default":
            return
        stages = list(self.decoder.children())[:-5]   # drop the last upsample+conv+BN+ReLU, out
        c, last = channels[0], LAST_CHANNELS
        if self.variant == "narrow":
            tail = [nn.Upsample(scale_factor=2, mode="nearest"),
                    *_block(nn.Conv3d(c, last, 3, padding=1, bias=False), last)]
        else:
            tail = _block(nn.ConvTranspose3d(c, last, 2, stride=2, bias=False), last)
        self.decoder = nn.Sequential(*stages, *tail, nn.Conv3d(last, 1, 3, padding=1))


def variant_class(variant: str) -> type[LightVAE]:
    return type(f"{variant.title()}VAE", (LightVAE,), {"variant": variant})


def decoder_gflop(model: VAE) -> float:
    """Multiply-adds x 2 of one batch-1 decode (the convolutions and the linear layer), in the
    form the decoder computes: nearest upsampling + Conv3d as one transposed convolution."""
    macs = [model.from_z.in_features * model.from_z.out_features]

    def count(module: nn.Module, inputs: tuple[torch.Tensor], out: torch.Tensor) -> None:
        k = int(np.prod(module.kernel_size))
        if isinstance(module, nn.ConvTranspose3d):
            macs.append(inputs[0].numel() * module.out_channels * k)
        else:
            macs.append(out.numel() * module.in_channels * k)

    layers = transposed_decoder(model.eval().decoder)
    hooks = [m.register_forward_hook(count) for m in layers
             if isinstance(m, nn.Conv3d | nn.ConvTranspose3d)]
    with torch.no_grad():
        h = model.from_z(torch.zeros(1, model.latent_dim))
        layers(h.view(1, model.channels[-1], model.bottom, model.bottom, model.bottom))
    for hook in hooks:
        hook.remove()
    return 2 * sum(macs) / 1e9


def speed(resolution: int, repeats: int) -> None:
    for variant in VARIANTS:
        model = variant_class(variant)(resolution, 16, (16, 32, 64, 128)).eval()
        gflop = decoder_gflop(model)
        decoder = CompiledDecoder(model, (1,), PROBABILITIES).start()
        decoder.wait()
        if decoder.error:
            raise SystemExit(f"compiling failed: {decoder.error}")
        z = torch.randn(1, model.latent_dim)
        for _ in range(3):
            decoder(z)
        ms = []
        for _ in range(repeats):
            start = time.perf_counter()
            decoder(z)
            ms.append(1000 * (time.perf_counter() - start))
        print(f"{resolution}^3 {variant:10}  {gflop:5.2f} GFLOP  peak-bound "
              f"{gflop / PEAK_GFLOPS * 1000:5.1f} ms   compiled batch 1: median "
              f"{np.median(ms):5.1f} ms  p95 {np.percentile(ms, 95):5.1f} ms", flush=True)


def quality(shapes: int, epochs: int, resolution: int) -> None:
    # the network without pose dimensions, as when the figures in benchmarks/README.md were made
    config = TrainConfig(resolution=resolution, dataset_size=shapes, epochs=epochs, pose="none")
    train, val = make_procedural(shapes, resolution, config.seed).split(config.val_fraction,
                                                                         config.seed)
    print(f"\nquality: {resolution}^3, {len(train)} training / {len(val)} validation shapes, "
          f"{epochs} epochs, default settings otherwise")
    for variant in TRAINED_VARIANTS:
        with mock.patch.object(loop, "VAE", variant_class(variant)):
            trainer = loop.Trainer(config, train, val)
        trainer.run()
        r = trainer.history[-1]
        print(f"{variant:10}  val loss {r.val_loss:7.1f}  recon {r.val_recon:7.1f}  "
              f"KL {r.val_kl:5.1f}  IoU {r.val_iou:.3f}  Hamming {r.val_hamming:.4f}  "
              f"train {np.mean([h.samples_per_s for h in trainer.history]):5.1f} shapes/s",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--train-shapes", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=6, help="0 skips the quality runs")
    parser.add_argument("--train-resolution", type=int, default=32)
    args = parser.parse_args()
    tune_allocator()
    for resolution in (32, 64):
        speed(resolution, args.repeats)
    if args.epochs:
        quality(args.train_shapes, args.epochs, args.train_resolution)


if __name__ == "__main__":
    main()
