"""The training objectives on top of the losses: ce, scl (joint), scl-two-stage, lcl."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from lcl_tui.config import LossConfig
from lcl_tui.losses import (
    adaptive_temperature_scl,
    label_aware_contrastive_loss,
    supervised_contrastive_loss,
)
from lcl_tui.models import ModelOutput


def contrastive_term(output: ModelOutput, labels: torch.Tensor, config: LossConfig) -> torch.Tensor:
    if config.adaptive_temperature:
        return adaptive_temperature_scl(output.features, labels, config.temperature)
    return supervised_contrastive_loss(output.features, labels, config.temperature)


def objective_loss(output: ModelOutput, labels: torch.Tensor, config: LossConfig,
                   stage: str = "train") -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The total loss and each of its terms by name (ce, weight_ce, contrastive)."""
    objective = config.objective
    alpha = config.alpha
    if objective == "scl-two-stage" and stage == "contrastive":
        contrastive = contrastive_term(output, labels, config)
        return contrastive, {"contrastive": contrastive}
    ce = F.cross_entropy(output.logits.float(), labels)
    if objective in ("ce", "scl-two-stage"):
        return ce, {"ce": ce}
    if objective == "scl":
        contrastive = contrastive_term(output, labels, config)
        return alpha * ce + (1 - alpha) * contrastive, {"ce": ce, "contrastive": contrastive}
    if objective == "lcl":
        if output.weight_logits is None:
            raise ValueError("the lcl objective needs a model with a weighting network")
        weight_logits = output.weight_logits.float()
        weight_ce = F.cross_entropy(weight_logits, labels)
        contrastive = label_aware_contrastive_loss(
            output.features, labels, weight_logits, config.temperature,
            detach_weights=config.detach_weights,
        )
        total = alpha * (ce + weight_ce) + (1 - alpha) * contrastive
        return total, {"ce": ce, "weight_ce": weight_ce, "contrastive": contrastive}
    raise ValueError(f"unknown objective {objective!r}")
