"""Categorical latents: the Gumbel-softmax / Concrete relaxation and the KL to a uniform prior.

A code is K categorical variables of C classes. The encoder gives logits l (B, K, C) of
q(z_k | y) = softmax(l_k). Training decodes relaxed samples
    y_k = softmax((l_k + g_k) / tau),   g = -log(-log u), u ~ U(0, 1)
(Jang et al. 2017; Maddison et al. 2017): points inside the simplex that approach one-hot
vectors as the temperature tau falls. With the straight-through estimator the decoder sees the
hard one-hot argmax while gradients flow through the soft sample. The decoder takes the K
one-hot (or relaxed) vectors flattened to K x C numbers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_TINY = 1e-10


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard Gumbel noise -log(-log u), drawn on the CPU from `generator`."""
    u = torch.rand(shape, generator=generator).clamp_(_TINY, 1 - 1e-7)
    return -torch.log(-torch.log(u))


def gumbel_softmax(logits: torch.Tensor, gumbel: torch.Tensor, temperature: float,
                   hard: bool = False) -> torch.Tensor:
    """Relaxed one-hot samples softmax((logits + gumbel) / tau) over the last axis.

    With `hard`, the values are the one-hot argmax but the gradient is the soft sample's
    (straight-through).
    """
    soft = torch.softmax((logits + gumbel.to(logits)) / temperature, dim=-1)
    if not hard:
        return soft
    index = soft.argmax(dim=-1)
    one_hot = F.one_hot(index, soft.shape[-1]).to(soft)
    return one_hot - soft.detach() + soft


def categorical_kl(logits: torch.Tensor) -> torch.Tensor:
    """KL(q || uniform) per variable: sum_c q_c log(q_c C), from logits (B, K, C) -> (B, K).

    This is the KL of the categorical posterior (as in Jang et al.), not of the relaxed density.
    """
    log_q = torch.log_softmax(logits, dim=-1)
    return (log_q.exp() * (log_q + math.log(logits.shape[-1]))).sum(dim=-1)


def mode_code(logits: torch.Tensor) -> torch.Tensor:
    """The most probable class of every variable as flattened one-hot codes (B, K * C)."""
    return F.one_hot(logits.argmax(dim=-1), logits.shape[-1]).to(logits).flatten(1)
