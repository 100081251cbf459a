"""A sweep started from the app: its planned runs go through the app's run queue.

No Textual here. Each run the sweep trains is an ordinary LiveRun, so the monitor, the
runs list, stop and the prompt pane treat it like any other run; this keeps which run
belongs to which setting, counts where the sweep stands and holds the latest results
read from disk. Planning and results are the CLI's own functions (lcl_tui.sweep), so a
sweep started here skips, redoes and tabulates exactly as `lcl-tui sweep` does.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from lcl_tui.app.run_queue import LiveRun, RunQueue
from lcl_tui.run_state import RunState
from lcl_tui.runstore import RunStore
from lcl_tui.sweep import (
    PlannedRun,
    SettingResult,
    Sweep,
    collect_results,
    load_sweep,
    make_room,
    plan_sweep,
    write_results,
)
from lcl_tui.text import mean_std

# A planned run that is done already: the sweep does not train it again.
SKIPPED = "skipped"
# The order a setting's run states are listed in, most telling first.
STATE_ORDER = (RunState.RUNNING, RunState.STARTING, RunState.QUEUED, RunState.COMPLETED,
               RunState.STOPPED, RunState.FAILED, SKIPPED)


# With a baseline named, the table adds these (its heading: the tables' column); the p-values
# stay in the Markdown and CSV files.
DIFFERENCES = {"Δ acc (seeds)": "Δ accuracy, seeds", "Δ acc (bootstrap)": "Δ accuracy, bootstrap",
               "Δ F1 (seeds)": "Δ macro-F1, seeds", "Δ F1 (bootstrap)": "Δ macro-F1, bootstrap"}


@dataclass(frozen=True)
class SweepRow:
    """One setting of the sweep as its table row shows it."""

    slug: str
    label: str
    n: str
    accuracy: str
    macro_f1: str
    states: str
    # With a baseline named: the differences from it and their intervals (DIFFERENCES).
    differences: tuple[str, ...] = ()


@dataclass(frozen=True)
class SweepView:
    """What the sweep tab shows, as text: built from the session, drawn by the sweep pane."""

    name: str
    description: str
    progress: str
    rows: tuple[SweepRow, ...]
    difference_columns: tuple[str, ...] = ()


@dataclass
class SweepSession:
    sweep: Sweep
    store: RunStore
    plan: list[PlannedRun]
    source: Path
    live: dict[str, LiveRun] = field(default_factory=dict)  # run name -> the run training it here
    results: list[SettingResult] = field(default_factory=list)
    results_paths: tuple[Path, Path] | None = None  # set once the tables are written
    write_requested: bool = False  # the UI asked for the tables once: the last run's end does
    # Reads overlap (a run ends while the last read is under way): a slower, older read
    # must not replace a newer one.
    _reads_started: int = 0
    _read_shown: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, path: str | Path, store: RunStore) -> SweepSession:
        """Read and plan a sweep file (raises UserError with a one-line reason)."""
        sweep = load_sweep(path)
        return cls(sweep=sweep, store=store, plan=plan_sweep(sweep, store), source=Path(path))

    @property
    def name(self) -> str:
        return self.sweep.name

    def enqueue(self, queue: RunQueue) -> list[LiveRun]:
        """Queue every run the plan trains; the skipped ones are already done (or elsewhere)."""
        queued = []
        for planned in self.plan:
            if planned.action == "skip":
                continue
            live = LiveRun(planned.point.config, self.store.runs_dir,
                           prepare=partial(make_room, planned, self.store))
            self.live[planned.point.run_name] = queue.add(live)
            queued.append(live)
        return queued

    def owns(self, live: LiveRun) -> bool:
        return any(r is live for r in self.live.values())

    @property
    def skipped(self) -> int:
        return sum(1 for p in self.plan if p.action == "skip")

    @property
    def active(self) -> bool:
        """A run is queued or training, or its thread is still writing its last files."""
        return any(live.active or live.occupies_slot for live in self.live.values())

    def stop(self, queue: RunQueue) -> list[LiveRun]:
        """Cancel every run of the sweep still queued or training; returns them."""
        stopping = [live for live in self.live.values() if live.active]
        for live in stopping:
            queue.cancel(live)
        return stopping

    def counts(self) -> Counter:
        """How many of the planned runs are in each state (skipped ones as "skipped")."""
        states = Counter(live.state for live in self.live.values())
        states[SKIPPED] = self.skipped
        return states

    def setting_states(self, slug: str) -> Counter:
        states: Counter = Counter()
        for planned in self.plan:
            if planned.point.setting.slug != slug:
                continue
            live = self.live.get(planned.point.run_name)
            states[live.state if live is not None else SKIPPED] += 1
        return states

    def run_target(self, slug: str) -> str | None:
        """The run to show for a setting: one training now, else the last that ran, else a skipped one.

        A LiveRun's key while it has no folder yet, else the run folder's path.
        """
        candidates = [p for p in self.plan if p.point.setting.slug == slug]
        lives = [self.live[p.point.run_name] for p in candidates if p.point.run_name in self.live]
        for live in lives:
            if live.state in (RunState.RUNNING, RunState.STARTING):
                return live.key
        for live in reversed(lives):
            if live.run is not None:
                return str(live.run.path)
        done = [p for p in candidates if p.action == "skip"]
        if done:
            return str(self.store.runs_dir / done[-1].point.run_name)
        return lives[0].key if lives else None

    def view(self) -> SweepView:
        from lcl_tui.sweep_baseline import DIFFERENCE_COLUMNS, difference_cells

        compared = self.sweep.baseline is not None
        rows = []
        for result in self.results:
            slug = result.setting.slug
            n = f"{result.n}/{result.planned}" if result.n != result.planned else str(result.n)
            cells = dict(zip(DIFFERENCE_COLUMNS, difference_cells(result))) if compared else {}
            rows.append(SweepRow(slug, result.setting.label, n,
                                 mean_std(result.accuracy_mean, result.accuracy_std),
                                 mean_std(result.macro_f1_mean, result.macro_f1_std),
                                 describe_states(self.setting_states(slug)),
                                 tuple(cells[name] for name in DIFFERENCES.values()) if compared else ()))
        where = f"runs folder {self.store.runs_dir}"
        if self.results_paths is not None:
            where = f"tables in {self.results_paths[0]} and .csv"
        progress = f"{len(self.plan)} runs: {describe_states(self.counts())}  ·  {where}"
        return SweepView(self.name, self.sweep.description, progress, tuple(rows),
                         tuple(DIFFERENCES) if compared else ())

    def refresh_results(self) -> list[SettingResult]:
        """Re-read the test scores of every completed run of the sweep (a worker thread calls this)."""
        with self._lock:
            self._reads_started += 1
            this_read = self._reads_started
        results = collect_results(self.sweep, self.store)
        with self._lock:
            if this_read > self._read_shown:  # begun after the one shown: it saw newer files
                self.results, self._read_shown = results, this_read
            return self.results

    def write(self) -> tuple[Path, Path]:
        """Write the Markdown and CSV tables next to the runs, as `lcl-tui sweep` does,
        from the latest results read (call `refresh_results` first)."""
        _, md_path, csv_path = write_results(self.sweep, self.store, self.results)
        self.results_paths = (md_path, csv_path)
        return self.results_paths


def describe_states(states: Counter) -> str:
    """'1 running · 2 completed · 3 skipped': the non-zero counts in a fixed order."""
    parts = [f"{states[name]} {name}" for name in STATE_ORDER if states.get(name)]
    parts += [f"{n} {name}" for name, n in states.items() if name not in STATE_ORDER and n]
    return " · ".join(parts) or "nothing planned"
