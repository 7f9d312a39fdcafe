"""Process-wide speed settings for CPU training (their effect: benchmarks/README.md)."""

from __future__ import annotations

import torch

from trainer.allocator import tune_allocator as tune_allocator

MEMORY_FORMAT = torch.channels_last_3d
"""Conv3d on CPU runs faster on channels-last tensors than on contiguous ones."""
