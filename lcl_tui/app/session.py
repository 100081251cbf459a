"""What this app session holds and decides, with no Textual in it.

The session keeps the run queue, the selected and compared runs, the runs opened from
disk, the runs list and the sweep. The main screen asks it what to do and shows the
answer: each decision comes back as an outcome (a `Notice` to show, the runs that ended,
the disk run to re-read), so every rule here is tested without an App
(tests/test_app_session.py). The slow parts (`train`, `prepare_resume`, `plan_sweep`,
`list_runs`, `list_datasets`) run in the screen's thread workers; `train` waits there on the
child process that trains the run (training_process.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lcl_tui.app import engine
from lcl_tui.app.disk_run import DiskRun
from lcl_tui.app.outcomes import (
    Notice,
    Opened,
    PresetLoaded,
    RunChange,
    RunSource,
    Stopped,
    SweepStart,
    SweepUpdate,
)
from lcl_tui.app.run_queue import LiveRun, RunQueue
from lcl_tui.app.training_process import StopSignal, threads_per_run
from lcl_tui.config import RunConfig, load_config, presets_dir, save_config
from lcl_tui.errors import UserError
from lcl_tui.events import CheckpointSaved, Event, RunFinished, RunStarted
from lcl_tui.run_state import RunState
from lcl_tui.runstore import RunStore, RunSummary
from lcl_tui.text import one_line

if TYPE_CHECKING:  # the sweep module loads when a sweep starts
    from lcl_tui.app.sweep_session import SweepSession
    from lcl_tui.data import DatasetInfo

Subscriber = Callable[[Event], None]


# Quitting: how long the runs get to stop after their step and save a checkpoint before
# they are killed (they then read interrupted and resume from their last checkpoint).
QUIT_GRACE_SECONDS = 30.0


class Train(Protocol):
    """training_process.train_in_child (or a test's fake trainer, in this process): trains
    `config` to its end, calling `subscribers` with every event. `threads`: the torch
    threads the run may use (None: its default)."""

    def __call__(self, config: RunConfig, *, store: RunStore, stop: StopSignal,
                 subscribers: Sequence[Subscriber], threads: int | None = None) -> object: ...


class Resume(Protocol):
    """training_process.resume_in_child: `train --resume` in a child process."""

    def __call__(self, run_path: Path, runs_dir: Path, *, stop: StopSignal,
                 subscribers: Sequence[Subscriber], threads: int | None = None) -> object: ...


class Session:
    def __init__(self, store: RunStore, *, train: Train, resume: Resume,
                 list_datasets: Callable[[], list[DatasetInfo]], concurrency: int = 1,
                 preset_names: Sequence[str] = ()):
        self.store = store
        self.queue = RunQueue(concurrency)
        self.selected: RunSource | None = None
        self.compare: RunSource | None = None
        self.disk_runs: dict[str, DiskRun] = {}  # by run folder path
        self.sweep: SweepSession | None = None
        self.run_summaries: list[RunSummary] = []
        self.preset_names = list(preset_names)  # as `lcl-tui presets` lists them
        self._train = train
        self._resume = resume
        self._list_datasets = list_datasets
        self._quit_timer: threading.Timer | None = None

    def set_parallel(self, parallel: int | None) -> None:
        """The setup form's "Parallel runs" (None: not a valid number, keep the last)."""
        if parallel is not None:
            self.queue.concurrency = parallel

    # --- training --------------------------------------------------------------------------
    def queue_run(self, config: RunConfig, parallel: int | None) -> LiveRun:
        """Queue a run of `config` and select it."""
        self.set_parallel(parallel)
        config = config.replace(**{"output.runs_dir": str(self.store.runs_dir)})
        live = self.queue.add(LiveRun(config, self.store.runs_dir))
        self.select(live)
        return live

    def queued_notice(self, live: LiveRun) -> Notice:
        if live.state == RunState.QUEUED:
            return Notice(f"Queued {live.config.name}: {len(self.queue.training)} run(s) training, "
                          f"{self.queue.concurrency} at a time")
        return Notice(f"Training {live.config.name} (the model loads first)")

    def train(self, live: LiveRun, changed: Callable[[], None]) -> None:
        """Train (or resume) `live` to its end in the calling worker thread.

        `changed` is called on the rare events (start, end, a better checkpoint) and once the
        run's thread is done; a failure ends the run, never the app.
        """

        def on_event(event: Event) -> None:
            if isinstance(event, (RunStarted, RunFinished)) or (isinstance(event, CheckpointSaved) and event.best):
                changed()

        subscribers = [live.publish, on_event]
        # Runs side by side share the cores rather than each taking all of them.
        threads = threads_per_run(self.queue.concurrency)
        try:
            if live.prepare is not None:
                live.prepare()
            if live.resume_from is not None:
                result = self._resume(live.resume_from, live.resume_from.parent, stop=live.stop,
                                      subscribers=subscribers, threads=threads)
            else:
                result = self._train(live.config, store=self.store, stop=live.stop, subscribers=subscribers,
                                     threads=threads)
        except Exception as error:  # a failed run is a notification, never the end of the app
            live.finish(RunState.FAILED, one_line(error))
        else:
            status = getattr(result, "status", None) or (RunState.STOPPED if live.stop.is_set()
                                                         else RunState.COMPLETED)
            if live.run is None and getattr(result, "run", None) is not None:
                live.run = result.run
            live.finish(RunState(status), getattr(result, "error", None))
        finally:
            live.occupies_slot = False
            changed()

    def run_changed(self, key: str) -> RunChange | None:
        live = self.queue.find(key)
        if live is None:
            return None
        ended = None
        if not live.active and not live.reported:
            live.reported = True
            ended = _ended_notice(live)
        return RunChange(live, ended, self._sweep_update(live))

    # --- stopping --------------------------------------------------------------------------
    def stop(self, key: str | None = None) -> Stopped:
        """Stop a run by key or path (None: the selected one); asked again, end it at once."""
        if key is None:
            if self.selected is None:
                return Stopped(Notice("No run selected", "warning"))
            key = self.selected.key
        live = self.queue.find(key)
        if live is None:
            source = self.disk_runs.get(key)
            if source is not None and source.state == RunState.RUNNING:
                return Stopped(Notice("That run is trained by another process; stop it there.", "warning"))
            return Stopped(Notice("That run is not training", "warning"))
        if not live.active:
            return Stopped(Notice(f"{live.title} is not training ({live.state})", "warning"))
        if live.stop.is_set():
            live.stop.kill()
            return Stopped(Notice(f"Ending {live.title} now: it reads interrupted; resume it (u) from its "
                                  "last checkpoint", "warning"))
        self.queue.cancel(live)
        if live.state == RunState.STOPPED:  # it was only queued
            return Stopped(ended=(live,))
        return Stopped(Notice(f"Stopping {live.title}: it ends after the current step (x again: at once)"))

    def stop_all(self) -> list[Stopped]:
        return [self.stop(live.key) for live in self.queue.active]

    def stop_everything(self, grace: float = QUIT_GRACE_SECONDS) -> None:
        """Quitting: every run stops after its step (queued ones never start); those still
        training `grace` seconds later are killed, so that none outlives the app for long."""
        self.queue.closed = True
        for live in self.queue.active:
            self.queue.cancel(live)
        if self._quit_timer is None and self.queue.training:
            self._quit_timer = threading.Timer(grace, self.kill_everything)
            self._quit_timer.daemon = True
            self._quit_timer.start()

    def kill_everything(self) -> None:
        """End every run that is still training at once (asked to quit twice, or too slow)."""
        for live in self.queue.training:
            live.stop.kill()

    def quit_question(self) -> str | None:
        """What to ask before quitting, or None when nothing is queued or training."""
        training = self.queue.active
        if not training:
            return None
        return (f"{len(training)} run(s) queued or training. Quitting stops them; what they wrote "
                "stays in the runs folder. Quit?")

    # --- resuming --------------------------------------------------------------------------
    def resume_target(self, key: str | None = None) -> str | Notice:
        """The run folder to resume for a key or path (None: the selected run), or why not."""
        if key is None:
            if self.selected is None:
                return Notice("No run selected", "warning")
            key = self.selected.key
        live = self.queue.find(key)
        if live is None:
            return key
        if live.active:
            return Notice(f"{live.title} is {live.state} already", "warning")
        if live.run is None:
            return Notice("That run never started: train it again instead", "warning")
        return str(live.run.path)

    def prepare_resume(self, target: str) -> LiveRun:
        """Open and check a run folder (in a worker: it reads the metrics); raises UserError."""
        run = self.store.open(target)
        engine.resumable_checkpoint(run)
        return LiveRun.resuming(run)

    def add_resumed(self, live: LiveRun) -> bool:
        """Queue and select a prepared resume; False when another resume of it won the race."""
        earlier = self.queue.for_path(str(live.run.path))
        if earlier is not None and earlier.active:
            return False
        self.queue.add(live)
        self.select(live)
        return True

    def resumed_notice(self, live: LiveRun) -> Notice:
        steps = live.view().last_step
        where = f" from step {steps.step}" if steps is not None else ""
        queued = " (queued)" if live.state == RunState.QUEUED else ""
        return Notice(f"Resuming {live.title}{where}{queued}")

    # --- choosing what to show -------------------------------------------------------------
    def resolve(self, target: str) -> RunSource:
        """A session run by key, or a run folder by path or id (raises UserError)."""
        live = self.queue.find(target)
        if live is not None:
            return live
        run = self.store.open(target)
        key = str(run.path)
        live = self.queue.for_path(key)
        if live is not None:
            return live
        if key not in self.disk_runs:
            self.disk_runs[key] = DiskRun(run)
        return self.disk_runs[key]

    def open(self, target: str, compare: bool = False) -> Opened:
        """Select a run, or overlay it on the selected one (`compare`)."""
        try:
            source = self.resolve(target)
        except UserError as error:
            return Opened(None, Notice(str(error), "error"))
        if not compare:
            self.select(source)
            return Opened(source)
        if self.selected is None or source is self.selected:
            self.select(source)
            return Opened(source, Notice("Opened it; now choose a second run and press c to overlay it"))
        self.compare = source
        return Opened(source, Notice(f"Overlaying {source.title} on {self.selected.title}"))

    def select(self, source: RunSource) -> None:
        self.selected = source
        if self.compare is source:
            self.compare = None

    def cycle(self, step: int) -> RunSource | None:
        """Select the next (+1) or previous (-1) run of the session's and the opened ones."""
        sources: list[RunSource] = list(self.queue.runs)
        sources += [d for d in self.disk_runs.values() if d not in sources]
        if not sources:
            return None
        index = sources.index(self.selected) if self.selected in sources else -1
        self.select(sources[(index + step) % len(sources)])
        return self.selected

    def clear_compare(self) -> bool:
        cleared, self.compare = self.compare is not None, None
        return cleared

    def followed_disk_runs(self) -> list[DiskRun]:
        """The shown runs that another process may still write: re-read them on a timer."""
        return [s for s in (self.selected, self.compare) if isinstance(s, DiskRun) and s.followed]

    def list_runs(self) -> list[RunSummary]:
        """Every run folder's summary (in a worker); a damaged folder must not hide the others."""
        summaries = []
        for run in self.store.runs():
            try:
                summaries.append(run.summary())
            except Exception:
                continue
        return summaries

    def list_datasets(self) -> list[DatasetInfo]:
        return self._list_datasets()

    # --- presets ---------------------------------------------------------------------------
    def load_preset(self, name_or_path: str) -> PresetLoaded | Notice:
        try:
            config = load_config(name_or_path)
        except UserError as error:
            return Notice(str(error), "error", title="Preset not loaded")
        name = Path(name_or_path).stem if name_or_path.endswith(".toml") else name_or_path
        return PresetLoaded(config, name)

    def save_preset(self, config: RunConfig, path: str) -> Notice:
        target = Path(path).expanduser()
        if target.suffix != ".toml":
            target = target.with_suffix(".toml")
        try:
            save_config(config, target)
        except OSError as error:
            return Notice(f"Could not save {target}: {error.strerror}", "error")
        if target.parent.resolve() == presets_dir().resolve() and target.stem not in self.preset_names:
            self.preset_names = [target.stem, *self.preset_names]  # yours come first
        return Notice(f"Saved preset to {target}")

    # --- sweeps ----------------------------------------------------------------------------
    def sweep_blocked(self) -> Notice | None:
        """Why a new sweep cannot start now (one at a time), or None."""
        if self.sweep is not None and self.sweep.active:
            return Notice(f"Sweep {self.sweep.name} is still running: stop it (x in the sweep tab) first",
                          "warning")
        return None

    def plan_sweep(self, path: str) -> SweepSession:
        """Read and plan a sweep file (in a worker: it reads every run folder it names)."""
        from lcl_tui.app.sweep_session import SweepSession  # not needed for the first frame

        sweep = SweepSession.load(path, self.store)
        sweep.refresh_results()  # what earlier runs of it already hold
        return sweep

    def start_sweep(self, sweep: SweepSession, parallel: int | None) -> SweepStart | None:
        """Queue a planned sweep's runs; None when another sweep started first."""
        if self.sweep is not None and self.sweep.active:
            return None
        self.sweep = sweep
        self.set_parallel(parallel)
        queued = sweep.enqueue(self.queue)
        if not queued:
            sweep.write_requested = True
            return SweepStart(sweep, Notice(f"Sweep {sweep.name}: all {len(sweep.plan)} runs are done already"),
                              all_done=True)
        return SweepStart(sweep, Notice(f"Sweep {sweep.name}: {len(queued)} run(s) to train, {sweep.skipped} "
                                        f"done before; {self.queue.concurrency} at a time"), all_done=False)

    def stop_sweep(self) -> Stopped:
        if self.sweep is None or not self.sweep.active:
            return Stopped(Notice("No sweep is running", "warning"))
        ended = tuple(live for live in self.sweep.stop(self.queue) if live.state == RunState.STOPPED)
        return Stopped(Notice(f"Stopping sweep {self.sweep.name}: the training run ends after its current step"),
                       ended)

    def sweep_target(self, slug: str) -> str | Notice:
        """The run to show for a setting of the sweep (a key or path), or why there is none."""
        target = self.sweep.run_target(slug) if self.sweep is not None else None
        if target is None:
            return Notice("No run of that setting has started yet", "warning")
        return target

    def _sweep_update(self, live: LiveRun) -> SweepUpdate | None:
        sweep = self.sweep
        if sweep is None or not sweep.owns(live):
            return None
        # The trainer says "finished" a little before its last files are written; its thread's
        # end (the slot freed) means the result is on disk. The last one writes the tables.
        if live.active or live.occupies_slot:
            return SweepUpdate(sweep)
        write = not sweep.active and not sweep.write_requested
        sweep.write_requested |= write
        return SweepUpdate(sweep, read=True, write=write)


def sweep_results_notice(sweep: SweepSession, written: bool) -> Notice | None:
    if not written or sweep.results_paths is None:
        return None
    return Notice(f"Sweep {sweep.name} ended: results in {sweep.results_paths[0]} (and .csv)", timeout=12)


def _ended_notice(live: LiveRun) -> Notice:
    if live.state == RunState.FAILED:
        return Notice(live.error or "training failed", "error", title=f"Run failed: {live.title}", timeout=12)
    if live.state == RunState.STOPPED:
        return Notice(f"Stopped {live.title}", "warning")
    if live.state == RunState.INTERRUPTED:
        detail = f" ({live.error})" if live.error else ""
        return Notice(f"Ended {live.title} mid-step{detail}: resume it (u) from its last checkpoint", "warning",
                      timeout=12)
    return Notice(f"Finished {live.title}")
