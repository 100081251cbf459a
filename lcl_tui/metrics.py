"""Classification metrics: accuracy, macro-F1, per-class precision/recall/F1, confusion."""

from __future__ import annotations

from collections.abc import Sequence

from lcl_tui.events import ClassMetrics


def confusion_matrix(labels: Sequence[int], predictions: Sequence[int], num_labels: int) -> list[list[int]]:
    """confusion[true][predicted]."""
    matrix = [[0] * num_labels for _ in range(num_labels)]
    for truth, guess in zip(labels, predictions, strict=True):
        matrix[truth][guess] += 1
    return matrix


def per_class_metrics(confusion: list[list[int]], label_names: Sequence[str]) -> list[ClassMetrics]:
    rows = []
    for c, name in enumerate(label_names):
        true_positive = confusion[c][c]
        predicted = sum(row[c] for row in confusion)
        support = sum(confusion[c])
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(ClassMetrics(label=name, precision=precision, recall=recall, f1=f1, support=support))
    return rows


def accuracy(confusion: list[list[int]]) -> float:
    total = sum(map(sum, confusion))
    return sum(confusion[c][c] for c in range(len(confusion))) / total if total else 0.0


def macro_f1(confusion: list[list[int]], per_class: Sequence[ClassMetrics]) -> float:
    """Mean F1 over the classes that occur in the labels or the predictions (as scikit-learn)."""
    seen = [
        row.f1 for c, row in enumerate(per_class)
        if row.support > 0 or any(confusion[t][c] for t in range(len(confusion)))
    ]
    return sum(seen) / len(seen) if seen else 0.0
