"""Process-wide speed settings for CPU training (measured on this project's 2-core machine)."""

from __future__ import annotations

import torch

from trainer.allocator import tune_allocator as tune_allocator

MEMORY_FORMAT = torch.channels_last_3d
"""Conv3d on CPU runs about 1.4x faster on channels-last tensors than on contiguous ones."""
