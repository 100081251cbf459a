"""Where a training step's time goes: torch.profiler over the same number of steps of our
engine and of a plain Hugging Face `Trainer` at its best, on the packaged MiniLM-L6.

    .venv/bin/python benchmarks/profile_step.py [--task trec-50] [--steps 10] [--top 12]

Both sides train on the same rows with batch 32, lr 1e-4 and the task's max length (the
settings of bench_training.py). The profiler runs from the end of step 3 for `--steps`
steps, so model loading and the first, slower steps stay out. Prints, for each side, the
top operators by self CPU time and the share of the step spent in the optimiser, the
forward and the backward. Run it alone: it is a timing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_training import BATCH, LR, MAX_LENGTH, SKIPPED_STEPS  # noqa: E402


class StepWindow:
    """Starts a profiler after SKIPPED_STEPS steps and stops it `steps` steps later."""

    def __init__(self, steps: int) -> None:
        import torch

        self.steps = steps
        self.seen = 0
        self.profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
        self.started = self.stopped = 0.0

    def step_ended(self) -> None:
        self.seen += 1
        if self.seen == SKIPPED_STEPS:
            self.profiler.start()
            self.started = time.perf_counter()
        elif self.seen == SKIPPED_STEPS + self.steps:
            self.stopped = time.perf_counter()
            self.profiler.stop()


def profile_ours(task: str, rows: int, steps: int, runs_dir: str, objective: str) -> StepWindow:
    from lcl_tui.config import RunConfig, apply_overrides
    from lcl_tui.events import StepEvent
    from lcl_tui.training import train

    window = StepWindow(steps)
    config = apply_overrides(RunConfig(), {
        "name": "profile", "data.dataset": task, "data.max_train_examples": rows,
        "data.max_eval_examples": 32, "data.max_test_examples": 32,
        "data.max_length": MAX_LENGTH[task], "model.pooling": "mean", "loss.objective": objective,
        "optim.lr": LR, "optim.head_lr": 2e-3, "train.batch_size": BATCH,
        "train.max_steps": SKIPPED_STEPS + steps + 1,
        "train.sampler": "length-grouped" if objective == "ce" else "class-aware",
        "train.mixed_precision": "no", "train.device": "cpu",
        "output.runs_dir": runs_dir, "output.save_checkpoints": False,
        "train.eval_every_steps": SKIPPED_STEPS + steps + 2,  # no validation inside the window
    })
    train(config, subscribers=[lambda e: isinstance(e, StepEvent) and window.step_ended()])
    return window


def profile_trainer(task: str, rows: int, steps: int, output_dir: str) -> StepWindow:
    from datasets import Dataset
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from lcl_tui.config import DataConfig
    from lcl_tui.data import load_splits
    from lcl_tui.models import resolve_model_path

    window = StepWindow(steps)
    splits = load_splits(DataConfig(dataset=task, max_train_examples=rows))
    path = resolve_model_path("packaged:all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=splits.num_labels)
    dataset = Dataset.from_dict({"text": splits.train.texts, "label": splits.train.labels}).map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=MAX_LENGTH[task]),
        batched=True, remove_columns=["text"])

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            window.step_ended()

    arguments = TrainingArguments(
        output_dir=output_dir, per_device_train_batch_size=BATCH, learning_rate=LR,
        max_steps=SKIPPED_STEPS + steps + 1, logging_strategy="no", save_strategy="no",
        report_to=[], use_cpu=True, dataloader_num_workers=0, disable_tqdm=True,
        train_sampling_strategy="group_by_length",
    )
    Trainer(model=model, args=arguments, train_dataset=dataset,
            data_collator=DataCollatorWithPadding(tokenizer), callbacks=[Clock()]).train()
    return window


def report(label: str, window: StepWindow, top: int) -> None:
    averages = window.profiler.key_averages()
    total_us = sum(event.self_cpu_time_total for event in averages)
    per_step_ms = total_us / 1000 / window.steps
    wall_ms = (window.stopped - window.started) * 1000 / window.steps
    print(f"\n{label}: {wall_ms:.0f} ms a step under the profiler, {per_step_ms:.0f} ms of it in operators")
    # Regions the optimiser and autograd open; their time includes the operators inside.
    regions = {"optimiser": "Optimizer.step", "backward": "autograd::engine::evaluate_function"}
    for name, prefix in regions.items():
        spent = sum(e.cpu_time_total for e in averages if e.key.startswith(prefix))
        print(f"  {name:<10} {spent / total_us:6.1%} of that")
    print(averages.table(sort_by="self_cpu_time_total", row_limit=top, max_name_column_width=48))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="trec-50", choices=sorted(MAX_LENGTH))
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    from lcl_tui.quiet import quiet_libraries

    quiet_libraries()
    with tempfile.TemporaryDirectory() as scratch:
        windows = {
            "HF Trainer, dynamic padding + group_by_length": profile_trainer(args.task, args.rows, args.steps, scratch),
            "lcl-tui ce, length-grouped": profile_ours(args.task, args.rows, args.steps, scratch, "ce"),
            "lcl-tui lcl shared, class-aware": profile_ours(args.task, args.rows, args.steps, scratch, "lcl"),
        }
    print(f"{args.task}: batch {BATCH}, max length {MAX_LENGTH[args.task]}, {args.steps} profiled steps, fp32")
    for label, window in windows.items():
        report(label, window, args.top)


if __name__ == "__main__":
    main()
