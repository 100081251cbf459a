"""Sweeps: a grid of settings x seeds, one run each in the run store, and a results table.

A sweep file is TOML:

    name = "sst5-grid"            # prefix of every run name (default: the file's stem)
    base = "quickstart"           # a preset name or a .toml file (relative to this file)
    seeds = [1, 2, 3]             # train.seed of each run (default: the base config's)
    baseline = "ce"               # compare every setting with this one (optional, see below)

    [config]                      # settings on top of the base, laid out as in a preset
    data.max_train_examples = 1500

    [grid]                        # every combination of these values
    loss.alpha = [0.1, 0.2, 0.7]
    loss.temperature = [0.07, 10]

    [[variants]]                  # named settings, each crossed with the grid (optional)
    label = "lcl-separate"
    loss.objective = "lcl"
    model.weighting = "separate"

Every (setting, seed) gets a deterministic run name, so running a sweep again skips
the runs that completed, resumes the ones that stopped or were interrupted from their last
checkpoint (a stopped sweep continues where it stopped), and redoes the ones that failed
or never reached a checkpoint.
The results (mean and std of test accuracy and macro-F1 per setting over seeds) go next
to the runs as `<name>-results.md` and `<name>-results.csv`. The grid itself (settings, run names) is
`lcl_tui.sweep_grid`.

A baseline (the `baseline` key, or `lcl-tui sweep --baseline`) adds, for every other
setting, its difference from the baseline with 95% intervals (significance.py). It is
named as the tables name settings: a setting's label (`lcl alpha=0.2`) or slug
(`lcl-alpha0.2`) makes that one setting every setting's baseline; part of a label, a
variant label and/or `key=value` words (`ce`, `alpha=0.5`, `scl alpha=0.5`), gives each
setting the baseline that differs from it only in what the words name: `baseline = "ce"`
in a grid over datasets compares each setting with CE on the same dataset.

Nothing here imports Textual: the CLI and the app share these functions.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lcl_tui.config import RunConfig
from lcl_tui.errors import ConfigError, UserError
from lcl_tui.run_state import RunState
from lcl_tui.runstore import Run, RunStore
from lcl_tui.significance import Comparison, RunScore
from lcl_tui.stored_predictions import load_test_predictions
from lcl_tui.sweep_baseline import (  # noqa: F401 - baselines is part of this module's API
    DIFFERENCE_COLUMNS,
    DIFFERENCE_CSV_COLUMNS,
    baseline_legend,
    baselines,
    compare_with_baselines,
    difference_csv,
    difference_cells,
    with_baseline,
)
from lcl_tui.sweep_file import (  # noqa: F401 - part of this module's API
    RESERVED_KEYS,
    SWEEP_KEYS,
    flatten,
    load_sweep,
    sweep_from_dict,
    sweep_path,
)
from lcl_tui.sweep_grid import Setting, Sweep, SweepPoint, expand_grid, format_value, settings
from lcl_tui.text import PLAIN_MISSING, mean_std



@dataclass
class PlannedRun:
    point: SweepPoint
    # "run"; "resume" (a stopped or interrupted run, from its last checkpoint); "redo" (replaces
    # a failed run, or one without a checkpoint); "skip" (completed, or training elsewhere)
    action: str
    reason: str
    existing: Run | None = None


@dataclass
class PlanSummary:
    """What a sweep will do, in numbers, for the line printed before it starts."""

    settings: int
    seeds: int
    runs: int
    done: int
    elsewhere: int
    new: int
    resume: int
    redo: int

    @property
    def to_train(self) -> int:
        return self.new + self.resume + self.redo

    @classmethod
    def of(cls, sweep: Sweep, plan: Sequence[PlannedRun]) -> PlanSummary:
        def count(action: str, reason: str | None = None) -> int:
            return sum(p.action == action and (reason is None or p.reason == reason) for p in plan)

        skipped = count("skip")
        done = count("skip", "completed")
        return cls(settings=len(settings(sweep)), seeds=len(sweep.seeds), runs=len(plan), done=done,
                   elsewhere=skipped - done, new=count("run"), resume=count("resume"), redo=count("redo"))

    def describe(self) -> str:
        """`3 settings x 2 seeds = 6 runs: 2 done, 4 to train (3 new, 1 to resume)`."""
        parts = [f"{n} {what}" for n, what in ((self.new, "new"), (self.resume, "to resume"),
                                                (self.redo, "to redo")) if n]
        detail = f" ({', '.join(parts)})" if parts else ""
        elsewhere = f", {self.elsewhere} training elsewhere" if self.elsewhere else ""
        return (f"{self.settings} setting(s) x {self.seeds} seed(s) = {self.runs} runs: {self.done} done"
                f"{elsewhere}, {self.to_train} to train{detail}")


@dataclass
class SweepProgress:
    """What `run_sweep` yields: one per skipped run, and a start and an end per trained run."""

    kind: str  # "skipped", "started", "finished"
    index: int  # 1-based position in the plan
    total: int
    point: SweepPoint
    status: str | None = None  # of the run: completed, failed, stopped, or why it was skipped
    test_accuracy: float | None = None
    test_macro_f1: float | None = None
    error: str | None = None
    seconds: float | None = None


@dataclass
class SettingResult:
    setting: Setting
    planned: int
    accuracies: list[float] = field(default_factory=list)
    macro_f1s: list[float] = field(default_factory=list)
    runs: list[RunScore] = field(default_factory=list)  # per completed run, to pair by seed
    baseline: Setting | None = None  # set when the sweep names a baseline (itself for one)
    comparison: Comparison | None = None  # against the baseline; None for the baseline itself

    @property
    def n(self) -> int:
        return len(self.accuracies)

    @property
    def accuracy_mean(self) -> float | None:
        return statistics.fmean(self.accuracies) if self.accuracies else None

    @property
    def accuracy_std(self) -> float | None:
        return _std(self.accuracies)

    @property
    def macro_f1_mean(self) -> float | None:
        return statistics.fmean(self.macro_f1s) if self.macro_f1s else None

    @property
    def macro_f1_std(self) -> float | None:
        return _std(self.macro_f1s)


def _std(values: list[float]) -> float | None:
    # Sample standard deviation over seeds; one seed has no spread to report.
    return statistics.stdev(values) if len(values) >= 2 else None


# --- planning and running ------------------------------------------------------------------------


def _comparable(config: RunConfig) -> dict[str, Any]:
    # The runs folder may be named differently (relative, moved); everything else must match.
    raw = config.to_dict()
    raw["output"] = {k: v for k, v in raw["output"].items() if k != "runs_dir"}
    return raw


def _first_difference(a: dict[str, Any], b: dict[str, Any]) -> str:
    flat_a, flat_b = flatten(a), flatten(b)
    for key in sorted(set(flat_a) | set(flat_b)):
        if flat_a.get(key) != flat_b.get(key):
            return key
    return "?"


def _resumable(run: Run) -> bool:
    """A last checkpoint with the state to continue from (the full check is resume's)."""
    checkpoint = run.last_checkpoint
    return checkpoint is not None and (checkpoint / "training_state.json").is_file()


def plan_sweep(sweep: Sweep, store: RunStore) -> list[PlannedRun]:
    """What running the sweep now would do with each point, given the runs already there."""
    plan = []
    for point in expand_grid(sweep, store.runs_dir):
        folder = store.runs_dir / point.run_name
        if not (folder / "config.toml").is_file():
            action = "redo" if folder.exists() else "run"
            plan.append(PlannedRun(point, action, "damaged folder" if folder.exists() else "new"))
            continue
        run = Run(folder)
        status = run.read_status().status
        if status == RunState.COMPLETED:
            try:
                saved = run.load_config()
            except UserError:
                plan.append(PlannedRun(point, "redo", "completed but its config is unreadable", run))
                continue
            if _comparable(saved) != _comparable(point.config):
                key = _first_difference(_comparable(saved), _comparable(point.config))
                raise ConfigError(
                    f"run {point.run_name} in {store.runs_dir} was made with other settings ({key} "
                    f"differs); give the sweep a new name or remove that run")
            plan.append(PlannedRun(point, "skip", RunState.COMPLETED, run))
        elif status == RunState.RUNNING:
            plan.append(PlannedRun(point, "skip", "running in another process", run))
        elif status in (RunState.STOPPED, RunState.INTERRUPTED) and _resumable(run) and _same_settings(run, point):
            plan.append(PlannedRun(point, "resume", status, run))
        else:
            plan.append(PlannedRun(point, "redo", status, run))
    return plan


def _same_settings(run: Run, point: SweepPoint) -> bool:
    try:
        return _comparable(run.load_config()) == _comparable(point.config)
    except UserError:
        return False


def make_room(planned: PlannedRun, store: RunStore) -> None:
    """Before training a planned run from scratch: its deterministic name must be free, so the
    earlier attempt gives way to the new one (a caller that cannot resume treats "resume" as
    "redo"). The old folder is locked first: one that another process writes now is left
    alone (RunBusyError)."""
    if planned.action in ("redo", "resume"):
        folder = store.runs_dir / planned.point.run_name
        if folder.is_dir():
            with Run(folder).writing():
                shutil.rmtree(folder, ignore_errors=True)


def run_sweep(sweep: Sweep, store: RunStore, subscribers: Sequence[Callable] = (),
              stop: threading.Event | None = None) -> Iterator[SweepProgress]:
    """Train every planned run in turn, yielding progress; the caller drives the iterator.

    A run that fails (or cannot start: a missing dataset) is reported and the sweep goes
    on. Setting `stop` ends the current run as stopped (with a checkpoint to resume from)
    and the sweep after it; running the sweep again continues it.
    """
    from lcl_tui.resume import resume_training
    from lcl_tui.run_lock import RunBusyError
    from lcl_tui.training import train

    stop = stop or threading.Event()
    plan = plan_sweep(sweep, store)
    total = len(plan)
    for index, planned in enumerate(plan, start=1):
        point = planned.point
        if stop.is_set():
            return
        if planned.action == "skip":
            yield SweepProgress("skipped", index, total, point, status=planned.reason)
            continue
        try:
            if planned.action != "resume":
                make_room(planned, store)
        except RunBusyError as error:
            yield SweepProgress("skipped", index, total, point, status=f"busy: {error}")
            continue
        yield SweepProgress("started", index, total, point, status=planned.action)
        began = time.monotonic()
        try:
            if planned.action == "resume":
                result = resume_training(str(store.runs_dir / point.run_name), store.runs_dir, stop=stop,
                                         subscribers=subscribers)
            else:
                result = train(point.config, store=store, stop=stop, subscribers=subscribers)
        except RunBusyError as error:  # another process took it up since the plan was made
            yield SweepProgress("finished", index, total, point, status="skipped", error=str(error),
                                seconds=time.monotonic() - began)
            continue
        except UserError as error:
            yield SweepProgress("finished", index, total, point, status=RunState.FAILED, error=str(error),
                                seconds=time.monotonic() - began)
            continue
        test = result.test
        yield SweepProgress(
            "finished", index, total, point, status=result.status, error=result.error,
            test_accuracy=test.accuracy if test else None, test_macro_f1=test.macro_f1 if test else None,
            seconds=time.monotonic() - began)


# --- results --------------------------------------------------------------------------------------


def collect_results(sweep: Sweep, store: RunStore) -> list[SettingResult]:
    """Per setting, the test metrics of its completed runs (a run's test at its best checkpoint)."""
    by_setting: dict[str, SettingResult] = {}
    for point in expand_grid(sweep, store.runs_dir):
        result = by_setting.setdefault(point.setting.slug, SettingResult(point.setting, planned=0))
        result.planned += 1
        run = Run(store.runs_dir / point.run_name)
        if not run.config_path.is_file() or run.read_status().status != RunState.COMPLETED:
            continue
        test = run.snapshot().test_eval
        if test is not None:
            result.accuracies.append(test.accuracy)
            result.macro_f1s.append(test.macro_f1)
            result.runs.append(RunScore(point.seed, test.accuracy, test.macro_f1,
                                        load_test_predictions(run.path)))
    results = list(by_setting.values())
    if sweep.baseline is not None:
        compare_with_baselines(sweep, results)
    return results


def results_table(results: Sequence[SettingResult]) -> str:
    """A Markdown table: test accuracy and macro-F1 (%, mean ± std over seeds) per setting,
    and the differences from the baseline when the sweep names one."""
    compared = any(result.baseline is not None for result in results)
    extra = DIFFERENCE_COLUMNS if compared else ()
    lines = ["| setting | n | test accuracy (%) | test macro-F1 (%) |" + "".join(f" {c} |" for c in extra),
             "|---|---|---|---|" + "---|" * len(extra)]
    for result in results:
        n = f"{result.n}/{result.planned}" if result.n != result.planned else str(result.n)
        cells = difference_cells(result) if compared else []
        lines.append(f"| {result.setting.label} | {n} | "
                     f"{mean_std(result.accuracy_mean, result.accuracy_std, PLAIN_MISSING)} | "
                     f"{mean_std(result.macro_f1_mean, result.macro_f1_std, PLAIN_MISSING)} |"
                     + "".join(f" {cell} |" for cell in cells))
    if compared:
        lines += ["", baseline_legend(results)]
    return "\n".join(lines) + "\n"


def results_csv(results: Sequence[SettingResult]) -> str:
    """The same numbers as fractions, one column per grid key, for plotting."""
    keys: list[str] = []
    for result in results:
        keys.extend(k for k in result.setting.values if k not in keys)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    compared = any(result.baseline is not None for result in results)
    writer.writerow(["setting", "variant", *keys, "n", "planned", "accuracy_mean", "accuracy_std",
                     "macro_f1_mean", "macro_f1_std", *(DIFFERENCE_CSV_COLUMNS if compared else ())])

    def number(value: float | None) -> str:
        return "" if value is None or not math.isfinite(value) else f"{value:.4f}"

    for result in results:
        values = [format_value(result.setting.values[k]) if k in result.setting.values else ""
                  for k in keys]
        writer.writerow([result.setting.label, result.setting.variant, *values, result.n, result.planned,
                         number(result.accuracy_mean), number(result.accuracy_std),
                         number(result.macro_f1_mean), number(result.macro_f1_std),
                         *(difference_csv(result, number) if compared else ())])
    return buffer.getvalue()


def results_paths(sweep: Sweep, store: RunStore) -> tuple[Path, Path]:
    return (store.runs_dir / f"{sweep.name}-results.md", store.runs_dir / f"{sweep.name}-results.csv")


def write_results(sweep: Sweep, store: RunStore,
                  results: Sequence[SettingResult] | None = None) -> tuple[str, Path, Path]:
    """Write the Markdown and CSV tables next to the runs; returns (markdown, md path, csv path).

    `results` saves reading every run folder again when the caller has just collected them.
    """
    from lcl_tui.atomic import atomic_write_text

    if results is None:
        results = collect_results(sweep, store)
    heading = f"# Sweep {sweep.name}\n\n" + (f"{sweep.description}\n\n" if sweep.description else "")
    seeds = ", ".join(str(s) for s in sweep.seeds)
    markdown = results_table(results)
    md_path, csv_path = results_paths(sweep, store)
    store.runs_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(md_path, f"{heading}Seeds: {seeds}. Test split, at the best-validation checkpoint.\n\n"
                               f"{markdown}")
    atomic_write_text(csv_path, results_csv(results))
    return markdown, md_path, csv_path
