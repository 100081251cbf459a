"""Evaluation: a model's predictions on a split as an `EvalEvent` (scores, and what the
model thinks is close: lcl_tui.affinity), when validation runs (`EvaluationSchedule`), and
model selection on the validation accuracy (the best so far, and how long since it improved).
"""

from __future__ import annotations

import contextlib
import enum
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from lcl_tui.affinity import centroid_similarity, class_affinity, projection
from lcl_tui.batching import EncodedTexts, collate, sequential_batches
from lcl_tui.data.splits import stratified_indices
from lcl_tui.devices import Placement
from lcl_tui.distributed import SINGLE_PROCESS, SingleProcess
from lcl_tui.errors import TrainingFault
from lcl_tui.events import EvalEvent
from lcl_tui.metrics import accuracy, confusion_matrix, macro_f1, per_class_metrics
from lcl_tui.training_state import LoopPosition

# --- when validation runs ---------------------------------------------------------------------
# Without train.eval_every_steps, a run is evaluated about this many times whatever its
# length: at each epoch end and at its last step (as before: these select the best checkpoint
# and count for patience), and between them, for the curves only.
TARGET_EVALUATIONS = 9
# The evaluations between epoch ends run on a fixed, stratified subsample of a large
# validation split: at most this many examples, and at most 1/TARGET_EVALUATIONS of the
# examples the run trains on (on CPU a forward pass of an example costs about 1/20 of a
# training example, so together they cost about 5% of training), but never fewer than
# WATCH_MIN_EXAMPLES.
WATCH_MAX_EXAMPLES = 512
WATCH_MIN_EXAMPLES = 64


class Due(enum.Enum):
    SELECT = "select"  # a full evaluation that selects the best checkpoint and counts for patience
    WATCH = "watch"  # an evaluation for the curves only, on a fixed subsample


@dataclass(frozen=True)
class EvaluationSchedule:
    """Which optimiser steps are followed by a validation pass, besides the epoch ends and
    the last step (which always are: see `training_loop.EncoderLoop`).

    `train.eval_every_steps` set: a selecting evaluation every that many steps, as before.
    Unset: a few evaluations for the curves, evenly spaced inside each epoch (`watch_at`:
    positions in the epoch), as many as make the run's total about `TARGET_EVALUATIONS`.
    A run cut short by max_steps counts its steps as one epoch.
    """

    total_steps: int
    period: int  # steps per epoch, or the whole run if it ends within its first epoch
    every: int | None = None
    watch_at: frozenset[int] = frozenset()

    @classmethod
    def for_run(cls, eval_every_steps: int | None, total_steps: int, steps_per_epoch: int) -> EvaluationSchedule:
        period = max(1, min(steps_per_epoch, total_steps))
        if eval_every_steps:
            return cls(total_steps, period, every=eval_every_steps)
        epochs = math.ceil(total_steps / period)
        per_epoch = max(0, math.floor((TARGET_EVALUATIONS - epochs) / epochs + 0.5))
        if epochs * (per_epoch + 1) > TARGET_EVALUATIONS + 1:
            per_epoch = max(0, per_epoch - 1)
        positions = {round(j * period / (per_epoch + 1)) for j in range(1, per_epoch + 1)}
        return cls(total_steps, period, watch_at=frozenset(positions - {0, period}))

    def due(self, step: int) -> Due | None:
        """What evaluation runs after optimiser step `step` (None: none but an epoch end's)."""
        if step >= self.total_steps:
            return None  # the last step is evaluated at the end of the stage
        if self.every:
            return Due.SELECT if step % self.every == 0 else None
        return Due.WATCH if step % self.period in self.watch_at else None


def watch_rows(labels: Sequence[int], num_labels: int, trained_examples: int, seed: int) -> list[int]:
    """The fixed rows of the validation split that evaluations between epoch ends use (all of
    a small split; a stratified subsample of a large one, the same rows every time)."""
    size = max(WATCH_MIN_EXAMPLES, min(WATCH_MAX_EXAMPLES, trained_examples // TARGET_EVALUATIONS))
    return sorted(stratified_indices(labels, num_labels, size, seed, "watch"))


# --- one evaluation pass -----------------------------------------------------------------------
@contextlib.contextmanager
def evaluation_memory_guard(batch_size: int) -> Iterator[None]:
    try:
        yield
    except torch.OutOfMemoryError:
        raise TrainingFault(
            f"out of memory while evaluating at batch size {batch_size}; lower train.eval_batch_size"
        ) from None


@dataclass
class Predictions:
    """What one pass over a split computes: the classifier's logits, the pooled normalised
    embeddings, and (LCL) the weighting network's logits."""

    logits: torch.Tensor
    features: torch.Tensor
    weight_logits: torch.Tensor | None = None


class Evaluator:
    """Runs a model over a split in batches of `batch_size`, without gradients."""

    def __init__(self, placement: Placement, label_names: list[str], batch_size: int,
                 parallel: SingleProcess = SINGLE_PROCESS):
        self.placement = placement
        self.label_names = label_names
        self.batch_size = batch_size
        # In a data-parallel run each rank predicts its share of the batches; `combine` sums them.
        self.parallel = parallel

    @torch.no_grad()
    def predictions(self, model: torch.nn.Module, data: EncodedTexts) -> Predictions:
        """One pass: logits, embeddings, and the weighting network's logits where there is one."""
        model.eval()
        with_weights = getattr(model, "weighting_head", None) is not None
        count, classes = len(data), len(self.label_names)
        logits = torch.zeros((count, classes))
        weight_logits = torch.zeros((count, classes)) if with_weights else None
        features: torch.Tensor | None = None
        for indices in self.parallel.share(sequential_batches(data, self.batch_size)):
            with evaluation_memory_guard(len(indices)):
                batch = self.placement.to_device(collate(data, indices))
                with self.placement.autocast():
                    output = model(batch, with_weights=with_weights)
                logits[indices] = output.logits.float().cpu()
                if features is None:
                    features = torch.zeros((count, output.features.shape[-1]))
                features[indices] = output.features.float().cpu()
                if weight_logits is not None and output.weight_logits is not None:
                    weight_logits[indices] = output.weight_logits.float().cpu()
        model.train()
        if features is None:  # no rows here (an empty split, or no batch for this rank)
            features = torch.zeros((count, model.backbone.hidden_size)) if count else torch.zeros((0, 0))
        # In a data-parallel run each rank filled its share: the sums are the whole split.
        combine = self.parallel.combine
        return Predictions(combine(logits), combine(features),
                           combine(weight_logits) if weight_logits is not None else None)

    def logits(self, model: torch.nn.Module, data: EncodedTexts) -> torch.Tensor:
        return self.predictions(model, data).logits

    @torch.no_grad()
    def features(self, model: torch.nn.Module, data: EncodedTexts) -> torch.Tensor:
        """The pooled encoder vectors (scl-two-stage trains its classifier on them, frozen)."""
        model.eval()
        features = torch.zeros((len(data), model.backbone.hidden_size))
        for indices in sequential_batches(data, self.batch_size):
            with evaluation_memory_guard(len(indices)):
                batch = self.placement.to_device(collate(data, indices))
                with self.placement.autocast():
                    pooled = model.backbone(batch)
                features[indices] = pooled.float().cpu()
        return features

    def metrics(self, predictions: Predictions, labels: list[int], split: str, epoch: float,
                step: int) -> EvalEvent:
        logits = predictions.logits
        target = torch.tensor(labels, dtype=torch.long)
        loss = float(torch.nn.functional.cross_entropy(logits, target)) if len(labels) else 0.0
        guesses = logits.argmax(dim=-1).tolist()
        classes = len(self.label_names)
        confusion = confusion_matrix(labels, guesses, classes)
        per_class = per_class_metrics(confusion, self.label_names)
        event = EvalEvent(
            step=step, epoch=epoch, split=split, accuracy=accuracy(confusion),
            macro_f1=macro_f1(confusion, per_class), loss=loss, per_class=per_class,
            confusion=confusion, label_names=list(self.label_names), examples=len(labels),
        )
        if len(labels):
            source = predictions.weight_logits
            event.affinity_source = "weighting" if source is not None else "classifier"
            event.affinity = class_affinity(source if source is not None else logits, target, classes)
            event.centroid_similarity = centroid_similarity(predictions.features, target, classes)
            event.projection = projection(predictions.features, target)
        return event

    def evaluate(self, model: torch.nn.Module, data: EncodedTexts, split: str, epoch: float,
                 step: int, selects: bool = True) -> EvalEvent:
        began = time.perf_counter()
        event = self.metrics(self.predictions(model, data), data.labels, split, epoch, step)
        event.selects = selects
        event.seconds = round(time.perf_counter() - began, 3)
        return event


@dataclass
class Selection:
    """The model is selected on validation accuracy; `patience` evaluations without a better
    one end training early."""

    best_accuracy: float = -1.0
    best_step: int | None = None
    best_event: EvalEvent | None = None
    evals_without_improvement: int = 0
    last_eval_step: int | None = None

    @classmethod
    def resumed(cls, position: LoopPosition | None) -> Selection:
        if position is None:
            return cls()
        return cls(best_accuracy=position.best_accuracy, best_step=position.best_step,
                   evals_without_improvement=position.evals_without_improvement)

    def record(self, event: EvalEvent) -> bool:
        """Mark `event` best if it beats every earlier one; True when it does."""
        self.last_eval_step = event.step
        event.is_best = event.accuracy > self.best_accuracy
        if event.is_best:
            self.best_accuracy, self.best_step, self.best_event = event.accuracy, event.step, event
            self.evals_without_improvement = 0
        else:
            self.evals_without_improvement += 1
        return event.is_best

    def patience_exhausted(self, patience: int | None) -> bool:
        return patience is not None and self.evals_without_improvement >= patience
