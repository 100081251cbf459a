"""The encoder loop: optimiser steps over epochs of batches, for one stage of a run (`train`,
or scl-two-stage's `contrastive`), until max steps, the stop signal or patience ends it.

It resumes mid-epoch: each epoch's batch order comes from (seed, epoch) alone, and the
trainer's `next_epoch`/`next_batch_start` say where the next step starts for a checkpoint.
"""

from __future__ import annotations

import enum
import math
import random
import time
from typing import TYPE_CHECKING

import torch

from lcl_tui.batching import collate, epoch_batches
from lcl_tui.errors import TrainingFault
from lcl_tui.events import StepEvent
from lcl_tui.objectives import objective_loss
from lcl_tui.optimization import Optimization
from lcl_tui.training_state import has_training_state, restore_training_state

if TYPE_CHECKING:
    from lcl_tui.training import Trainer


class EpochEnd(enum.Enum):
    COMPLETE = "complete"  # every batch of the epoch was trained on
    CUT = "cut"  # max steps reached or stop asked mid-epoch
    PATIENCE = "patience"  # an evaluation found no improvement for too long


class EncoderLoop:
    def __init__(self, trainer: Trainer, stage: str):
        self.trainer = trainer
        self.config = trainer.config
        self.stage = stage
        # The contrastive stage has no classifier to evaluate yet.
        self.evaluates = stage != "contrastive"
        self.views = 2 if self.config.train.views == "dropout" else 1
        self.optimization = Optimization.for_encoder(
            trainer.model, self.config.optim, trainer.total_steps, trainer.placement.scales_gradients)
        self.window_start, self.window_examples = time.perf_counter(), 0

    def run(self) -> None:
        trainer = self.trainer
        trainer.optimization, trainer.stage = self.optimization, self.stage
        epoch, first_batch = self.resume_point()
        self.window_start = time.perf_counter()
        while self.more_steps():
            ended = self.run_epoch(epoch, first_batch)
            if ended is EpochEnd.PATIENCE:
                return
            if ended is EpochEnd.CUT:
                break
            epoch, first_batch = epoch + 1, 0
            trainer.next_epoch, trainer.next_batch_start = epoch, 0
            if trainer.stop.is_set():
                break
            if self.end_epoch(epoch) is EpochEnd.PATIENCE:
                return
        self.end_stage()

    def more_steps(self) -> bool:
        return self.trainer.step < self.trainer.total_steps and not self.trainer.stop.is_set()

    def resume_point(self) -> tuple[int, int]:
        """(epoch, first batch) to start from: a resumed run's checkpoint, else the start."""
        trainer, o = self.trainer, self.optimization
        position, folder = trainer.position, trainer.resume_from
        if position is None or folder is None or not has_training_state(folder):
            return 0, 0
        restore_training_state(folder, position, o.optimizer, o.scheduler, o.scaler)
        return position.epoch, position.batch_start

    def run_epoch(self, epoch: int, first_batch: int) -> EpochEnd:
        trainer, train = self.trainer, self.config.train
        # Each epoch's order comes from (seed, epoch) alone, so a resumed run replays it.
        rng = random.Random(f"{train.seed}-{epoch}")
        batches = epoch_batches(trainer.train_data, train.batch_size, train.sampler,
                                train.examples_per_class, rng)
        trainer.model.train()
        for start in range(first_batch, len(batches), train.grad_accumulation):
            if not self.more_steps():
                return EpochEnd.CUT
            group = batches[start:start + train.grad_accumulation]
            done = start + len(group)
            self.take_step(group, epoch_fraction=epoch + done / len(batches))
            trainer.next_epoch, trainer.next_batch_start = epoch, done
            if self.evaluation_due():
                trainer.evaluate_and_checkpoint(epoch + done / len(batches))
                if trainer.patience_exhausted():
                    return EpochEnd.PATIENCE
        return EpochEnd.COMPLETE

    def evaluation_due(self) -> bool:
        every, step = self.config.train.eval_every_steps, self.trainer.step
        return bool(self.evaluates and every and step % every == 0 and step < self.trainer.total_steps)

    def end_epoch(self, epoch: int) -> EpochEnd:
        trainer = self.trainer
        if self.evaluates:
            trainer.evaluate_and_checkpoint(float(epoch))
            return EpochEnd.PATIENCE if trainer.patience_exhausted() else EpochEnd.COMPLETE
        if self.config.output.save_checkpoints:
            trainer.save(best=False, metrics=None)
        return EpochEnd.COMPLETE

    def end_stage(self) -> None:
        trainer = self.trainer
        if trainer.stop.is_set():
            # Stopped mid-epoch: keep where we were, so `--resume` continues from here.
            if self.config.output.save_checkpoints and trainer.step > 0:
                trainer.save(best=False, metrics=None)
            return
        # Ended by max_steps mid-epoch: the last steps must be evaluated too.
        selection = trainer.selection
        if self.evaluates and (selection.best_step is None or selection.last_eval_step != trainer.step):
            trainer.evaluate_and_checkpoint(float(trainer.next_epoch))

    # --- one optimiser step ----------------------------------------------------------------
    def take_step(self, group: list[list[int]], epoch_fraction: float) -> None:
        """Accumulate gradients over `group`'s batches, step, and publish a StepEvent."""
        trainer = self.trainer
        loss, components = self.accumulate(group)
        lr = self.optimizer_step()
        trainer.step += 1
        now = time.perf_counter()
        rate = self.window_examples / max(now - self.window_start, 1e-9)
        self.window_start, self.window_examples = now, 0
        trainer.publish(StepEvent(
            step=trainer.step, total_steps=trainer.total_steps, epoch=epoch_fraction, loss=loss,
            components=components, lr=lr, examples_per_second=rate,
            elapsed_seconds=time.time() - trainer.started_at, stage=self.stage,
        ))

    def accumulate(self, group: list[list[int]]) -> tuple[float, dict[str, float]]:
        """The group's mean loss and mean of each term, with their gradients accumulated."""
        total, components = 0.0, {}
        for indices in group:
            loss, parts = self.forward_backward(indices, len(group))
            total += loss / len(group)
            for name, part in parts.items():
                components[name] = components.get(name, 0.0) + float(part.detach()) / len(group)
            self.window_examples += len(indices)
        return total, components

    def forward_backward(self, indices: list[int], group_size: int) -> tuple[float, dict[str, torch.Tensor]]:
        trainer, config = self.trainer, self.config
        placement = trainer.placement
        batch = placement.to_device(collate(trainer.train_data, indices, self.views))
        try:
            with placement.autocast():
                output = trainer.model(batch, with_weights=config.loss.objective == "lcl")
            loss, parts = objective_loss(output, batch["labels"], config.loss, self.stage)
            self.optimization.scaler.scale(loss / group_size).backward()
        except torch.OutOfMemoryError:
            raise TrainingFault(
                f"out of memory at batch size {len(indices) * self.views} "
                f"(max length {config.data.max_length}); lower train.batch_size "
                "(raise train.grad_accumulation to keep the effective batch) or data.max_length"
            ) from None
        value = float(loss.detach())
        if not math.isfinite(value):
            raise TrainingFault(
                f"the loss became {value} at step {trainer.step + 1}; lower optim.lr, raise "
                "loss.temperature, or set train.mixed_precision=no"
            )
        return value, parts

    def optimizer_step(self) -> float:
        """Clip, step and schedule; returns the learning rate the step used."""
        optimizer, scheduler, scaler = (self.optimization.optimizer, self.optimization.scheduler,
                                        self.optimization.scaler)
        grad_clip = self.config.optim.grad_clip
        scaler.unscale_(optimizer)
        norm = torch.nn.utils.clip_grad_norm_(
            self.trainer.model.parameters(), grad_clip if grad_clip > 0 else float("inf"))
        # A finite loss can still have a NaN gradient; fp16's scaler skips such steps itself.
        if not scaler.is_enabled() and not math.isfinite(float(norm)):
            raise TrainingFault(
                f"the gradients became {float(norm)} at step {self.trainer.step + 1}; lower optim.lr, "
                "set optim.grad_clip, or set train.mixed_precision=no"
            )
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        lr = scheduler.get_last_lr()[0]
        scheduler.step()
        return lr
