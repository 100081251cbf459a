"""A run the app trains, in a child process: `python -m lcl_tui train ... --json`.

A run trained in a thread of the app shared the app's interpreter lock, its cores and
torch's global random generators: keys waited on the trainer, the app kept a core back
for itself, and two runs side by side drew from one generator. A child process has its
own of each, so it trains as fast as `lcl-tui train` and gives the numbers it gives alone.

The child writes its run folder itself (the app never writes a folder a child writes) and
prints every event as a JSON line; the app's worker thread reads them and calls the same
subscribers an in-process trainer would, so the monitor, the sweep tab and the prompt pane
see the same events. The child runs at a lower priority, so the UI's short bursts of work
preempt it at once and cost it little. No Textual and no torch here.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lcl_tui.config import RunConfig
from lcl_tui.errors import UserError
from lcl_tui.events import Event, RunFinished, RunStarted, event_from_dict
from lcl_tui.run_state import RunState
from lcl_tui.runstore import Run, RunStore
from lcl_tui.text import slug

log = logging.getLogger(__name__)
Subscriber = Callable[[Event], None]

# The child: this interpreter running the CLI (tests point it at a script that crashes).
CHILD_COMMAND: tuple[str, ...] = (sys.executable, "-m", "lcl_tui")
# Below the UI: a key press wakes the app, which then runs before the trainer's threads.
NICENESS = 10
# How far below the app a run trains, where the user wants otherwise (0: the app's priority,
# for a box where other jobs, not the app, compete with the run).
NICENESS_VARIABLE = "LCL_TUI_TRAIN_NICE"
# The CLI's `train` ends with this code for a mistake it explains in one `error:` line.
USER_ERROR_EXIT = 2


class StopSignal(threading.Event):
    """Asks a run to stop. A trainer in this process checks `is_set()` every step; a child
    process is sent SIGTERM when it is set (the CLI then stops after its current step and
    keeps a checkpoint, as on Ctrl-C) and SIGKILL by `kill()` (the run reads interrupted
    and resumes from its last checkpoint)."""

    def __init__(self) -> None:
        super().__init__()
        self._guard = threading.Lock()
        self._process: subprocess.Popen | None = None
        self.killed = False

    def set(self) -> None:
        with self._guard:
            super().set()
            if self._process is not None:
                self._process.terminate()

    def kill(self) -> None:
        with self._guard:
            self.killed = True
            super().set()
            if self._process is not None:
                self._process.kill()

    def follow(self, process: subprocess.Popen) -> None:
        """Signal `process` from now on, and at once if a stop was asked before it started."""
        with self._guard:
            self._process = process
            if self.killed:
                process.kill()
            elif self.is_set():
                process.terminate()

    def release(self) -> None:
        """The process has ended: signal nothing more (its pid may be reused)."""
        with self._guard:
            self._process = None


@dataclass
class ChildResult:
    """How a child's run ended; `run` is None when it ended before making its folder."""

    run: Run | None
    status: RunState
    error: str | None = None


def threads_per_run(parallel: int, cores: int | None = None) -> int | None:
    """Torch threads for each of `parallel` runs side by side, so that together they use
    every core once (None: one run alone takes torch's default, every core)."""
    if parallel <= 1:
        return None
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // parallel)


def train_in_child(config: RunConfig, *, store: RunStore, stop: StopSignal, subscribers: Sequence[Subscriber],
                   threads: int | None = None) -> ChildResult:
    """Train `config` in a child process until it ends (lcl_tui.training.train's seam in the app)."""
    with tempfile.TemporaryDirectory(prefix="lcl-tui-") as folder:
        path = Path(folder) / f"{slug(config.name, empty='run')}.toml"
        path.write_text(config.to_toml(), encoding="utf-8")
        return run_child(["train", str(path), "--runs-dir", str(store.runs_dir), "--json"],
                         store.runs_dir, stop, subscribers, threads)


def resume_in_child(run_path: Path, runs_dir: Path, *, stop: StopSignal, subscribers: Sequence[Subscriber],
                    threads: int | None = None) -> ChildResult:
    """Continue a run from its last checkpoint in a child process (`train --resume`)."""
    return run_child(["train", "--resume", str(run_path), "--runs-dir", str(runs_dir), "--json"],
                     Path(runs_dir), stop, subscribers, threads)


def run_child(args: list[str], runs_dir: Path, stop: StopSignal, subscribers: Sequence[Subscriber],
              threads: int | None) -> ChildResult:
    """Start the CLI with `args`, hand its events to `subscribers` until it exits, and say how
    the run ended. Returns only once the child has been waited for: no zombie, no orphan."""
    if stop.is_set():  # stopped while it waited to start
        return ChildResult(None, RunState.STOPPED)
    increment = niceness()
    reader = EventReader(Path(runs_dir), subscribers)
    with tempfile.TemporaryFile() as errors:  # read once it has ended: a pipe could fill and block it
        process = subprocess.Popen(
            [*CHILD_COMMAND, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
            env=child_environment(threads), text=True, encoding="utf-8", errors="replace",
        )
        lower_priority(process.pid, increment)
        stop.follow(process)
        assert process.stdout is not None
        try:
            for line in process.stdout:
                reader.read(line)
        except BaseException:
            process.kill()  # this thread is failing: never leave the child behind
            raise
        finally:
            code = process.wait()
            stop.release()
            process.stdout.close()
        errors.seek(0)
        stderr = errors.read().decode("utf-8", errors="replace")
    return reader.result(code, stderr, stop)


def child_environment(threads: int | None) -> dict[str, str]:
    env = dict(os.environ)
    # A thread count the user chose is theirs; otherwise split the cores between the runs.
    if threads is not None and not env.get("OMP_NUM_THREADS"):
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def niceness(environ: Mapping[str, str] = os.environ) -> int:
    """The child's niceness above the app's: NICENESS, or LCL_TUI_TRAIN_NICE (0-19)."""
    value = environ.get(NICENESS_VARIABLE, "").strip()
    if not value:
        return NICENESS
    if not value.isdigit() or int(value) > 19:
        raise UserError(f"{NICENESS_VARIABLE}={value!r}: give a whole number from 0 (the app's "
                        f"priority) to 19 (the lowest); unset, runs train at {NICENESS}")
    return int(value)


def lower_priority(pid: int, increment: int = NICENESS) -> None:
    """Nice the child below the app. Done right after it starts, before torch makes its
    threads (they inherit the value); where the system refuses, it trains at our priority."""
    if increment == 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + increment))
    except (AttributeError, OSError):
        pass


class EventReader:
    """The child's stdout, line by line: each JSON event goes to every subscriber (one that
    raises is logged and skipped, as the trainer does); other lines are the CLI's summary."""

    def __init__(self, runs_dir: Path, subscribers: Sequence[Subscriber]):
        self.runs_dir = runs_dir
        self.subscribers = list(subscribers)
        self.run: Run | None = None
        self.finished: RunFinished | None = None

    def read(self, line: str) -> None:
        event = parse_event(line)
        if event is None:
            return
        if isinstance(event, RunStarted):
            self.run = Run(self.runs_dir / event.run_id)
        elif isinstance(event, RunFinished):
            self.finished = event
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:  # a broken display must never stop reading the run
                log.exception("event subscriber failed")

    def result(self, code: int, stderr: str, stop: StopSignal) -> ChildResult:
        if self.finished is not None:
            return ChildResult(self.run, self.finished.status, self.finished.error)
        if code < 0:  # ended by a signal before it could say how the run ended
            if stop.is_set():
                # A run under way reads interrupted (its status file says running, its process is gone).
                return ChildResult(self.run, RunState.INTERRUPTED if self.run else RunState.STOPPED)
            return ChildResult(self.run, RunState.INTERRUPTED if self.run else RunState.FAILED,
                               f"the training process was killed ({signal_name(-code)})")
        return ChildResult(self.run, RunState.FAILED, error_line(stderr, code))


def parse_event(line: str) -> Event | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        return event_from_dict(json.loads(line))
    except (ValueError, TypeError):
        log.warning("unreadable event line from the training process: %.200s", line)
        return None


def error_line(stderr: str, code: int) -> str:
    """The one line that says why the child failed: the CLI's `error:` line for a mistake,
    else the last line it wrote (a traceback's last line names the exception)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    said = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    if said:
        return said[-1]
    if lines:
        return lines[-1]
    return f"the training process ended with exit code {code}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
