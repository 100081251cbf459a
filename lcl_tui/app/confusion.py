"""Confusion-matrix arithmetic for the monitor: row normalising and the worst pairs."""

from __future__ import annotations

from dataclasses import dataclass


def row_normalised(confusion: list[list[int]]) -> list[list[float]]:
    """Each row as fractions of its true class (a row with no examples stays zeros)."""
    out = []
    for row in confusion:
        total = sum(row)
        out.append([count / total if total else 0.0 for count in row])
    return out


@dataclass
class ConfusedPair:
    true_label: str
    predicted_label: str
    count: int
    share_of_true: float


def most_confused_pairs(confusion: list[list[int]], labels: list[str], limit: int = 8) -> list[ConfusedPair]:
    """Off-diagonal cells, largest count first (ties: the larger share of the true class)."""
    pairs = []
    for i, row in enumerate(confusion):
        total = sum(row)
        for j, count in enumerate(row):
            if i != j and count > 0:
                name_i = labels[i] if i < len(labels) else str(i)
                name_j = labels[j] if j < len(labels) else str(j)
                pairs.append(ConfusedPair(name_i, name_j, count, count / total if total else 0.0))
    pairs.sort(key=lambda p: (-p.count, -p.share_of_true, p.true_label, p.predicted_label))
    return pairs[:limit]

