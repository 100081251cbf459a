"""Runs this app session trains: a queue with a concurrency limit and per-run live state.

No Textual here. Each run trains in a child process (training_process.py); the worker
thread that reads its events calls `LiveRun.publish`, and the UI reads `LiveRun.view()`
on a timer. A lock guards the snapshot, and `version` tells the UI whether anything
changed since it last drew.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lcl_tui.app.training_process import StopSignal
from lcl_tui.config import RunConfig
from lcl_tui.events import CheckpointSaved, Event, RunFinished, RunSnapshot, RunStarted
from lcl_tui.run_state import ACTIVE, RunState
from lcl_tui.runstore import Run

_keys = itertools.count(1)


@dataclass
class LiveRun:
    config: RunConfig
    runs_dir: Path
    key: str = field(default_factory=lambda: f"session-{next(_keys)}")
    stop: StopSignal = field(default_factory=StopSignal)
    state: RunState = RunState.QUEUED
    error: str | None = None
    run: Run | None = None
    best_checkpoint: str | None = None
    version: int = 0
    reported: bool = False  # the UI has announced how it ended
    # True from the moment a worker is asked to train it until its thread returns: the
    # trainer says "finished" a little before it has written its last files (and a child
    # process has exited).
    occupies_slot: bool = False
    # Called in the worker just before training: a sweep's redo clears the old attempt's folder.
    prepare: Callable[[], None] | None = None
    # A run folder to continue from its last checkpoint instead of starting a new run.
    resume_from: Path | None = None
    _snapshot: RunSnapshot = field(default_factory=RunSnapshot)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def resuming(cls, run: Run) -> LiveRun:
        """A session run that continues `run`: its curves so far come from disk, the rest live."""
        live = cls(run.load_config(), run.path.parent, resume_from=run.path, run=run)
        live._snapshot = run.snapshot()
        return live

    @property
    def title(self) -> str:
        return self.run.run_id if self.run is not None else self.config.name

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def publish(self, event: Event) -> None:
        """The trainer's subscriber: runs in the worker thread that reads its events."""
        with self._lock:
            self._snapshot.apply(event)
            if isinstance(event, RunStarted):
                self.state = RunState.RUNNING
                self.run = Run(self.runs_dir / event.run_id)
            elif isinstance(event, CheckpointSaved) and event.best:
                self.best_checkpoint = event.path
            elif isinstance(event, RunFinished):
                self.state = RunState(event.status)
                self.error = event.error
            self.version += 1

    def view(self) -> RunSnapshot:
        """A copy safe to read on the UI thread while training goes on."""
        with self._lock:
            s = self._snapshot
            return RunSnapshot(
                run_id=s.run_id,
                label_names=list(s.label_names),
                total_steps=s.total_steps,
                device=s.device,
                objective=s.objective,
                steps=list(s.steps),
                evals=list(s.evals),
                finished=s.finished,
            )

    def finish(self, state: RunState, error: str | None = None) -> None:
        """Record the outcome once the worker has ended (the trainer may not have said)."""
        with self._lock:
            if self.state in ACTIVE:
                self.state = state
            if error and not self.error:
                self.error = error
            self.version += 1


class RunQueue:
    """Runs in the order they were asked for; at most `concurrency` train at once."""

    def __init__(self, concurrency: int = 1):
        self.concurrency = max(1, concurrency)
        self.runs: list[LiveRun] = []
        self.closed = False  # the app is quitting: nothing more starts

    def add(self, live: LiveRun) -> LiveRun:
        self.runs.append(live)
        return live

    @property
    def training(self) -> list[LiveRun]:
        return [r for r in self.runs if r.occupies_slot or r.state in (RunState.STARTING, RunState.RUNNING)]

    @property
    def waiting(self) -> list[LiveRun]:
        return [r for r in self.runs if r.state == RunState.QUEUED]

    @property
    def active(self) -> list[LiveRun]:
        return [r for r in self.runs if r.active]

    def ready_to_start(self) -> list[LiveRun]:
        """Queued runs that fit under the limit now, oldest first; marks them starting."""
        if self.closed:
            return []
        free = self.concurrency - len(self.training)
        ready = self.waiting[: max(0, free)]
        for live in ready:
            live.state = RunState.STARTING
            live.occupies_slot = True
        return ready

    def cancel(self, live: LiveRun) -> None:
        """Stop a run: a queued one never starts, a training one ends after its current step."""
        live.stop.set()
        if live.state == RunState.QUEUED:
            live.finish(RunState.STOPPED)

    def find(self, key: str) -> LiveRun | None:
        """A run by its session key or by its run folder's path (the newest attempt: a run
        stopped and resumed in this session has a LiveRun for each)."""
        return next((r for r in self.runs if r.key == key), None) or self.for_path(key)

    def for_path(self, path: str) -> LiveRun | None:
        return next((r for r in reversed(self.runs) if r.run is not None and str(r.run.path) == path), None)
