"""Dropout whose masks cost a quarter of torch's on CPUs where torch draws them one by one:
in `nn.Dropout` modules and in Hugging Face attention.

On a CPU, `torch.nn.Dropout` draws its mask with `bernoulli_`, which torch vectorises (with
MKL, behind a vendor check in ATen) only on Intel CPUs. Elsewhere (AMD, ARM) it is a serial
loop, one Mersenne Twister draw per element under the generator's lock: about 7% of a
MiniLM training step on an AMD EPYC. `FastDropout` draws the same Bernoulli mask from
16-bit slices of 64-bit draws, four elements a draw, and compares integers: 4-5x cheaper
there (see README, "Where a step's time goes"). The drop probability is taken to the
nearest 1/65536 (0.1 becomes 0.1000061) and the kept values are scaled by exactly
1/(1 - that), so the expectation is unchanged. The masks come from torch's seeded
generator: a seeded run is as reproducible as with `nn.Dropout`, though not with the same
masks.
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


def dropped_out(x: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout of `x` in training: zeros where the mask drops, the rest scaled to keep the mean."""
    dropped = quantised_drop_probability(p)
    if dropped >= 1.0:
        return x * 0.0
    # `x * mask` keeps the boolean mask (one byte an element) for the backward pass.
    return x * keep_mask(x.shape, p, x.device) * (1.0 / (1.0 - dropped))


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
        return dropped_out(x, self.p)

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


# --- attention-probability dropout in Hugging Face encoders -----------------------------------
# Hugging Face attention passes its dropout probability to `scaled_dot_product_attention`,
# whose CPU path draws the mask with `bernoulli_` too: a third of the mask elements of a
# MiniLM step at 30 tokens. Encoders on "sdpa" switch to this registered variant, which
# trains with FastDropout's masks and hands everything else to the stock sdpa function.
ATTENTION = "lcl_sdpa_fast_dropout"


def sdpa_with_fast_dropout(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                           attention_mask: torch.Tensor | None, dropout: float = 0.0,
                           scaling: float | None = None, **kwargs):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    stock = (dropout == 0.0 or not module.training
             or kwargs.get("is_causal", getattr(module, "is_causal", False))
             or getattr(module, "num_key_value_groups", 1) > 1
             or any(kwargs.get(name) is not None for name in ("position_bias", "softcap", "sliding_window"))
             or query.shape[-2] != key.shape[-2])
    if stock:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, **kwargs)
    scores = torch.matmul(query, key.transpose(2, 3)) * (query.shape[-1] ** -0.5 if scaling is None else scaling)
    if attention_mask is not None:
        scores = (scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
                  if attention_mask.dtype == torch.bool else scores + attention_mask)
    probabilities = dropped_out(torch.softmax(scores, dim=-1), dropout)
    return torch.matmul(probabilities, value).transpose(1, 2).contiguous(), None


def _register_attention() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(ATTENTION, sdpa_with_fast_dropout)
    ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION, sdpa_mask)


def use_fast_attention_dropout(model: nn.Module) -> int:
    """Switches each Hugging Face model inside `model` that uses "sdpa" to ATTENTION; returns how many."""
    switched = 0
    for module in model.modules():
        config = getattr(module, "config", None)
        if getattr(config, "_attn_implementation", None) == "sdpa" and hasattr(module, "set_attn_implementation"):
            _register_attention()
            module.set_attn_implementation(ATTENTION)
            switched += 1
    return switched
