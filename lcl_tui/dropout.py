"""Dropout whose masks cost a quarter of torch's on CPUs where torch draws them one by one.

On a CPU, `torch.nn.Dropout` draws its mask with `bernoulli_`, which torch vectorises (with
MKL) only on Intel CPUs; elsewhere (AMD, ARM) it is a serial loop of one 32-bit Mersenne
Twister draw and one float conversion per element: about 7% of a MiniLM training step on
an AMD EPYC. `FastDropout` draws the same Bernoulli mask from 16-bit slices of 64-bit
draws, four elements a draw, and compares integers: 4-5x cheaper there (see README,
"Where a step's time goes"). The drop probability is taken to the nearest 1/65536 (0.1
becomes 0.1000061) and the kept values are scaled by exactly 1/(1 - that), so the
expectation is unchanged. The masks come from torch's seeded generator: a seeded run is
as reproducible as with `nn.Dropout`, though not with the same masks.
"""

from __future__ import annotations

import torch
from torch import nn

from lcl_tui.devices import cpu_is_intel

_LEVELS = 1 << 16  # a 16-bit draw is uniform on [-32768, 32767]


def quantised_drop_probability(p: float) -> float:
    return round(p * _LEVELS) / _LEVELS


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """A boolean mask, each element True with probability 1 - quantised_drop_probability(p)."""
    count = shape.numel()
    words = torch.randint(-(1 << 63), (1 << 63) - 1, ((count + 3) // 4,), dtype=torch.int64, device=device)
    draws = words.view(torch.int16)[:count].view(shape)
    return draws >= round(p * _LEVELS) - _LEVELS // 2


class FastDropout(nn.Module):
    """`nn.Dropout` (not in place) with masks from `keep_mask`."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        dropped = quantised_drop_probability(self.p)
        if dropped >= 1.0:
            return x * 0.0
        # `x * mask` keeps the boolean mask (one byte an element) for the backward pass.
        return x * keep_mask(x.shape, self.p, x.device) * (1.0 / (1.0 - dropped))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def torch_masks_are_fast(device: torch.device) -> bool:
    """Whether torch's own dropout masks are vectorised here: on accelerators, and on Intel
    CPUs with MKL."""
    return device.type != "cpu" or (torch.backends.mkl.is_available() and cpu_is_intel())


def use_fast_dropout(model: nn.Module) -> int:
    """Replaces each `nn.Dropout` in `model` by a `FastDropout` of the same p; returns how many.

    Modules that read `.dropout.p` to pass it on (Hugging Face attention does, to
    `scaled_dot_product_attention`) still find it."""
    replaced = 0
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                fast = FastDropout(child.p)
                fast.train(child.training)
                setattr(parent, name, fast)
                replaced += 1
    return replaced
