"""Training throughput of our engine against a plain Hugging Face `Trainer`, on the packaged
MiniLM-L6, in one sitting.

    .venv/bin/python benchmarks/bench_training.py [--steps 60] [--rows 3000] [--tasks trec-50,movie-snippets-5]

Same training rows (the first `--rows` of each task's training split), batch 32, lr 1e-4 and
max length (the task's preset: 64 for movie-snippets-5, 48 for trec-50) on both sides.
Examples/s are counted from the end of step 3 to the end of the last step, so model
loading, tokenisation and evaluation stay out. Every figure is a ratio against the
`Trainer` at its best (dynamic padding with `group_by_length`), measured minutes apart.
Each figure is measured in a fresh process: our engine tunes process-wide settings (glibc's
malloc, lcl_tui/allocator.py) that a `Trainer` measured after it in the same process would
inherit. The two figures the headline ratio compares, the `Trainer` at its best and our
`ce`, are measured `--repeats` times, alternating, and their medians kept. Run it alone:
two torch processes on the same cores slow each other badly.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SKIPPED_STEPS = 3
BATCH = 32
LR = 1e-4
MAX_LENGTH = {"movie-snippets-5": 64, "trec-50": 48}


@dataclass
class Figure:
    label: str
    examples_per_second: float
    padded_tokens_per_example: float | None = None


def rate(step_ends: list[float]) -> float:
    """Examples/s from the end of step SKIPPED_STEPS to the end of the last step."""
    timed = step_ends[SKIPPED_STEPS - 1:]
    return BATCH * (len(timed) - 1) / (timed[-1] - timed[0])


def ours(task: str, rows: int, steps: int, runs_dir: str, *, objective: str = "ce",
         weighting: str = "shared", sampler: str = "length-grouped", precision: str = "no",
         buckets: str = "auto", on_step_end: Callable[[], None] | None = None) -> Figure:
    from lcl_tui.config import RunConfig, apply_overrides
    from lcl_tui.events import StepEvent
    from lcl_tui.training import train

    config = apply_overrides(RunConfig(), {
        "name": "bench", "data.dataset": task, "data.max_train_examples": rows,
        "data.max_eval_examples": 32, "data.max_test_examples": 32,
        "data.max_length": MAX_LENGTH[task], "model.pooling": "mean", "model.weighting": weighting,
        "loss.objective": objective, "optim.lr": LR, "optim.head_lr": 2e-3,
        "train.batch_size": BATCH, "train.max_steps": steps, "train.sampler": sampler,
        "train.mixed_precision": precision, "train.length_buckets": buckets, "train.device": "cpu",
        "output.runs_dir": runs_dir, "output.save_checkpoints": False,
        # Validation only after the last step, outside the timed window: the Trainer side
        # evaluates nothing, and the default schedule would add ~9 passes inside it.
        "train.eval_every_steps": steps + 1,
    })
    ends: list[float] = []

    def step_ended(event) -> None:
        if isinstance(event, StepEvent):
            ends.append(time.perf_counter())
            if on_step_end:
                on_step_end()

    train(config, subscribers=[step_ended])
    return Figure("", rate(ends))


def hf_trainer(task: str, rows: int, steps: int, output_dir: str, *, padding: str,
               group_by_length: bool, bf16: bool = False,
               on_step_end: Callable[[], None] | None = None) -> Figure:
    """A plain `Trainer`: `padding="max_length"` pads to 128 as run_classification.py does;
    `"longest"` pads each batch to its longest (DataCollatorWithPadding). `on_step_end`
    runs after each step (profile_step.py starts and stops its profiler there)."""
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

    splits = load_splits(DataConfig(dataset=task, max_train_examples=rows))
    path = resolve_model_path("packaged:all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=splits.num_labels)
    max_length = 128 if padding == "max_length" else MAX_LENGTH[task]
    dataset = Dataset.from_dict({"text": splits.train.texts, "label": splits.train.labels}).map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=max_length,
                                padding="max_length" if padding == "max_length" else False),
        batched=True, remove_columns=["text"])
    tokens: list[int] = []

    class StepClock(TrainerCallback):
        ends: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):
            StepClock.ends.append(time.perf_counter())
            if on_step_end:
                on_step_end()

    def collate(features):
        batch = DataCollatorWithPadding(tokenizer)(features)
        tokens.append(int(batch["input_ids"].numel()))
        return batch

    arguments = TrainingArguments(
        output_dir=output_dir, per_device_train_batch_size=BATCH, learning_rate=LR, max_steps=steps,
        logging_strategy="no", save_strategy="no", report_to=[], use_cpu=True, bf16=bf16,
        dataloader_num_workers=0, disable_tqdm=True,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
    )
    StepClock.ends = []
    Trainer(model=model, args=arguments, train_dataset=dataset, data_collator=collate,
            callbacks=[StepClock()]).train()
    return Figure("", rate(StepClock.ends), sum(tokens) / (BATCH * len(tokens)))


RUNS = {"ours": ours, "hf_trainer": hf_trainer}


def measure_in_child(run: str, **options) -> Figure:
    """One figure, measured in a fresh Python process (see the module docstring)."""
    request = json.dumps({"run": run, "options": options})
    done = subprocess.run([sys.executable, __file__, "--one", request], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{run} {options} failed:\n{done.stderr[-3000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return Figure("", answer["examples_per_second"], answer["padded_tokens_per_example"])


def measure_here(request: str) -> None:
    """The child's side of measure_in_child: run one figure, print it as the last line."""
    from lcl_tui.quiet import quiet_libraries

    quiet_libraries()
    asked = json.loads(request)
    with tempfile.TemporaryDirectory() as scratch:
        options = dict(asked["options"])
        options["runs_dir" if asked["run"] == "ours" else "output_dir"] = scratch
        figure = RUNS[asked["run"]](**options)
    print(json.dumps({"examples_per_second": figure.examples_per_second,
                      "padded_tokens_per_example": figure.padded_tokens_per_example}))


def bench_task(task: str, rows: int, steps: int, repeats: int) -> list[Figure]:
    def show(label: str, figure: Figure, note: str = "") -> Figure:
        figure.label = label
        padded = (f"  ({figure.padded_tokens_per_example:.0f} padded tokens/ex)"
                  if figure.padded_tokens_per_example else "")
        print(f"  {label:<58} {figure.examples_per_second:7.1f} examples/s{padded}{note}", flush=True)
        return figure

    def run(label: str, which: str, **options) -> Figure:
        return show(label, measure_in_child(which, task=task, rows=rows, steps=steps, **options))

    def median_of_alternating(pairs: list[tuple[str, str, dict]]) -> list[Figure]:
        """Each labelled run `repeats` times, taking turns; the median of each."""
        rates: dict[str, list[Figure]] = {label: [] for label, _, _ in pairs}
        for _ in range(repeats):
            for label, which, options in pairs:
                rates[label].append(measure_in_child(which, task=task, rows=rows, steps=steps, **options))
        figures = []
        for label, runs in rates.items():
            middle = statistics.median(f.examples_per_second for f in runs)
            spread = ", ".join(f"{f.examples_per_second:.1f}" for f in runs)
            note = f"  (median of {spread})" if repeats > 1 else ""
            figures.append(show(label, Figure("", middle, runs[0].padded_tokens_per_example), note))
        return figures

    print(f"{task}: {rows} rows, batch {BATCH}, lr {LR}, max length {MAX_LENGTH[task]}, {steps} steps")
    figures = [
        run("HF Trainer, padded to 128 (run_classification defaults)", "hf_trainer",
            padding="max_length", group_by_length=False),
        run("HF Trainer, dynamic padding", "hf_trainer", padding="longest", group_by_length=False),
        *median_of_alternating([
            ("HF Trainer, dynamic padding + group_by_length (its best)", "hf_trainer",
             dict(padding="longest", group_by_length=True)),
            ("lcl-tui ce, length-grouped, fp32", "ours", {}),
        ]),
        run("lcl-tui ce, class-aware, fp32", "ours", sampler="class-aware"),
        run("lcl-tui lcl shared, class-aware, fp32", "ours", objective="lcl", sampler="class-aware"),
        run("lcl-tui lcl shared, class-aware, no length buckets, fp32", "ours",
            objective="lcl", sampler="class-aware", buckets="off"),
        run("lcl-tui lcl separate, class-aware, fp32", "ours",
            objective="lcl", weighting="separate", sampler="class-aware"),
        run("lcl-tui scl, class-aware, fp32", "ours", objective="scl", sampler="class-aware"),
    ]
    if not bf16_is_native():
        # Emulated bf16 is several times slower than fp32 and nobody would choose it.
        print("  bf16 rows skipped: this CPU has no native bf16 instructions (avx512_bf16 / amx_bf16)")
        return figures
    return figures + [
        run("HF Trainer, its best + bf16", "hf_trainer", padding="longest", group_by_length=True, bf16=True),
        run("lcl-tui ce, length-grouped, bf16", "ours", precision="bf16"),
        run("lcl-tui lcl shared, class-aware, bf16", "ours", objective="lcl", sampler="class-aware",
            precision="bf16"),
    ]


def bf16_is_native() -> bool:
    from lcl_tui.devices import cpu_has_bf16_instructions

    return cpu_has_bf16_instructions()


def print_ratios(task: str, figures: list[Figure]) -> None:
    by = {f.label: f.examples_per_second for f in figures}
    best = by["HF Trainer, dynamic padding + group_by_length (its best)"]
    defaults = by["HF Trainer, padded to 128 (run_classification defaults)"]
    ce = by["lcl-tui ce, length-grouped, fp32"]
    ce_class_aware = by["lcl-tui ce, class-aware, fp32"]
    lines = [
        ("ce fp32 / Trainer at its best (target >= 1.1)", ce / best),
        ("ce fp32 / Trainer padded to 128 (target >= 5)", ce / defaults),
        ("lcl shared step time / ce step, both class-aware (target <= 1.15)",
         ce_class_aware / by["lcl-tui lcl shared, class-aware, fp32"]),
        ("lcl shared step time / ce length-grouped step", ce / by["lcl-tui lcl shared, class-aware, fp32"]),
        ("lcl separate step time / ce step, both class-aware (target <= 2.1)",
         ce_class_aware / by["lcl-tui lcl separate, class-aware, fp32"]),
        ("length buckets: lcl shared with / without",
         by["lcl-tui lcl shared, class-aware, fp32"] / by["lcl-tui lcl shared, class-aware, no length buckets, fp32"]),
    ]
    if "lcl-tui ce, length-grouped, bf16" in by:
        lines[1:1] = [
            ("ce bf16 / Trainer at its best", by["lcl-tui ce, length-grouped, bf16"] / best),
            ("ce bf16 / Trainer at its best + bf16",
             by["lcl-tui ce, length-grouped, bf16"] / by["HF Trainer, its best + bf16"]),
        ]
    print(f"{task} ratios:")
    for label, value in lines:
        print(f"  {label:<70} {value:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--tasks", default="movie-snippets-5,trec-50")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of the Trainer at its best and of our ce, alternating (median kept)")
    parser.add_argument("--one", metavar="JSON", help=argparse.SUPPRESS)  # a child's single figure
    args = parser.parse_args()
    if args.one:
        measure_here(args.one)
        return

    import torch

    print(f"training throughput, packaged MiniLM-L6, CPU, {torch.get_num_threads()} threads, "
          "each figure in a fresh process")
    results = {task: bench_task(task, args.rows, args.steps, args.repeats) for task in args.tasks.split(",")}
    for task, figures in results.items():
        print_ratios(task, figures)


if __name__ == "__main__":
    main()
