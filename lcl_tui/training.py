"""The trainer: one run from config to tested best checkpoint, publishing events as it goes.

`train()` runs in the calling thread (a CLI process, a test, or an app's thread worker),
checks its stop signal every step, and never raises for a fault during training: it
publishes `RunFinished(status=RunState.FAILED, error=...)`, marks the run failed and returns.
Mistakes found before training starts (config, data, model) raise `UserError`.

The work is split by job: `run_inputs` (data and model), `training_loop` (the encoder's optimiser steps), `classifier_stage`
(scl-two-stage's second stage), `evaluation` (metrics and model selection) and
`checkpointing` (checkpoint folders and their pointers). The `Trainer` holds what they
share and runs them in order.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lcl_tui.allocator import keep_freed_memory
from lcl_tui.batching import epoch_batches
from lcl_tui.checkpointing import Checkpointer
from lcl_tui.classifier_stage import ClassifierStage
from lcl_tui.config import RunConfig
from lcl_tui.devices import Placement, set_seed
from lcl_tui.distributed import SINGLE_PROCESS, SingleProcess
from lcl_tui.errors import TrainingFault, UserError
from lcl_tui.evaluation import Evaluator, Selection, watch_rows
from lcl_tui.events import EvalEvent, Event, RunFinished, RunStarted
from lcl_tui.models import load_checkpoint
from lcl_tui.optimization import Optimization
from lcl_tui.resources import check_device, fit_to_resources
from lcl_tui.run_inputs import load_inputs
from lcl_tui.run_state import RunState
from lcl_tui.runstore import Run, RunStore
from lcl_tui.stored_predictions import save_test_predictions
from lcl_tui.training_loop import EncoderLoop, epoch_rng
from lcl_tui.training_state import LoopPosition, ResumePoint, read_position

log = logging.getLogger(__name__)
Subscriber = Callable[[Event], None]


@dataclass
class TrainResult:
    run: Run
    status: RunState
    test: EvalEvent | None = None
    error: str | None = None


class Trainer:
    """One run. Build it with `Trainer(config, ...)`, then call `run()`."""

    def __init__(self, config: RunConfig, *, store: RunStore | None = None,
                 stop: threading.Event | None = None, subscribers: Sequence[Subscriber] = (),
                 run: Run | None = None, resume_from: Path | None = None,
                 parallel: SingleProcess = SINGLE_PROCESS):
        self.config = config
        # One rank of a data-parallel run, or the single process (every hook a no-op).
        self.parallel = parallel
        # A checkpoint folder with training state: continue from it instead of starting fresh.
        self.resume_from = resume_from
        self.position: LoopPosition | None = read_position(resume_from) if resume_from else None
        self.store = store or RunStore(config.output.runs_dir)
        self.stop = stop or threading.Event()
        self.subscribers = list(subscribers)
        self.run_folder = parallel.run_view(run)  # ranks other than 0 never write the run folder
        self.step = self.position.step if self.position else 0
        # The run's own clock: a resumed run goes on from the time logged at its checkpoint's
        # step (its elapsed time and ETA would restart from zero otherwise).
        resumed_seconds = run.elapsed_at(self.step) if run is not None and self.position else 0.0
        self.started_at = time.time() - resumed_seconds
        self.selection = Selection.resumed(self.position)
        # Set while an encoder stage runs, so its checkpoints carry the state to resume.
        self.optimization: Optimization | None = None
        self.next_epoch, self.next_batch_start = 0, 0
        self.stage = "train"

    def publish(self, event: Event) -> None:
        if self.run_folder is not None:
            self.run_folder.append_event(event)
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:  # a broken display must never stop training
                log.exception("event subscriber failed")

    # --- set-up (raises UserError) -----------------------------------------------------------
    def prepare(self) -> None:
        config = self.config
        set_seed(config.train.seed)
        self.placement = Placement.from_config(config.train.device, config.train.mixed_precision)
        if self.placement.device.type == "cpu":
            keep_freed_memory()
        inputs = load_inputs(config, self.placement, self.resume_from, self.run_folder)
        self.splits, self.label_names = inputs.splits, inputs.label_names
        self.model, self.tokenizer = inputs.model, inputs.tokenizer
        self.train_data, self.validation_data, self.test_data = (
            inputs.train_data, inputs.validation_data, inputs.test_data)
        # Resources checked before they are spent (lcl_tui/resources.py): may clamp train.batch_size.
        self.config = config = fit_to_resources(
            config, model=self.model, device=self.placement.device, train_size=len(self.splits.train),
            eval_size=max(len(self.splits.validation) or len(self.splits.train), len(self.splits.test)),
            mixed_precision=self.placement.amp_dtype is not None)
        train = config.train
        # The sampler's own count: class-aware batches top up short chunks, so an epoch can
        # hold more batches than rows / batch size, and a budget of epochs must count them.
        batches_per_epoch = len(epoch_batches(self.train_data, train.batch_size, train.sampler,
                                              train.examples_per_class, epoch_rng(train.seed, 0)))
        self.steps_per_epoch = max(1, math.ceil(batches_per_epoch / train.grad_accumulation))
        self.total_steps = train.max_steps or train.epochs * self.steps_per_epoch
        self.evaluator = Evaluator(self.placement, self.label_names, train.eval_batch_size, self.parallel)
        self.watch_data = self.validation_data.subset(watch_rows(
            self.validation_data.labels, len(self.label_names),
            self.total_steps * train.batch_size * train.grad_accumulation, config.data.split_seed))
        self.open_run_folder()

    def open_run_folder(self) -> None:
        if self.run_folder is None:
            self.run_folder = self.store.create_run(self.config)
            self.run_folder.save_split(self.splits)
        else:
            self.run_folder.write_status(RunState.RUNNING)
            if not self.run_folder.split_path.is_file():
                self.run_folder.save_split(self.splits)
        self.checkpointer = Checkpointer(self.run_folder, self.config, self.label_names, self.publish)

    # --- the whole run -----------------------------------------------------------------------
    def run(self) -> TrainResult:
        self.prepare()
        run = self.run_folder
        assert run is not None
        self.publish(RunStarted(
            run_id=run.run_id, label_names=self.label_names, total_steps=self.total_steps,
            device=str(self.placement.device), train_size=len(self.train_data),
            validation_size=len(self.validation_data), test_size=len(self.test_data),
            objective=self.config.loss.objective, time=time.time(),
            resumed_from_step=self.position.step if self.position else None,
            world_size=self.parallel.world_size,
        ))
        status, error, test = RunState.COMPLETED, None, None
        try:
            self.run_stages()
            if self.stop.is_set():
                status = RunState.STOPPED
            else:
                test = self.test_best()
        except (TrainingFault, UserError) as fault:
            status, error = RunState.FAILED, str(fault)
        except Exception as fault:  # noqa: BLE001 - reported in the run, never lost
            log.exception("training failed")
            status, error = RunState.FAILED, f"{type(fault).__name__}: {fault}"
        self.finish(status, error, test)
        return TrainResult(run=run, status=status, test=test, error=error)

    def run_stages(self) -> None:
        if self.config.loss.objective != "scl-two-stage":
            EncoderLoop(self, "train").run()
            return
        if self.position is None or self.position.stage != "classifier":
            EncoderLoop(self, "contrastive").run()
        if not self.stop.is_set():
            ClassifierStage(self).run()

    def finish(self, status: RunState, error: str | None, test: EvalEvent | None) -> None:
        run = self.run_folder
        assert run is not None
        selection = self.selection
        self.publish(RunFinished(
            status=status, step=self.step, elapsed_seconds=time.time() - self.started_at,
            best_step=selection.best_step,
            best_validation_accuracy=selection.best_accuracy if selection.best_step is not None else None,
            test_accuracy=test.accuracy if test else None,
            test_macro_f1=test.macro_f1 if test else None, error=error,
        ))
        run.write_status(status, error=error)
        with contextlib.suppress(OSError):
            run.prune_checkpoints()

    # --- what the stages call ------------------------------------------------------------------
    def evaluate_and_checkpoint(self, epoch: float) -> None:
        # Without a validation split, select on the training data: the test split is never
        # used for selection.
        data = self.validation_data if len(self.validation_data) else self.train_data
        event = self.evaluator.evaluate(self.model, data, "validation", epoch, self.step)
        improved = self.selection.record(event)
        self.publish(event)
        if improved or self.config.output.save_checkpoints:
            self.save(best=improved, metrics=event)

    def watch(self, epoch: float) -> None:
        """An evaluation between epoch ends, for the curves only: on the fixed watch rows of
        the validation split; it neither selects the best checkpoint nor counts for patience."""
        if not len(self.watch_data):
            return
        self.publish(self.evaluator.evaluate(self.model, self.watch_data, "validation", epoch, self.step,
                                             selects=False))

    def patience_exhausted(self) -> bool:
        return self.selection.patience_exhausted(self.config.train.patience)

    def save(self, best: bool, metrics: EvalEvent | None) -> None:
        if not self.parallel.is_writer:  # rank 0 saves; its model is every rank's model
            return
        self.checkpointer.save(self.model, self.tokenizer, self.step, best=best, metrics=metrics,
                               resume=self.resume_point())

    def resume_point(self) -> ResumePoint | None:
        """Where a checkpoint saved now resumes from (None outside a stage: nothing to resume)."""
        if self.stage == "classifier":
            return ResumePoint(self.loop_position(epoch=0, batch_start=0))
        if self.optimization is None:
            return None
        return ResumePoint(self.loop_position(self.next_epoch, self.next_batch_start), self.optimization)

    def loop_position(self, epoch: int, batch_start: int) -> LoopPosition:
        selection = self.selection
        return LoopPosition(
            step=self.step, epoch=epoch, batch_start=batch_start, stage=self.stage,
            total_steps=self.total_steps, best_accuracy=selection.best_accuracy,
            best_step=selection.best_step, evals_without_improvement=selection.evals_without_improvement,
        )

    def test_best(self) -> EvalEvent | None:
        """Reload the best checkpoint from disk (proving it loads) and test it there."""
        run = self.run_folder
        assert run is not None
        if not self.parallel.is_writer:  # rank 0 tests alone; the other ranks are done
            return None
        # No collective from here on: the other ranks may have exited.
        self.parallel = self.evaluator.parallel = SINGLE_PROCESS
        folder = run.best_checkpoint
        if folder is None or len(self.test_data) == 0:
            return None
        self.model, _, _ = load_checkpoint(folder, device=str(self.placement.device))
        best = self.selection
        began = time.perf_counter()
        predictions = self.evaluator.predictions(self.model, self.test_data)
        event = self.evaluator.metrics(predictions, self.test_data.labels, "test",
                                       best.best_event.epoch if best.best_event else 0.0,
                                       best.best_step or self.step)
        event.seconds = round(time.perf_counter() - began, 3)
        save_test_predictions(run.path, self.splits.test.texts, self.test_data.labels,
                              predictions.logits.argmax(dim=-1).tolist(), self.label_names)
        self.publish(event)
        return event


def train(config: RunConfig, *, store: RunStore | None = None, stop: threading.Event | None = None,
          subscribers: Sequence[Subscriber] = (), run: Run | None = None,
          parallel: SingleProcess = SINGLE_PROCESS) -> TrainResult:
    """Train one run to the end (or to its stop signal). See the module docstring."""
    check_device(config.train.device)
    trainer = Trainer(config, store=store, stop=stop, subscribers=subscribers, run=run, parallel=parallel)
    try:
        return trainer.run()
    except UserError as error:
        # Found before training: the run folder (if made) must not read as running.
        if trainer.run_folder is not None:
            trainer.run_folder.write_status(RunState.FAILED, error=str(error))
        raise
    finally:
        if trainer.run_folder is not None and run is None:
            trainer.run_folder.release_writer()  # the lock its create_run took
