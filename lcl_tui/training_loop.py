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

from lcl_tui.batching import collate, epoch_batches, length_buckets
from lcl_tui.diagnosis import non_finite_message
from lcl_tui.errors import TrainingFault
from lcl_tui.evaluation import Due, EvaluationSchedule
from lcl_tui.events import StepEvent
from lcl_tui.objectives import objective_loss
from lcl_tui.optimization import Optimization
from lcl_tui.training_state import has_training_state, restore_training_state

if TYPE_CHECKING:
    from lcl_tui.training import Trainer


# An encoder call's fixed cost in padded tokens, for cutting a batch into length buckets:
# on 2 CPU cores and MiniLM-L6, 64 cut class-aware batches into about 3.5 buckets and gave
# the most examples/s (16 and 256 were 5-8% slower).
CPU_BUCKET_COST = 64
# Where padding is nearly free (a GPU that small batches leave idle), only `on` buckets.
DEVICE_BUCKET_COST = 1024


def epoch_rng(seed: int, epoch: int) -> random.Random:
    """Each epoch's order comes from (seed, epoch) alone, so a resumed run replays it."""
    return random.Random(f"{seed}-{epoch}")


def bucket_cost(setting: str, device: torch.device, amp_dtype: torch.dtype | None = None) -> int | None:
    """The cost per bucket for `length_buckets`, or None to pad each batch as one.

    `auto` buckets on CPU in full precision only. Under bf16 autocast on a CPU with bf16
    units an encoder call's fixed cost is far above 64 tokens: class-aware lcl batches ran
    1.20-1.23x faster padded as one than in buckets (MiniLM-L6, 2 Xeon cores with AMX;
    a cost of 1024 was as fast as none)."""
    if setting == "off":
        return None
    if setting == "auto" and (device.type != "cpu" or amp_dtype is not None):
        return None
    return CPU_BUCKET_COST if device.type == "cpu" else DEVICE_BUCKET_COST


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
        self.bucket_cost = bucket_cost(self.config.train.length_buckets, trainer.placement.device,
                                       trainer.placement.amp_dtype)
        self.schedule = EvaluationSchedule.for_run(self.config.train.eval_every_steps, trainer.total_steps,
                                                   trainer.steps_per_epoch)

    def run(self) -> None:
        trainer = self.trainer
        trainer.optimization, trainer.stage = self.optimization, self.stage
        epoch, first_batch = self.resume_point()
        # DistributedDataParallel in a data-parallel run; the model itself otherwise. The bare
        # model stays the optimiser's, the checkpoints' and evaluation's.
        self.train_model = trainer.parallel.wrap(trainer.model, self.stage)
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
        batches = epoch_batches(trainer.train_data, train.batch_size, train.sampler,
                                train.examples_per_class, epoch_rng(train.seed, epoch))
        trainer.model.train()
        for start in range(first_batch, len(batches), train.grad_accumulation):
            if not self.more_steps():
                return EpochEnd.CUT
            group = batches[start:start + train.grad_accumulation]
            done = start + len(group)
            self.take_step(group, epoch_fraction=epoch + done / len(batches))
            trainer.next_epoch, trainer.next_batch_start = epoch, done
            due = self.evaluation_due()
            if due is Due.WATCH:
                trainer.watch(epoch + done / len(batches))
            elif due is Due.SELECT:
                trainer.evaluate_and_checkpoint(epoch + done / len(batches))
                if trainer.patience_exhausted():
                    return EpochEnd.PATIENCE
        return EpochEnd.COMPLETE

    def evaluation_due(self) -> Due | None:
        """The evaluation this step is followed by, besides an epoch end's (EvaluationSchedule)."""
        return self.schedule.due(self.trainer.step) if self.evaluates else None

    def end_epoch(self, epoch: int) -> EpochEnd:
        trainer = self.trainer
        if self.evaluates:
            # An epoch that ended on an eval_every_steps step was evaluated already: once is enough.
            if trainer.selection.last_eval_step != trainer.step:
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
        figures = self.accumulate(group)
        norm = self.clip_gradients()
        # One read of every figure the step reports: on a GPU each read waits for the device.
        loss, components, accuracy, norm_value = figures.read(norm)
        self.check_finite(loss, norm_value)
        lr = self.optimizer_step()
        trainer.step += 1
        trainer.parallel.agree_stop(trainer.stop)  # every rank stops after the same step
        now = time.perf_counter()
        rate = self.window_examples / max(now - self.window_start, 1e-9)
        self.window_start, self.window_examples = now, 0
        trainer.publish(StepEvent(
            step=trainer.step, total_steps=trainer.total_steps, epoch=epoch_fraction, loss=loss,
            components=components, lr=lr, examples_per_second=rate,
            elapsed_seconds=time.time() - trainer.started_at, stage=self.stage,
            accuracy=accuracy if self.evaluates else None,
        ))

    def accumulate(self, group: list[list[int]]) -> StepFigures:
        """Forward and backward over the group's batches, gradients accumulated; the figures
        stay on the device until the step reads them."""
        figures = StepFigures()
        for indices in group:
            figures.add(*self.forward_backward(indices, len(group)), group_size=len(group))
            self.window_examples += len(indices)
        return figures

    def forward_backward(self, indices: list[int], group_size: int):
        trainer, config = self.trainer, self.config
        # In a data-parallel run this rank runs its slice of the batch, then every rank takes the
        # loss of the whole global batch (lcl_tui/distributed.py): negatives from every device.
        shard = trainer.parallel.shard(indices, trainer.train_data.labels)
        batch = self.batch_on_device(shard.indices)
        try:
            with trainer.placement.autocast():
                output = self.train_model(batch, with_weights=config.loss.objective == "lcl")
            output, labels = trainer.parallel.gather(output, _labels(batch), shard, self.views, self.stage)
            loss, parts = objective_loss(output, labels, config.loss, self.stage)
            self.optimization.scaler.scale(loss / group_size).backward()
        except torch.OutOfMemoryError:
            raise TrainingFault(
                f"out of memory at batch size {len(indices) * self.views} "
                f"(max length {config.data.max_length}); lower train.batch_size "
                "(raise train.grad_accumulation to keep the effective batch) or data.max_length"
            ) from None
        correct = (output.logits.detach().argmax(dim=-1) == labels).sum()
        return loss.detach(), {name: part.detach() for name, part in parts.items()}, correct, len(labels)

    def batch_on_device(self, indices: list[int]):
        """The batch, padded as one, or as length buckets each padded to its own longest."""
        trainer = self.trainer
        rows = list(indices) * self.views
        if self.bucket_cost is None:
            return trainer.placement.to_device(collate(trainer.train_data, rows))
        lengths = trainer.train_data.lengths_of(rows)
        buckets = length_buckets(lengths, self.bucket_cost)
        if len(buckets) == 1:
            return trainer.placement.to_device(collate(trainer.train_data, rows))
        return [trainer.placement.to_device(collate(trainer.train_data, [rows[p] for p in bucket]))
                for bucket in buckets]

    def clip_gradients(self) -> torch.Tensor:
        optimizer, scaler = self.optimization.optimizer, self.optimization.scaler
        grad_clip = self.config.optim.grad_clip
        scaler.unscale_(optimizer)
        return torch.nn.utils.clip_grad_norm_(
            self.trainer.model.parameters(), grad_clip if grad_clip > 0 else float("inf"))

    def check_finite(self, loss: float, norm: float) -> None:
        step = self.trainer.step + 1
        if not math.isfinite(loss):
            raise TrainingFault(non_finite_message("loss", loss, step, self.config, self.trainer.placement.amp_dtype))
        # A finite loss can still have a NaN gradient; fp16's scaler skips such steps itself.
        if not self.optimization.scaler.is_enabled() and not math.isfinite(norm):
            raise TrainingFault(non_finite_message("gradients", norm, step, self.config, self.trainer.placement.amp_dtype))

    def optimizer_step(self) -> float:
        """Step and schedule; returns the learning rate the step used."""
        optimizer, scheduler, scaler = (self.optimization.optimizer, self.optimization.scheduler,
                                        self.optimization.scaler)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        lr = scheduler.get_last_lr()[0]
        scheduler.step()
        return lr


def _labels(batch) -> torch.Tensor:
    if isinstance(batch, dict):
        return batch["labels"]
    return torch.cat([bucket["labels"] for bucket in batch])


class StepFigures:
    """A step's loss, its terms and its correct predictions, summed on the device over the
    accumulated batches and read back to the host once."""

    def __init__(self) -> None:
        self.loss: torch.Tensor | None = None
        self.parts: dict[str, torch.Tensor] = {}
        self.correct: torch.Tensor | None = None
        self.examples = 0

    def add(self, loss: torch.Tensor, parts: dict[str, torch.Tensor], correct: torch.Tensor,
            examples: int, group_size: int) -> None:
        share = loss.double() / group_size
        self.loss = share if self.loss is None else self.loss + share
        for name, part in parts.items():
            share = part.double() / group_size
            self.parts[name] = share if name not in self.parts else self.parts[name] + share
        self.correct = correct if self.correct is None else self.correct + correct
        self.examples += examples

    def read(self, norm: torch.Tensor) -> tuple[float, dict[str, float], float, float]:
        """(loss, terms, accuracy, gradient norm) as Python numbers, in one device sync."""
        assert self.loss is not None and self.correct is not None
        names = list(self.parts)
        values = torch.stack([self.loss, *(self.parts[name] for name in names),
                              self.correct.double(), norm.detach().double().to(self.loss.device)]).tolist()
        loss, terms, correct, norm_value = values[0], values[1:1 + len(names)], values[-2], values[-1]
        return loss, dict(zip(names, terms)), correct / max(1, self.examples), norm_value
