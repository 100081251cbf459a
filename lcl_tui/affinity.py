"""What a model has learned about which classes are close, from one evaluation pass.

- `class_affinity`: for the examples of each true class, the mean of a softmax over the
  classes. Given LCL's weighting network, it is what the network says each class is close
  to (the weights LCL's loss uses); given the classifier, where the classifier puts its
  probability. Rows sum to 1.
- `centroid_similarity`: the cosine similarity between the class centroids of the pooled,
  normalised embeddings.
- `projection`: the embeddings' first two principal components, one `[x, y, label]` a point.

All three come from tensors the evaluation computed anyway: no extra forward pass. Values
are rounded (`DIGITS`) so that an evaluation event stays a short JSON line.
"""

from __future__ import annotations

import torch

DIGITS = 4
# A map of more points than a terminal has cells only costs bytes in metrics.jsonl.
PROJECTION_POINTS = 1000


def _rounded(matrix: torch.Tensor) -> list[list[float]]:
    return [[round(float(value), DIGITS) for value in row] for row in matrix.tolist()]


def _class_means(values: torch.Tensor, labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """The mean row of `values` per class (zeros for a class with no examples)."""
    sums = torch.zeros((num_labels, values.shape[1]), dtype=torch.float64)
    sums.index_add_(0, labels, values.double())
    counts = torch.bincount(labels, minlength=num_labels).clamp(min=1).double()
    return sums / counts[:, None]


def class_affinity(logits: torch.Tensor, labels: torch.Tensor, num_labels: int) -> list[list[float]]:
    """C x C: row c is the mean softmax over the examples whose true class is c (rows sum
    to 1; a class without examples gets a row of zeros)."""
    probabilities = torch.softmax(logits.double(), dim=-1)
    return _rounded(_class_means(probabilities, labels, num_labels))


def centroid_similarity(features: torch.Tensor, labels: torch.Tensor, num_labels: int) -> list[list[float]]:
    """C x C cosine similarity between class centroids (0 where a class has no examples)."""
    centroids = torch.nn.functional.normalize(_class_means(features, labels, num_labels), dim=-1)
    return _rounded(centroids @ centroids.T)


def projection_rows(count: int, limit: int = PROJECTION_POINTS) -> list[int]:
    """At most `limit` rows spread evenly over `count`: the same rows for the same split."""
    if count <= limit:
        return list(range(count))
    return [i * count // limit for i in range(limit)]


def projection(features: torch.Tensor, labels: torch.Tensor,
               limit: int = PROJECTION_POINTS) -> list[list[float]]:
    """`[x, y, label]` for up to `limit` examples: the first two principal components.

    Each axis's sign is fixed (its largest loading positive), so that a map redrawn after
    the next evaluation does not flip for no reason.
    """
    rows = projection_rows(len(features), limit)
    if len(rows) < 2:
        return []
    chosen = features[rows].double()
    centred = chosen - chosen.mean(dim=0, keepdim=True)
    _, _, right = torch.linalg.svd(centred, full_matrices=False)
    axes = right[:2]
    if axes.shape[0] < 2:  # one-dimensional features: the map is a line
        axes = torch.cat([axes, torch.zeros_like(axes)])
    largest = axes.abs().argmax(dim=1)
    signs = torch.sign(axes[torch.arange(axes.shape[0]), largest])
    axes = axes * torch.where(signs == 0, torch.ones_like(signs), signs)[:, None]
    points = centred @ axes.T
    chosen_labels = labels[rows].tolist()
    return [[round(float(x), DIGITS), round(float(y), DIGITS), int(label)]
            for (x, y), label in zip(points.tolist(), chosen_labels)]
