"""Evaluation: a model's predictions on a split as an `EvalEvent`, and model selection on
the validation accuracy (the best so far, and how long since it improved)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from lcl_tui.batching import EncodedTexts, collate, sequential_batches
from lcl_tui.devices import Placement
from lcl_tui.distributed import SINGLE_PROCESS, SingleProcess
from lcl_tui.errors import TrainingFault
from lcl_tui.events import EvalEvent
from lcl_tui.metrics import accuracy, confusion_matrix, macro_f1, per_class_metrics
from lcl_tui.training_state import LoopPosition


@contextlib.contextmanager
def evaluation_memory_guard(batch_size: int) -> Iterator[None]:
    try:
        yield
    except torch.OutOfMemoryError:
        raise TrainingFault(
            f"out of memory while evaluating at batch size {batch_size}; lower train.eval_batch_size"
        ) from None


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
    def logits(self, model: torch.nn.Module, data: EncodedTexts) -> torch.Tensor:
        model.eval()
        logits = torch.zeros((len(data), len(self.label_names)))
        for indices in self.parallel.share(sequential_batches(data, self.batch_size)):
            with evaluation_memory_guard(len(indices)):
                batch = self.placement.to_device(collate(data, indices))
                with self.placement.autocast():
                    output = model(batch, with_weights=False)
                logits[indices] = output.logits.float().cpu()
        model.train()
        return self.parallel.combine(logits)

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

    def metrics(self, logits: torch.Tensor, labels: list[int], split: str, epoch: float,
                step: int) -> EvalEvent:
        target = torch.tensor(labels, dtype=torch.long)
        loss = float(torch.nn.functional.cross_entropy(logits, target)) if len(labels) else 0.0
        predictions = logits.argmax(dim=-1).tolist()
        confusion = confusion_matrix(labels, predictions, len(self.label_names))
        per_class = per_class_metrics(confusion, self.label_names)
        return EvalEvent(
            step=step, epoch=epoch, split=split, accuracy=accuracy(confusion),
            macro_f1=macro_f1(confusion, per_class), loss=loss, per_class=per_class,
            confusion=confusion, label_names=list(self.label_names),
        )

    def evaluate(self, model: torch.nn.Module, data: EncodedTexts, split: str, epoch: float,
                 step: int) -> EvalEvent:
        return self.metrics(self.logits(model, data), data.labels, split, epoch, step)


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
