"""Training throughput on the packaged MiniLM-L6, batch 32, in one run.

Prints examples/s (all timed steps after warm-up; 40 steps are most of a 1500-row epoch) for our objectives, with the
class-aware sampler as it was and grouped by length, and for a plain Hugging Face `Trainer` with run_classification.py-style defaults (padding to 128
tokens, random batches) on the same movie-snippets-5 training rows.

    .venv/bin/python benchmarks/bench_training.py [--steps 40] [--device auto]

Run it alone: two torch processes on the same cores slow each other badly.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WARMUP_STEPS = 2
TRAIN_ROWS = 1500


def our_throughput(objective: str, weighting: str, sampler: str, steps: int, device: str, runs_dir: str) -> float:
    from lcl_tui.config import RunConfig, apply_overrides
    from lcl_tui.events import StepEvent
    from lcl_tui.training import train

    config = apply_overrides(RunConfig(), {
        "name": f"bench-{objective}-{weighting}",
        "data.dataset": "movie-snippets-5",
        # A real epoch's worth of rows: length grouping needs a pool to group.
        "data.max_train_examples": max(TRAIN_ROWS, 32 * (steps + 1)),
        "data.max_eval_examples": 32,
        "data.max_length": 64,
        "model.weighting": weighting,
        "loss.objective": objective,
        "train.batch_size": 32,
        "train.max_steps": steps,
        "train.sampler": sampler,
        "train.device": device,
        "output.runs_dir": runs_dir,
        "output.save_checkpoints": False,
    })
    rates: list[float] = []
    train(config, subscribers=[lambda e: isinstance(e, StepEvent) and rates.append(e.examples_per_second)])
    # Examples over time for the timed steps (the harmonic mean of per-step rates): batches
    # differ in length, so one epoch's worth of steps is the fair unit, not a median step.
    return statistics.harmonic_mean(rates[WARMUP_STEPS:] or rates)


def hf_trainer_throughput(steps: int, device: str, output_dir: str) -> float:
    """A plain `Trainer` as run_classification.py sets it up: pad to 128, random batches."""
    from datasets import Dataset
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from lcl_tui.config import DataConfig
    from lcl_tui.data import load_splits
    from lcl_tui.models import resolve_model_path

    splits = load_splits(DataConfig(dataset="movie-snippets-5", max_train_examples=32 * (steps + 1)))
    path = resolve_model_path("packaged:all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=splits.num_labels)
    dataset = Dataset.from_dict({"text": splits.train.texts, "label": splits.train.labels})
    dataset = dataset.map(lambda rows: tokenizer(rows["text"], padding="max_length", max_length=128,
                                                 truncation=True), batched=True)

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times: list[float] = []

        def on_step_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter() - self.started)

    timer = StepTimer()
    arguments = TrainingArguments(
        output_dir=output_dir, per_device_train_batch_size=32, learning_rate=2e-5, max_steps=steps,
        logging_strategy="no", save_strategy="no", report_to=[], use_cpu=device == "cpu",
        dataloader_num_workers=0, disable_tqdm=True,
    )
    Trainer(model=model, args=arguments, train_dataset=dataset, callbacks=[timer]).train()
    timed = timer.times[WARMUP_STEPS:] or timer.times
    return 32 / statistics.median(timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    from lcl_tui.quiet import quiet_libraries

    quiet_libraries()
    import torch

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"training throughput, packaged MiniLM-L6, batch 32, {args.steps} steps, device {device}, "
          f"{torch.get_num_threads()} threads")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for label, objective, weighting, sampler in [
            ("ce", "ce", "shared", "length-grouped"),
            ("scl (joint)", "scl", "shared", "class-aware"),
            ("scl (joint)", "scl", "shared", "class-aware-grouped"),
            ("lcl (shared)", "lcl", "shared", "class-aware"),
            ("lcl (shared)", "lcl", "shared", "class-aware-grouped"),
            ("lcl (separate)", "lcl", "separate", "class-aware-grouped"),
        ]:
            rate = our_throughput(objective, weighting, sampler, args.steps, device, scratch)
            rows.append((f"lcl-tui {label}, {sampler}", rate))
            print(f"  {rows[-1][0]:<52} {rate:8.1f} examples/s", flush=True)
        rate = hf_trainer_throughput(args.steps, device, scratch)
        rows.append(("HF Trainer ce, pad to 128 (run_classification)", rate))
        print(f"  {rows[-1][0]:<52} {rate:8.1f} examples/s", flush=True)


if __name__ == "__main__":
    main()
