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

from bench_training import BATCH, MAX_LENGTH, SKIPPED_STEPS, hf_trainer, ours  # noqa: E402


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


def profile(run, steps: int, **options) -> StepWindow:
    """One of bench_training's runs (`ours` or `hf_trainer`), profiled over `steps` steps."""
    window = StepWindow(steps)
    run(steps=SKIPPED_STEPS + steps + 1, on_step_end=window.step_ended, **options)
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
        common = dict(task=args.task, rows=args.rows)
        # The Trainer first: our runs tune glibc's malloc for the rest of the process
        # (lcl_tui/allocator.py), which the Trainer must not inherit.
        windows = {
            "HF Trainer, dynamic padding + group_by_length": profile(
                hf_trainer, args.steps, **common, output_dir=scratch, padding="longest", group_by_length=True),
            "lcl-tui ce, length-grouped": profile(ours, args.steps, **common, runs_dir=scratch),
            "lcl-tui lcl shared, class-aware": profile(
                ours, args.steps, **common, runs_dir=scratch, objective="lcl", sampler="class-aware"),
        }
    print(f"{args.task}: batch {BATCH}, max length {MAX_LENGTH[args.task]}, {args.steps} profiled steps, fp32")
    for label, window in windows.items():
        report(label, window, args.top)


if __name__ == "__main__":
    main()
