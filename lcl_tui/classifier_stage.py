"""scl-two-stage's second stage: the encoder frozen, a classifier trained with CE on its
features ("feature extraction"). The features are computed once; an epoch takes seconds."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import torch

from lcl_tui.events import StepEvent
from lcl_tui.optimization import linear_schedule, make_optimizer

if TYPE_CHECKING:
    from lcl_tui.training import Trainer


class ClassifierStage:
    def __init__(self, trainer: Trainer):
        self.trainer = trainer
        self.train = trainer.config.train

    def run(self) -> None:
        trainer, train = self.trainer, self.train
        for parameter in trainer.model.backbone.parameters():
            parameter.requires_grad_(False)
        trainer.stage, trainer.optimization = "classifier", None
        features = trainer.evaluator.features(trainer.model, trainer.train_data).to(trainer.placement.device)
        labels = torch.tensor(trainer.train_data.labels, device=trainer.placement.device)
        head = trainer.model.classifier
        optimizer = make_optimizer(head, trainer.config.optim.stage2_lr, trainer.config.optim.weight_decay)
        stage_steps = train.stage2_epochs * math.ceil(len(labels) / train.batch_size)
        trainer.total_steps = trainer.step + stage_steps
        scheduler = linear_schedule(optimizer, 0, stage_steps)
        generator = torch.Generator().manual_seed(train.seed)
        # Stage 2 selects its own best: the contrastive stage's checkpoints have no classifier.
        trainer.selection.best_accuracy, trainer.selection.best_step = -1.0, None
        for epoch in range(train.stage2_epochs):
            head.train()
            order = torch.randperm(len(labels), generator=generator)
            for start in range(0, len(order), train.batch_size):
                if trainer.stop.is_set():
                    return
                began = time.perf_counter()
                index = order[start:start + train.batch_size].to(trainer.placement.device)
                logits = head(features[index]).float()
                loss = torch.nn.functional.cross_entropy(logits, labels[index])
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                lr = scheduler.get_last_lr()[0]
                scheduler.step()
                correct = (logits.detach().argmax(dim=-1) == labels[index]).sum()
                loss_value, correct_count = torch.stack([loss.detach(), correct.float()]).tolist()
                self.publish_step(loss_value, correct_count / len(index), lr, epoch + start / len(order),
                                  len(index) / max(time.perf_counter() - began, 1e-9))
            trainer.evaluate_and_checkpoint(float(epoch + 1))

    def publish_step(self, loss: float, accuracy: float, lr: float, epoch: float, rate: float) -> None:
        trainer = self.trainer
        trainer.step += 1
        trainer.parallel.agree_stop(trainer.stop)  # every rank stops after the same step
        trainer.publish(StepEvent(
            step=trainer.step, total_steps=trainer.total_steps, epoch=epoch, loss=loss,
            components={"ce": loss}, lr=lr, examples_per_second=rate,
            elapsed_seconds=time.time() - trainer.started_at, stage="classifier", accuracy=accuracy,
        ))
