"""Contrastive losses: supervised (SCL), label-aware (LCL) and the adaptive-temperature SCL.

Definitions follow docs/METHOD.md (the seed paper's formulas, typos fixed, in agreement
with Suresh & Ong's implementation). All three share one numerically safe
core so that the guarantees below hold for each of them:

- the result is the mean over anchors that have at least one positive in the batch;
- a batch with no positive pair (B=1 included) gives exactly 0, still attached to the
  graph, with exactly zero gradients and never a NaN;
- the log-sum-exp subtracts the detached row max and masks self with the dtype's most
  negative finite value (not -inf, whose all-masked rows give NaN gradients), so loss
  and gradients stay finite for tau from 0.01 to 1000;
- half-precision inputs are upcast to float32; float64 stays float64.

This module imports torch only; it is engine code and never touches the UI.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "adaptive_temperature_scl",
    "label_aware_contrastive_loss",
    "positive_mask",
    "supervised_contrastive_loss",
]


def positive_mask(labels: Tensor) -> Tensor:
    """Bool [B, B]: True where k is a positive of anchor i (same label, k != i)."""
    if labels.dim() != 1:
        raise ValueError(f"labels must have shape [B], got {tuple(labels.shape)}")
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same & ~eye


def supervised_contrastive_loss(features: Tensor, labels: Tensor, temperature: float) -> Tensor:
    """SCL: mean over anchors with positives of -(1/|P(i)|) sum_p [s_ip - log sum_{k!=i} exp(s_ik)].

    `features` [B, d] must already be L2-normalised; `labels` [B] integer classes.
    Matches pytorch-metric-learning's `SupConLoss` with its default reducer.
    """
    feats = _check(features, labels, temperature)
    return _contrastive(feats, labels, float(temperature))


def label_aware_contrastive_loss(
    features: Tensor,
    labels: Tensor,
    weight_logits: Tensor,
    temperature: float,
    detach_weights: bool = False,
) -> Tensor:
    """LCL: SCL where the anchor's class weights shape both numerator and denominator.

    With w_i = softmax(weight_logits_i), anchor i contributes
    -(1/|P(i)|) sum_p w_{i,y_i} [s_ip - log sum_{k!=i} w_{i,y_k} exp(s_ik)]:
    w_{i,y_i} sits outside the log, and each k in the denominator is weighted by the
    anchor's weight for k's class. The denominator is a log-sum-exp of s_ik + log w_{i,y_k}
    with log w from log_softmax (log of a softmax underflows to -inf). By default the
    gradient reaches the weighting network, as in the original; `detach_weights` stops it.
    """
    feats = _check(features, labels, temperature)
    if weight_logits.dim() != 2 or weight_logits.shape[0] != feats.shape[0]:
        raise ValueError(
            f"weight_logits must have shape [B, C] with B={feats.shape[0]}, got {tuple(weight_logits.shape)}"
        )
    v = weight_logits.to(feats.dtype)
    if detach_weights:
        v = v.detach()
    log_w = torch.log_softmax(v, dim=1)  # [B, C]
    log_w_pair = log_w[:, labels]  # [B, B]: log w_{i, y_k}
    anchor_w = log_w.gather(1, labels.unsqueeze(1)).squeeze(1).exp()  # w_{i, y_i}
    return _contrastive(feats, labels, float(temperature), log_w_pair=log_w_pair, anchor_w=anchor_w)


def adaptive_temperature_scl(features: Tensor, labels: Tensor, temperature: float) -> Tensor:
    """SCL with a per-anchor temperature tau_i = temperature * |P(i)|.

    The seed paper's failed experiment ("the amount of t was not fixed ... it changes
    concerning the size of the positive set"); the paper gives no formula, so we take the
    simplest reading, proportional scaling. Offered as an option for reproducing that
    result, not as a recommended loss. Anchors without positives are excluded as in SCL.
    """
    feats = _check(features, labels, temperature)
    n_pos = positive_mask(labels).sum(dim=1).clamp_min(1).to(feats.dtype)
    return _contrastive(feats, labels, float(temperature) * n_pos.unsqueeze(1))


def _check(features: Tensor, labels: Tensor, temperature: float) -> Tensor:
    """Validate shapes and temperature; return the features in the compute dtype."""
    if features.dim() != 2:
        raise ValueError(f"features must have shape [B, d], got {tuple(features.shape)}")
    if labels.dim() != 1 or labels.shape[0] != features.shape[0]:
        raise ValueError(f"labels must have shape [B] with B={features.shape[0]}, got {tuple(labels.shape)}")
    if not float(temperature) > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    # float16/bfloat16 overflow in exp and lose the small differences the loss is about.
    return features.to(torch.promote_types(features.dtype, torch.float32))


def _contrastive(
    feats: Tensor,
    labels: Tensor,
    tau: float | Tensor,
    log_w_pair: Tensor | None = None,
    anchor_w: Tensor | None = None,
) -> Tensor:
    """Shared core. `tau` is a scalar or [B, 1]; optional LCL weights as log w_{i,y_k} and w_{i,y_i}."""
    b = feats.shape[0]
    pos = positive_mask(labels)
    eye = torch.eye(b, dtype=torch.bool, device=feats.device)
    sim = feats @ feats.T / tau  # s_ik

    logits = sim if log_w_pair is None else sim + log_w_pair
    # Most negative finite value, not -inf: a row with self only (B=1) stays finite.
    masked = logits.masked_fill(eye, torch.finfo(logits.dtype).min)
    row_max = masked.max(dim=1, keepdim=True).values.detach()
    log_denom = (masked - row_max).exp().sum(dim=1).log() + row_max.squeeze(1)  # >= row max, finite

    n_pos = pos.sum(dim=1)
    has_pos = n_pos > 0
    n_pos_f = n_pos.clamp_min(1).to(sim.dtype)
    # -(1/|P|) sum_p (s_ip - log_denom) written so that rows with no positive are 0 * finite.
    mean_pos_sim = (sim * pos).sum(dim=1) / n_pos_f
    per_anchor = log_denom - mean_pos_sim
    if anchor_w is not None:
        per_anchor = anchor_w * per_anchor
    per_anchor = torch.where(has_pos, per_anchor, torch.zeros_like(per_anchor))
    return per_anchor.sum() / has_pos.sum().clamp_min(1).to(sim.dtype)
