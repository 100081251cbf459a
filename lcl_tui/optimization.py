"""The optimiser, its schedule and gradient scaler: what a checkpoint carries to resume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lcl_tui.config import OptimConfig

HEAD_PREFIXES = ("classifier.", "weighting_head.")


def no_decay(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith("bias") or "layernorm" in lowered or "layer_norm" in lowered or ".norm" in lowered


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float,
                   head_lr: float | None = None) -> torch.optim.AdamW:
    """AdamW with no weight decay on biases and LayerNorm weights.

    `head_lr` gives the freshly initialised heads their own rate: with a small encoder
    rate, a 50-class head otherwise barely moves in a few epochs.
    """
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        rate = head_lr if head_lr is not None and name.startswith(HEAD_PREFIXES) else lr
        decay = 0.0 if no_decay(name) else weight_decay
        groups.setdefault((rate, decay), []).append(parameter)
    param_groups = [{"params": params, "lr": rate, "weight_decay": decay}
                    for (rate, decay), params in groups.items()]
    # The fused kernel (CPU and CUDA in recent torch) does the whole update in one pass; the
    # per-tensor loop torch picks by default on CPU took about 20% of a MiniLM step on short
    # texts. Older torch, or a device without the kernel, gets the multi-tensor one.
    try:
        return torch.optim.AdamW(param_groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(param_groups, lr=lr, foreach=True)


def linear_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@dataclass
class Optimization:
    """The optimiser with its schedule and gradient scaler, built and saved together."""

    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler

    @classmethod
    def for_encoder(cls, model: torch.nn.Module, optim: OptimConfig, total_steps: int,
                    scale_gradients: bool) -> Optimization:
        """AdamW with a linear warm-up and decay over `total_steps`."""
        optimizer = make_optimizer(model, optim.lr, optim.weight_decay, optim.head_lr)
        scheduler = linear_schedule(optimizer, int(optim.warmup_ratio * total_steps), total_steps)
        return cls(optimizer, scheduler, torch.amp.GradScaler(enabled=scale_gradients))
