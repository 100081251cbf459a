"""Why a run's loss or gradients stopped being finite, worded as the key to change.

The trainer knows only that a number became inf or NaN; the config usually says why. The
suspects are ranked from the config (how far each setting is past where it is known to be
safe), and the message names the first one's key, then the others as fallbacks.
"""

from __future__ import annotations

from dataclasses import dataclass

# Below this the contrastive logits (cosine / tau, up to 1 / tau) pass 20, and exp() of them
# summed over a batch overflows float16 (max 65504) and strains float32's gradients.
LOW_TEMPERATURE = 0.05
# Fine-tuning a pretrained encoder past this learning rate is known to diverge; heads and
# the RNN baselines (trained from scratch) take larger rates.
HIGH_ENCODER_LR = 1e-3
HIGH_HEAD_LR = 1e-1


@dataclass
class Suspect:
    how_far: float  # > 1: past the safe value by this factor
    key: str
    fix: str


def suspects(config, amp_dtype=None) -> list[Suspect]:
    """The settings that most likely made the numbers non-finite, most likely first."""
    optim, loss = config.optim, config.loss
    found: list[Suspect] = []
    if loss.objective != "ce" and loss.temperature < LOW_TEMPERATURE:
        found.append(Suspect(LOW_TEMPERATURE / loss.temperature, "loss.temperature",
                             f"raise loss.temperature (now {loss.temperature:g}; try 0.1 or more)"))
    limit = HIGH_ENCODER_LR if config.model.architecture == "transformer" else HIGH_HEAD_LR
    if optim.lr > limit:
        found.append(Suspect(optim.lr / limit, "optim.lr", f"lower optim.lr (now {optim.lr:g}; try {limit / 10:g})"))
    if optim.head_lr is not None and optim.head_lr > HIGH_HEAD_LR:
        found.append(Suspect(optim.head_lr / HIGH_HEAD_LR, "optim.head_lr",
                             f"lower optim.head_lr (now {optim.head_lr:g})"))
    if config.train.mixed_precision == "fp16" or str(amp_dtype) == "torch.float16":
        # float16 overflows at 65504: the usual cause when no setting stands out more.
        found.append(Suspect(1.5, "train.mixed_precision", "set train.mixed_precision=bf16 or no "
                                                           "(float16 overflows at 65504)"))
    found.sort(key=lambda suspect: -suspect.how_far)
    return found


def non_finite_message(what: str, value: float, step: int, config, amp_dtype=None) -> str:
    """One line for the TrainingFault that ends a run: `what` ("loss", "gradients") became
    `value` at `step`, and the key most likely to blame."""
    ranked = suspects(config, amp_dtype)
    fixes = [suspect.fix for suspect in ranked]
    for general in ("lower optim.lr", "set optim.grad_clip=1.0" if config.optim.grad_clip <= 0 else ""):
        if general and not any(fix.startswith(general) for fix in fixes):
            fixes.append(general)
    head = f"the {what} became {value} at step {step}"
    if not ranked:
        return f"{head}; no setting stands out: {' or '.join(fixes)}"
    rest = f"; else {' or '.join(fixes[1:])}" if len(fixes) > 1 else ""
    return f"{head}; likely cause {ranked[0].key}: {fixes[0]}{rest}"
