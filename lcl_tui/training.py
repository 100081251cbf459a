"""The trainer: one run from config to tested best checkpoint, publishing events as it goes.

`train()` runs in the calling thread (a CLI process, a test, or an app's thread worker),
checks its stop signal every step, and never raises for a fault during training: it
publishes `RunFinished(status="failed", error=...)`, marks the run failed and returns.
Mistakes found before training starts (config, data, model) raise `UserError`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from lcl_tui.batching import EncodedTexts, collate, encode_texts, epoch_batches, sequential_batches
from lcl_tui.config import RunConfig
from lcl_tui.distributed import SINGLE_PROCESS, SingleProcess
from lcl_tui.errors import ConfigError, UserError
from lcl_tui.events import (
    CheckpointSaved,
    EvalEvent,
    Event,
    RunFinished,
    RunStarted,
    StepEvent,
)
from lcl_tui.metrics import accuracy, confusion_matrix, macro_f1, per_class_metrics
from lcl_tui.models import (
    TransformerBackbone,
    build_model,
    load_checkpoint,
    load_tokenizer,
    max_input_tokens,
    save_checkpoint,
)
from lcl_tui.objectives import objective_loss
from lcl_tui.runstore import Run, RunStore
from lcl_tui.stored_predictions import save_test_predictions
from lcl_tui.training_state import (
    LoopPosition,
    has_training_state,
    read_position,
    restore_training_state,
    save_training_state,
)

log = logging.getLogger(__name__)
Subscriber = Callable[[Event], None]


class TrainingFault(Exception):
    """A fault that ends a run with a clear message (NaN loss, out of memory)."""


@dataclass
class TrainResult:
    run: Run
    status: str
    test: EvalEvent | None = None
    error: str | None = None


def select_device(requested: str) -> torch.device:
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"train.device={requested} but CUDA is not available here; use train.device=auto or cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"train.device={requested} but MPS is not available here; use train.device=auto or cpu")
    return device


def autocast_dtype(device: torch.device, requested: str) -> torch.dtype | None:
    """The mixed-precision dtype, or None for full precision (the default on CPU)."""
    if requested == "no":
        return None
    if requested == "bf16":
        return torch.bfloat16
    if requested == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def no_decay(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith("bias") or "layernorm" in lowered or "layer_norm" in lowered or ".norm" in lowered


HEAD_PREFIXES = ("classifier.", "weighting_head.")


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float,
                   head_lr: float | None = None) -> torch.optim.AdamW:
    """AdamW with no weight decay on biases and LayerNorm weights.

    `head_lr` gives the freshly initialised heads their own rate: with a small encoder
    rate, a 50-class head otherwise barely moves in a few epochs.
    """
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        rate = head_lr if head_lr is not None and name.startswith(HEAD_PREFIXES) else lr
        decay = 0.0 if no_decay(name) else weight_decay
        groups.setdefault((rate, decay), []).append(parameter)
    return torch.optim.AdamW(
        [{"params": params, "lr": rate, "weight_decay": decay} for (rate, decay), params in groups.items()],
        lr=lr,
    )


def linear_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class Trainer:
    """One run. Build it with `Trainer(config, ...)`, then call `run()`."""

    def __init__(self, config: RunConfig, *, store: RunStore | None = None,
                 stop: threading.Event | None = None, subscribers: Sequence[Subscriber] = (),
                 run: Run | None = None, resume_from: Path | None = None,
                 parallel: SingleProcess = SINGLE_PROCESS):
        self.config = config
        # [ddp] one rank of a data-parallel run, or the single process (every hook a no-op).
        self.parallel = parallel
        # A checkpoint folder with training state: continue from it instead of starting fresh.
        self.resume_from = resume_from
        self.position: LoopPosition | None = read_position(resume_from) if resume_from else None
        self.store = store or RunStore(config.output.runs_dir)
        self.stop = stop or threading.Event()
        self.subscribers = list(subscribers)
        self.run_folder = parallel.run_view(run)  # [ddp] ranks other than 0 never write the run folder
        self.step = 0
        self.started_at = time.time()
        self.best_accuracy = -1.0
        self.best_step: int | None = None
        self.best_event: EvalEvent | None = None
        self.evals_without_improvement = 0
        if self.position is not None:
            self.step = self.position.step
            self.best_accuracy = self.position.best_accuracy
            self.best_step = self.position.best_step
            self.evals_without_improvement = self.position.evals_without_improvement
        # Set while an encoder stage runs, so checkpoints can carry the training state.
        self.optimizer = self.scheduler = self.scaler = None
        self.next_epoch, self.next_batch_start = 0, 0
        self.stage = "train"
        self.last_saved_step: int | None = None
        self.last_eval_step: int | None = None

    # --- events ------------------------------------------------------------------------------
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
        from lcl_tui.data import load_splits

        config = self.config
        set_seed(config.train.seed)
        self.device = select_device(config.train.device)
        self.amp_dtype = autocast_dtype(self.device, config.train.mixed_precision)
        if self.resume_from is not None:
            # The same split as before, never a fresh draw, and the checkpoint's weights.
            assert self.run_folder is not None
            self.splits = self.run_folder.load_split()
            self.label_names = list(self.splits.label_names)
            self.model, self.tokenizer, _ = load_checkpoint(self.resume_from, device=str(self.device))
            self.model.train()
        else:
            self.splits = load_splits(config.data)
            if len(self.splits.train) == 0:
                raise UserError("the training split is empty; use more data or a smaller data.test_fraction")
            self.label_names = list(self.splits.label_names)
            if config.model.architecture == "transformer":
                self.tokenizer = load_tokenizer(config.model.name, config.model.trust_remote_code)
            else:
                from lcl_tui.rnn import VocabularyTokenizer

                self.tokenizer = VocabularyTokenizer.build(self.splits.train.texts, config.model.vocab_size)
            self.model = build_model(
                config.model, len(self.label_names), config.loss.objective, self.tokenizer, self.label_names,
            )
            self.model.to(self.device)
            self.check_max_length()
        max_length = config.data.max_length
        self.train_data = encode_texts(self.tokenizer, self.splits.train.texts, self.splits.train.labels, max_length)
        self.validation_data = encode_texts(self.tokenizer, self.splits.validation.texts,
                                            self.splits.validation.labels, max_length)
        self.test_data = encode_texts(self.tokenizer, self.splits.test.texts, self.splits.test.labels, max_length)
        train = config.train
        batches_per_epoch = math.ceil(len(self.train_data) / train.batch_size)
        self.steps_per_epoch = max(1, math.ceil(batches_per_epoch / train.grad_accumulation))
        self.total_steps = train.max_steps or train.epochs * self.steps_per_epoch
        if self.run_folder is None:
            self.run_folder = self.store.create_run(config)
            self.run_folder.save_split(self.splits)
        else:
            self.run_folder.write_status("running")
            if not self.run_folder.split_path.is_file():
                self.run_folder.save_split(self.splits)

    def check_max_length(self) -> None:
        backbone = self.model.backbone
        if not isinstance(backbone, TransformerBackbone):
            return
        limit = max_input_tokens(backbone.encoder, self.tokenizer)
        wanted = self.config.data.max_length
        if limit is not None and wanted > limit:
            raise ConfigError(
                f"data.max_length={wanted} is more than model '{self.config.model.name}' takes "
                f"({limit} tokens); set data.max_length={limit} or less"
            )

    # --- the whole run -----------------------------------------------------------------------
    def run(self) -> TrainResult:
        self.prepare()
        run = self.run_folder
        assert run is not None
        self.publish(RunStarted(
            run_id=run.run_id, label_names=self.label_names, total_steps=self.total_steps,
            device=str(self.device), train_size=len(self.train_data),
            validation_size=len(self.validation_data), test_size=len(self.test_data),
            objective=self.config.loss.objective, time=self.started_at,
            resumed_from_step=self.position.step if self.position else None,
            world_size=self.parallel.world_size,  # [ddp]
        ))
        status, error, test = "completed", None, None
        try:
            if self.config.loss.objective == "scl-two-stage":
                if self.position is None or self.position.stage != "classifier":
                    self.fit_encoder(stage="contrastive")
                if not self.stop.is_set():
                    self.fit_classifier_on_frozen_features()
            else:
                self.fit_encoder(stage="train")
            if self.stop.is_set():
                status = "stopped"
            else:
                test = self.test_best()
        except TrainingFault as fault:
            status, error = "failed", str(fault)
        except UserError as fault:
            status, error = "failed", str(fault)
        except Exception as fault:  # noqa: BLE001 - reported in the run, never lost
            log.exception("training failed")
            status, error = "failed", f"{type(fault).__name__}: {fault}"
        self.finish(status, error, test)
        return TrainResult(run=run, status=status, test=test, error=error)

    def finish(self, status: str, error: str | None, test: EvalEvent | None) -> None:
        run = self.run_folder
        assert run is not None
        self.publish(RunFinished(
            status=status, step=self.step, elapsed_seconds=time.time() - self.started_at,
            best_step=self.best_step,
            best_validation_accuracy=self.best_accuracy if self.best_step is not None else None,
            test_accuracy=test.accuracy if test else None,
            test_macro_f1=test.macro_f1 if test else None, error=error,
        ))
        run.write_status(status, error=error)
        with contextlib.suppress(OSError):
            run.prune_checkpoints()

    # --- the training loop ---------------------------------------------------------------------
    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def fit_encoder(self, stage: str) -> None:
        config = self.config
        train, optim = config.train, config.optim
        optimizer = make_optimizer(self.model, optim.lr, optim.weight_decay, optim.head_lr)
        scheduler = linear_schedule(optimizer, int(optim.warmup_ratio * self.total_steps), self.total_steps)
        scaler = torch.amp.GradScaler(enabled=self.amp_dtype == torch.float16 and self.device.type == "cuda")
        self.optimizer, self.scheduler, self.scaler = optimizer, scheduler, scaler
        self.stage = stage
        epoch, first_batch = 0, 0
        if self.position is not None and self.resume_from is not None and has_training_state(self.resume_from):
            restore_training_state(self.resume_from, self.position, optimizer, scheduler, scaler)
            epoch, first_batch = self.position.epoch, self.position.batch_start
        train_model = self.parallel.wrap(self.model, stage)  # [ddp] DistributedDataParallel
        views = 2 if train.views == "dropout" else 1
        evaluate_here = stage != "contrastive"
        window_start, window_examples = time.perf_counter(), 0
        while self.step < self.total_steps and not self.stop.is_set():
            # Each epoch's order comes from (seed, epoch) alone, so a resumed run replays it.
            rng = random.Random(f"{train.seed}-{epoch}")
            batches = epoch_batches(self.train_data, train.batch_size, train.sampler,
                                    train.examples_per_class, rng)
            self.model.train()
            for start in range(first_batch, len(batches), train.grad_accumulation):
                if self.step >= self.total_steps or self.stop.is_set():
                    break
                group = batches[start:start + train.grad_accumulation]
                totals: dict[str, float] = {}
                total_loss = 0.0
                for indices in group:
                    shard = self.parallel.shard(indices, self.train_data.labels)  # [ddp] this rank's slice
                    batch = self.to_device(collate(self.train_data, shard.indices, views))
                    try:
                        with self.autocast():
                            output = train_model(batch, with_weights=config.loss.objective == "lcl")
                        # [ddp] every rank takes the loss of the whole global batch (see distributed.py)
                        output, labels = self.parallel.gather(output, batch["labels"], shard, views, stage)
                        loss, parts = objective_loss(output, labels, config.loss, stage)
                        scaler.scale(loss / len(group)).backward()
                    except torch.OutOfMemoryError:
                        raise TrainingFault(
                            f"out of memory at batch size {len(indices) * views} "
                            f"(max length {config.data.max_length}); lower train.batch_size "
                            "(raise train.grad_accumulation to keep the effective batch) or data.max_length"
                        ) from None
                    value = float(loss.detach())
                    if not math.isfinite(value):
                        raise TrainingFault(
                            f"the loss became {value} at step {self.step + 1}; lower optim.lr, raise "
                            "loss.temperature, or set train.mixed_precision=no"
                        )
                    total_loss += value / len(group)
                    for name, part in parts.items():
                        totals[name] = totals.get(name, 0.0) + float(part.detach()) / len(group)
                    window_examples += len(indices)
                scaler.unscale_(optimizer)
                norm = torch.nn.utils.clip_grad_norm_(
                    self.model.parameters(), optim.grad_clip if optim.grad_clip > 0 else float("inf")
                )
                # A finite loss can still have a NaN gradient; fp16's scaler skips such steps itself.
                if not scaler.is_enabled() and not math.isfinite(float(norm)):
                    raise TrainingFault(
                        f"the gradients became {float(norm)} at step {self.step + 1}; lower optim.lr, "
                        "set optim.grad_clip, or set train.mixed_precision=no"
                    )
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                lr = scheduler.get_last_lr()[0]
                scheduler.step()
                self.step += 1
                self.parallel.agree_stop(self.stop)  # [ddp] every rank stops after the same step
                self.next_epoch, self.next_batch_start = epoch, start + len(group)
                now = time.perf_counter()
                rate = window_examples / max(now - window_start, 1e-9)
                window_start, window_examples = now, 0
                self.publish(StepEvent(
                    step=self.step, total_steps=self.total_steps,
                    epoch=epoch + (start + len(group)) / len(batches), loss=total_loss,
                    components=totals, lr=lr, examples_per_second=rate,
                    elapsed_seconds=time.time() - self.started_at, stage=stage,
                ))
                every = train.eval_every_steps
                if evaluate_here and every and self.step % every == 0 and self.step < self.total_steps:
                    self.evaluate_and_checkpoint(epoch + (start + len(group)) / len(batches))
                    if self.patience_exhausted():
                        return
            else:
                epoch, first_batch = epoch + 1, 0
                self.next_epoch, self.next_batch_start = epoch, 0
                if self.stop.is_set():
                    break
                if evaluate_here:
                    self.evaluate_and_checkpoint(float(epoch))
                    if self.patience_exhausted():
                        return
                elif self.config.output.save_checkpoints:
                    self.save(best=False, metrics=None, stage=stage)
                continue
            break
        if self.stop.is_set():
            # Stopped mid-epoch: keep where we were, so `--resume` continues from here.
            if self.config.output.save_checkpoints and self.step > 0:
                self.save(best=False, metrics=None, stage=stage)
            return
        # Ended by max_steps mid-epoch: the last steps must be evaluated too.
        if evaluate_here and (self.best_step is None or self.last_eval_step != self.step):
            self.evaluate_and_checkpoint(float(self.next_epoch))

    def patience_exhausted(self) -> bool:
        patience = self.config.train.patience
        return patience is not None and self.evals_without_improvement >= patience

    # --- evaluation ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def evaluation_memory_guard(self, batch_size: int):
        try:
            yield
        except torch.OutOfMemoryError:
            raise TrainingFault(
                f"out of memory while evaluating at batch size {batch_size}; lower train.eval_batch_size"
            ) from None

    @torch.no_grad()
    def predict_logits(self, data: EncodedTexts) -> torch.Tensor:
        self.model.eval()
        logits = torch.zeros((len(data), len(self.label_names)))
        # [ddp] each rank runs its share of the batches; `combine` sums the shares below
        for indices in self.parallel.share(sequential_batches(data, self.config.train.eval_batch_size)):
            with self.evaluation_memory_guard(len(indices)):
                batch = self.to_device(collate(data, indices))
                with self.autocast():
                    output = self.model(batch, with_weights=False)
                logits[indices] = output.logits.float().cpu()
        self.model.train()
        return self.parallel.combine(logits)  # [ddp]

    def metrics_event(self, logits: torch.Tensor, labels: list[int], split: str, epoch: float) -> EvalEvent:
        target = torch.tensor(labels, dtype=torch.long)
        loss = float(torch.nn.functional.cross_entropy(logits, target)) if len(labels) else 0.0
        predictions = logits.argmax(dim=-1).tolist()
        confusion = confusion_matrix(labels, predictions, len(self.label_names))
        per_class = per_class_metrics(confusion, self.label_names)
        return EvalEvent(
            step=self.step, epoch=epoch, split=split, accuracy=accuracy(confusion),
            macro_f1=macro_f1(confusion, per_class), loss=loss, per_class=per_class,
            confusion=confusion, label_names=list(self.label_names),
        )

    def evaluate(self, split: str, epoch: float) -> EvalEvent:
        data = self.validation_data if split == "validation" else self.test_data
        return self.metrics_event(self.predict_logits(data), data.labels, split, epoch)

    def evaluate_and_checkpoint(self, epoch: float) -> None:
        # Without a validation split, select on the training data: the test split is never
        # used for selection.
        if len(self.validation_data) == 0:
            event = self.metrics_event(self.predict_logits(self.train_data), self.train_data.labels,
                                       "validation", epoch)
        else:
            event = self.evaluate("validation", epoch)
        self.last_eval_step = self.step
        improved = event.accuracy > self.best_accuracy
        event.is_best = improved
        self.publish(event)
        if improved:
            self.best_accuracy, self.best_step, self.best_event = event.accuracy, self.step, event
            self.evals_without_improvement = 0
            self.save(best=True, metrics=event)
        else:
            self.evals_without_improvement += 1
            if self.config.output.save_checkpoints:
                self.save(best=False, metrics=event)

    def save(self, best: bool, metrics: EvalEvent | None, stage: str | None = None) -> None:
        """Write the model (and, mid-training, the state to resume) as checkpoint step-N."""
        run = self.run_folder
        assert run is not None
        self.last_saved_step = self.step
        if not self.parallel.is_writer:  # [ddp] rank 0 saves; its model is every rank's model
            return
        final = run.checkpoint_dir(self.step)
        if final.exists():
            # Already saved at this step (this eval, or a killed process's complete folder).
            if best:
                run.set_pointer("best", final, step=self.step)
            run.set_pointer("last", final, step=self.step)
            return
        temporary = run.checkpoints_dir / f".tmp-{final.name}-{os.getpid()}"
        shutil.rmtree(temporary, ignore_errors=True)
        meta = {
            "format": 1,
            "step": self.step,
            "label_names": self.label_names,
            "model": asdict(self.config.model),
            "weighting": self.model.weighting,
            "objective": self.config.loss.objective,
            "max_length": self.config.data.max_length,
            "validation_accuracy": metrics.accuracy if metrics else None,
            "validation_macro_f1": metrics.macro_f1 if metrics else None,
        }
        save_checkpoint(self.model, self.tokenizer, temporary, meta)
        stage = stage or self.stage
        if self.optimizer is not None and stage != "classifier":
            position = LoopPosition(
                step=self.step, epoch=self.next_epoch, batch_start=self.next_batch_start, stage=stage,
                total_steps=self.total_steps, best_accuracy=self.best_accuracy, best_step=self.best_step,
                evals_without_improvement=self.evals_without_improvement,
            )
            save_training_state(temporary, position, self.optimizer, self.scheduler, self.scaler)
        elif stage == "classifier":
            # Stage 2 restarts from the frozen encoder on resume; it takes seconds.
            (temporary / "training_state.json").write_text(json.dumps(asdict(LoopPosition(
                step=self.step, epoch=0, batch_start=0, stage="classifier", total_steps=self.total_steps,
                best_accuracy=self.best_accuracy, best_step=self.best_step,
                evals_without_improvement=self.evals_without_improvement,
            ))), encoding="utf-8")
        # A directory rename is atomic: a checkpoint folder is complete or absent.
        os.replace(temporary, final)
        if best:
            run.set_pointer("best", final, step=self.step)
        run.set_pointer("last", final, step=self.step)
        run.prune_checkpoints()
        self.publish(CheckpointSaved(step=self.step, path=str(final), best=best))

    def test_best(self) -> EvalEvent | None:
        """Reload the best checkpoint from disk (proving it loads) and test it there."""
        run = self.run_folder
        assert run is not None
        if not self.parallel.is_writer:  # [ddp] rank 0 tests alone; the other ranks are done
            return None
        self.parallel = SINGLE_PROCESS  # [ddp] so no collective from here on
        folder = run.best_checkpoint
        if folder is None or len(self.test_data) == 0:
            return None
        model, _, _ = load_checkpoint(folder, device=str(self.device))
        self.model = model
        logits = self.predict_logits(self.test_data)
        event = self.metrics_event(logits, self.test_data.labels, "test",
                                   self.best_event.epoch if self.best_event else 0.0)
        save_test_predictions(run.path, self.splits.test.texts, self.test_data.labels,
                              logits.argmax(dim=-1).tolist(), self.label_names)
        event.step = self.best_step or self.step
        self.publish(event)
        return event

    # --- scl-two-stage: a classifier on frozen contrastive features ------------------------------
    @torch.no_grad()
    def frozen_features(self, data: EncodedTexts) -> torch.Tensor:
        self.model.eval()
        hidden = self.model.backbone.hidden_size
        features = torch.zeros((len(data), hidden))
        for indices in sequential_batches(data, self.config.train.eval_batch_size):
            with self.evaluation_memory_guard(len(indices)):
                batch = self.to_device(collate(data, indices))
                with self.autocast():
                    pooled = self.model.backbone(batch)
                features[indices] = pooled.float().cpu()
        return features

    def fit_classifier_on_frozen_features(self) -> None:
        config = self.config
        train = config.train
        for parameter in self.model.backbone.parameters():
            parameter.requires_grad_(False)
        self.stage, self.optimizer = "classifier", None
        train_features = self.frozen_features(self.train_data).to(self.device)
        train_labels = torch.tensor(self.train_data.labels, device=self.device)
        head = self.model.classifier
        optimizer = make_optimizer(head, config.optim.stage2_lr, config.optim.weight_decay)
        steps_per_epoch = math.ceil(len(train_labels) / train.batch_size)
        stage_steps = train.stage2_epochs * steps_per_epoch
        self.total_steps = self.step + stage_steps
        scheduler = linear_schedule(optimizer, 0, stage_steps)
        generator = torch.Generator().manual_seed(train.seed)
        self.best_accuracy, self.best_step = -1.0, None
        for epoch in range(train.stage2_epochs):
            head.train()
            order = torch.randperm(len(train_labels), generator=generator)
            for start in range(0, len(order), train.batch_size):
                if self.stop.is_set():
                    return
                began = time.perf_counter()
                index = order[start:start + train.batch_size].to(self.device)
                logits = head(train_features[index])
                loss = torch.nn.functional.cross_entropy(logits.float(), train_labels[index])
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                lr = scheduler.get_last_lr()[0]
                scheduler.step()
                self.step += 1
                self.parallel.agree_stop(self.stop)  # [ddp]
                value = float(loss.detach())
                self.publish(StepEvent(
                    step=self.step, total_steps=self.total_steps, epoch=epoch + start / len(order),
                    loss=value, components={"ce": value}, lr=lr,
                    examples_per_second=len(index) / max(time.perf_counter() - began, 1e-9),
                    elapsed_seconds=time.time() - self.started_at, stage="classifier",
                ))
            self.evaluate_and_checkpoint(float(epoch + 1))


def train(config: RunConfig, *, store: RunStore | None = None, stop: threading.Event | None = None,
          subscribers: Sequence[Subscriber] = (), run: Run | None = None,
          parallel: SingleProcess = SINGLE_PROCESS) -> TrainResult:
    """Train one run to the end (or to its stop signal). See the module docstring."""
    trainer = Trainer(config, store=store, stop=stop, subscribers=subscribers, run=run,
                      parallel=parallel)  # [ddp]
    try:
        return trainer.run()
    except UserError as error:
        # Found before training: the run folder (if made) must not read as running.
        if trainer.run_folder is not None:
            trainer.run_folder.write_status("failed", error=str(error))
        raise
